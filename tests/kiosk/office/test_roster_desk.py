"""The desk's /roster page over real HTTP on web.serving: staff sign in, upload, preview, apply with CSRF, audit."""

from __future__ import annotations

import re

import pytest

from kiosk.office import audit
from tests.web.test_desk_auth import Desk

pytestmark = pytest.mark.timeout(120)

from tests.kiosk.office.test_roster_preview import FIRST, ID2, csv_bytes  # noqa: E402


@pytest.fixture
def desk(tmp_path):
    desk = Desk(tmp_path)
    yield desk
    desk.close()


def _token(page: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', page).group(1)


def _upload(desk, browser, csrf, data: bytes, name: str = "roster.csv", **fields):
    return browser.post(desk.url + "/roster", data={"csrf_token": csrf, **fields},
                        files={"roster": (name, data, "text/csv")})


def test_upload_preview_apply(desk):
    browser, csrf = desk.signed_in("li")
    form = browser.get(desk.url + "/roster")
    assert form.status_code == 200 and "导入花名册" in form.text and 'enctype="multipart/form-data"' in form.text
    preview = _upload(desk, browser, csrf, FIRST.decode("utf-8-sig").encode("gbk"))  # a GBK file from Excel
    assert preview.status_code == 200, preview.text
    assert 'data-kind="residents"><td>居民</td><td class="num">3</td>' in preview.text
    assert "5-1-101" in preview.text and "6-2-302" in preview.text  # the normalised addresses are shown
    assert "没有问题，可以导入" in preview.text
    assert desk.app.config["REGISTRY"].version == 0  # nothing changes before the button
    token = _token(preview.text)
    done = browser.post(desk.url + "/roster/apply", data={"csrf_token": csrf, "token": token})
    assert done.status_code == 200 and "已导入：登记册版本 1" in done.text
    registry = desk.app.config["REGISTRY"]
    assert registry.version == 1 and registry.counts()["residents"] == 3
    entry = audit.search(desk.store, action="registry.roster_import").entries[0]
    assert entry["actor"] == "li" and entry["target"] == "roster.csv"
    again = browser.post(desk.url + "/roster/apply", data={"csrf_token": csrf, "token": token})
    assert again.status_code == 409 and "预览已过期或不存在" in again.text and registry.version == 1  # used once


def test_problems_by_row_and_no_apply_button(desk):
    browser, csrf = desk.signed_in("li")
    page = _upload(desk, browser, csrf, csv_bytes("5,1,101,王小山,,,", "东区,,,李红,,,", "5,1,102,,,,"))
    assert page.status_code == 200
    assert "地址“东区”无法识别" in page.text and "姓名为空" in page.text
    assert re.search(r'<td class="num">3</td><td>地址', page.text) and 'id="roster-apply"' not in page.text


def test_stale_preview_refused(desk):
    browser, csrf = desk.signed_in("li")
    token = _token(_upload(desk, browser, csrf, FIRST).text)
    desk.app.config["REGISTRY"].upsert("households", {"id": 50, "building": "9", "unit": "", "room": "1", "note": ""})
    stale = browser.post(desk.url + "/roster/apply", data={"csrf_token": csrf, "token": token})
    assert stale.status_code == 409 and "请重新上传预览" in stale.text
    assert desk.app.config["REGISTRY"].counts()["residents"] == 0


def test_roles_csrf_and_other_users_token(desk):
    viewer, viewer_csrf = desk.signed_in("sub")
    assert viewer.get(desk.url + "/roster").status_code == 403
    assert _upload(desk, viewer, viewer_csrf, FIRST).status_code == 403
    staff, csrf = desk.signed_in("li")
    assert _upload(desk, staff, "wrong" * 8, FIRST).status_code == 403  # no CSRF token, no preview
    token = _token(_upload(desk, staff, csrf, csv_bytes(f"6,2,302,张三,,{ID2},")).text)
    admin, admin_csrf = desk.signed_in("wang")
    other = admin.post(desk.url + "/roster/apply", data={"csrf_token": admin_csrf, "token": token})
    assert other.status_code == 409 and desk.app.config["REGISTRY"].version == 0  # a preview is its maker's
    anonymous = desk.browser().post(desk.url + "/roster", files={"roster": ("r.csv", FIRST)}, allow_redirects=False)
    assert anonymous.status_code == 401  # web.serving refuses a body without a session, unread


def test_no_file_bad_file_and_too_big(desk):
    browser, csrf = desk.signed_in("li")
    assert "请选择" in browser.post(desk.url + "/roster", data={"csrf_token": csrf}).text
    bad = _upload(desk, browser, csrf, b"PK\x03\x04junk", "roster.xlsx")
    assert bad.status_code == 200 and ".xlsx" in bad.text and 'id="roster-apply"' not in bad.text
    from web.office.desk_roster import upload_limit

    with desk.app.app_context():
        limit = upload_limit()
    assert limit > 3 * 1024 * 1024  # 4 MiB of body today (web.office.MAX_BODY_BYTES), less the form around the file
    over = _upload(desk, browser, csrf, b"x" * (limit + 1))
    assert over.status_code == 413 and "文件超过 3.9 MB" in over.text  # the page's own limit, in Chinese
    big = _upload(desk, browser, csrf, b"x" * (5 * 1024 * 1024))
    assert big.status_code == 413  # over the office's request-body limit: refused before it is read


def test_the_preview_shows_households_compounds(desk):
    from tests.kiosk.office.test_roster_preview import WITH_COMPOUNDS, compound_csv

    browser, csrf = desk.signed_in("li")
    first = _upload(desk, browser, csrf, WITH_COMPOUNDS)
    assert first.status_code == 200, first.text
    added = re.search(r'data-list="households-added">.*?</details>', first.text, re.S).group(0)
    assert "<th>小区</th>" in added and "<td>5-1-101</td><td>东苑</td>" in added and "西苑 二期" in added
    browser.post(desk.url + "/roster/apply", data={"csrf_token": csrf, "token": _token(first.text)})
    moved = _upload(desk, browser, csrf, compound_csv("5,1,101,王小山,北苑", "5,1,101,李红,", "6,2,302,张三,"))
    assert 'data-kind="households"><td>住户</td><td class="num">0</td><td class="num">1</td>' in moved.text
    changed = re.search(r'data-list="households-changed">.*?</details>', moved.text, re.S).group(0)
    assert "<td>5-1-101</td><td>北苑</td><td>东苑</td>" in changed and "<th>原来</th>" in changed
    assert desk.app.config["REGISTRY"].snapshot()["households"][0]["compound"] == "东苑"  # not before the button
    without = _upload(desk, browser, csrf, csv_bytes("7,1,101,钱七,,,"), remove="none")
    assert 'data-list="households-added"' in without.text and "<th>小区</th>" not in without.text  # no column, no 小区
