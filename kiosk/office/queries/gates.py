"""Every gate on one screen: online or silent for how long, backlog, clock, faults, who is on duty, in/out today.

Indexes: the heartbeats and gate_state primary keys, the events primary key
(a gate's last event), ``events_gate_kind_ts`` (a gate's last shift events),
``events_gate_fault_part`` (a gate's parts and each one's latest fault) and
``events_kind_ts`` (today's admitted passages, covering).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from kiosk.office.queries.common import QueryError, loads, parse_ts, zone
from kiosk.office.queries.today import hours_of
from kiosk.office.store import OfficeStore, OfficeStoreError
from kiosk.registry import Registry

MAX_COMPOUND = 64
# a gate has a few parts (thermometer, camera, reader …): more distinct names than this are not shown
_MAX_PARTS = 32


def overview(store: OfficeStore, *, now: datetime, offline_after_s: float = 120, tz: str = "Asia/Shanghai",
             master: Registry | None = None) -> list[dict]:
    """One dict per gate, by id.

    ``{"id", "name", "compound", "revoked", "online", "silent_s" (since the last heartbeat or event, whichever is
    later; None: never heard from), "last_heartbeat", "last_event_at", "last_seq", "backlog", "clock_offset_s",
    "clock_off", "clock_trust" (the gate's own word at its last heartbeat: kiosk.gate.clock; None: an older gate),
    "software_version", "sensors" (the heartbeat's), "faults" [{part, fault, detail, since}] (parts
    whose latest sensor_fault is a fault), "on_duty" {volunteer_id, name, since} | None, "last_shift"
    {kind, volunteer_id, at} | None, "today" {in, out}, "gate_leaf" {open, minutes, alarm} | None (the reed switch
    as the last heartbeat told it; None: none fitted)}``. ``now`` must be aware; ``master`` names volunteers.
    """
    if now.tzinfo is None:
        raise QueryError("now 须带时区 / now must carry its time zone offset")
    db = store.database()
    compounds = dict(db.execute("SELECT id, compound FROM gates").fetchall())
    today = _today_counts(store, now.astimezone(zone(tz)).date(), tz)
    out = []
    for gate in store.gates():
        gate_id = gate["id"]
        last = db.execute("SELECT seq, ts, received_at FROM events WHERE gate_id = ? ORDER BY seq DESC LIMIT 1",
                          [gate_id]).fetchone()
        heard = [t for t in (parse_ts(gate["last_heartbeat"]), parse_ts(last[2]) if last else None) if t is not None]
        silent = max(0.0, (now - max(heard)).total_seconds()) if heard else None
        on_duty, last_shift = _duty(store, gate_id, master)
        out.append({
            "id": gate_id, "name": gate["name"], "compound": compounds.get(gate_id), "revoked": gate["revoked"],
            "online": silent is not None and silent <= offline_after_s and not gate["revoked"],
            "silent_s": None if silent is None else round(silent, 1),
            "last_heartbeat": gate["last_heartbeat"], "last_event_at": last[1] if last else None,
            "last_seq": gate["last_seq"], "backlog": gate["backlog"], "clock_offset_s": gate["clock_offset_s"],
            "clock_off": gate["clock_off"], "clock_trust": gate["clock_trust"], "software_version": gate["software_version"], "sensors": gate["sensors"],
            "faults": _faults(store, gate_id), "on_duty": on_duty, "last_shift": last_shift,
            "today": today.get(gate_id, {"in": 0, "out": 0}),
            "gate_leaf": _leaf(gate["sensors"], parse_ts(gate["last_heartbeat"]), now),
        })
    return out


def set_gate_compound(store: OfficeStore, gate_id: str, compound: str | None) -> None:
    """Put a gate in a compound (小区/院落), or take it out with None; OfficeStoreError for an unknown gate."""
    if compound is not None:
        compound = compound.strip()
        if not compound or len(compound) > MAX_COMPOUND:
            raise OfficeStoreError(f"小区名称须为 1–{MAX_COMPOUND} 字 / a compound's name is 1–{MAX_COMPOUND} characters")
    with store.writing() as db:
        if db.execute("UPDATE gates SET compound = ? WHERE id = ?", [compound, gate_id]).rowcount == 0:
            raise OfficeStoreError(f"没有门岗 {str(gate_id)[:40]!r} / no such gate: see `kiosk office gates`")


def _leaf(sensors: Any, beat_at: datetime | None, now: datetime) -> dict | None:
    """The gate leaf as the last heartbeat told it; an open leaf's minutes go on counting since that heartbeat
    (by the office's clock, so a gate's clock being off does not matter)."""
    leaf = sensors.get("gate_leaf") if isinstance(sensors, dict) else None
    if not isinstance(leaf, dict) or not isinstance(leaf.get("open"), bool):
        return None
    minutes = leaf.get("minutes")
    minutes = minutes if isinstance(minutes, int) and not isinstance(minutes, bool) and minutes >= 0 else 0
    if leaf["open"] and beat_at is not None:
        minutes += int(max(0.0, (now - beat_at).total_seconds()) // 60)
    return {"open": leaf["open"], "minutes": minutes, "alarm": leaf.get("alarm") is True}


def _today_counts(store: OfficeStore, day: date, tz: str) -> dict[str, dict[str, int]]:
    # an hour at a time, as today.summary counts (24 small sorts are faster than one of a whole day's passages)
    counts: dict[str, dict[str, int]] = {}
    for start, end, _hour in hours_of(day, zone(tz)):
        for gate_id, direction, n in store.database().execute(
                "SELECT gate_id, direction, COUNT(*) FROM events WHERE kind = 'passage' AND ts >= ? AND ts < ?"
                " AND verdict = 'admit' GROUP BY gate_id, direction", [start, end]):
            if direction in ("in", "out"):
                counts.setdefault(gate_id, {"in": 0, "out": 0})[direction] += n
    return counts


def _faults(store: OfficeStore, gate_id: str) -> list[dict]:
    # the gate's parts, then each part's latest event (events_gate_fault_part, a handful of rows): only those
    # few rows' JSON is read, not the gate's whole fault history
    db = store.database()
    parts = [r[0] for r in db.execute(
        "SELECT DISTINCT fault_part FROM events WHERE kind = 'sensor_fault' AND gate_id = ? AND fault_part IS NOT NULL"
        " LIMIT ?", [gate_id, _MAX_PARTS]).fetchall()]
    faults = []
    for part in sorted(parts):
        row = db.execute(
            "SELECT ts, data FROM events WHERE kind = 'sensor_fault' AND gate_id = ? AND fault_part = ?"
            " ORDER BY ts DESC, seq DESC LIMIT 1", [gate_id, part]).fetchone()
        data = loads(row[1]) if row else {}
        if row and data.get("fault"):
            faults.append({"part": part, "fault": data.get("fault"), "detail": data.get("detail"), "since": row[0]})
    return faults


def _duty(store: OfficeStore, gate_id: str, master: Registry | None) -> tuple[dict | None, dict | None]:
    found: list[Any] = []
    for kind in ("shift_sign_in", "shift_sign_out"):  # one index seek each, newest first
        row = store.database().execute(
            "SELECT ts, seq, volunteer_id FROM events WHERE kind = ? AND gate_id = ? ORDER BY ts DESC, seq DESC LIMIT 1",
            [kind, gate_id]).fetchone()
        if row:
            found.append((row[0], row[1], kind, row[2]))
    if not found:
        return None, None
    ts, _seq, kind, volunteer = max(found)
    last = {"kind": kind, "volunteer_id": volunteer, "at": ts}
    if kind != "shift_sign_in":
        return None, last
    name = ""
    if master is not None and volunteer and str(volunteer).isdigit():
        row = master.volunteer(int(volunteer))
        name = (row or {}).get("name") or ""
    return {"volunteer_id": volunteer, "name": name, "since": ts}, last
