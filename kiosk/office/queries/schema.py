"""office.db indexes (and derived columns) that serve the desk's queries; each query names the index it uses.

Derived columns are *virtual generated* columns over ``events.data``: nothing
at ingest writes them (store.py stays as it is) and a query names a plain
column (``direction``, ``plate`` …) — the same SQL runs on PostgreSQL, where
the later issue declares them as generated columns over ``data->>'…'``.
Only what an index holds is computed at insert time, so every index here is
one more cost on a gate's backlog: bench/office_ingest_bench.py measures it.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("kiosk.office.queries")

# column -> the JSON path it is read from (SQLite json_extract)
DERIVED_COLUMNS: dict[str, tuple[str, str]] = {
    "direction": ("TEXT", "$.direction"),
    "verdict": ("TEXT", "$.verdict"),
    "temperature_c": ("REAL", "$.temperature_c"),
    "plate": ("TEXT", "$.plate"),
    "card_id": ("INTEGER", "$.card.card_id"),
    "id_hash": ("TEXT", "$.id_hash"),
    "supersedes_seq": ("INTEGER", "$.supersedes_seq"),
    "alarm_kind": ("TEXT", "$.kind"),  # alarm_raised / alarm_acknowledged: which kind of alarm
    "visitor_name": ("TEXT", "$.name"),  # visitor_registration: the name as typed (in no index: free at ingest)
}

# name -> SQL; the queries in this package are written so SQLite picks these (tests check EXPLAIN QUERY PLAN).
INDEXES: dict[str, str] = {
    # today's counts (covering: no row is read), the ledger by kind in keyset order, alarms' acks, shifts, faults,
    # a visitor's host household
    "events_kind_ts": "CREATE INDEX IF NOT EXISTS events_kind_ts ON events"
                      " (kind, ts, gate_id, seq, direction, verdict, supersedes_seq, temperature_c, household_id)",
    # the ledger by name / card / household (the master gives the subjects; few rows each, sorted after).
    # A key by person lands anywhere in the B-tree, so each batch dirties many pages: this one index costs
    # ingest more than all the others (measured); households go through their residents' subjects instead.
    "events_subject_ts": "CREATE INDEX IF NOT EXISTS events_subject_ts ON events (subject, ts)",
    # partial on kind (a column, not JSON): only a vehicle's or a visitor's row pays for these
    "events_vehicle_plate": "CREATE INDEX IF NOT EXISTS events_vehicle_plate ON events (plate, ts) WHERE kind = 'vehicle'",
    "events_visitor_id_hash": "CREATE INDEX IF NOT EXISTS events_visitor_id_hash ON events (id_hash, ts)"
                              " WHERE kind = 'visitor_registration'",
    # alarms, newest first, and the open ones
    "alarms_raised_at": "CREATE INDEX IF NOT EXISTS alarms_raised_at ON alarms (raised_at, event_id)",
    "alarms_open": "CREATE INDEX IF NOT EXISTS alarms_open ON alarms (raised_at, event_id)"
                   " WHERE acknowledged_at IS NULL AND office_handled_at IS NULL",
    "gates_compound": "CREATE INDEX IF NOT EXISTS gates_compound ON gates (compound)",
}


@migrations()
def m001_desk_columns_and_indexes(db: sqlite_utils.Database) -> None:
    """Derived event columns, the office's own handling of an alarm, a gate's compound, and the desk's indexes.

    Never edit a shipped migration: add a new one.
    """
    existing = {row[1] for row in db.execute("PRAGMA table_xinfo(events)").fetchall()}
    for column, (sql_type, path) in DERIVED_COLUMNS.items():
        if column not in existing:
            db.execute(f"ALTER TABLE events ADD COLUMN {column} {sql_type}"
                       f" GENERATED ALWAYS AS (json_extract(data, '{path}')) VIRTUAL")
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
