"""The exports' reads: every row of a ledger in a span, streamed in ``(ts, gate_id, seq)`` order, never all held.

Each event kind is one ordered range scan of ``events_kind_ts`` (kind, ts,
gate_id, seq — the index gives the order, so SQLite sorts nothing); kinds
are merged here with ``heapq.merge``. Alarms come from ``alarms_raised_at``,
shifts from ``events_gate_kind_ts`` (one gate at a time). Bounds are the ts
bounds of kiosk.office.queries.common (UTC text, ``[lo, hi)``).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any

from kiosk.office import quarantine
from kiosk.office.queries.common import loads, placeholders
from kiosk.office.store import OfficeStore

SHIFT_KINDS = ("shift_sign_in", "shift_sign_out")
# a stream reads this many rows per fetch: memory stays flat whatever the span
_FETCH = 2000


def count(store: OfficeStore, kinds: tuple[str, ...], lo: str, hi: str) -> int:
    """How many events of ``kinds`` fall in ``[lo, hi)`` (covering index: no row is read), for progress."""
    return int(store.database().execute(
        f"SELECT COUNT(*) FROM events WHERE kind IN ({placeholders(kinds)}) AND ts >= ? AND ts < ?",
        [*kinds, lo, hi]).fetchone()[0])


def count_fevers(store: OfficeStore, lo: str, hi: str) -> int:
    """How many fever alarms were raised in ``[lo, hi)``."""
    return int(store.database().execute(
        "SELECT COUNT(*) FROM alarms WHERE kind = 'fever' AND raised_at >= ? AND raised_at < ?", [lo, hi]).fetchone()[0])


def _stream(store: OfficeStore, sql: str, params: list[Any]) -> Iterator[tuple]:
    # a cursor of its own per stream (several are open at once while merging), read a batch at a time
    cursor = store.database().conn.cursor()
    try:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(_FETCH):
            yield from batch
    finally:
        cursor.close()


def events(store: OfficeStore, kinds: tuple[str, ...], lo: str, hi: str, columns: str) -> Iterator[tuple]:
    """Rows ``(ts, gate_id, seq, *columns)`` of every event of ``kinds`` in ``[lo, hi)``, in (ts, gate_id, seq) order."""
    streams = [_paged(store, kind, lo, hi, columns) for kind in kinds]
    if len(streams) == 1:
        return streams[0]
    return heapq.merge(*streams, key=lambda r: (r[0], r[1], r[2]))


def _paged(store: OfficeStore, kind: str, lo: str, hi: str, columns: str) -> Iterator[tuple]:
    """One kind's rows, _FETCH at a time, each page its own short read (keyset: after the last row's key).

    Why pages rather than one cursor: an export of a month reads for minutes, and one open read would pin the WAL
    for all that time (no checkpoint while the gates keep syncing); a page is a few milliseconds."""
    db = store.database()
    select = f"SELECT ts, gate_id, seq, {columns} FROM events WHERE kind = ? AND ts >= ? AND ts < ?"
    rows = db.execute(f"{select} ORDER BY ts, gate_id, seq LIMIT ?", [kind, lo, hi, _FETCH]).fetchall()
    while rows:
        yield from rows
        if len(rows) < _FETCH:
            return
        ts, gate_id, seq = rows[-1][:3]
        rows = db.execute(f"{select} AND (ts, gate_id, seq) > (?, ?, ?) ORDER BY ts, gate_id, seq LIMIT ?",
                          [kind, ts, hi, ts, gate_id, seq, _FETCH]).fetchall()


def fevers(store: OfficeStore, lo: str, hi: str) -> Iterator[dict]:
    """Fever alarms raised in ``[lo, hi)``, oldest first, each with its temperature and how it was handled.

    ``{"ts", "gate_id", "seq", "event_id", "subject", "household_id", "temperature_c", "gate_outcome",
    "gate_by", "gate_at", "gate_note", "office_outcome", "office_by", "office_at", "office_note"}``.
    """
    db = store.database()
    rows = _stream(store, "SELECT raised_at, gate_id, seq, event_id, subject, acknowledged_at, acknowledged_by, note,"
                          " office_outcome, office_note, office_handled_at, office_handled_by FROM alarms"
                          " WHERE kind = 'fever' AND raised_at >= ? AND raised_at < ?"
                          " ORDER BY raised_at, gate_id, seq", [lo, hi])
    for (raised, gate_id, seq, event_id, subject, acked_at, acked_by, note, office_outcome, office_note,
         office_at, office_by) in rows:
        event = db.execute("SELECT household_id, data FROM events WHERE gate_id = ? AND seq = ?",
                           [gate_id, seq]).fetchone() if seq is not None else None
        # An office-raised fever (a home-quarantine check) has no gate event: its reading is the check's.
        data = loads(event[1]) if event else (quarantine.alarm_data(store, event_id) or {})
        detail = data.get("detail")
        temperature = detail.get("temperature_c") if isinstance(detail, dict) else None
        outcome = None
        if acked_at:  # the gate's acknowledgement event (found by kind + ts + gate, as the desk's alarm page does)
            for (text,) in db.execute("SELECT data FROM events WHERE kind = 'alarm_acknowledged' AND ts = ? AND gate_id = ?",
                                      [acked_at, gate_id]):
                ack = loads(text)
                if ack.get("alarm_event_id") == event_id:
                    outcome = ack.get("outcome")
                    break
        yield {"ts": raised, "gate_id": gate_id, "seq": seq, "event_id": event_id, "subject": subject,
               "household_id": event[0] if event else None,
               "temperature_c": temperature if isinstance(temperature, (int, float)) and not isinstance(temperature, bool)
               else None,
               "gate_outcome": outcome, "gate_by": acked_by, "gate_at": acked_at, "gate_note": note or "",
               "office_outcome": office_outcome, "office_by": office_by, "office_at": office_at,
               "office_note": office_note or ""}


def shifts(store: OfficeStore, lo: str, hi: str) -> list[dict]:
    """Volunteers' shifts overlapping ``[lo, hi)``, by sign-in time: ``{"gate_id", "volunteer_id", "start", "end"}``.

    A shift opens at a sign-in and closes at the next sign-out or sign-in at
    that gate (a handover journals both); one signed in before ``lo`` counts
    from its sign-in; ``end`` is None while still on duty. Shift events are a
    few a day per gate, so a span's are held.
    """
    db = store.database()
    out: list[dict] = []
    for (gate_id,) in db.execute("SELECT id FROM gates ORDER BY id").fetchall():
        # the last shift event before the span: was someone already on duty at its start?
        before = db.execute(
            "SELECT ts, seq, kind, volunteer_id FROM events WHERE gate_id = ? AND kind = 'shift_sign_in' AND ts < ?"
            " ORDER BY ts DESC LIMIT 1", [gate_id, lo]).fetchone()
        open_shift: dict | None = None
        if before is not None:
            closed = db.execute(
                "SELECT 1 FROM events WHERE gate_id = ? AND kind IN ('shift_sign_in', 'shift_sign_out') AND ts >= ?"
                " AND ts < ? AND seq > ? LIMIT 1", [gate_id, before[0], lo, before[1]]).fetchone()
            if closed is None:
                open_shift = {"gate_id": gate_id, "volunteer_id": before[3], "start": before[0], "end": None}
        for ts, kind, volunteer in db.execute(
                "SELECT ts, kind, volunteer_id FROM events WHERE gate_id = ? AND kind IN ('shift_sign_in', 'shift_sign_out')"
                " AND ts >= ? AND ts < ? ORDER BY ts, seq", [gate_id, lo, hi]):
            if open_shift is not None:
                open_shift["end"] = ts
                out.append(open_shift)
                open_shift = None
            if kind == "shift_sign_in":
                open_shift = {"gate_id": gate_id, "volunteer_id": volunteer, "start": ts, "end": None}
        if open_shift is not None:
            out.append(open_shift)
    out.sort(key=lambda s: (s["start"], s["gate_id"]))
    return out

