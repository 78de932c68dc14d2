"""The desk's /paperwork over real HTTP on web.serving: staff start an export and a report, poll, download once;
viewers are refused; bad dates are told in Chinese; both steps are in the audit log."""

from __future__ import annotations

import io
import re
import time

import openpyxl
import pytest

from kiosk.office import audit
from tests.web.test_desk_auth import Desk

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def desk(tmp_path):
    desk = Desk(tmp_path)
    yield desk
    jobs = desk.app.extensions.get("paperwork_jobs")
    if jobs is not None:
        jobs.stop()
    desk.close()


def _poll(browser, url: str, job_id: str) -> dict:
    for _ in range(300):
        job = browser.get(f"{url}/paperwork/jobs/{job_id}", headers={"Accept": "application/json"}).json()["job"]
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError("the job did not finish")


def test_export_and_report_from_the_desk(desk):
    browser, csrf = desk.signed_in("li")
    page = browser.get(desk.url + "/paperwork")
    assert page.status_code == 200 and 'id="export-form"' in page.text and 'id="report-form"' in page.text
    assert "<h1>导出与日报</h1>" in page.text and "排队中：前面还有 {n} 个" in page.text  # zh-CN first, script words too
    english = browser.get(desk.url + "/paperwork", cookies={"lang": "en"})
    assert "<h1>Exports and report</h1>" in english.text and "Start the export" in english.text
    fetch = {"Accept": "application/json", "X-CSRF-Token": csrf, "X-Requested-With": "fetch"}
    started = browser.post(desk.url + "/paperwork/jobs", headers=fetch,
                           data={"kind": "export", "from": "2026-11-01", "to": "2026-11-02", "format": "xlsx"})
    assert started.status_code == 202, started.text
    job = _poll(browser, desk.url, started.json()["job"]["id"])
    assert job["state"] == "done", job
    other, _ = desk.signed_in("wang")
    assert other.get(f"{desk.url}/paperwork/jobs/{job['id']}/file").status_code == 404  # not the admin's file
    file = browser.get(f"{desk.url}/paperwork/jobs/{job['id']}/file")
    assert file.status_code == 200 and "attachment" in file.headers["Content-Disposition"]
    assert "export-2026-11-01-2026-11-02.xlsx" in file.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(file.content))
    assert book.sheetnames[:4] == ["出入记录", "外来人员登记", "车辆登记", "体温异常"]
    again = browser.get(f"{desk.url}/paperwork/jobs/{job['id']}/file")
    assert again.status_code == 404 and "已被下载" in again.text  # once: the file is gone from the office
    report = browser.post(desk.url + "/paperwork/jobs", headers=fetch,
                          data={"kind": "report", "day": "2026-11-02", "format": "pdf"})
    assert report.status_code == 202
    job = _poll(browser, desk.url, report.json()["job"]["id"])
    pdf = browser.get(f"{desk.url}/paperwork/jobs/{job['id']}/file")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf.headers["Content-Type"] == "application/pdf"
    actions = [e["action"] for e in audit.search(desk.store, actor="li").entries]
    assert actions.count("paperwork.start") == 2 and actions.count("paperwork.download") == 2


def test_refusals(desk):
    viewer, viewer_csrf = desk.signed_in("sub")
    assert viewer.get(desk.url + "/paperwork").status_code == 403
    assert viewer.post(desk.url + "/paperwork/jobs", data={"csrf_token": viewer_csrf, "kind": "export"}).status_code == 403
    browser, csrf = desk.signed_in("li")
    assert browser.post(desk.url + "/paperwork/jobs", data={"kind": "report", "day": "2026-11-02",
                                                            "format": "pdf"}).status_code == 403  # no CSRF token
    fetch = {"Accept": "application/json", "X-CSRF-Token": csrf, "X-Requested-With": "fetch"}
    for data, message in (({"kind": "export", "from": "yesterday", "to": "2026-11-02", "format": "xlsx"}, "开始日期须为日期"),
                          ({"kind": "export", "from": "2026-11-03", "to": "2026-11-02", "format": "xlsx"}, "早于开始日期"),
                          ({"kind": "report", "day": "2026-11-02", "format": "exe"}, "不能生成")):
        answer = browser.post(desk.url + "/paperwork/jobs", headers=fetch, data=data)
        assert answer.status_code == 400 and message in answer.json()["error"], answer.text
    # without the script: the form posts, the page comes back with the message
    page = browser.post(desk.url + "/paperwork/jobs", data={"csrf_token": csrf, "kind": "export", "from": "x",
                                                            "to": "y", "format": "xlsx"})
    assert page.status_code == 200 and re.search(r'id="paperwork-message">开始日期须为日期', page.text)
    assert browser.get(desk.url + "/paperwork/jobs/nope", headers={"Accept": "application/json"}).status_code == 404
