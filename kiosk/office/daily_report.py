"""The daily report (日报) to the sub-district: one day, per compound, on one sheet of an .xlsx.

Per compound: people in and out, visitors, vehicles, refusals, fevers and
how each was handled (gate's and office's outcome words); community-wide:
home quarantine (new orders that day, orders ending that day, orders and
people under quarantine); per gate: the hours a signed-in volunteer covered.
Screening and disinfection rows are there, empty, until those features
exist. Counts are kiosk.office.queries.today.summary's (the desk's "today").
The PDF form is not built yet: no PDF library is a dependency so far.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.office import exports
from kiosk.office.queries import exports as q
from kiosk.office.queries import today
from kiosk.office.queries.common import bound, gates_by_id, parse_ts, zone
from kiosk.office.store import OfficeStore
from kiosk.registry import Registry

NO_COMPOUND = "(未分小区)"


def compute(store: OfficeStore, master: Registry, day: date, *, tz: str | ZoneInfo = "Asia/Shanghai",
            now: datetime | None = None) -> dict:
    """The report's figures: ``{"day", "tz", "compounds" [{"compound", "in", "out", "visitors", "vehicles",
    "refused", "fevers", "handling" {outcome words: n}}], "totals" {…}, "quarantine" {"new", "lifted", "orders",
    "households", "people"}, "gates" [{"compound", "gate", "staffed_hours", "hours"}], "screening": None,
    "disinfection": None}``."""
    z = zone(tz)
    summary = today.summary(store, master, day=day, tz=z.key)
    lo = bound(datetime.combine(day, time(), z))
    hi = bound(datetime.combine(day + timedelta(days=1), time(), z))
    gates = gates_by_id(store)
    handling: dict[str | None, Counter] = defaultdict(Counter)
    for fever in q.fevers(store, lo, hi):
        compound = (gates.get(fever["gate_id"]) or {}).get("compound")
        handled = [exports.word(exports.OUTCOMES, o) for o in (fever["gate_outcome"], fever["office_outcome"]) if o]
        if fever["gate_at"] and not fever["gate_outcome"]:
            handled.append("门岗已确认")
        handling[compound]["、".join(handled) or "未处理"] += 1
    keys = ("in", "out", "visitors", "vehicles", "refused", "fevers")
    compounds = [{"compound": c["compound"] or NO_COMPOUND, **{k: c["totals"][k] for k in keys},
                  "handling": dict(handling.get(c["compound"], {}))} for c in summary["compounds"]]
    totals = {k: summary["totals"][k] for k in keys}
    totals["handling"] = dict(sum(handling.values(), Counter()))
    iso = day.isoformat()
    db = master._db()
    quarantine = {
        **today.quarantine_on(master, day),
        "new": db.execute("SELECT COUNT(*) FROM quarantine_orders WHERE starts_on = ?", [iso]).fetchone()[0],
        "lifted": db.execute("SELECT COUNT(*) FROM quarantine_orders WHERE ends_on = ?", [iso]).fetchone()[0],
    }
    end = min(hi, bound(now or datetime.now(UTC)))
    covered: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for shift in q.shifts(store, lo, hi):
        covered[shift["gate_id"]].append((max(shift["start"], lo), min(shift["end"], end) if shift["end"] else end))
    day_hours = (parse_ts(hi) - parse_ts(lo)).total_seconds() / 3600  # type: ignore[operator]
    gate_rows = []
    for gate_id in sorted(set(gates) | set(covered)):
        ref = gates.get(gate_id) or {}
        gate_rows.append({"compound": ref.get("compound") or NO_COMPOUND, "gate": ref.get("name") or gate_id,
                          "staffed_hours": round(_union_hours(covered.get(gate_id, [])), 2), "hours": day_hours})
    return {"day": iso, "tz": z.key, "compounds": compounds, "totals": totals, "quarantine": quarantine,
            "gates": gate_rows, "screening": None, "disinfection": None}


def _union_hours(spans: list[tuple[str, str]]) -> float:
    """Hours covered by the union of ``[start, end)`` spans (two volunteers at once count once)."""
    total, reach = 0.0, None
    for start, end in sorted(spans):
        if end <= start:
            continue
        a, b = parse_ts(start), parse_ts(end)
        if a is None or b is None:
            continue
        if reach is not None and a < reach:
            a = reach
        if b > a:
            total += (b - a).total_seconds()
            reach = b if reach is None or b > reach else reach
    return total / 3600


def _handling_text(handling: dict[str, int]) -> str:
    return "；".join(f"{words} {n} 人" for words, n in sorted(handling.items(), key=lambda i: -i[1]))


def write_xlsx(report: dict, out: str | Path, *, community: str = "") -> Path:
    """The report as one sheet 日报 (title, per-compound table, quarantine, gates staffed, screening, disinfection)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise exports.ExportError(f"日报须为 .xlsx：{out.name} / --out must end in .xlsx (PDF is not available yet)")
    book = Workbook()
    ws: Any = book.active
    bold = Font(bold=True)

    def put(row: list[Any], *, strong: bool = False) -> None:
        ws.append(row)
        for cell in ws[ws.max_row]:
            if strong:
                cell.font = bold
            # names of compounds and gates are typed by staff: a "=…" one must stay text (openpyxl reads it
            # as a formula)
            if isinstance(cell.value, str) and cell.value.startswith(exports.UNSAFE):
                cell.data_type = "s"
                cell.quotePrefix = True

    title = f"{community + ' ' if community else ''}疫情防控日报 {report['day']}"
    put([title], strong=True)
    ws["A1"].font = Font(bold=True, size=14)
    put([f"时区 {report['tz']}；生成于 {datetime.now(ZoneInfo(report['tz'])).strftime('%Y-%m-%d %H:%M')}"])
    put([])
    put(["一、出入情况"], strong=True)
    put(["小区", "进(人次)", "出(人次)", "外来人员", "车辆", "拒绝通行", "体温异常", "体温异常处理"], strong=True)
    for c in [*report["compounds"], {"compound": "合计", **report["totals"]}]:
        put([c["compound"], c["in"], c["out"], c["visitors"], c["vehicles"], c["refused"], c["fevers"],
             _handling_text(c["handling"])], strong=c["compound"] == "合计")
    put([])
    put(["二、居家隔离"], strong=True)
    put(["今日新增(单)", "今日解除(单)", "在管隔离单", "在管户数", "在管人数"], strong=True)
    qt = report["quarantine"]
    put([qt["new"], qt["lifted"], qt["orders"], qt["households"], qt["people"]])
    put([])
    put(["三、门岗值守"], strong=True)
    put(["小区", "门岗", "有志愿者值守(小时)", "全天(小时)"], strong=True)
    for g in report["gates"]:
        put([g["compound"], g["gate"], g["staffed_hours"], g["hours"]])
    put([])
    put(["四、逐户排查"], strong=True)
    put(["小区", "应排查户数", "已排查户数", "覆盖率"], strong=True)
    put(["（逐户排查功能尚未上线 / screening is not recorded yet）"])
    put([])
    put(["五、消杀"], strong=True)
    put(["小区", "应消杀轮次", "已完成轮次", "缺漏"], strong=True)
    put(["（消杀记录功能尚未上线 / disinfection is not recorded yet）"])
    for column, width in zip("ABCDEFGH", (16, 12, 12, 12, 10, 10, 10, 40), strict=True):
        ws.column_dimensions[column].width = width
    for row in ws.iter_rows(min_row=5):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.title = "日报"
    with exports.atomic_file(out) as temp:
        book.save(temp)
    return out
