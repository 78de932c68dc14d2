"""The daily report (日报) to the sub-district: one day, per compound, on one A4 page (PDF) or one sheet (.xlsx).

Per compound: people in and out, visitors, vehicles, refusals, fevers and
how each was handled (gate's and office's outcome words); home quarantine
(people under an order, new, lifted; the day's temperature checks due, done,
missed); door-to-door screening coverage per compound; disinfection rounds per
compound against the day's requirement; gates staffed (hours a signed-in
volunteer covered). Counts are kiosk.office.queries.today.summary's (the
desk's "today"); the follow-up figures are kiosk.office.quarantine,
.screening and .disinfection's own day summaries.

``compute`` gives the figures, ``sections`` turns them into titled tables
(both writers draw the same tables), ``write_pdf`` (fpdf2, WenQuanYi embedded
as a subset: kiosk.office.card_sheets' font) and ``write_xlsx`` write them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.config.office import FollowupSettings
from kiosk.office import disinfection as disinfection_followup
from kiosk.office import exports
from kiosk.office import quarantine as quarantine_followup
from kiosk.office import screening as screening_followup
from kiosk.office.queries import exports as q
from kiosk.office.queries import today
from kiosk.office.queries.common import bound, gates_by_id, parse_ts, zone
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore

NO_COMPOUND = "(未分小区)"


def compute(store: OfficeStore, master: RegistryMaster, day: date, *, tz: str | ZoneInfo = "Asia/Shanghai",
            now: datetime | None = None, settings: FollowupSettings | None = None, office_name: str = "") -> dict:
    """The report's figures: ``{"day", "tz", "compounds" [{"compound", "in", "out", "visitors", "vehicles",
    "refused", "fevers", "handling" {outcome words: n}}], "totals" {…}, "quarantine" {"orders", "households",
    "people"} in force, "gates" [{"compound", "gate", "staffed_hours", "hours"}], "followup" (kiosk.office.quarantine's
    day summary), "screening" (kiosk.office.screening's day summary, None: no round that day), "disinfection"
    (kiosk.office.disinfection's day status per compound)}``."""
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
    quarantine = today.quarantine_on(master, day)  # orders, households, people in force (new and lifted: followup)
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
    settings = settings or FollowupSettings()
    followup = quarantine_followup.day_summary(store, master, day, z.key, settings, now=now)
    screening = screening_followup.day_summary(store, master, day, z.key, office_name=office_name)
    disinfection = disinfection_followup.day_status(store, master, day, z.key, settings.disinfection_rounds_per_day,
                                                    office_name=office_name)
    return {"day": iso, "tz": z.key, "compounds": compounds, "totals": totals, "quarantine": quarantine,
            "gates": gate_rows, "followup": followup, "screening": screening,
            "disinfection": list(disinfection)}


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


@dataclass
class Section:
    """One titled table of the report: its header row, its rows, and a line under it (or instead of it)."""

    title: str
    header: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""
    widths: tuple[float, ...] = ()  # relative column widths in the PDF


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def sections(report: dict) -> list[Section]:
    """The report's five tables (出入情况, 居家隔离, 逐户排查, 消杀, 门岗值守), as both writers draw them."""
    out: list[Section] = []
    passages = Section("一、出入情况", ["小区", "进(人次)", "出(人次)", "外来人员", "车辆", "拒绝通行", "体温异常",
                                      "体温异常处理"], widths=(2.6, 1.5, 1.5, 1.6, 1.1, 1.6, 1.6, 4.5))
    for c in [*report["compounds"], {"compound": "合计", **report["totals"]}]:
        passages.rows.append([c["compound"], c["in"], c["out"], c["visitors"], c["vehicles"], c["refused"],
                              c["fevers"], _handling_text(c["handling"]) or ("—" if not c["fevers"] else "")])
    out.append(passages)

    qt, fu = report["quarantine"], report["followup"]
    out.append(Section("二、居家隔离", ["在管人数", "今日新增", "今日解除", "应测体温(次)", "已测(次)", "漏测(次)",
                                      "测温发热(次)"],
                       [[fu.get("total", 0), fu.get("new", 0), fu.get("lifted", 0), fu.get("checks_due", 0),
                         fu.get("checks_done", 0), fu.get("checks_missed", 0), fu.get("fevers", 0)]],
                       note=f"在管隔离单 {qt['orders']} 份，涉及 {qt['households']} 户"))

    sc = report.get("screening")
    screening = Section("三、逐户排查", ["小区", "应排查(户)", "已入户", "电话确认", "未联系上", "未排查", "覆盖率"],
                        widths=(3, 1.5, 1.2, 1.2, 1.2, 1.2, 1.2))
    if sc is None:
        screening.note = "当日无排查轮次 / no screening round that day"
    else:
        totals = dict.fromkeys(("households", "visited", "phone", "not_reached", "unmarked"), 0)
        for c in sc.get("compounds", []):
            for key in totals:
                totals[key] += int(c.get(key) or 0)
            screening.rows.append([c.get("compound") or NO_COMPOUND, c.get("households", 0), c.get("visited", 0),
                                   c.get("phone", 0), c.get("not_reached", 0), c.get("unmarked", 0),
                                   _percent(int(c.get("visited", 0)) + int(c.get("phone", 0)),
                                            int(c.get("households", 0)))])
        if len(screening.rows) > 1:
            screening.rows.append(["合计", *totals.values(),
                                   _percent(totals["visited"] + totals["phone"], totals["households"])])
        the_round = sc.get("round")
        name = the_round.get("name") if isinstance(the_round, dict) else the_round
        screening.note = (f"排查轮次：{name or ''}；今日排查 {sc.get('marked_today', 0)} 户；外地返回 "
                          f"{sc.get('back_from_elsewhere', 0)} 户；身体不适 {sc.get('unwell', 0)} 户")
    out.append(screening)

    ds = report.get("disinfection")
    disinfection = Section("四、消杀", ["小区", "应完成(轮)", "已完成(轮)", "情况"], widths=(3, 1.5, 1.5, 4))
    if not ds:
        disinfection.note = "无小区 / no compound"
    for c in ds or []:
        rounds, required = int(c.get("rounds") or 0), int(c.get("required") or 0)
        disinfection.rows.append([c.get("compound") or NO_COMPOUND, required, rounds,
                                  "已完成" if rounds >= required else f"缺 {required - rounds} 轮"])
    out.append(disinfection)

    gates = Section("五、门岗值守", ["小区", "门岗数", "有人值守的门岗", "值守(小时)", "全天无人值守的门岗"],
                    widths=(3, 1.2, 2.2, 1.5, 4.6))
    by_compound: dict[str, list[dict]] = defaultdict(list)
    for g in report["gates"]:
        by_compound[g["compound"]].append(g)
    for compound, rows in by_compound.items():
        idle = [g["gate"] for g in rows if not g["staffed_hours"]]
        gates.rows.append([compound, len(rows), len(rows) - len(idle),
                           round(sum(g["staffed_hours"] for g in rows), 1), "、".join(idle) or "—"])
    if not gates.rows:
        gates.note = "没有门岗 / no gates"
    out.append(gates)
    return out


def _title(report: dict, community: str) -> str:
    return f"{community + ' ' if community else ''}疫情防控日报 {report['day']}"


def _made_line(report: dict) -> str:
    made = datetime.now(ZoneInfo(report["tz"])).strftime("%Y-%m-%d %H:%M")
    return f"日期 {report['day']}（{report['tz']}）；生成于 {made}"


def write_xlsx(report: dict, out: str | Path, *, community: str = "") -> Path:
    """The report as one sheet 日报 (title, then each section's table), printable on one landscape page."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise exports.ExportError(f"日报须为 .xlsx 或 .pdf：{out.name} / --out must end in .xlsx or .pdf")
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

    put([_title(report, community)], strong=True)
    ws["A1"].font = Font(bold=True, size=14)
    put([_made_line(report)])
    for section in sections(report):
        put([])
        put([section.title], strong=True)
        put(list(section.header), strong=True)
        for row in section.rows:
            put(list(row), strong=row[0] == "合计")
        if section.note:
            put([section.note])
    for column, width in zip("ABCDEFGH", (16, 12, 12, 12, 10, 10, 12, 40), strict=True):
        ws.column_dimensions[column].width = width
    for row in ws.iter_rows(min_row=3):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.title = "日报"
    with exports.atomic_file(out) as temp:
        book.save(temp)
    return out


PDF_ROW_LIMITS = (30, 20, 14, 10, 6)  # rows of one table on the page, tried in turn; the rest are left to the .xlsx
PDF_SIZES = (10.0, 9.0, 8.0, 7.0)  # font sizes tried, largest first, for each limit until the report fits one page


def write_pdf(report: dict, out: str | Path, *, community: str = "", font_path: Path | None = None) -> Path:
    """The report on one A4 page (portrait), the Chinese font embedded; ExportError when the font is missing."""
    from kiosk.office import card_sheets

    out = Path(out)
    if out.suffix.lower() != ".pdf":
        raise exports.ExportError(f"日报须为 .pdf 或 .xlsx：{out.name} / --out must end in .pdf or .xlsx")
    try:
        font = card_sheets.check_font(font_path or card_sheets.FONT_PATH)
    except card_sheets.CardSheetError as exc:
        raise exports.ExportError(str(exc)) from None
    parts = sections(report)
    data = b""
    for limit, size in ((limit, size) for limit in PDF_ROW_LIMITS for size in PDF_SIZES):
        pdf = _pdf(report, parts, community, font, size, limit)
        data = bytes(pdf.output())
        if pdf.pages_count == 1:
            break
    with exports.atomic_file(out) as temp:
        temp.write_bytes(data)
    return out


def _clip_cell(value: Any) -> str:
    text = " ".join(str(value).split()) if value is not None else ""
    return text if len(text) <= 80 else text[:79] + "…"


def _pdf(report: dict, parts: list[Section], community: str, font: Path, size: float, limit: int) -> Any:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_margins(14, 12, 14)
    pdf.set_auto_page_break(True, margin=12)
    pdf.set_creator("checkpoint-kiosk")
    pdf.set_title(_title(report, community))
    pdf.add_font("wqy", "", str(font), collection_font_number=0)  # no bold face: headings are shaded instead
    pdf.add_page()
    pdf.set_font("wqy", size=size + 6)
    pdf.cell(0, (size + 6) * 0.5, _title(report, community), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("wqy", size=size - 1)
    pdf.set_text_color(90)
    pdf.cell(0, size * 0.5, _made_line(report), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    heading = FontFace(emphasis=None, fill_color=(225, 230, 238))
    line = size * 0.45
    for section in parts:
        pdf.ln(size * 0.25)
        pdf.set_font("wqy", size=size + 1)
        pdf.cell(0, line + 1, section.title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("wqy", size=size)
        rows = section.rows
        extra = ""
        if len(rows) > limit:
            # the table's last row (合计 when there is one) stays: the sub-district reads the totals first
            left = len(rows) - limit + 1
            extra = f"另有 {left} 行见 .xlsx 日报 / {left} more rows in the .xlsx report"
            rows = [*rows[: limit - 2], rows[-1]] if rows[-1][0] == "合计" else rows[: limit - 1]
        if rows:
            with pdf.table(col_widths=section.widths or None, line_height=line, headings_style=heading,
                           text_align="LEFT", padding=0.8) as table:
                header = table.row()
                for head in section.header:
                    header.cell(head)
                for values in rows:
                    row = table.row()
                    for value in values:
                        row.cell(_clip_cell(value))
        for text in (section.note, extra):
            if text:
                pdf.set_font("wqy", size=size - 1)
                pdf.multi_cell(0, line, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(size * 0.4)
    pdf.set_font("wqy", size=size)
    pdf.cell(0, line, f"填报单位：{community or '          '}      填报人：__________      审核：__________",
             new_x="LMARGIN", new_y="NEXT")
    return pdf
