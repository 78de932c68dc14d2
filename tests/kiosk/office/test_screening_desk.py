"""The desk's /screening over real HTTP on web.serving: roles, CSRF, start, mark, coverage, missing, close."""

from __future__ import annotations

import re

import pytest

from kiosk.office import audit, screening
from tests.web.test_desk_auth import Desk

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def desk(tmp_path):
    desk = Desk(tmp_path)
    desk.app.config["REGISTRY"].change([
        {"op": "upsert", "table": "households", "row": {"id": i, "building": b, "unit": "1", "room": r, "note": ""}}
        for i, (b, r) in enumerate((("5", "101"), ("5", "102"), ("6", "101")), 1)])
    yield desk
    desk.close()


def _building(desk, browser, building="5", **args):
    return browser.get(desk.url + "/screening/building", params={"compound": "本社区", "building": building, **args})


def test_start_mark_and_close(desk):
    browser, csrf = desk.signed_in("li")
    page = browser.get(desk.url + "/screening")
    assert page.status_code == 200 and "逐户排查" in page.text and 'id="sc-start"' in page.text
    started = browser.post(desk.url + "/screening/start", data={"csrf_token": csrf, "name": "第一轮"})
    assert started.status_code == 200 and "本轮排查已开始" in started.text and "0.0%" in started.text
    assert started.text.count('data-household="') == 3  # all three on the missing list
    building = _building(desk, browser)
    assert building.status_code == 200 and building.text.count('class="sc-mark"') == 2
    done = browser.post(desk.url + "/screening/mark", allow_redirects=False,
                        data={"csrf_token": csrf, "household_id": "1", "outcome": "visited", "note": "家中 2 人",
                              "back_from_elsewhere": "1", "compound": "本社区", "building": "5"})
    assert done.status_code == 303 and done.headers["Location"].endswith("#h-2")  # on to the next household
    location = done.headers["Location"].split("#")[0]
    after = browser.get(desk.url + location if location.startswith("/") else location)
    assert "5-1-101: 已入户" in after.text and "外地返回" in after.text and "家中 2 人" in after.text
    overview = browser.get(desk.url + "/screening")
    assert "33.3%" in overview.text and 'data-household="5-1-101"' not in overview.text
    visit = screening.households(desk.store, desk.app.config["REGISTRY"])[0]
    assert visit["by"] == "li" and visit["back_from_elsewhere"]
    unticked = browser.post(desk.url + "/screening/close", data={"csrf_token": csrf})
    assert unticked.status_code == 400 and "请勾选确认" in unticked.text
    closed = browser.post(desk.url + "/screening/close", data={"csrf_token": csrf, "confirm": "1"})
    assert closed.status_code == 200 and "本轮排查已结束" in closed.text and "已结束" in closed.text
    actions = [e["action"] for e in audit.search(desk.store, action="screening.").entries]
    assert actions == ["screening.round_closed", "screening.marked", "screening.round_started"]


def test_bad_input_is_refused_with_a_message(desk):
    browser, csrf = desk.signed_in("li")
    empty = browser.post(desk.url + "/screening/start", data={"csrf_token": csrf, "name": "  "})
    assert empty.status_code == 400 and "轮次名称不能为空" in empty.text
    no_round = browser.post(desk.url + "/screening/mark", data={"csrf_token": csrf, "household_id": "1",
                                                                 "outcome": "visited", "building": "5",
                                                                 "compound": "本社区"})
    assert no_round.status_code == 409 and "没有进行中的排查轮次" in no_round.text
    browser.post(desk.url + "/screening/start", data={"csrf_token": csrf, "name": "第一轮"})
    twice = browser.post(desk.url + "/screening/start", data={"csrf_token": csrf, "name": "第二轮"})
    assert twice.status_code == 409 and "还在进行中" in twice.text
    for fields, message in (({"household_id": "1", "outcome": "maybe"}, "排查结果须为"),
                            ({"household_id": "x1", "outcome": "visited"}, "不是本名单中的住户"),
                            ({"household_id": "99", "outcome": "visited"}, "登记册中没有住户"),
                            ({"household_id": "1", "outcome": "visited", "note": "长" * 300}, "备注最多 200 字")):
        answer = browser.post(desk.url + "/screening/mark",
                              data={"csrf_token": csrf, "building": "5", "compound": "本社区", **fields})
        assert answer.status_code == 400 and message in answer.text, fields
    assert screening.coverage(desk.store, desk.app.config["REGISTRY"])["totals"]["unmarked"] == 3


def test_roles_and_csrf(desk):
    viewer, viewer_csrf = desk.signed_in("sub")
    page = viewer.get(desk.url + "/screening")
    assert page.status_code == 200 and 'id="sc-start"' not in page.text
    assert viewer.post(desk.url + "/screening/start", data={"csrf_token": viewer_csrf, "name": "x"}).status_code == 403
    staff, csrf = desk.signed_in("li")
    assert staff.post(desk.url + "/screening/start", data={"csrf_token": "wrong" * 8, "name": "x"}).status_code == 403
    assert staff.post(desk.url + "/screening/start", data={"csrf_token": csrf, "name": "第一轮"}).status_code == 200
    read_only = _building(desk, viewer)
    assert read_only.status_code == 200 and 'class="sc-mark"' not in read_only.text and "5-1-102" in read_only.text
    assert viewer.post(desk.url + "/screening/mark", data={"csrf_token": viewer_csrf, "household_id": "1",
                                                            "outcome": "visited"}).status_code == 403
    english = staff.get(desk.url + "/screening", cookies={"lang": "en"})
    assert "Door-to-door screening" in english.text and re.search(r"Not reached yet \(3\)", english.text)
