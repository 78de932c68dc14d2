"""The gate that speaks, at the demo gate in chromium at 800×480: admit, fever and refusal passages → the fake
loudspeaker recorded the right prompts (GET /api/v1/simulation/voice); the panel's mute → nothing recorded; the
simulated page's caption says what the gate said, in both languages."""

from __future__ import annotations

import time

from tests.ui.conftest import PANEL
from tests.ui.helpers import api, post, simulate


def said(demo_gate) -> list[str]:
    return [p["name"] for p in api(demo_gate, "simulation/voice")["played"]]


def wait_said(demo_gate, name: str, timeout: float = 15.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while name not in said(demo_gate):
        assert time.monotonic() < deadline, f"the gate never said {name}: {said(demo_gate)}"
        time.sleep(0.1)
    return said(demo_gate)


def new_since(demo_gate, before: int) -> list[str]:
    return said(demo_gate)[before:]


def test_admit_fever_and_refusal_are_spoken(page, demo_gate, shoot):
    page.click("#dir-in")  # coming home: the thermometer is asked for
    before = len(said(demo_gate))
    simulate(page, person="36.5", card="wang-xiaoshan")
    page.wait_for_selector("body[data-screen='result'] #result.admit")
    wait_said(demo_gate, "temperature_normal")
    admitted = new_since(demo_gate, before)
    assert admitted[-1] == "temperature_normal" and set(admitted) <= {"greeting_measure", "temperature_normal"}
    caption = page.locator("#sim-said")
    caption.wait_for(state="visible")
    assert "卡口播报：" in caption.inner_text() and "体温" in caption.inner_text()

    page.wait_for_timeout(11000)  # past the same-card window: the next scan of this card is a new passage
    before = len(said(demo_gate))
    simulate(page, person="38.6", card="wang-xiaoshan")
    page.wait_for_selector("body[data-screen='fever']", timeout=20000)
    heard = wait_said(demo_gate, "fever")[before:]
    assert heard[heard.index("fever") - 1] == "tone:alarm"  # the distinct alarm tone just before the words
    played = api(demo_gate, "simulation/voice")["played"]
    assert all(p["volume"] > 0 and p["at"] for p in played)
    # The demo rendered the prompts into its data folder at start (espeak-ng is a system package): real files.
    assert (demo_gate.directory / "gate" / "voice" / "manifest.json").is_file()
    assert {p["file"] for p in played if p["name"] in ("fever", "tone:alarm")} == {"fever.wav", "tone-alarm.wav"}
    page.locator("#sim-said:has-text('体温异常，请稍候')").wait_for()
    shoot(page, "gate-voice")

    before = len(said(demo_gate))
    simulate(page, person="36.5", card="expired")  # the demo's card that ran out yesterday
    page.wait_for_selector("body[data-screen='result'] #result.deny")
    wait_said(demo_gate, "card_invalid")
    assert new_since(demo_gate, before)[-1] == "card_invalid"


def test_muted_in_the_panel_nothing_is_recorded(page, demo_gate):
    page.click("#sim-toggle")
    mute = page.locator("#sim-mute")
    assert mute.bounding_box()["height"] >= 48  # a gloved finger
    mute.click()
    page.wait_for_selector("#sim-mute[aria-pressed='true']")
    assert api(demo_gate, "simulation/voice")["muted"] is True
    page.click("#sim-toggle")
    before = len(said(demo_gate))
    page.click("#dir-in")
    simulate(page, person="36.5", card="wang-xiaoshan")
    page.wait_for_selector("body[data-screen='result'] #result.admit")
    simulate(page, card="expired")
    page.wait_for_selector("body[data-screen='result'] #result.deny")
    page.wait_for_timeout(1500)
    assert said(demo_gate)[before:] == []
    assert page.locator("#sim-said").is_hidden()
    # Unmuted again (the toggle says so after a reload too), the gate speaks.
    page.reload()
    page.wait_for_selector("body[data-live='1']")
    page.wait_for_selector("#sim-mute[aria-pressed='true']", state="attached")
    page.click("#sim-toggle")
    page.click("#sim-mute")
    page.wait_for_selector("#sim-mute[aria-pressed='false']")
    page.click("#sim-toggle")
    page.wait_for_timeout(11000)
    simulate(page, card="expired")
    wait_said(demo_gate, "card_invalid")


def test_the_panel_and_caption_fit_the_panel_in_both_languages(page, demo_gate, shoot):
    for lang in ("zh-CN", "en"):
        if lang == "en":
            page.click("#lang-switch")
            page.wait_for_selector("body[data-live='1']")
        page.click("#sim-toggle")
        box = page.locator("#sim-mute").bounding_box()
        assert box["height"] >= 48 and box["y"] + box["height"] <= PANEL["height"] and box["x"] + box["width"] <= PANEL["width"]
        assert page.inner_text("#sim-mute") == ("语音静音" if lang == "zh-CN" else "Mute the voice")
        page.click("#sim-toggle")
        status, _ = post(demo_gate, "simulation", {"card": "expired"})
        assert status == 200
        caption = page.locator("#sim-said")
        caption.wait_for(state="visible")
        text = caption.inner_text()
        if lang == "en":
            assert text == "The gate said: This card is not valid, please see the volunteer"
            shoot(page, "gate-voice-en")
        else:
            assert text == "卡口播报：此证无效，请找志愿者"
        c = caption.bounding_box()
        assert c["y"] + c["height"] <= PANEL["height"] and c["x"] >= 0 and c["x"] + c["width"] <= PANEL["width"]
        assert page.evaluate("document.documentElement.scrollHeight") <= PANEL["height"]
        page.wait_for_timeout(11000)  # the same card within the window would only repeat the decision
