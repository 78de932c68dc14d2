"""Contact tracing: everyone who passed a gate between two times, or within N minutes of one passage (a fever
case), with household and phone for staff to call; and the CSV export.

Phones: a visitor's registration carries the phone in full for exactly this
(kiosk.gate.visitors); a resident's full number is the master registry's office-only ``residents.phone`` (from the
roster or the desk's forms; gates never get it), empty when the roster gave none. Index: ``events_kind_ts`` (one range scan per passage kind, gate filtered in the index).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from kiosk.office.queries.common import (
    DEFAULT_TIMEZONE,
    PASSAGE_KINDS,
    QueryError,
    Who,
    bound,
    gate_ref,
    gates_by_id,
    loads,
    parse_time,
    parse_ts,
    zone,
)
from kiosk.office.store import OfficeStore
from kiosk.registry import Registry

MAX_ROWS = 5000
MAX_MINUTES = 24 * 60
MAX_SPAN = timedelta(days=7)


def between(store: OfficeStore, master: Registry, gate: str, start: datetime | str, end: datetime | str) -> dict:
    """``{"gate" {id, name, compound}, "start", "end", "rows" [row …] (oldest first), "truncated"}``.

    A row: ``{"gate_id", "seq", "ts", "kind", "direction", "verdict", "temperature_c", "subject", "subject_kind",
    "name_masked", "household" {id, building, unit, room, label} | None, "phone" (in full: a visitor's, or a resident's when the registry has it; else ""),
    "phone_masked"}``. At most 5000 rows and 7 days; QueryError (zh-CN first) beyond, or for an unknown gate.
    """
    lo_t, hi_t = parse_time(start, "start"), parse_time(end, "end")
    if hi_t <= lo_t:
        raise QueryError("结束时间须晚于开始时间 / end must be after start")
    if hi_t - lo_t > MAX_SPAN:
        raise QueryError("追踪时段不能超过 7 天 / a trace covers at most 7 days")
    gates = gates_by_id(store)
    if gate not in gates:
        raise QueryError(f"没有门岗 {str(gate)[:40]!r} / no such gate")
    kinds = ", ".join(f"'{k}'" for k in PASSAGE_KINDS)
    found = store.database().execute(
        "SELECT gate_id, seq, ts, kind, subject, household_id, data, direction, verdict, temperature_c FROM events"
        f" WHERE kind IN ({kinds}) AND ts >= ? AND ts < ? AND gate_id = ? ORDER BY ts, seq LIMIT ?",
        [bound(lo_t), bound(hi_t), gate, MAX_ROWS + 1]).fetchall()
    who = Who(master)
    rows = [_row(r, who) for r in found[:MAX_ROWS]]
    return {"gate": gate_ref(gates, gate), "start": bound(lo_t), "end": bound(hi_t), "rows": rows,
            "truncated": len(found) > MAX_ROWS}


def around(store: OfficeStore, master: Registry, gate_id: str, seq: int, minutes: int = 30) -> dict:
    """``between`` the ``minutes`` before and after one passage, plus ``"case"`` (that passage's own row)."""
    try:
        minutes = int(minutes)
    except (TypeError, ValueError):
        raise QueryError("分钟数须为整数 / minutes must be an integer") from None
    if not 1 <= minutes <= MAX_MINUTES:
        raise QueryError(f"分钟数须在 1–{MAX_MINUTES} 之间 / minutes must be 1–{MAX_MINUTES}")
    event = store.database().execute(
        "SELECT gate_id, seq, ts, kind, subject, household_id, data, direction, verdict, temperature_c FROM events"
        " WHERE gate_id = ? AND seq = ?", [gate_id, int(seq)]).fetchone()
    if event is None:
        raise QueryError(f"门岗 {str(gate_id)[:40]} 没有第 {int(seq)} 条记录 / no such event at the office")
    at = parse_ts(event[2])
    if at is None:
        raise QueryError("此记录没有有效时间 / the event has no valid time")
    result = between(store, master, gate_id, at - timedelta(minutes=minutes), at + timedelta(minutes=minutes, seconds=1))
    return {**result, "case": _row(event, Who(master)), "minutes": minutes}


CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("time", "时间 Time"), ("gate", "门岗 Gate"), ("kind", "类别 Kind"), ("direction", "方向 Direction"),
    ("verdict", "结果 Verdict"), ("temperature_c", "体温 Temperature (°C)"), ("name_masked", "姓名 Name"),
    ("household", "户 Household"), ("phone", "电话 Phone"), ("phone_masked", "电话(隐去) Phone (masked)"),
)


def to_csv(rows: Iterable[Mapping[str, Any]], *, tz: str = DEFAULT_TIMEZONE) -> bytes:
    """The rows as CSV for Excel: UTF-8 with a BOM (so Excel opens the Chinese), times in ``tz``, codes as codes.

    Cells beginning with ``= + - @`` get a leading apostrophe, so a typed name never runs as a formula.
    """
    z = zone(tz)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([title for _key, title in CSV_COLUMNS])
    for row in rows:
        moment = parse_ts(row.get("ts"))
        house = row.get("household") or {}
        writer.writerow([_cell(v) for v in (
            moment.astimezone(z).strftime("%Y-%m-%d %H:%M:%S") if moment else "", row.get("gate_id"), row.get("kind"),
            row.get("direction"), row.get("verdict"), row.get("temperature_c"), row.get("name_masked"),
            house.get("label") if isinstance(house, Mapping) else "", row.get("phone"), row.get("phone_masked"))])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _row(r: tuple, who: Who) -> dict:
    gate_id, seq, ts, kind, subject, household_id, text, direction, verdict, temperature = r
    data = loads(text)
    person = who.of(subject, household_id, data, phone=True)
    phone = (data.get("phone") if kind == "visitor_registration" and isinstance(data.get("phone"), str)
             else person["phone"])
    return {"gate_id": gate_id, "seq": seq, "ts": ts, "kind": kind, "direction": direction, "verdict": verdict,
            "temperature_c": temperature, "subject": subject, "subject_kind": person["subject_kind"],
            "name_masked": person["name_masked"], "household": person["household"], "phone": phone,
            "phone_masked": person["phone_masked"]}
