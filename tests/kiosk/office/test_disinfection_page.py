"""The desk's /disinfection over real HTTP on web.serving: the day per compound with desk and gate rounds, staff
record a round (CSRF, audit), bad input names the field and stores nothing, viewers see no form and are refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.office import audit
from kiosk.office.queries.gates import set_gate_compound
from tests.web.test_desk_auth import Desk

pytestmark = pytest.mark.timeout(120)
Z = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def desk(tmp_path):
    desk = Desk(tmp_path)
    master = desk.app.config["REGISTRY"]
    master.change([{"op": "upsert", "table": "households", "row": r} for r in [
        {"id": 1, "building": "5", "unit": "1", "room": "101", "compound": "东苑"},
        {"id": 2, "building": "6", "unit": "1", "room": "201", "compound": "西苑"}]])
    master.upsert("volunteers", {"id": 7, "name": "赵志愿", "pin_hash": "x"})
    desk.store.add_gate("north", "北门")
    set_gate_compound(desk.store, "north", "东苑")
    yield desk
    desk.close()


def _rows(page: str) -> int:
    return len(re.findall(r"<tr data-source=", page))


def test_today_per_compound_with_the_gates_round_and_a_round_recorded_at_the_desk(desk):
    now = datetime.now(UTC) - timedelta(minutes=1)
    desk.store.ingest("north", [{"seq": 1, "id": "n1", "ts": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
                                 "gate_id": "north", "volunteer_id": "7", "kind": "disinfection", "subject": None,
                                 "household_id": None, "data": {"area": "gate", "agent": "alcohol", "note": ""}}])
    browser, csrf = desk.signed_in("li")
    page = browser.get(desk.url + "/disinfection")
    assert page.status_code == 200 and "消杀" in page.text
    assert re.search(r'data-compound="东苑" data-done="0"', page.text) and "已消杀 1 次，应 2 次" in page.text
    assert "缺 2 次" in page.text and "卡口及出入口" in page.text and "赵志愿" in page.text and "北门" in page.text
    assert 'id="disinfection-form"' in page.text and _rows(page.text) == 1
    local = now.astimezone(Z).strftime("%Y-%m-%dT%H:%M")
    done = browser.post(desk.url + "/disinfection", allow_redirects=False, data={
        "csrf_token": csrf, "compound": "东苑", "area": "_other", "area_other": "3号楼楼道", "agent": "chlorine",
        "agent_other": "", "done_by": "保洁 张师傅", "done_at": local, "note": "两遍"})
    assert done.status_code == 303 and "saved=1" in done.headers["Location"]
    page = browser.get(desk.url + done.headers["Location"])
    assert "消杀已登记" in page.text and 'data-compound="东苑" data-done="1"' in page.text
    assert "3号楼楼道" in page.text and "含氯消毒液" in page.text and "保洁 张师傅" in page.text and _rows(page.text) == 2
    entry = audit.search(desk.store, action="disinfection.recorded").entries[0]
    assert entry["actor"] == "li" and entry["target"] == "东苑"
    english = browser.get(desk.url + "/disinfection", cookies={"lang": "en"})
    assert "2 of 2 rounds" in english.text and "Gate and entrance" in english.text


def test_bad_input_names_the_field_keeps_the_form_and_stores_nothing(desk):
    browser, csrf = desk.signed_in("li")
    answer = browser.post(desk.url + "/disinfection", data={
        "csrf_token": csrf, "compound": "东苑", "area": "_other", "area_other": "", "agent": "chlorine",
        "done_by": "保洁 张师傅", "done_at": "", "note": ""})
    assert answer.status_code == 400 and "消杀区域不能为空" in answer.text
    assert 'name="area" aria-invalid="true"' in answer.text and 'value="保洁 张师傅"' in answer.text
    answer = browser.post(desk.url + "/disinfection", data={
        "csrf_token": csrf, "compound": "北苑", "area": "gate", "agent": "chlorine", "done_by": "张", "done_at": ""})
    assert answer.status_code == 400 and "没有小区" in answer.text
    answer = browser.post(desk.url + "/disinfection", data={
        "csrf_token": csrf, "compound": "东苑", "area": "gate", "agent": "chlorine", "done_by": "张",
        "done_at": "2999-01-01T08:00"})
    assert answer.status_code == 400 and "不能晚于现在" in answer.text
    forged = browser.post(desk.url + "/disinfection", data={
        "csrf_token": "wrong", "compound": "东苑", "area": "gate", "agent": "chlorine", "done_by": "张"})
    assert forged.status_code == 403
    assert desk.store.database().execute("SELECT COUNT(*) FROM disinfection_rounds").fetchone()[0] == 0


def test_a_viewer_sees_the_day_without_the_form_and_cannot_record(desk):
    browser, csrf = desk.signed_in("sub")
    page = browser.get(desk.url + "/disinfection?day=2026-11-30")
    assert page.status_code == 200 and "2026-11-30" in page.text and 'id="disinfection-form"' not in page.text
    assert "当天没有消杀记录" in page.text
    refused = browser.post(desk.url + "/disinfection", data={
        "csrf_token": csrf, "compound": "东苑", "area": "gate", "agent": "chlorine", "done_by": "张"})
    assert refused.status_code == 403
    assert desk.store.database().execute("SELECT COUNT(*) FROM disinfection_rounds").fetchone()[0] == 0
    bad_day = browser.get(desk.url + "/disinfection?day=2026-13-40")
    assert bad_day.status_code == 400 and "2026-12-01" in bad_day.text
