"""Events from a gate whose clock was not trusted: their true time estimated, a boot's events in their true order.

A gate stamps every event with its boot id, the monotonic ms since that boot
and its clock's trust code (kiosk.gate.clock); every heartbeat carries the
same, and the office stores the latest heartbeat of each boot with its *own*
receive time (``gate_boots``). The monotonic clock never jumps, so for an event
of boot B stamped at ``m`` ms::

    true time ≈ office receive time of B's heartbeat − (heartbeat mono_ms − m)

(network delay of the heartbeat aside: well under a second). Without a
heartbeat of that boot (no network all boot long), a trusted event of the same
boot serves as the anchor instead, by the gate's own then-synchronised clock.
Events of an untrusted clock with neither stay uncorrected, and say so.

Within a boot, events are ordered by ``mono_ms`` (the gate's wall clock may
have gone backwards; the monotonic clock did not); boots in the order the gate
journaled them (their first seq). See docs/clock.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("kiosk.office.clock")

TRUSTED = "trusted"
MAX_EVENTS = 1000


@migrations()
def m001_clock_stamps(db: sqlite_utils.Database) -> None:
    """Events and heartbeats keep the gate's clock stamp; the latest heartbeat of each boot is kept per boot.

    NULL in events stored before: nothing is known of their clock. No index: a
    correction reads one gate's events by seq (the primary key), and ingest
    speed is what a reconnecting gate's backlog waits on.
    """
    for column, sql_type in (("boot", str), ("mono_ms", int), ("clock", str)):
        if column not in db["events"].columns_dict:
            db["events"].add_column(column, sql_type)
    for column, sql_type in (("boot", str), ("mono_ms", int), ("clock_trust", str)):
        if column not in db["heartbeats"].columns_dict:
            db["heartbeats"].add_column(column, sql_type)
    db["gate_boots"].create(
        {"gate_id": str, "boot": str, "received_at": str, "mono_ms": int, "gate_clock": str, "clock_offset_s": float,
         "clock_trust": str, "first_received_at": str},
        pk=("gate_id", "boot"), if_not_exists=True,
    )


def record_boot(db: Any, gate_id: str, beat: Mapping[str, Any], received_at: str, offset_s: float) -> None:
    """Keep a heartbeat's clock stamp as its boot's latest (``db``: a sqlite3 or sqlite_utils connection, in the
    caller's transaction). A heartbeat without a boot id or monotonic ms (an older gate) changes nothing."""
    boot, mono_ms = beat.get("boot"), beat.get("mono_ms")
    if not isinstance(boot, str) or not boot or not isinstance(mono_ms, int) or isinstance(mono_ms, bool):
        return
    db.execute(
        "INSERT INTO gate_boots (gate_id, boot, received_at, mono_ms, gate_clock, clock_offset_s, clock_trust,"
        " first_received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (gate_id, boot) DO UPDATE SET"
        " received_at = excluded.received_at, mono_ms = excluded.mono_ms, gate_clock = excluded.gate_clock,"
        " clock_offset_s = excluded.clock_offset_s, clock_trust = excluded.clock_trust",
        [gate_id, boot, received_at, mono_ms, str(beat.get("gate_clock")), round(offset_s, 3), beat.get("clock"),
         received_at])


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    try:
        moment = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _format(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def correct(events: Iterable[Mapping[str, Any]], boots: Mapping[str, Mapping[str, Any]]) -> list[dict]:
    """The events (dicts with ts, seq, boot, mono_ms, clock) with their estimated time, in true order.

    Each comes back with ``ts_corrected`` (ISO, ``Z``; None when it cannot be
    estimated), ``time_source`` (``gate``: its own trusted clock, or no stamp at
    all; ``heartbeat``; ``trusted_event``; ``none``) and ``clock_trusted``.
    ``boots`` maps a boot id to its latest heartbeat (``received_at``, ``mono_ms``).
    """
    out: list[dict] = [dict(e) for e in events]
    # An anchor per boot from its own trusted events: the one nearest each untrusted event would be best; the
    # last one is simpler and as good while the monotonic clock's drift (ppm) is small.
    anchors: dict[str, tuple[datetime, int]] = {}
    first_seq: dict[str, int] = {}
    for e in out:
        boot = e.get("boot")
        if boot is None:
            continue
        first_seq[boot] = min(first_seq.get(boot, e["seq"]), e["seq"])
        if e.get("clock") == TRUSTED and isinstance(e.get("mono_ms"), int):
            moment = _parse(e.get("ts"))
            if moment is not None:
                anchors[boot] = (moment, e["mono_ms"])
    for e in out:
        boot, mono, clock = e.get("boot"), e.get("mono_ms"), e.get("clock")
        e["clock_trusted"] = clock is None or clock == TRUSTED  # None: stored before gates said (unknown)
        if e["clock_trusted"] or boot is None or not isinstance(mono, int):
            e["ts_corrected"], e["time_source"] = e.get("ts"), "gate"
            continue
        beat = boots.get(boot)
        received = _parse(beat.get("received_at")) if beat else None
        if received is not None and isinstance(beat.get("mono_ms"), int):  # type: ignore[union-attr]
            estimate = received - timedelta(milliseconds=beat["mono_ms"] - mono)  # type: ignore[index]
            e["ts_corrected"], e["time_source"] = _format(estimate), "heartbeat"
        elif boot in anchors:
            at, anchor_mono = anchors[boot]
            e["ts_corrected"], e["time_source"] = _format(at - timedelta(milliseconds=anchor_mono - mono)), "trusted_event"
        else:
            e["ts_corrected"], e["time_source"] = None, "none"
    # boots in the order the gate journaled them; within one, by the monotonic clock (seq breaks ties)
    out.sort(key=lambda e: (first_seq.get(e.get("boot") or "", e["seq"]) if e.get("boot") else e["seq"],
                            e.get("mono_ms") if isinstance(e.get("mono_ms"), int) else -1, e["seq"]))
    return out


def gate_boots(store: Any, gate_id: str) -> dict[str, dict]:
    """The latest heartbeat of each of a gate's boots, by boot id."""
    rows = store.database().execute(
        "SELECT boot, received_at, mono_ms, clock_offset_s, clock_trust FROM gate_boots WHERE gate_id = ?", [gate_id])
    return {r[0]: {"received_at": r[1], "mono_ms": r[2], "clock_offset_s": r[3], "clock_trust": r[4]} for r in rows}


def corrected_events(store: Any, gate_id: str, after: int = 0, limit: int = MAX_EVENTS) -> list[dict]:
    """A gate's stored events after seq ``after`` (at most ``limit``, ≤ 1000), each with its corrected time and the
    flags of :func:`correct`, in true order: what the office API's ``/gates/<id>/events`` answers."""
    limit = max(1, min(int(limit), MAX_EVENTS))
    rows = store.database().query(
        "SELECT seq, id, ts, received_at, volunteer_id, kind, subject, household_id, data, flag, boot, mono_ms, clock"
        " FROM events WHERE gate_id = ? AND seq > ? ORDER BY seq LIMIT ?", [gate_id, after, limit])
    events = [{**r, "gate_id": gate_id, "data": json.loads(r["data"])} for r in rows]
    return correct(events, gate_boots(store, gate_id))
