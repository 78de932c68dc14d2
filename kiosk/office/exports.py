"""The office's ledgers exported for a day or a range: one .xlsx with a sheet per ledger, or CSV files.

Sheets (one Chinese header row each; times in the community's zone):
出入记录 (passages), 外来人员登记 (visitors: an entry paired with the same
visitor's next exit), 车辆登记, 体温异常 (fever alarms and how each was
handled, at the gate and at the office), 居家隔离 (each order's twice-daily
checks, and its people with none: kiosk.office.quarantine), 志愿者值守 (shifts
and their hours), 消杀记录 (kiosk.office.disinfection), 排查 (each screening
round's households and their state: kiosk.office.screening). A ledger longer than a sheet's 1,048,576 rows
goes on in a second sheet (出入记录 2 …).

Rows are streamed (kiosk.office.queries.exports) and written as they come:
XlsxWriter in constant-memory mode, the csv module; memory stays flat over 2M
events. Every text cell is text-safe: in .xlsx a text cell is a string cell
(never a formula) and one beginning with ``= + - @`` also gets Excel's
"quote prefix", so editing it does not turn it into a formula; in CSV such a
value gets a leading apostrophe. The file appears whole or not at all
(written to a temp file beside it, then renamed).

Words for codes: a small code → Chinese table here (the words the desk shows
in zh_Hans_CN, web/common/words.py and the gate's messages), so an export
needs no Flask request; tests check the table against the catalogs.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.events import parse_subject
from kiosk.exc import KioskError
from kiosk.office import disinfection, quarantine, screening
from kiosk.office.queries import exports as q
from kiosk.office.queries.common import bound, gates_by_id, loads, parse_ts, zone
from kiosk.office.store import OfficeStore
from kiosk.registry import Registry, household_label
from kiosk.visitor_reasons import reason_code

MAX_DAYS = 92
SHEET_ROWS = 1_048_576 - 1  # Excel's rows per sheet, less the header
PROGRESS_EVERY = 5000  # rows between two progress calls

# -- words (zh-CN, as the desk shows them) ------------------------------------------------------------

DIRECTIONS = {"in": "进", "out": "出"}
VERDICTS = {"admit": "放行", "deny": "未放行", "refer": "需志愿者处理", "remeasure": "测温中", "ask": "询问进出方向"}
REASONS = {"visiting_family": "探亲", "delivery": "送货", "repairs": "维修", "other": "其他"}
OUTCOMES = {
    "remeasured_normal": "已复测正常", "sent_to_observation": "已送留观区", "called_doctor": "已联系社区医生",
    "sent_to_clinic": "已送发热门诊", "turned_back": "已劝返", "escorted_home": "已陪同回家",
    "reported_to_office": "已报社区办公室", "visitor_registered": "访客已登记", "identity_checked": "已核实身份",
    "card_kept": "已收回出入证", "returned": "已返回小区", "contacted": "已联系居民", "home_observation": "已居家观察",
    "false_alarm": "误报", "volunteer_signed_in": "志愿者已签到", "back_online": "卡口已恢复在线",
    "gate_revoked": "卡口已停用", "handheld_normal": "体温计复测正常", "repaired": "已修复",
    "volunteer_arrived": "志愿者已到岗", "gate_closed": "大门已关", "kept_open_on_purpose": "有意开着（送货、搬家等）",
    "other": "其他（见备注）",
}
SUBJECT_KINDS = {"resident": "居民", "visitor": "访客", "volunteer": "志愿者", "vehicle": "车辆"}


def word(table: dict[str, str], code: Any) -> str:
    """A code's Chinese word; an unknown code stays as it is (a newer gate's), none is empty."""
    if code is None or code == "":
        return ""
    return table.get(str(code), str(code))


class ExportError(KioskError, ValueError):
    """An export refused (bad range, unwritable path): one line, zh-CN first, then English."""


# -- sheets ------------------------------------------------------------------------------------------


@dataclass
class Sheet:
    """One ledger: its code (a CSV file's suffix), its Chinese title, header row, rows and how many (progress)."""

    code: str
    title: str
    headers: tuple[str, ...]
    rows: Callable[[], Iterable[list[Any]]]
    total: int
    note: str = ""  # why a sheet is empty by design (a feature not built yet)


class _Names:
    """Who a subject, a household, a volunteer or a gate is, looked up once each (full names: the office's own file)."""

    def __init__(self, store: OfficeStore, master: Registry):
        self.master = master
        self.gates = gates_by_id(store)
        self._people: dict[str, tuple[str, str, str]] = {}
        self._houses: dict[int, str] = {}
        self._volunteers: dict[str, str] = {}

    def gate(self, gate_id: str) -> tuple[str, str]:
        """(compound, gate name) — the gate's id when it has no name."""
        ref = self.gates.get(gate_id) or {}
        return ref.get("compound") or "", ref.get("name") or gate_id

    def house(self, household_id: Any) -> str:
        """``5-1-101`` for a household id (empty for none or unknown)."""
        if not isinstance(household_id, int):
            return ""
        if household_id not in self._houses:
            row = self.master.household(household_id)
            self._houses[household_id] = household_label(row.get("building"), row.get("unit"), row.get("room")) if row else ""
        return self._houses[household_id]

    def person(self, subject: str | None, household_id: Any = None) -> tuple[str, str, str]:
        """(name, kind in words, household label) for a subject such as ``resident:12``."""
        key = f"{subject}|{household_id}"
        if key not in self._people:
            parsed = parse_subject(subject)
            kind, ident = parsed if parsed else (None, None)
            name, house = "", household_id
            if kind == "resident" and ident is not None:
                row = self.master.resident(ident) or {}
                name, house = row.get("name") or "", house if house is not None else row.get("household_id")
            elif kind == "visitor" and ident is not None:
                visitor = self.master.visitor_pass(ident)
                if visitor is not None:
                    name, house = visitor.name, house if house is not None else visitor.host_household_id
            elif kind == "volunteer" and ident is not None:
                name = self.volunteer(str(ident))
            self._people[key] = (name, word(SUBJECT_KINDS, kind), self.house(house))
        return self._people[key]

    def volunteer(self, volunteer_id: Any) -> str:
        """A volunteer's name from the registry (their id when unknown)."""
        if volunteer_id is None or volunteer_id == "":
            return ""
        text = str(volunteer_id)
        if text not in self._volunteers:
            row = self.master.volunteer(int(text)) if text.isdigit() else None
            self._volunteers[text] = (row or {}).get("name") or text
        return self._volunteers[text]


class _Clock:
    """Stored UTC ts text → naive local datetime for a cell (cached per second: passages share seconds rarely, but
    parsing is the hot path)."""

    def __init__(self, tz: ZoneInfo):
        self.tz = tz

    def local(self, ts: str | None) -> datetime | None:
        moment = parse_ts(ts)
        return moment.astimezone(self.tz).replace(tzinfo=None, microsecond=0) if moment else None


def _yes_no(value: Any) -> str:
    return "是" if value is True else "否" if value is False else ""


def sheets(store: OfficeStore, master: Registry, first: date, last: date, tz: str | ZoneInfo,
           *, now: datetime | None = None, office_name: str = "") -> list[Sheet]:
    """Every ledger's sheet for the days ``first``..``last`` (inclusive, in ``tz``); rows are read when iterated."""
    z = zone(tz)
    lo = bound(datetime.combine(first, time(), z))
    hi = bound(datetime.combine(last + timedelta(days=1), time(), z))
    names, clock = _Names(store, master), _Clock(z)
    now_bound = bound(now or datetime.now(UTC))

    def passages() -> Iterator[list[Any]]:
        for ts, gate_id, _seq, subject, household_id, volunteer_id, direction, verdict, temperature, card_id in q.events(
                store, ("passage",), lo, hi, "subject, household_id, volunteer_id, direction, verdict, temperature_c, card_id"):
            compound, gate = names.gate(gate_id)
            name, kind, house = names.person(subject, household_id)
            yield [clock.local(ts), compound, gate, word(DIRECTIONS, direction), word(VERDICTS, verdict), temperature,
                   name, kind, house, card_id, names.volunteer(volunteer_id)]

    def visitors() -> Iterator[list[Any]]:
        # an entry is paired with the same visitor's (same ID hash, else name and phone) first exit after it
        exits: dict[tuple, list[str]] = {}
        for ts, _g, _s, text in q.events(store, ("visitor_registration",), lo, hi, "data"):
            data = loads(text)
            if data.get("direction") == "out":
                exits.setdefault(_visitor_key(data), []).append(ts)
        # the gate's own record of an entry's exit (visitor_exit: 离开 tapped on the inside list), up to a week on
        recorded = {(g, loads(text).get("entry_seq")): ts for ts, g, _s, text in q.events(
            store, ("visitor_exit",), lo, bound(datetime.combine(last + timedelta(days=8), time(), z)), "data")}
        for ts, gate_id, seq, household_id, text in q.events(store, ("visitor_registration",), lo, hi,
                                                             "household_id, data"):
            data = loads(text)
            if data.get("direction") == "out":
                continue
            out = recorded.get((gate_id, seq))
            pending = exits.get(_visitor_key(data))
            while pending and pending[0] < ts:
                pending.pop(0)
            if pending and out is None:
                out = pending.pop(0)
            compound, gate = names.gate(gate_id)
            host = data.get("host_household_id") if isinstance(data.get("host_household_id"), int) else household_id
            reason = reason_code(data.get("reason") if isinstance(data.get("reason"), str) else None)
            yield [clock.local(ts), clock.local(out), compound, gate, _text(data.get("name")), _text(data.get("phone")),
                   _text(data.get("id_masked")), _text(data.get("coming_from")), names.house(host),
                   REASONS.get(reason, "") if reason else _text(data.get("reason")), data.get("temperature_c")
                   if isinstance(data.get("temperature_c"), (int, float)) else None, word(VERDICTS, data.get("verdict"))]
        for key, left in exits.items():  # exits whose entry was before the span
            for ts in left:
                yield [None, clock.local(ts), "", "", key[1] if key[0] == "name" else "", "", "", "", "", "", None,
                       "（仅离开记录 / exit only）"]

    def vehicles() -> Iterator[list[Any]]:
        for ts, gate_id, _seq, subject, household_id, text in q.events(store, ("vehicle",), lo, hi,
                                                                      "subject, household_id, data"):
            data = loads(text)
            compound, gate = names.gate(gate_id)
            _name, _kind, house = names.person(subject, household_id)
            passengers = data.get("passengers") if isinstance(data.get("passengers"), int) else None
            yield [clock.local(ts), compound, gate, _text(data.get("plate")), word(DIRECTIONS, data.get("direction")),
                   _yes_no(data.get("disinfected")), _text(data.get("driver")), passengers,
                   word(VERDICTS, data.get("verdict")), house, data.get("temperature_c")
                   if isinstance(data.get("temperature_c"), (int, float)) else None]

    def fevers() -> Iterator[list[Any]]:
        for f in q.fevers(store, lo, hi):
            compound, gate = names.gate(f["gate_id"])
            name, kind, house = names.person(f["subject"], f["household_id"])
            yield [clock.local(f["ts"]), compound, gate, name, kind, house, f["temperature_c"],
                   word(OUTCOMES, f["gate_outcome"]), names.volunteer(f["gate_by"]), clock.local(f["gate_at"]),
                   f["gate_note"], word(OUTCOMES, f["office_outcome"]), f["office_by"] or "",
                   clock.local(f["office_at"]), f["office_note"]]

    shift_rows = q.shifts(store, lo, hi)

    def duty() -> Iterator[list[Any]]:
        for s in shift_rows:
            compound, gate = names.gate(s["gate_id"])
            yield [compound, gate, names.volunteer(s["volunteer_id"]), clock.local(s["start"]), clock.local(s["end"]),
                   round(_hours(s["start"], s["end"], lo, min(hi, now_bound)), 2)]

    passage_kinds = ("passage",)
    return [
        Sheet("passages", "出入记录", ("时间", "小区", "门岗", "方向", "结果", "体温(°C)", "姓名", "类别", "户", "卡号",
                                       "值守志愿者"), passages, q.count(store, passage_kinds, lo, hi)),
        Sheet("visitors", "外来人员登记", ("进入时间", "离开时间", "小区", "门岗", "姓名", "电话", "身份证号(隐去)",
                                           "从何处来", "被访户", "事由", "体温(°C)", "结果"),
              visitors, q.count(store, ("visitor_registration",), lo, hi)),
        Sheet("vehicles", "车辆登记", ("时间", "小区", "门岗", "车牌", "进/出", "已消毒", "司机", "乘车人数", "结果",
                                       "户", "体温(°C)"), vehicles, q.count(store, ("vehicle",), lo, hi)),
        Sheet("fevers", "体温异常", ("时间", "小区", "门岗", "姓名", "类别", "户", "体温(°C)", "门岗处理",
                                     "门岗处理人", "门岗处理时间", "门岗备注", "社区处理", "社区处理人",
                                     "社区处理时间", "社区备注"), fevers, q.count_fevers(store, lo, hi)),
        _followup_sheet(quarantine.export_rows, "quarantine", "居家隔离", store, master, first, last, z, office_name),
        Sheet("volunteers", "志愿者值守", ("小区", "门岗", "志愿者", "签到", "签退", "时段内值守小时"), duty,
              len(shift_rows)),
        _followup_sheet(disinfection.export_rows, "disinfection", "消杀记录", store, master, first, last, z,
                        office_name),
        _followup_sheet(screening.export_rows, "screening", "排查", store, master, first, last, z, office_name),
    ]


# The follow-up ledgers come from their own modules' ``export_rows(store, master, first, last, tz)`` (dicts):
# (key, Chinese header, how a value becomes a cell) in column order.
_SCREENING_WORDS = {"visited": "已入户", "phone": "电话确认", "not_reached": "未联系上", "unmarked": "未排查",
                    "back_from_elsewhere": "外地返回", "unwell": "身体不适"}
_METHOD_WORDS = {"phone": "电话", "door": "上门"}


def _plain(value: Any) -> Any:
    return None if value is None else value if isinstance(value, (int, float, str)) else str(value)


def _yes(value: Any) -> str:
    return _yes_no(bool(value)) if value is not None else ""


def _codes(value: Any) -> str:
    return "、".join(word(_SCREENING_WORDS, v) for v in value) if isinstance(value, (list, tuple)) else _text(value)


FOLLOWUP_COLUMNS: dict[str, list[tuple[str, str, Callable[[Any], Any]]]] = {
    "quarantine": [
        ("order_id", "隔离单号", _plain), ("person", "居民", _plain), ("household", "户", _plain),
        ("starts_on", "开始日期", _plain), ("ends_on", "结束日期", _plain), ("lifted_on", "解除日期", _plain),
        ("slot_day", "测温日期", _plain), ("slot", "当日第几次", lambda v: v + 1 if isinstance(v, int) else None),
        ("taken_at", "测温时间", _plain), ("temperature_c", "体温(°C)", _plain), ("fever", "发热", _yes),
        ("method", "方式", lambda v: word(_METHOD_WORDS, v)), ("taken_by", "测温人", _plain), ("note", "备注", _plain)],
    "disinfection": [
        ("day", "日期", _plain), ("at", "时间", _plain), ("compound", "小区", _plain), ("area_text", "区域", _plain),
        ("agent_text", "消毒剂", _plain), ("by", "消杀人", _plain), ("source_text", "登记方式", _plain),
        ("gate", "门岗", _plain), ("note", "备注", _plain), ("recorded_by", "登记人", _plain)],
    "screening": [
        ("round", "排查轮次", _plain), ("compound", "小区", _plain), ("household", "户", _plain),
        ("outcome", "状态", lambda v: word(_SCREENING_WORDS, v)), ("by", "排查人", _plain), ("at", "时间", _plain),
        ("flags", "情况", _codes), ("note", "备注", _plain)],
}


def _followup_sheet(rows_of: Any, module: str, title: str, store: OfficeStore, master: Registry, first: date,
                    last: date, z: ZoneInfo, office_name: str) -> Sheet:
    """The sheet of a follow-up module's ``export_rows`` (quarantine checks, disinfection, screening)."""
    extra = {} if module == "quarantine" else {"office_name": office_name}  # quarantine rows name no compound
    columns = FOLLOWUP_COLUMNS[module]

    def rows() -> Iterator[list[Any]]:
        for row in rows_of(store, master, first, last, z.key, **extra):
            yield [convert(row.get(key)) for key, _head, convert in columns]

    return Sheet(module, title, tuple(head for _k, head, _f in columns), rows, 0)


def _visitor_key(data: dict) -> tuple:
    if isinstance(data.get("id_hash"), str) and data["id_hash"]:
        return ("id", data["id_hash"])
    return ("name", f"{_text(data.get('name'))}|{_text(data.get('phone'))}")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _hours(start: str, end: str | None, lo: str, hi: str) -> float:
    """Hours of a shift inside ``[lo, hi)`` (bounds are UTC text; an open shift runs to ``hi``)."""
    a, b = parse_ts(max(start, lo)), parse_ts(min(end, hi) if end else hi)
    return max(0.0, (b - a).total_seconds() / 3600) if a and b else 0.0


# -- checks ------------------------------------------------------------------------------------------


def check_range(first: date, last: date) -> None:
    """ExportError unless ``first`` ≤ ``last`` and the range is at most MAX_DAYS days."""
    if last < first:
        raise ExportError(f"结束日期 {last} 早于开始日期 {first} / --to is before --from")
    if (last - first).days + 1 > MAX_DAYS:
        raise ExportError(f"导出最多 {MAX_DAYS} 天，所选 {(last - first).days + 1} 天 / a range covers at most "
                          f"{MAX_DAYS} days")


FORMATS = (".xlsx", ".csv", ".zip")


def format_of(out: Path) -> str:
    """``.xlsx``, ``.csv`` or ``.zip`` from the file name; ExportError for anything else."""
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise ExportError(f"输出文件须为 .xlsx、.csv 或 .zip：{out.name} / --out must end in .xlsx, .csv or .zip")
    return suffix


# -- writing -----------------------------------------------------------------------------------------

Progress = Callable[[int, int], None]
UNSAFE = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A value as CSV text: a leading apostrophe on text Excel would read as a formula; times as local text."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(UNSAFE) else text


class _Ticker:
    """Calls ``progress(done, total)`` every PROGRESS_EVERY rows and at the end."""

    def __init__(self, progress: Progress | None, total: int):
        self.progress, self.total, self.done, self._next = progress, max(total, 0), 0, PROGRESS_EVERY
        if progress:
            progress(0, self.total)

    def tick(self) -> None:
        self.done += 1
        if self.progress and self.done >= self._next:
            self._next += PROGRESS_EVERY
            self.progress(min(self.done, self.total), self.total)

    def finish(self) -> None:
        if self.progress:
            self.progress(self.total, self.total)


def write_xlsx(target: Any, sheet_list: list[Sheet], ticker: _Ticker, *, title_row: str | None = None) -> None:
    """The sheets into one workbook (``target``: a path) with XlsxWriter in constant-memory mode.

    Why XlsxWriter: openpyxl's write-only mode spent ~80% of a 2M-event export
    in its pure-Python XML serialiser; XlsxWriter (pure Python as well, so the
    Pi's aarch64 needs nothing built) writes each row straight to a temp file
    (docs/benchmarks.md, "Office export"). Every text goes through
    ``write_string`` (never ``write``, which would read "=…" as a formula), and
    one beginning with ``= + - @`` also gets Excel's quote prefix.
    """
    import xlsxwriter  # type: ignore[import-untyped]

    folder = Path(target).parent
    book = xlsxwriter.Workbook(str(target), {
        "constant_memory": True, "tmpdir": str(folder), "strings_to_formulas": False, "strings_to_numbers": False,
        "strings_to_urls": False, "default_date_format": "yyyy-mm-dd hh:mm:ss"})
    try:
        when = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        quoted = book.add_format({"quote_prefix": True})
        bold = book.add_format({"bold": True})
        for sheet in sheet_list:
            part, count = 1, 0
            ws = book.add_worksheet(sheet.title)
            _header(ws, sheet, bold)
            for row in sheet.rows():
                if count >= SHEET_ROWS:  # Excel's limit: the ledger goes on in "出入记录 2"
                    part, count = part + 1, 0
                    ws = book.add_worksheet(f"{sheet.title} {part}")
                    _header(ws, sheet, bold)
                count += 1
                for column, value in enumerate(row):
                    if value is None or value == "":
                        continue
                    if isinstance(value, str):
                        if value.startswith(UNSAFE):
                            ws.write_string(count, column, value, quoted)
                        else:
                            ws.write_string(count, column, value)
                    elif isinstance(value, datetime):
                        ws.write_datetime(count, column, value, when)
                    elif isinstance(value, (int, float)) and not isinstance(value, bool):
                        ws.write_number(count, column, value)
                    else:
                        ws.write_string(count, column, str(value))
                ticker.tick()
    finally:
        book.close()


def _header(ws: Any, sheet: Sheet, bold: Any) -> None:
    for column, head in enumerate(sheet.headers):
        ws.write_string(0, column, head, bold)
        ws.set_column(column, column, 20 if "时间" in head or "签" in head else max(8, 2 * len(head) + 2))
    ws.freeze_panes(1, 0)


def csv_bytes(sheet: Sheet, ticker: _Ticker) -> Iterator[bytes]:
    """One ledger as CSV for Excel (UTF-8 with a BOM), a chunk at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(sheet.headers)
    for i, row in enumerate(sheet.rows()):
        writer.writerow([csv_cell(v) for v in row])
        ticker.tick()
        if i % 2000 == 1999:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


@contextlib.contextmanager
def atomic_file(out: Path) -> Iterator[Path]:
    """A temp file beside ``out``, renamed onto it when the block ends well, removed when it fails."""
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"文件夹不存在：{folder} / no such folder")
    try:
        handle, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise ExportError(f"无法写入 {folder}：{exc.strerror or exc} / cannot write there") from None
    os.close(handle)
    temp = Path(name)
    try:
        yield temp
        os.replace(temp, out)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def csv_paths(out: Path, sheet_list: list[Sheet]) -> list[Path]:
    """Where a ``.csv`` export's ledgers go: ``NAME-passages.csv``, ``NAME-visitors.csv`` … beside ``out``."""
    return [out.with_name(f"{out.stem}-{s.code}.csv") for s in sheet_list]


def export(store: OfficeStore, master: Registry, first: date, last: date, out: str | Path, *,
           tz: str | ZoneInfo = "Asia/Shanghai", progress: Progress | None = None,
           now: datetime | None = None, office_name: str = "") -> list[Path]:
    """Write every ledger of ``first``..``last`` to ``out`` (.xlsx: a sheet each; .zip: a CSV each inside; .csv: a
    CSV each beside it, ``NAME-<ledger>.csv``); returns the files written.

    ``progress(done, total)`` is called as rows are written (total: the rows
    expected, counted first from the indexes). ExportError (zh-CN first) for a
    bad range or format or an unwritable folder; nothing is left half-written.
    """
    out = Path(out)
    check_range(first, last)
    kind = format_of(out)
    sheet_list = sheets(store, master, first, last, tz, now=now, office_name=office_name)
    ticker = _Ticker(progress, sum(s.total for s in sheet_list))
    if kind == ".xlsx":
        with atomic_file(out) as temp:
            write_xlsx(temp, sheet_list, ticker)
        written = [out]
    elif kind == ".zip":
        with atomic_file(out) as temp, zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as archive:
            for sheet in sheet_list:
                with archive.open(f"{out.stem}-{sheet.code}.csv", "w", force_zip64=True) as member:
                    for chunk in csv_bytes(sheet, ticker):
                        member.write(chunk)
        written = [out]
    else:
        written = csv_paths(out, sheet_list)
        with contextlib.ExitStack() as stack:  # every ledger's temp file first; renamed only once all are whole
            temps = [stack.enter_context(atomic_file(path)) for path in written]
            for sheet, temp in zip(sheet_list, temps, strict=True):
                with open(temp, "wb") as handle:
                    for chunk in csv_bytes(sheet, ticker):
                        handle.write(chunk)
    ticker.finish()
    return written
