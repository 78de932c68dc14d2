"""The desk's registry forms over real HTTP on web.serving: staff add, edit, move, reset a PIN and remove with a
confirmation; a refusal is a Chinese message naming the field and stores nothing; viewers get no forms."""

from __future__ import annotations

import pytest

from kiosk.credentials import verify_secret
from kiosk.office import audit
from tests.kiosk.office.test_registry_edit import GOOD_ID, MONTH_13
from tests.web.test_desk_auth import Desk

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def desk(tmp_path):
    desk = Desk(tmp_path)
    desk.app.config["REGISTRY"].change([
        {"op": "upsert", "table": "households", "row": {"id": 1, "building": "5", "unit": "1", "room": "101", "note": ""}},
        {"op": "upsert", "table": "households", "row": {"id": 2, "building": "5", "unit": "1", "room": "102", "note": ""}},
    ])
    yield desk
    desk.close()


def test_staff_add_a_resident_refused_then_added_moved_and_removed(desk):
    browser, csrf = desk.signed_in("li")
    master = desk.app.config["REGISTRY"]
    people = browser.get(desk.url + "/people?tab=residents")
    assert 'id="registry-add"' in people.text and "/people/residents/new" in people.text
    form = browser.get(desk.url + "/people/residents/new")
    assert form.status_code == 200 and 'name="id_number"' in form.text

    before = master.version
    fields = {"csrf_token": csrf, "household": "5号楼1单元101室", "name": "李四", "phone": "13812345678"}
    refused = browser.post(desk.url + "/people/residents/new", data={**fields, "id_number": MONTH_13})
    assert refused.status_code == 400
    assert "身份证号：身份证号中的出生日期不存在" in refused.text and 'data-field="id_number"' in refused.text
    assert 'value="李四"' in refused.text  # what was typed stays in the form
    assert master.version == before and master.snapshot()["residents"] == []

    added = browser.post(desk.url + "/people/residents/new", data={**fields, "id_number": GOOD_ID},
                         allow_redirects=False)
    assert added.status_code == 303 and "/people/residents/1?saved=" in added.headers["Location"]
    page = browser.get(desk.url + added.headers["Location"])
    assert "已保存：登记册版本" in page.text and 'value="13812345678"' in page.text
    row = master.resident(1)
    assert row["phone"] == "13812345678" and row["id_masked"].endswith(GOOD_ID[-4:])

    moved = browser.post(desk.url + "/people/residents/1/move", data={"csrf_token": csrf, "household": "5/1/102"})
    assert moved.status_code == 200 and master.resident(1)["household_id"] == 2
    nowhere = browser.post(desk.url + "/people/residents/1/move", data={"csrf_token": csrf, "household": "9-9-9"})
    assert nowhere.status_code == 400 and "没有住户 9-9-9" in nowhere.text

    confirm = browser.get(desk.url + "/people/residents/1/remove")
    assert confirm.status_code == 200 and 'id="registry-confirm-yes"' in confirm.text and master.resident(1)
    gone = browser.post(desk.url + "/people/residents/1/remove", data={"csrf_token": csrf}, allow_redirects=False)
    assert gone.status_code == 303 and master.resident(1) is None
    assert "已删除" in browser.get(desk.url + gone.headers["Location"]).text
    actions = [e["action"] for e in audit.search(desk.store, action="registry.").entries]
    assert actions == ["registry.resident_removed", "registry.resident_moved", "registry.resident_added"]
    assert all(e["actor"] == "li" for e in audit.search(desk.store, action="registry.").entries)


def test_household_in_use_is_not_removed_and_compound_is_edited(desk):
    browser, csrf = desk.signed_in("li")
    master = desk.app.config["REGISTRY"]
    browser.post(desk.url + "/people/vehicles/new", data={"csrf_token": csrf, "plate": "京a12345", "household": "5-1-101"})
    refused = browser.post(desk.url + "/people/households/1/remove", data={"csrf_token": csrf})
    assert refused.status_code == 400 and "5-1-101 还有1 辆车，不能删除" in refused.text and master.household(1)
    saved = browser.post(desk.url + "/people/households/2", data={"csrf_token": csrf, "address": "5-1-102",
                                                                  "compound": "北区", "note": ""})
    assert saved.status_code == 200 and master.household(2)["compound"] == "北区"


def test_volunteer_pin_reset_from_the_desk(desk):
    browser, csrf = desk.signed_in("li")
    master = desk.app.config["REGISTRY"]
    browser.post(desk.url + "/people/volunteers/new", data={"csrf_token": csrf, "name": "赵志愿", "pin": "1234"})
    page = browser.get(desk.url + "/people/volunteers/1")
    assert 'id="registry-pin"' in page.text and "1234" not in page.text
    short = browser.post(desk.url + "/people/volunteers/1/pin", data={"csrf_token": csrf, "pin": "12"})
    assert short.status_code == 400 and "PIN 应为 4 到 8 位数字" in short.text
    assert browser.post(desk.url + "/people/volunteers/1/pin", data={"csrf_token": csrf, "pin": "8642"}).ok
    assert verify_secret("8642", master.volunteer(1)["pin_hash"])


def test_viewers_see_no_edit_controls_and_are_refused(desk):
    viewer, csrf = desk.signed_in("sub")
    master = desk.app.config["REGISTRY"]
    for tab in ("residents", "households", "vehicles", "volunteers"):
        page = viewer.get(desk.url + f"/people?tab={tab}")
        assert page.status_code == 200 and 'id="registry-add"' not in page.text and 'class="edit"' not in page.text
    assert viewer.get(desk.url + "/people/visitors").status_code == 200
    before = master.version
    assert viewer.get(desk.url + "/people/households/new").status_code == 403
    assert viewer.get(desk.url + "/people/households/1").status_code == 403
    assert viewer.post(desk.url + "/people/households/new", data={"csrf_token": csrf, "address": "7-1-1"}).status_code == 403
    assert viewer.post(desk.url + "/people/households/1/remove", data={"csrf_token": csrf}).status_code == 403
    assert master.version == before
    staff, staff_csrf = desk.signed_in("li")
    assert staff.post(desk.url + "/people/households/1/remove", data={"csrf_token": "x" * 20}).status_code == 403
    assert staff.get(desk.url + "/people/nonsense/new").status_code == 404
    assert staff.get(desk.url + "/people/households/99").status_code == 404
    assert master.version == before
