"""Paperwork: the daily report's one-page PDF (pdftotext, pdftoppm, pdffonts), the export jobs (one worker, a
nice'd child, progress, one download, expiry), the paged event reads, and the CLI's report as a PDF."""

from __future__ import annotations

import re
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from kiosk import demo_history
from kiosk.cli import main
from kiosk.office import daily_report
from kiosk.office.paperwork import JobPaths, PaperworkError, PaperworkJobs
from kiosk.office.queries import exports as q
from tests.kiosk.office.test_exports import EVIL, FIRST, LAST, NOW, ZONE, _open, community  # noqa: F401

pytestmark = pytest.mark.timeout(180)
FEVER_DAY = NOW.date() + timedelta(days=demo_history.FEVER_DAY)


def _text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def test_report_pdf_is_one_page_with_every_section(community, tmp_path):  # noqa: F811
    c, _ = community
    store, master = _open(c)
    figures = daily_report.compute(store, master, FEVER_DAY, tz=ZONE, now=NOW, office_name="和平里社区")
    out = daily_report.write_pdf(figures, tmp_path / "day.pdf", community="和平里社区")
    assert _pages(out) == 1
    text = _text(out)
    assert f"和平里社区 疫情防控日报 {FEVER_DAY}" in text
    for title in ("一、出入情况", "二、居家隔离", "三、逐户排查", "四、消杀", "五、门岗值守", "填报人"):
        assert title in text, title
    (compound,) = figures["compounds"]
    assert compound["compound"] in text and "已陪同回家 1 人" in text
    totals = next(line for line in text.splitlines() if line.strip().startswith("合计"))
    assert totals.split()[1:3] == [str(figures["totals"]["in"]), str(figures["totals"]["out"])]
    fonts = subprocess.run(["pdffonts", str(out)], check=True, capture_output=True, text=True).stdout
    assert "WenQuanYi" in fonts and " yes " in fonts.splitlines()[-1]  # the Chinese font is embedded (a subset)
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(out), str(tmp_path / "page")], check=True)
    (image,) = tmp_path.glob("page*.png")
    assert image.stat().st_size > 5000  # a page was drawn, not blank


def test_report_stays_one_page_with_many_compounds_and_formula_names_stay_text(tmp_path):
    compounds = [{"compound": f"小区{i}" if i else EVIL, "in": i, "out": i, "visitors": 0, "vehicles": 0,
                  "refused": 0, "fevers": 0, "handling": {}} for i in range(60)]
    figures = {"day": "2026-11-28", "tz": "Asia/Shanghai", "compounds": compounds,
               "totals": {"in": 1, "out": 1, "visitors": 0, "vehicles": 0, "refused": 0, "fevers": 0, "handling": {}},
               "quarantine": {"orders": 0, "households": 0, "people": 0},
               "gates": [{"compound": f"小区{i}", "gate": f"门{i}", "staffed_hours": 0, "hours": 24.0} for i in range(60)],
               "followup": {"total": 0, "new": 0, "lifted": 0, "checks_due": 0, "checks_done": 0, "checks_missed": 0,
                            "fevers": 0},
               "screening": None,
               "disinfection": [{"compound": f"小区{i}", "rounds": 1, "required": 2} for i in range(60)]}
    pdf = daily_report.write_pdf(figures, tmp_path / "many.pdf", community="社区")
    text = _text(pdf)
    assert _pages(pdf) == 1 and "见 .xlsx 日报" in text and re.search(r"缺 ?1 ?轮", text)  # pdftotext drops a space
    book = openpyxl.load_workbook(daily_report.write_xlsx(figures, tmp_path / "many.xlsx", community="社区"))
    cell = next(c for row in book["日报"].iter_rows() for c in row if c.value == EVIL)
    assert cell.data_type == "s" and cell.quotePrefix
    with pytest.raises(ValueError, match="日报须为"):
        daily_report.write_pdf(figures, tmp_path / "x.docx")


def test_paged_event_reads_match_one_query(community, monkeypatch):  # noqa: F811
    c, _ = community
    store, _master = _open(c)
    lo, hi = "2026-11-20T16:00:00", "2026-11-28T16:00:00"
    whole = store.database().execute(
        "SELECT ts, gate_id, seq, subject FROM events WHERE kind IN ('passage', 'vehicle') AND ts >= ? AND ts < ?"
        " ORDER BY ts, gate_id, seq", [lo, hi]).fetchall()
    monkeypatch.setattr(q, "_FETCH", 3)  # many tiny pages: every page boundary is crossed
    assert list(q.events(store, ("passage", "vehicle"), lo, hi, "subject")) == [tuple(r) for r in whole]
    assert len(whole) > 10


def _wait(jobs: PaperworkJobs, job_id: str, user: str, seen: list[dict] | None = None) -> dict:
    for _ in range(600):
        status = jobs.status(job_id, user)
        if seen is not None:
            seen.append(status)
        if status["state"] not in ("queued", "running"):
            return status
        time.sleep(0.1)
    raise AssertionError("the job did not finish")


def test_jobs_one_at_a_time_progress_one_download(community, tmp_path):  # noqa: F811
    c, _ = community
    jobs = PaperworkJobs(JobPaths(c.office_dir / "office.db", c.office_dir / "registry.db", tmp_path / "work"),
                         tz=ZONE.key, community="和平里社区")
    try:
        first = jobs.submit("li", "export", FIRST, LAST, "xlsx")
        second = jobs.submit("wang", "report", FEVER_DAY, FEVER_DAY, "pdf")
        assert jobs.status(second.id, "wang")["state"] == "queued"
        with pytest.raises(PaperworkError, match="您已有一个文件正在生成"):
            jobs.submit("li", "export", FIRST, LAST, "zip")
        with pytest.raises(PaperworkError, match="没有这个导出任务"):
            jobs.status(first.id, "wang")  # someone else's job is not there for you
        seen: list[dict] = []
        done = _wait(jobs, first.id, "li", seen)
        assert done["state"] == "done" and done["percent"] == 100 and done["name"] == f"export-{FIRST}-{LAST}.xlsx"
        assert any(s["state"] == "running" and 0 < s["total"] for s in seen)
        path, name = jobs.take(first.id, "li")
        assert jobs.status(first.id, "li")["state"] == "taken"  # once: a second take is refused from here on
        assert name.endswith(".xlsx") and "出入记录" in openpyxl.load_workbook(path).sheetnames
        jobs.finished(first.id)
        assert not path.exists() and jobs.status(first.id, "li")["state"] == "taken"
        with pytest.raises(PaperworkError, match="已被下载"):
            jobs.take(first.id, "li")
        report = _wait(jobs, second.id, "wang")
        assert report["state"] == "done", report
        pdf, _name = jobs.take(second.id, "wang")
        assert "疫情防控日报" in _text(pdf)
        for kind, fmt, message in (("export", "pdf", "不能生成"), ("report", "zip", "不能生成"), ("bill", "xlsx", "未知")):
            with pytest.raises(PaperworkError, match=message):
                jobs.submit("sub", kind, FIRST, LAST, fmt)
        with pytest.raises(ValueError, match="最多 92 天"):
            jobs.submit("sub", "export", date(2026, 1, 1), LAST, "xlsx")
    finally:
        jobs.stop()


def test_files_expire_and_a_full_queue_says_wait(community, tmp_path, monkeypatch):  # noqa: F811
    c, _ = community
    jobs = PaperworkJobs(JobPaths(c.office_dir / "office.db", c.office_dir / "registry.db", tmp_path / "work"),
                         tz=ZONE.key, keep_s=0.5)
    try:
        job = jobs.submit("li", "report", FEVER_DAY, FEVER_DAY, "xlsx")
        assert _wait(jobs, job.id, "li")["state"] == "done"
        path = jobs._jobs[job.id].file  # not fetched: removed when keep_s has passed
        assert path is not None and path.exists()
        time.sleep(0.7)
        expired = jobs.status(job.id, "li")
        assert expired["state"] == "expired" and "过期" in expired["error"] and not path.exists()
        with pytest.raises(PaperworkError, match="已被下载"):
            jobs.take(job.id, "li")
        monkeypatch.setattr("kiosk.office.paperwork.MAX_WAITING", 0)
        with pytest.raises(PaperworkError, match="在排队"):
            jobs.submit("wang", "report", FEVER_DAY, FEVER_DAY, "pdf")
    finally:
        jobs.stop()


def test_cli_report_pdf(community, tmp_path):  # noqa: F811
    _c, config = community
    out = tmp_path / "day.pdf"
    result = CliRunner().invoke(main, ["office", "report", "--day", str(FEVER_DAY), "--out", str(out),
                                       "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert str(out) in result.stdout and _pages(out) == 1 and "三、逐户排查" in _text(out)


def test_a_failing_job_says_so_in_chinese_and_the_queue_goes_on(community, tmp_path, caplog):  # noqa: F811
    c, _ = community
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    broken = PaperworkJobs(JobPaths(blocker / "office.db", blocker / "registry.db", tmp_path / "work"), tz=ZONE.key)
    try:
        job = broken.submit("li", "export", FIRST, LAST, "xlsx")
        failed = _wait(broken, job.id, "li")
        assert failed["state"] == "failed" and failed["error"].startswith("生成失败，请重试")
        assert "Traceback" not in failed["error"] and not list((tmp_path / "work" / "jobs").iterdir())
        assert any("failed with exit code" in r.getMessage() and "Traceback" in r.getMessage() for r in caplog.records)
        broken.paths = JobPaths(c.office_dir / "office.db", c.office_dir / "registry.db", tmp_path / "work")
        after = broken.submit("li", "report", FEVER_DAY, FEVER_DAY, "xlsx")
        assert _wait(broken, after.id, "li")["state"] == "done"  # the worker outlived the failure
    finally:
        broken.stop()
