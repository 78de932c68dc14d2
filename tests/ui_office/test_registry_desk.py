"""The registry from the desk, in a real browser against ``kiosk demo --serve``: staff add a resident (a month-13 ID
number refused in Chinese, then fixed), move them, reset a volunteer's PIN and sign in at the demo gate with it, remove
with a confirmation; a viewer sees no edit controls; the forms fit an office PC and a phone."""

from __future__ import annotations

import re
import time

import requests

from kiosk.office.accounts import Accounts
from kiosk.office.store import OfficeStore
from tests.kiosk.office.test_registry_edit import GOOD_ID, MONTH_13
from tests.ui_office.conftest import DESK, PHONE, sign_in


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), page.url


def _gate_has(office, version: int) -> None:
    deadline = time.monotonic() + 40
    while requests.get(office.gate_url + "api/v1/status", timeout=10).json()["registry_version"] < version:
        assert time.monotonic() < deadline, "the gate never synced the new registry version"
        time.sleep(0.5)


def _saved_version(page) -> int:
    return int(re.search(r"登记册版本 (\d+)", page.inner_text("#registry-saved")).group(1))


def test_staff_add_move_reset_pin_and_remove_from_the_people_screen(desk, demo_office, shoot):
    desk.click("nav a[href='/people']")
    desk.click("#registry-add")
    desk.wait_for_selector("#registry-form")
    desk.fill("input[name=household]", "1号楼1单元101室")
    desk.fill("input[name=name]", "孙新来")
    desk.fill("input[name=id_number]", MONTH_13)
    desk.fill("input[name=phone]", "138 0000 1111")
    desk.click("#registry-form button[type=submit]")
    problem = desk.wait_for_selector("#registry-problem")
    assert "身份证号中的出生日期不存在" in problem.inner_text()
    assert desk.locator("label.wrong input[name=id_number]").count() == 1  # the field is marked
    assert desk.input_value("input[name=name]") == "孙新来"  # what was typed stays
    _no_sideways_scroll(desk)

    desk.fill("input[name=id_number]", GOOD_ID)
    desk.click("#registry-form button[type=submit]")
    desk.wait_for_selector("#registry-saved")
    assert desk.inner_text("#registry-household") == "1-1-101"
    assert desk.input_value("input[name=phone]") == "13800001111"
    shoot(desk, "desk-registry")

    desk.fill("#registry-move input[name=household]", "3-1-502")
    desk.click("#registry-move button[type=submit]")
    desk.wait_for_selector("#registry-saved")
    assert desk.inner_text("#registry-household") == "3-1-502"

    desk.click("#registry-remove")
    desk.wait_for_selector("#registry-confirm")
    assert "孙新来" in desk.inner_text("#registry-confirm")
    desk.click("#registry-confirm-yes")
    desk.wait_for_selector("#registry-removed")
    desk.fill("input[name=q]", "孙新来")
    desk.click("form.toolbar button[type=submit]")
    desk.wait_for_selector("p.empty")  # gone from the list

    # a new PIN for 赵志愿 (volunteer 1), then the gate takes it at its next sync
    desk.goto(demo_office.url + "/people?tab=volunteers")
    desk.click("a.edit[href='/people/volunteers/1']")
    desk.fill("#registry-pin input[name=pin]", "13579")
    desk.click("#registry-pin button[type=submit]")
    desk.wait_for_selector("#registry-saved")
    _gate_has(demo_office, _saved_version(desk))
    signed = requests.post(demo_office.gate_url + "api/v1/shift", json={"volunteer_id": 1, "pin": "13579"}, timeout=10)
    assert signed.status_code == 200, signed.text

    desk.set_viewport_size(PHONE)
    desk.goto(demo_office.url + "/people/residents/1")
    desk.wait_for_selector("#registry-form")
    _no_sideways_scroll(desk)
    desk.goto(demo_office.url + "/people/residents/new")
    _no_sideways_scroll(desk)
    desk.set_viewport_size(DESK)


def test_a_viewer_sees_no_edit_controls(browser, demo_office):
    store = OfficeStore(demo_office.office_dir / "office.db")
    try:
        Accounts(store).add_user("jiedao", "viewer", "viewer password 1")
    finally:
        store.close()
    context = browser.new_context(viewport=DESK, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20000)
    sign_in(page, demo_office, "jiedao", "viewer password 1")
    for tab in ("residents", "households", "vehicles", "volunteers"):
        page.goto(demo_office.url + f"/people?tab={tab}")
        page.wait_for_selector("#people-table")
        assert page.locator("#registry-add").count() == 0 and page.locator("a.edit").count() == 0
    response = page.goto(demo_office.url + "/people/residents/1")
    assert response.status == 403
    context.close()


def test_staff_add_a_visitor_pass_show_its_qr_and_download_the_card(desk, demo_office, shoot, tmp_path):
    """The new pass lands on its QR: read off the screen with the gate's decoder, then the PDF downloaded."""
    from datetime import datetime

    from kiosk import demo
    from kiosk.cards import CardKind, verify_card
    from kiosk.office.registry_master import RegistryMaster
    from sensors.cameras import load_gray
    from sensors.decoders import make_decoder

    desk.goto(demo_office.url + "/people/visitors")
    desk.click("#registry-add")
    desk.wait_for_selector("#registry-form")
    desk.fill("input[name=name]", "周来访")
    desk.fill("input[name=host]", "1-1-101")
    desk.click("#registry-form button[type=submit]")
    desk.wait_for_selector("#visitor-qr svg")
    assert desk.locator("#registry-saved").count() == 1
    box = desk.locator("#visitor-qr").bounding_box()
    assert box is not None and box["width"] >= 250  # big enough for a phone's camera across the desk
    desk.locator("#visitor-qr").screenshot(path=str(tmp_path / "qr.png"))
    [text] = make_decoder("zxing").decode(load_gray(tmp_path / "qr.png"))
    number = int(desk.inner_text("#visitor-card-number"))
    with RegistryMaster(demo_office.office_dir / "registry.db") as master:
        check = master.check_revocation(verify_card(text, master.keyset(), datetime.now(demo.ZoneInfo(demo.TIMEZONE)),
                                                    demo.TIMEZONE))
    assert check.valid and check.card is not None, check.reason
    assert (check.card.kind, check.card.card_id) == (CardKind.VISITOR, number)  # the card the gate will accept
    shoot(desk, "desk-visitorcard")
    with desk.expect_download() as caught:
        desk.click("#visitor-card-print button[type=submit]")
    saved = tmp_path / caught.value.suggested_filename
    caught.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF") and saved.name.endswith(f"-card-{number}.pdf")
    desk.set_viewport_size(PHONE)
    desk.reload()
    desk.wait_for_selector("#visitor-qr svg")
    _no_sideways_scroll(desk)
    desk.set_viewport_size(DESK)
    desk.goto(demo_office.url + "/people/visitors")
    assert desk.locator("a.visitor-qr-link").count() >= 1
