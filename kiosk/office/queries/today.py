"""One day at a glance, per compound and gate: in and out, visitors, vehicles, fevers, refusals, by hour; and how
many people were under home quarantine that day.

Counted as the gate's own screen counts (kiosk.gate.ledger.counts): an
admitted passage, vehicle or visitor registration counts in or out; any other
verdict is a refusal; a handheld follow-up that superseded an earlier decision
replaces it (the person counts once). Fevers are fever alarms raised that day.

Indexes: ``events_kind_ts`` (covering: kind, ts, gate, direction, verdict,
supersedes_seq — no row is read), the events primary key (a superseded
decision), ``alarms_raised_at`` (fevers); the master's quarantine_orders.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from kiosk.office.queries.common import bound, day_bounds, gate_ref, gates_by_id, zone
from kiosk.office.store import OfficeStore
from kiosk.registry import Registry

COUNTS = ("in", "out", "visitors", "vehicles", "fevers", "refused")
_COUNTED = ("passage", "vehicle", "visitor_registration")


def _zero() -> dict[str, int]:
    return dict.fromkeys(COUNTS, 0)


def summary(store: OfficeStore, master: Registry, *, day: date, tz: str = "Asia/Shanghai") -> dict:
    """``{"day", "tz", "totals" {in, out, visitors, vehicles, fevers, refused}, "by_hour" [24 × counts],
    "compounds" [{"compound" (None: gates in no compound), "totals", "by_hour", "gates" [{"gate" {id, name,
    compound}, "totals", "by_hour"}]}], "quarantine" {"orders", "households", "people"}}``.

    Hours are 0–23 of the community's zone ``tz`` (a DST day's hours fold onto the clock's hour).
    """
    z = zone(tz)
    start, end = day_bounds(day, z)
    db = store.database()
    width = _bucket_width(day, z)
    tally: dict[str, dict[int, dict[str, int]]] = defaultdict(lambda: defaultdict(_zero))

    def add(gate_id: str, bucket: str, kind: str, verdict: str | None, direction: str | None, n: int) -> None:
        add_hour(gate_id, _hour(bucket, z), kind, verdict, direction, n)

    def add_hour(gate_id: str, hour: int, kind: str, verdict: str | None, direction: str | None, n: int) -> None:
        counts = tally[gate_id][hour]
        if kind == "passage_abandoned":
            return
        if verdict != "admit":
            counts["refused"] += n
            return
        if kind == "vehicle":
            counts["vehicles"] += n
            return
        if kind == "visitor_registration":
            counts["visitors"] += n
        if direction in ("in", "out"):
            counts[direction] += n

    kinds = ", ".join(f"'{k}'" for k in _COUNTED)
    # One small GROUP BY per hour of the day (a range of events_kind_ts, covering): SQLite sorts a few thousand
    # rows 24 times faster than ~65,000 rows once (measured: ~50 ms against ~90 ms at 2,000,000 events), and an
    # hour's bounds are plain ts bounds, so no substr(ts) is grouped on.
    for hour_start, hour_end, hour in hours_of(day, z):
        for gate_id, kind, verdict, direction, n in db.execute(
                f"SELECT gate_id, kind, verdict, direction, COUNT(*) FROM events WHERE kind IN ({kinds})"
                " AND ts >= ? AND ts < ? GROUP BY gate_id, kind, verdict, direction", [hour_start, hour_end]):
            add_hour(gate_id, hour, kind, verdict, direction, n)
    # a decision a handheld follow-up replaced (that day) counts no more: the follow-up is the person's passage;
    # likewise a vehicle refused (not disinfected) and saved again: the corrected save is the vehicle's passage
    for gate_id, kind, verdict, direction, bucket, n in db.execute(
            f"SELECT s.gate_id, s.kind, s.verdict, s.direction, substr(s.ts, 1, {width}), COUNT(*) FROM events e"
            " JOIN events s ON s.gate_id = e.gate_id AND s.seq = e.supersedes_seq"
            " WHERE e.kind IN ('passage', 'visitor_registration', 'vehicle') AND e.ts >= ? AND e.ts < ? AND e.supersedes_seq IS NOT NULL"
            " AND s.ts >= ? AND s.ts < ?"
            " GROUP BY s.gate_id, s.kind, s.verdict, s.direction, substr(s.ts, 1, ?)", [start, end, start, end, width]):
        add(gate_id, bucket, kind, verdict, direction, -n)
    for gate_id, bucket, n in db.execute(
            f"SELECT gate_id, substr(raised_at, 1, {width}), COUNT(*) FROM alarms WHERE raised_at >= ? AND raised_at < ?"
            " AND kind = 'fever' GROUP BY gate_id, substr(raised_at, 1, ?)", [start, end, width]):
        tally[gate_id][_hour(bucket, z)]["fevers"] += n

    gates = gates_by_id(store)
    by_compound: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for gate_id in sorted(set(gates) | set(tally)):
        ref = gate_ref(gates, gate_id)
        hours = [dict(tally[gate_id][h]) if h in tally[gate_id] else _zero() for h in range(24)]
        by_compound[ref["compound"]].append({"gate": ref, "totals": _sum(hours), "by_hour": hours})
    compounds: list[dict[str, Any]] = []
    for name in sorted(by_compound, key=lambda c: (c is None, c or "")):
        members = by_compound[name]
        hours = [_sum(g["by_hour"][h] for g in members) for h in range(24)]
        compounds.append({"compound": name, "totals": _sum(hours), "by_hour": hours, "gates": members})
    hours = [_sum(c["by_hour"][h] for c in compounds) for h in range(24)]
    return {"day": day.isoformat(), "tz": z.key, "totals": _sum(hours), "by_hour": hours, "compounds": compounds,
            "quarantine": quarantine_on(master, day)}


def quarantine_on(master: Registry, day: date) -> dict[str, int]:
    """How many home-quarantine orders were active on ``day``, and the households and people they covered."""
    db = master._db()
    iso = day.isoformat()
    orders = db.execute("SELECT resident_id, household_id FROM quarantine_orders WHERE starts_on <= ? AND ends_on >= ?",
                        [iso, iso]).fetchall()
    people = {r for r, _h in orders if r is not None}
    households = {h for r, h in orders if r is None and h is not None}
    for household in households:
        people |= {row[0] for row in db.execute("SELECT id FROM residents WHERE household_id = ?", [household])}
    covered = set(households)
    for resident in people:
        row = master.resident(resident)
        if row is not None and row.get("household_id") is not None:
            covered.add(row["household_id"])
    return {"orders": len(orders), "households": len(covered), "people": len(people)}


def _sum(rows) -> dict[str, int]:
    total = _zero()
    for row in rows:
        for key in COUNTS:
            total[key] += row[key]
    return total


def hours_of(day: date, z) -> list[tuple[str, str, int]]:
    """``(start, end, clock hour)`` of each hour of ``day`` in zone ``z``: 24, or 23/25 on a DST day, in UTC steps
    from local midnight (a zone half an hour off UTC gets its hours at :30 UTC, right)."""
    start, end = (datetime.combine(d, time(), z).astimezone(UTC) for d in (day, day + timedelta(days=1)))
    out = []
    moment = start
    while moment < end:
        following = min(moment + timedelta(hours=1), end)
        out.append((bound(moment), bound(following), moment.astimezone(z).hour))
        moment = following
    return out


def _bucket_width(day: date, z) -> int:
    """13 (``YYYY-MM-DDTHH``, a UTC hour) when the zone is a whole number of hours from UTC that day, else 16 (minute)."""
    for moment in (datetime.combine(day, time(), z), datetime.combine(day + timedelta(days=1), time(), z)):
        offset = moment.utcoffset()
        if offset is None or offset.total_seconds() % 3600:
            return 16
    return 13


def _hour(bucket: str, z) -> int:
    text = bucket + (":00" if len(bucket) == 13 else "")
    moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return moment.astimezone(z).hour
