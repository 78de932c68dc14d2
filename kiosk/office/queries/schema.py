"""office.db indexes (and derived columns) that serve the desk's queries; each query names the index it uses.

Derived columns (``direction``, ``plate`` …) are plain columns the store
fills at ingest from the event's data (``derived_values``), so a query names
a plain column and the same SQL runs on PostgreSQL. They are not SQLite
generated columns over ``json_extract``: SQLite 3.40 parses the JSON again for
each one at every insert (ingest fell to under half), and a JSON text SQLite
cannot parse (deeper than its limit) would make the insert itself fail and
block the gate's stream. Every index is one more cost on a gate's backlog:
bench/office_ingest_bench.py measures it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("kiosk.office.queries")

INT64 = 2**63 - 1

# column -> (SQL type, the data key it is read from; a dotted key reads a nested object)
DERIVED_COLUMNS: dict[str, tuple[str, str]] = {
    "direction": ("TEXT", "direction"),
    "verdict": ("TEXT", "verdict"),
    "temperature_c": ("REAL", "temperature_c"),
    "plate": ("TEXT", "plate"),
    "card_id": ("INTEGER", "card.card_id"),
    "id_hash": ("TEXT", "id_hash"),
    "supersedes_seq": ("INTEGER", "supersedes_seq"),
    "alarm_kind": ("TEXT", "kind"),  # alarm_raised / alarm_acknowledged: which kind of alarm
    "visitor_name": ("TEXT", "name"),  # visitor_registration: the name as typed (events_kind_ts' last column)
    "fault_part": ("TEXT", "part"),  # sensor_fault: which part (thermometer, camera …), so a gate's faults need no JSON
}
_MAX_TEXT = 200


def _typed(sql_type: str, value: Any) -> Any:
    """The value if it has the column's type (and fits), else None: bad data never reaches a derived column."""
    if sql_type == "TEXT":
        return value if isinstance(value, str) and len(value) <= _MAX_TEXT else None
    if sql_type == "INTEGER":
        return value if isinstance(value, int) and not isinstance(value, bool) and -INT64 <= value <= INT64 else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and abs(value) < 1e6:
        return float(value)
    return None


def derived_values(data: Any, *, flagged: bool = False) -> dict[str, Any]:
    """The derived columns of one event, from its (office-side) data; all None for a flagged event."""
    out: dict[str, Any] = {}
    for column, (sql_type, key) in DERIVED_COLUMNS.items():
        value: Any = None
        if not flagged and isinstance(data, Mapping):
            value = data
            for part in key.split("."):
                value = value.get(part) if isinstance(value, Mapping) else None
        out[column] = _typed(sql_type, value)
    return out


# name -> SQL; the queries in this package are written so SQLite picks these (tests check EXPLAIN QUERY PLAN).
INDEXES: dict[str, str] = {
    # today's counts (covering: no row is read), the ledger by kind in keyset order, a visitor's host household and
    # typed name (SQLite checks a term on an index column before it reads the row: a LIKE on visitor_name over a
    # month of registrations reads no row that does not match; NULL, one byte, for every other kind)
    "events_kind_ts": "CREATE INDEX IF NOT EXISTS events_kind_ts ON events"
                      " (kind, ts, gate_id, seq, direction, verdict, supersedes_seq, temperature_c, household_id,"
                      " visitor_name)",
    # one gate's shifts and faults (newest first) and its passages in a span (contact trace): per gate, appended
    "events_gate_kind_ts": "CREATE INDEX IF NOT EXISTS events_gate_kind_ts ON events (gate_id, kind, ts)",
    # the ledger by name / card / household (the master gives the subjects; a page of each, merged).
    # A key by person lands anywhere in the B-tree, so each batch dirties many pages: this one index costs
    # ingest more than all the others (measured); households go through their residents' subjects instead.
    "events_subject_ts": "CREATE INDEX IF NOT EXISTS events_subject_ts ON events (subject, ts)",
    # partial on kind (a column, not JSON): only a vehicle's or a visitor's row pays for these. They carry the
    # whole keyset order (ts, gate_id, seq): with (plate, ts) alone SQLite preferred events_kind_ts (kind = …),
    # which needs no sort, and read every vehicle of the month to find one plate.
    "events_vehicle_plate": "CREATE INDEX IF NOT EXISTS events_vehicle_plate ON events (plate, ts, gate_id, seq)"
                            " WHERE kind = 'vehicle'",
    "events_visitor_id_hash": "CREATE INDEX IF NOT EXISTS events_visitor_id_hash ON events (id_hash, ts, gate_id, seq)"
                              " WHERE kind = 'visitor_registration'",
    # alarms, newest first, and the open ones: the two IS NULL columns lead, so SQLite takes this index (two
    # equalities, then raised_at order) over the store's idx_alarms_acknowledged_at (one, then a sort of them all)
    "alarms_raised_at": "CREATE INDEX IF NOT EXISTS alarms_raised_at ON alarms (raised_at, event_id)",
    "alarms_open": "CREATE INDEX IF NOT EXISTS alarms_open ON alarms (acknowledged_at, office_handled_at, raised_at,"
                   " event_id) WHERE acknowledged_at IS NULL AND office_handled_at IS NULL",
    # a gate's parts and each one's latest fault event (gates.overview): sensor_fault rows only
    "events_gate_fault_part": "CREATE INDEX IF NOT EXISTS events_gate_fault_part ON events"
                              " (gate_id, kind, fault_part, ts) WHERE kind = 'sensor_fault'",
    # one person's last alarms (an alarm's history): alarm rows only, a few a day
    "alarms_subject_raised_at": "CREATE INDEX IF NOT EXISTS alarms_subject_raised_at ON alarms (subject, raised_at)",
    "gates_compound": "CREATE INDEX IF NOT EXISTS gates_compound ON gates (compound)",
}


@migrations()
def m001_desk_columns_and_indexes(db: sqlite_utils.Database) -> None:
    """Derived event columns, the office's own handling of an alarm, a gate's compound, and the desk's indexes.

    Never edit a shipped migration: add a new one.
    """
    existing = {row[1] for row in db.execute("PRAGMA table_xinfo(events)").fetchall()}
    for column, (sql_type, key) in DERIVED_COLUMNS.items():
        if column not in existing:
            db.execute(f"ALTER TABLE events ADD COLUMN {column} {sql_type}")
            # events stored before this migration: their values from their JSON (unflagged, parseable ones)
            db.execute(f"UPDATE events SET {column} = json_extract(data, '$.{key}')"
                       " WHERE flag IS NULL AND json_valid(data)")
    alarms = set(db["alarms"].columns_dict)
    # The gate's acknowledgement stays in acknowledged_*; the office's is kept beside it, so neither overwrites
    # the other when a gate's late batch arrives after staff handled the alarm.
    for column in ("office_outcome", "office_note", "office_handled_at", "office_handled_by"):
        if column not in alarms:
            db["alarms"].add_column(column, str)
    if "compound" not in db["gates"].columns_dict:
        db["gates"].add_column("compound", str)
    for sql in INDEXES.values():
        db.execute(sql)


@migrations()
def m002_fault_part(db: sqlite_utils.Database) -> None:
    """A sensor fault's part as a column with its index (an office.db that had m001 before they were added to it)."""
    existing = {row[1] for row in db.execute("PRAGMA table_xinfo(events)").fetchall()}
    if "fault_part" not in existing:
        db.execute("ALTER TABLE events ADD COLUMN fault_part TEXT")
        db.execute("UPDATE events SET fault_part = json_extract(data, '$.part')"
                   " WHERE kind = 'sensor_fault' AND flag IS NULL AND json_valid(data)")
    db.execute(INDEXES["events_gate_fault_part"])
