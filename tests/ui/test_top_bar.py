"""The top bar at the 7-inch panel's 800×480 with a volunteer signed in: every chip and button whole and on screen,
in zh-CN and in English, also with a fault (its word shown) and the gate leaf open."""

from __future__ import annotations

import pytest

from tests.ui.helpers import post, sign_in

BAR = """() => [...document.querySelectorAll('header.bar > *:not(.chips), #chips > *')].map(e => {
    const r = e.getBoundingClientRect();
    return {id: e.id || e.className, text: e.innerText.trim(), label: e.getAttribute('aria-label') || '',
            left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height,
            clipped: e.scrollWidth > e.clientWidth + 1};
})"""


def bar(page) -> list[dict]:
    return page.evaluate(BAR)


def assert_fits(items: list[dict]) -> None:
    for item in items:
        assert item["width"] > 0 and item["height"] > 0, item  # shown, not wrapped out of sight
        assert item["left"] >= 0 and item["right"] <= 800, item
        assert item["top"] >= 0 and item["bottom"] <= 60, item  # inside the 60 px bar, one row
        assert not item["clipped"], item  # no word cut in half


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_chip_fits_with_a_volunteer_signed_in(page, demo_gate, language):
    page.goto(demo_gate.url + "lang/" + language)
    page.wait_for_selector("body[data-live='1']")
    sign_in(page)
    page.wait_for_selector("#chips .chip[data-part='i-camera']")
    items = bar(page)
    chips = [i for i in items if "chip" in i["id"] and "volunteer" not in i["id"] and i["id"] not in ("lang-switch", "sim-toggle")]
    assert {c["label"] for c in chips} >= ({"办公室", "测温仪", "摄像头"} if language == "zh-CN" else {"Office", "Thermometer", "Camera"})
    assert_fits(items)
    names = {i["id"] for i in items}
    assert {"volunteer-chip", "lang-switch", "clock"} <= names
    volunteer = next(i for i in items if i["id"] == "volunteer-chip")
    assert volunteer["text"].startswith("赵志愿") and volunteer["height"] >= 48  # a glove's target


@pytest.mark.parametrize("language, fault", [("zh-CN", "测温仪故障"), ("en", "Thermometer fault")])
def test_a_fault_shows_its_word_and_still_fits(page, demo_gate, language, fault):
    page.goto(demo_gate.url + "lang/" + language)
    page.wait_for_selector("body[data-live='1']")
    sign_in(page)
    status, _ = post(demo_gate, "simulation", {"thermometer_fault": True, "gate_open": True})
    assert status == 200
    page.wait_for_selector(f"#chips .chip.bad:has-text('{fault}')")
    page.wait_for_selector("#chips #leaf-chip")
    items = bar(page)
    assert_fits(items)
    first = page.evaluate("document.querySelector('#chips > *').innerText")
    assert fault in first  # faults first: never the one that drops out
    labels = [i["label"] or i["text"] for i in items]
    assert any(("摄像头" if language == "zh-CN" else "Camera") in text for text in labels), labels
    if language == "zh-CN":
        page.screenshot(path="docs/screenshots/gate-top-bar.png")
