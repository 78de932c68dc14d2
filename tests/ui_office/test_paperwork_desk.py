"""The desk's 导出与日报 (/paperwork) in a real browser against `kiosk demo --serve`: start an export of the demo's
days, watch its progress, download it and open it with openpyxl; make the daily report as a PDF and download it;
the page fits an office PC's 1366×768 and a phone's 390×844 without sideways scrolling."""

from __future__ import annotations

import subprocess

import openpyxl

from tests.ui_office.conftest import PHONE


def test_export_with_progress_then_download_and_the_report_pdf(desk, demo_office, shoot, tmp_path):
    page = desk
    page.goto(demo_office.url + "/paperwork")
    page.wait_for_selector("#export-form")
    today = page.evaluate("new Date().toISOString().slice(0, 10)")
    page.fill("#export-form input[name=from]", page.input_value("#export-form input[name=from]"))
    page.fill("#export-form input[name=to]", today)
    page.evaluate("""() => { window.seenStates = [];
        new MutationObserver(() => window.seenStates.push(document.getElementById('paperwork-job').dataset.state))
          .observe(document.getElementById('paperwork-job'), { attributes: true, attributeFilter: ['data-state'] }); }""")
    page.click("#export-form button[type=submit]")
    page.wait_for_selector("#paperwork-job:not([hidden])")
    page.wait_for_selector("#job-download:not([hidden])", timeout=60000)
    seen = page.evaluate("window.seenStates")
    assert seen[0] in ("queued", "running") and seen[-1] == "done", seen  # progress shown before the download
    assert page.get_attribute("#job-progress", "value") == "100"
    assert "已完成" in page.inner_text("#job-state")
    shoot(page, "desk-paperwork")
    with page.expect_download() as caught:
        page.click("#job-download")
    saved = tmp_path / caught.value.suggested_filename
    caught.value.save_as(saved)
    book = openpyxl.load_workbook(saved)
    assert book.sheetnames == ["出入记录", "外来人员登记", "车辆登记", "体温异常", "居家隔离", "志愿者值守", "消杀记录", "排查"]
    assert book["出入记录"].max_row > 1  # the demo's passages of the last days
    page.wait_for_function("document.getElementById('paperwork-job').dataset.state === 'taken'")

    page.click("#report-form button[type=submit]")
    page.wait_for_function("document.getElementById('paperwork-job').dataset.state === 'done'", timeout=60000)
    with page.expect_download() as caught:
        page.click("#job-download")
    pdf = tmp_path / caught.value.suggested_filename
    caught.value.save_as(pdf)
    assert pdf.name.startswith("daily-report-") and pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert "疫情防控日报" in text and "一、出入情况" in text

    for size in (PHONE,):
        page.set_viewport_size(size)
        page.goto(demo_office.url + "/paperwork")
        page.wait_for_selector("#report-form")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"sideways scrolling at {size}: {overflow}px"
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(demo_office.url + "/paperwork")
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
