"""What the browser tests do at the touchscreen, as a volunteer would (and a few looks at the gate's API)."""

from __future__ import annotations

import re

import requests

VALID_ID = "11010519491231002X"  # the standard's own example number: a correct check digit


def simulate(page, *, person: str | None = None, card: str | None = None, unplug: bool = False) -> None:
    """Use the on-page simulation panel: who stands at the thermometer, its cable, a card to the camera."""
    if page.locator(".sim-body").is_hidden():
        page.click("#sim-toggle")
    if unplug:
        page.click("#sim-fault")
    if person is not None:
        page.click(f"#sim-person button[data-c='{person}']")
    if card is not None:
        page.click(f"#sim-cards button[data-card='{card}']")
    page.click("#sim-toggle")  # fold the panel away again


def show_card_image(demo_gate, image) -> None:
    """Hold up a card image the page's panel does not list (it lists the demo's cards at start): drop it into the
    gate's replay folder, which the simulated camera watches. Written beside it and moved in, never half-written."""
    import os
    import shutil
    import uuid
    from pathlib import Path

    replay = demo_gate.directory / "gate" / "replay"
    staged = replay.parent / f".{uuid.uuid4().hex}.png"
    shutil.copyfile(Path(image), staged)
    os.replace(staged, replay / f"{uuid.uuid4().hex}.png")


def api(demo_gate, path: str):
    return requests.get(demo_gate.url + "api/v1/" + path, timeout=10).json()


def post(demo_gate, path: str, body: dict):
    response = requests.post(demo_gate.url + "api/v1/" + path, json=body, timeout=30)
    return response.status_code, response.json()


def type_keys(page, pad: str, keys: str) -> None:
    for key in keys:
        page.click(f"{pad} .keypad button[data-key='{key}']")


def type_hanzi(page, field: str | None, pairs, *, done: bool = True) -> int:
    """Type Chinese on the on-screen hanzi keyboard as a volunteer does: tap ``field`` (None: the keyboard is open
    already), then for each (pinyin, character) tap the letters and the character in the candidate bar (paging with
    › while it is not there). Returns the taps made, 确定 included when ``done``."""
    taps = 0
    if field is not None:
        page.click(field)
        taps += 1
    page.wait_for_selector("#hz-overlay:not([hidden])")
    for letters, char in pairs:
        for key in letters:
            page.click(f"#hz-keys button[data-key='{key}']")
            taps += 1
        candidate = page.locator("#hz-list button", has_text=char)
        for _ in range(5):
            page.wait_for_selector("#hz-list button, #hz-list .hz-hint")
            try:
                candidate.first.wait_for(timeout=2000)
                break
            except Exception:  # not on this page of the bar: the next one
                page.click("#hz-next")
                taps += 1
        candidate.first.click()
        taps += 1
    if done:
        page.click("#hz-done")
        taps += 1
    return taps


def hanzi_pairs(text: str) -> list[tuple[str, str]]:
    """(pinyin, character) for each character of ``text``, as a volunteer would spell it (ü as v)."""
    from pypinyin import Style, lazy_pinyin

    return list(zip(lazy_pinyin(text, style=Style.NORMAL, v_to_u=False), text, strict=True))


def sign_in(page, pin: str = "2468") -> None:
    page.click("#volunteer-chip")
    page.click("#volunteer-names button:has-text('赵志愿')")
    type_keys(page, "#sign-in", pin + "✓")
    page.wait_for_selector("#volunteer-chip.on")


def record_screens(page) -> None:
    """From now on, note every screen the page shows and every look of the result box, and every decision the
    stream sends (a second EventSource of the test's own), so a test can say what was never shown."""
    page.evaluate("""() => {
        window.__screens = [];
        window.__decisions = [];
        const note = () => {
            const result = document.querySelector('#result');
            window.__screens.push({ screen: document.body.dataset.screen, result: result.className,
                                    background: getComputedStyle(result).backgroundColor,
                                    title: document.querySelector('#result-title').textContent });
        };
        new MutationObserver(note).observe(document.body, { attributes: true, attributeFilter: ['data-screen'] });
        new MutationObserver(note).observe(document.querySelector('#result'), { attributes: true, attributeFilter: ['class'] });
        const stream = new EventSource('/api/v1/stream');
        stream.addEventListener('decision', (e) => window.__decisions.push(JSON.parse(e.data)));
        return new Promise((resolve) => stream.addEventListener('open', resolve));
    }""")


def screens_shown(page) -> list[dict]:
    return page.evaluate("window.__screens")


def decisions_sent(page) -> list[dict]:
    return page.evaluate("window.__decisions")


GREEN = "rgb(11, 122, 51)"  # --ok: the admit green


def fill_visitor_form(page, *, name: str = "孙来访", host: tuple[str, str, str] = ("2", "1", "201")) -> None:
    """The visitor form as a volunteer fills it: name, phone and ID on keypads, where from, host, reason, 36.4 °C."""
    type_hanzi(page, "#v-name", hanzi_pairs(name))  # the on-screen keyboard: the field is readonly
    page.click("#v-phone")
    type_keys(page, "#pad-overlay", "13800138000")
    page.click("#pad-ok")
    page.click("#v-id")
    type_keys(page, "#pad-overlay", VALID_ID)
    page.click("#pad-ok")
    type_hanzi(page, "#v-from", hanzi_pairs("朝阳区"))
    page.click("#v-host")
    for value in host:
        page.click(f"#host-options button[data-value='{value}']")
    page.click("#v-reason button:has-text('探亲')")
    page.click("[data-pad-for='v-temp']")
    type_keys(page, "#pad-overlay", "36")
    page.click("#pad-overlay .keypad button[data-key='X']")  # the decimal point on the temperature pad
    type_keys(page, "#pad-overlay", "4")
    page.click("#pad-ok")


def shown_celsius(page) -> float:
    """The measured temperature on the result screen as a number: the simulated sensor has read noise (σ 0.03 °C), so
    a person set at 36.5 can show 36.6 — compare within a tolerance, not as text."""
    text = page.inner_text("#result-temperature")
    found = re.search(r"\d+\.\d", text)
    assert found, text
    return float(found.group())
