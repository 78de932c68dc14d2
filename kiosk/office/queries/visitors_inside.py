"""Visitors inside now, across every gate: who came in and has not left, and for how long (the desk and the CLI).

The rule is the gate's own (kiosk/gate/visitors_inside.py ``open_entries``), run over each gate's events of the
last ``days`` days: registrations and exits by ``events_kind_ts`` (kind, ts), visitor-pass passages by
``events_subject_ts`` (a range of ``visitor:…`` subjects, then ts) — a week of residents' passages is never read.
Flagged events (data that did not fit its schema) take no part. Rows are plain codes and values, longest first.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from kiosk.events import Event, EventKind
from kiosk.gate.visitors_inside import DEFAULT_DAYS, DEFAULT_LONG_STAY_H, is_pass_subject, open_entries, stay
from kiosk.office.queries.common import bound, gate_ref, gates_by_id, household_ref, loads, zone
from kiosk.office.store import OfficeStore
from kiosk.privacy import mask_name
from kiosk.registry import Registry

MAX_ROWS = 2000  # a community's visitors inside at once: far more than any gate lets in a week


def _events(store: OfficeStore, since: str) -> dict[str, list[Event]]:
    db = store.database()
    columns = "gate_id, seq, id, ts, volunteer_id, kind, data, subject, household_id"
    rows = db.execute(f"SELECT {columns} FROM events WHERE kind IN ('visitor_registration', 'visitor_exit')"
                      " AND ts >= ? AND flag IS NULL", [since]).fetchall()
    rows += db.execute(f"SELECT {columns} FROM events WHERE subject >= 'visitor:' AND subject < 'visitor;'"
                       " AND ts >= ? AND kind = 'passage' AND flag IS NULL", [since]).fetchall()
    by_gate: dict[str, list[Event]] = defaultdict(list)
    for gate_id, seq, ident, ts, volunteer_id, kind, data, subject, household_id in rows:
        by_gate[gate_id].append(Event(seq, ident, ts, gate_id, volunteer_id, EventKind(kind), loads(data), subject,
                                      household_id))
    return by_gate


def inside_now(store: OfficeStore, master: Registry, now: datetime, tz: str, *, days: int = DEFAULT_DAYS,
               long_stay_h: float = DEFAULT_LONG_STAY_H, gate_id: str | None = None) -> list[dict[str, Any]]:
    """Every visitor inside now (entered within ``days`` days, no exit yet), longest inside first.

    Each row: ``{"gate", "entry_seq", "since", "how", "name", "phone", "household", "inside_s", "overnight",
    "long"}`` — the name and phone masked (the ledger has the rest), ``gate`` and ``household`` as refs.
    """
    z = zone(tz)
    midnight = datetime.combine(now.astimezone(z).date(), datetime.min.time(), z)
    gates = gates_by_id(store)
    households: dict = {}
    passes: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    for gate, events in sorted(_events(store, bound(now - timedelta(days=days))).items()):
        if gate_id is not None and gate != gate_id:
            continue
        for subject in {str(e.subject) for e in events if is_pass_subject(e.subject)}:
            if subject not in passes:
                visitor_pass = master.visitor_pass(int(subject.split(":")[1]))
                passes[subject] = visitor_pass.name if visitor_pass is not None else ""
        for entry in open_entries(events, passes):
            rows.append({"gate": gate_ref(gates, gate), "entry_seq": entry.seq, "since": entry.ts, "how": entry.how,
                         "name": mask_name(entry.name) if entry.name else None, "phone": entry.phone_masked,
                         "household": household_ref(master, entry.household_id, households),
                         **stay(entry, now, midnight, long_stay_h)})
    rows.sort(key=lambda r: (-r["inside_s"], r["gate"]["id"], r["entry_seq"]))
    return rows[:MAX_ROWS]
