"""The vehicle form at the 800×480 panel, as a volunteer uses it: a refusal keeps the form and one tap fixes it,
the driver's card fills the form without a passage of its own, an unknown vehicle's driver is registered as a
visitor with the plate in one flow, and the screen fits in both languages."""

from __future__ import annotations

from kiosk.events import EventKind
from kiosk.gate.journal import JournalReader
from tests.ui.helpers import api, hanzi_pairs, simulate, type_hanzi, type_keys


def type_plate(page, plate: str) -> None:
    page.click(f"#plate-provinces button[data-key='{plate[0]}']")
    for key in plate[1:]:
        page.click(f"#plate-alnum button[data-key='{key}']")


PASSAGES = (EventKind.PASSAGE, EventKind.PASSAGE_ABANDONED, EventKind.VEHICLE, EventKind.VISITOR_REGISTRATION)


def journal_since(demo_gate, seq: int) -> list:
    """The passages, vehicles and registrations journaled after ``seq`` (other events, e.g. the gate leaf's, aside)."""
    with JournalReader(demo_gate.directory / "gate" / "journal.db") as journal:
        return [e for e in journal.events_after(seq) if e.kind in PASSAGES]


def last_seq(demo_gate) -> int:
    return api(demo_gate, "status")["journal"]["last_seq"]


def taps(page) -> None:
    """Count every tap from now on (window.__taps)."""
    page.evaluate("() => { window.__taps = 0; document.addEventListener('click', () => window.__taps++, true); }")


def on_panel(page, selector: str) -> None:
    """The control is fully on the 800×480 panel and big enough for a gloved finger."""
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    assert box["y"] >= 0 and box["y"] + box["height"] <= 480 and box["x"] + box["width"] <= 800, (selector, box)
    assert box["height"] >= 44, (selector, box)


def test_driver_card_fills_the_form_and_a_refusal_is_fixed_in_one_tap(page, demo_gate, shoot):
    page.click("[data-go='vehicle']")
    page.wait_for_selector("body[data-screen='vehicle']")
    before = last_seq(demo_gate)
    type_plate(page, "京A12345")
    simulate(page, person="36.5", card="wang-xiaoshan")  # the driver shows his card: the form stays
    page.wait_for_selector("#vehicle-driver:has-text('王*山')")
    assert page.evaluate("document.body.dataset.screen") == "vehicle"
    page.click("#pass-plus")
    page.click("#vehicle-save")  # not disinfected: 请先给车辆消毒
    page.wait_for_selector("#vehicle-outcome:not([hidden])")
    assert page.evaluate("document.body.dataset.screen") == "vehicle"
    assert page.inner_text("#plate") == "京A·12345" and "王*山" in page.inner_text("#vehicle-driver")
    assert page.inner_text("#vehicle-save") == "已消毒，放行"
    assert "消毒" in page.inner_text("#vehicle-outcome")
    on_panel(page, "#vehicle-save")
    shoot(page, "gate-vehicle")
    taps(page)
    page.click("#vehicle-save")  # ONE tap: ticked disinfected and saved again
    page.wait_for_selector("body[data-screen='result'] #result.admit")
    assert page.evaluate("window.__taps") == 1
    assert page.inner_text("#result-name") == "京A12345" and "车辆" in page.inner_text("#result-verdict")
    events = journal_since(demo_gate, before)
    assert [e.kind for e in events] == [EventKind.VEHICLE, EventKind.VEHICLE]  # no person passage for the driver
    refused, admitted = events
    assert refused.data["prompt"] == "disinfect_vehicle" and admitted.data["verdict"] == "admit"
    assert admitted.data["supersedes_seq"] == refused.seq
    assert admitted.data["driver"] == "resident:1" and admitted.data["passengers"] == 1 and admitted.data["disinfected"]
    recent = api(demo_gate, "today")["recent"]
    assert not [p for p in recent if p["kind"] == "person" and p.get("seq", 0) > before]


def test_unknown_plate_registers_the_driver_as_a_visitor_in_one_flow(page, demo_gate, shoot):
    page.click("[data-go='vehicle']")
    page.wait_for_selector("body[data-screen='vehicle']")
    before = last_seq(demo_gate)
    type_plate(page, "津B99999")
    page.click("#disinfected")
    page.click("#vehicle-save")
    page.wait_for_selector("#vehicle-outcome:not([hidden])")
    assert page.inner_text("#vehicle-save") == "登记司机为访客"
    page.click("#vehicle-save")
    page.wait_for_selector("#vehicle-visitor:not([hidden])")
    page.click("#vehicle-save")  # nothing filled in: the field is named, in Chinese
    page.wait_for_selector("#vehicle-error:not(:empty)")
    assert "司机姓名" in page.inner_text("#vehicle-error")
    type_hanzi(page, "#vd-name", hanzi_pairs("孙来访"))  # the on-screen hanzi keyboard (the field is readonly)
    page.click("#vd-phone")
    type_keys(page, "#pad-overlay", "13800138000")
    page.click("#pad-ok")
    page.click("#vd-host")
    for value in ("2", "1", "201"):
        page.click(f"#host-options button[data-value='{value}']")
    page.click("#vd-reason button[data-reason='delivery']")
    page.click("#vd-type")
    type_keys(page, "#pad-overlay", "36")
    page.click("#pad-overlay .keypad button[data-key='X']")
    type_keys(page, "#pad-overlay", "5")
    page.click("#pad-ok")
    assert page.inner_text("#vehicle-save") == "登记司机并放行"
    for control in ("#vd-name", "#vd-phone", "#vd-host", "#vd-type", "#vehicle-save", "#disinfected"):
        on_panel(page, control)
    shoot(page, "gate-vehicle-visitor")
    page.click("#vehicle-save")
    page.wait_for_selector("body[data-screen='result'] #result.admit")
    events = journal_since(demo_gate, before)
    kinds = [e.kind for e in events]
    assert kinds == [EventKind.VEHICLE, EventKind.VISITOR_REGISTRATION, EventKind.VEHICLE], kinds
    registration, vehicle = events[1], events[2]
    assert registration.data["name"] == "孙来访" and registration.data["plate"] == "津B99999"
    assert vehicle.data["visit_ref"] == registration.data["visit_ref"] and vehicle.data["verdict"] == "admit"
    assert vehicle.data["supersedes_seq"] == events[0].seq


def test_vehicle_screen_fits_in_both_languages(page, demo_gate, shoot):
    for language in ("zh-CN", "en"):
        if language == "en":
            page.click("#lang-switch")
            page.wait_for_selector("body[data-live='1']")
        page.click("[data-go='vehicle']")
        page.wait_for_selector("body[data-screen='vehicle']")
        type_plate(page, "津B99999")
        for control in ("#vehicle-save", "#disinfected", "#pass-plus", "#vehicle-direction button[data-direction='out']",
                        "#plate-alnum button[data-key='⌫']", "#vehicle-new"):
            on_panel(page, control)
        page.click("#vehicle-save")
        page.wait_for_selector("#vehicle-outcome:not([hidden])")
        page.click("#vehicle-save")
        page.wait_for_selector("#vehicle-visitor:not([hidden])")
        for control in ("#vd-name", "#vd-phone", "#vd-host", "#vd-measure", "#vd-reason button:last-child", "#vehicle-save"):
            on_panel(page, control)
        scroll = page.evaluate("() => { const s = document.querySelector('#screen-vehicle');"
                               " return [s.scrollHeight, s.clientHeight, s.scrollWidth, s.clientWidth]; }")
        assert scroll[0] <= scroll[1] and scroll[2] <= scroll[3], (language, scroll)
        shoot(page, f"gate-vehicle-{language}")
        page.click("#screen-vehicle .back")


def test_a_visitor_driving_in_with_a_fever_gets_the_fever_screen(page, demo_gate):
    page.click("[data-go='vehicle']")
    page.wait_for_selector("body[data-screen='vehicle']")
    type_plate(page, "津B99999")
    page.click("#disinfected")
    page.click("#vehicle-save")
    page.wait_for_selector("#vehicle-outcome:not([hidden])")
    page.click("#vehicle-save")  # 登记司机为访客
    type_hanzi(page, "#vd-name", hanzi_pairs("周来访"))
    page.click("#vd-phone")
    type_keys(page, "#pad-overlay", "13800138000")
    page.click("#pad-ok")
    page.click("#vd-host")
    for value in ("2", "1", "201"):
        page.click(f"#host-options button[data-value='{value}']")
    page.click("#vehicle-save")  # no temperature yet: asked for, nothing journaled
    page.wait_for_selector("#vehicle-error:has-text('请给司机测温')")
    for reading in ("386", "387"):
        page.click("#vd-type")
        type_keys(page, "#pad-overlay", reading[:2])
        page.click("#pad-overlay .keypad button[data-key='X']")
        type_keys(page, "#pad-overlay", reading[2])
        page.click("#pad-ok")
        page.click("#vehicle-save")
        if reading == "386":
            page.wait_for_selector("#vehicle-error:has-text('复测')")
    page.wait_for_selector("body[data-screen='fever']")
    assert "38.7" in page.inner_text("#fever-temperature")
    assert "周*访" in page.inner_text("#fever-who") and "津B99999" in page.inner_text("#fever-who")
    fever = [a for a in api(demo_gate, "alarms") if a["kind"] == "fever" and a["detail"].get("visitor")]
    assert len(fever) == 1
