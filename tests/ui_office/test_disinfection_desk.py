"""The disinfection log (消杀) in a real browser: a volunteer records a round on the demo gate's touchscreen at
800×480 (signing in on the way), it reaches the office by sync and shows on the desk's /disinfection with the gate's
name; staff record one at the desk; the page fits an office PC and a phone without sideways scrolling."""

from __future__ import annotations

import re
import time

import requests

from tests.ui_office.conftest import DESK, PHONE, sign_in

PANEL = {"width": 800, "height": 480}


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), page.viewport_size


def _rounds(page, compound_card) -> int:
    text = compound_card.locator(".rounds").inner_text()
    return int(re.search(r"\d+", text).group(0))


def test_a_round_on_the_gates_touchscreen_shows_on_the_desk(browser, desk, demo_office, shoot):
    # the desk first: how many rounds each compound has so far today (the demo may have seeded the morning's)
    desk.goto(demo_office.url + "/disinfection")
    card = desk.locator("#disinfection-status article").first
    compound = card.get_attribute("data-compound")
    before = _rounds(desk, card)
    gate_rows_before = desk.locator("#disinfection-entries tr[data-source='gate']").count()

    # the touchscreen, with nobody on duty: the volunteer picks, is sent to sign in, comes back and records
    assert requests.delete(demo_office.gate_url + "api/v1/shift", timeout=10).status_code == 200
    context = browser.new_context(viewport=PANEL, has_touch=True, locale="zh-CN")
    gate = context.new_page()
    gate.set_default_timeout(20000)
    errors: list[str] = []
    gate.on("pageerror", lambda exc: errors.append(str(exc)))
    gate.goto(demo_office.gate_url)
    gate.wait_for_selector("body[data-live='1']")
    gate.click("#go-disinfection")
    gate.wait_for_selector("body[data-screen='disinfection']")
    # The screen asks the gate who is on duty when it opens: the words come with that answer, not at once.
    gate.wait_for_function("document.querySelector('#d-error').textContent.includes('请先签到')")
    for box in ("#d-area", "#d-agent", "#d-save"):  # glove-sized targets
        sizes = gate.eval_on_selector_all(f"{box} button, {box}", "els => els.map(e => e.getBoundingClientRect().height)")
        assert min(sizes) >= 48, (box, sizes)
    # Everything on the panel without scrolling: the note and the save button are never under anything.
    for box in ("#d-area", "#d-agent", "#d-note", "#d-save"):
        bottom = gate.eval_on_selector(box, "e => e.getBoundingClientRect().bottom")
        assert bottom <= PANEL["height"], (box, bottom)
    gate.click("#d-area button:has-text('楼道')")
    gate.click("#d-agent button[data-other]")  # the community's own agent, typed on the keyboard
    gate.fill("#d-agent-other", "84消毒液")
    gate.fill("#d-note", "1至3号楼")
    _no_sideways_scroll(gate)
    gate.click("#d-save")
    gate.wait_for_selector("body[data-screen='volunteer']")
    gate.click("#volunteer-names button:has-text('赵志愿')")
    for key in "2468✓":
        gate.click(f"#sign-in .keypad button[data-key='{key}']")
    gate.wait_for_selector("body[data-screen='disinfection']")
    assert gate.locator("#d-area button.on").inner_text() == "楼道"  # what was picked is still picked
    assert gate.input_value("#d-agent-other") == "84消毒液"
    gate.click("#d-save")
    gate.wait_for_selector("#toast:not([hidden])")
    assert "消杀已登记" in gate.inner_text("#toast")
    gate.wait_for_selector("#d-today li:has-text('84消毒液')")
    assert "楼道" in gate.inner_text("#d-today") and "赵志愿" in gate.inner_text("#d-today")
    shoot(gate, "gate-disinfection")
    context.close()
    assert errors == [], errors

    # the office has it after the gate's next sync: on the desk with the gate's name, counted for its compound
    deadline = time.monotonic() + 30
    while True:
        desk.goto(demo_office.url + "/disinfection")
        if desk.locator("#disinfection-entries tr[data-source='gate']").count() > gate_rows_before:
            break
        assert time.monotonic() < deadline, "the gate's round did not reach the desk within 30 s"
        time.sleep(1)
    row = desk.locator("#disinfection-entries tr[data-source='gate']", has_text="84消毒液")
    assert "楼道" in row.inner_text() and "赵志愿" in row.inner_text() and "1至3号楼" in row.inner_text()
    card = desk.locator(f"#disinfection-status article[data-compound='{compound}']")
    assert _rounds(desk, card) == before + 1
    _no_sideways_scroll(desk)


def test_staff_record_a_round_at_the_desk_and_the_missing_flag_goes(desk, demo_office, shoot):
    desk.goto(demo_office.url + "/disinfection")
    cards = desk.locator("#disinfection-status article")
    compound = cards.first.get_attribute("data-compound")
    card = desk.locator(f"#disinfection-status article[data-compound='{compound}']")
    while card.get_attribute("data-done") == "0":  # record rounds until the compound's day is done
        assert card.locator(".missing").count() == 1
        desk.select_option("#disinfection-form select[name=compound]", compound)
        desk.select_option("#disinfection-form select[name=area]", "public_areas")
        desk.select_option("#disinfection-form select[name=agent]", "chlorine")
        desk.fill("#disinfection-form input[name=done_by]", "保洁 张师傅")
        desk.click("#disinfection-form button[type=submit]")
        desk.wait_for_selector("#disinfection-saved")
        card = desk.locator(f"#disinfection-status article[data-compound='{compound}']")
    assert card.locator(".tag.ok").inner_text() == "已完成"
    assert desk.locator("#disinfection-entries tr[data-source='office']", has_text="保洁 张师傅").count() >= 1
    _no_sideways_scroll(desk)
    shoot(desk, "desk-disinfection")
    # the day picker: yesterday
    desk.fill("#disinfection-day input[name=day]", "2026-01-01")
    desk.click("#disinfection-day button[type=submit]")
    desk.wait_for_selector("#disinfection-none")
    assert all(a.get_attribute("data-done") == "0" for a in desk.locator("#disinfection-status article").all())


def test_the_page_fits_a_phone(browser, demo_office):
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20000)
    sign_in(page, demo_office)
    page.goto(demo_office.url + "/disinfection")
    page.wait_for_selector("#disinfection-form")
    _no_sideways_scroll(page)
    assert page.viewport_size == PHONE and DESK["width"] > PHONE["width"]
    context.close()
