"""A gate's batch as office.db rows: the per-event work of ingest, written for a 1000-event batch.

The store (kiosk.office.store) stores these rows in one transaction; this module
turns each event into its row without a dict per row or a lookup per column:

- the row is a list in ``EVENT_COLUMNS`` order, bound positionally (``?``), which
  SQLite binds faster than named parameters;
- a kind's data is checked against its schema (kiosk.office.event_schemas) by the
  compiled validator itself; a problem is the same line ``data_problem`` gives;
- the derived columns (kiosk.office.queries.schema) are read only where the kind's
  schema lets a key be: a ``passage`` cannot carry ``name`` or ``part``, so those
  stay None without a look (a kind whose schema allows extra keys is read in full).
  The values are exactly ``derived_values``'s (tests compare the two).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

import pydantic_core

from kiosk.office.event_schemas import SCHEMAS, Data, data_problem
from kiosk.office.personal_data import VISITOR_KIND, office_event_data
from kiosk.office.queries.schema import DERIVED_COLUMNS

BASE_COLUMNS = ("gate_id", "seq", "id", "ts", "received_at", "volunteer_id", "kind", "subject", "household_id", "data",
                "flag")
STAMP_COLUMNS = ("boot", "mono_ms", "clock")  # the gate's clock stamp: kiosk.office.clock_correction
EVENT_COLUMNS = (*BASE_COLUMNS, *DERIVED_COLUMNS, *STAMP_COLUMNS)
INSERT_EVENT = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"

# Where a row's values sit (the store reads and changes a few of them).
SEQ, ID, TS, VOLUNTEER, KIND, SUBJECT, DATA, FLAG = (EVENT_COLUMNS.index(c) for c in (
    "seq", "id", "ts", "volunteer_id", "kind", "subject", "data", "flag"))
_FIRST_DERIVED = len(BASE_COLUMNS)
_NO_DERIVED: tuple[None, ...] = (None,) * len(DERIVED_COLUMNS)
_MAX_TEXT = 200  # as kiosk.office.queries.schema: a longer text never reaches a derived column
_INT64 = 2**63 - 1

# (position in the row, SQL type, the data key, the nested key or None)
_Read = tuple[int, str, str, str | None]


def _reads(columns: Iterable[str]) -> tuple[_Read, ...]:
    out = []
    for position, (column, (sql_type, key)) in enumerate(DERIVED_COLUMNS.items()):
        if column in columns:
            first, _, second = key.partition(".")
            out.append((_FIRST_DERIVED + position, sql_type, first, second or None))
    return tuple(out)


def _plan(schema: type[Data]) -> tuple[_Read, ...]:
    """The derived columns a kind's valid data can fill: those whose key the schema declares, or all of them."""
    if schema.model_config.get("extra") != "forbid":  # extra keys allowed: any key may be there
        return _reads(DERIVED_COLUMNS)
    fields = set(schema.model_fields)
    return _reads([c for c, (_, key) in DERIVED_COLUMNS.items() if key.partition(".")[0] in fields])


_PLANS: dict[str, tuple[_Read, ...]] = {kind: _plan(schema) for kind, schema in SCHEMAS.items()}
_ALL_READS = _reads(DERIVED_COLUMNS)


def _typed(sql_type: str, value: Any) -> Any:
    """``kiosk.office.queries.schema._typed``: the value if it has the column's type (and fits), else None."""
    if sql_type == "TEXT":
        return value if isinstance(value, str) and len(value) <= _MAX_TEXT else None
    if sql_type == "INTEGER":
        return value if isinstance(value, int) and type(value) is not bool and -_INT64 <= value <= _INT64 else None
    if isinstance(value, (int, float)) and type(value) is not bool and math.isfinite(value) and abs(value) < 1e6:
        return float(value)
    return None


def derive_into(row: list[Any], kind: str, data: Any) -> None:
    """Fill ``row``'s derived columns from an unflagged event's (office-side) data, as ``derived_values`` does."""
    if not isinstance(data, Mapping):
        return
    for position, sql_type, first, second in _PLANS.get(kind, _ALL_READS):
        value = data.get(first)
        if value is None:
            continue
        if second is not None:
            value = value.get(second) if isinstance(value, Mapping) else None
            if value is None:
                continue
        row[position] = _typed(sql_type, value)


def event_row(gate_id: str, event: Mapping[str, Any], received: str, data_dir: str | os.PathLike[str]) -> list[Any]:
    """One event's row in ``EVENT_COLUMNS`` order: its data checked (a problem is its ``flag``), hashed where a
    visitor's sealed ID number needs it (kiosk.office.personal_data), stored as JSON, the derived columns filled."""
    kind = event["kind"]
    data = event.get("data", {})
    # bad data is stored and flagged, never a block on the gate's stream (seq order, exactly once)
    flag = data_problem(kind, data)
    if kind == VISITOR_KIND:  # a visitor's sealed ID number gets the office's keyed hash here
        data = office_event_data(kind, data, data_dir)
    row = [gate_id, event["seq"], event["id"], event["ts"], received, event.get("volunteer_id"), kind,
           event.get("subject"), event.get("household_id"), pydantic_core.to_json(data).decode("utf-8"), flag,
           *_NO_DERIVED, event.get("boot"), event.get("mono_ms"), event.get("clock")]
    if flag is None:
        derive_into(row, kind, data)
    return row


_HOUSEHOLD, _BOOT, _MONO, _CLOCK = (EVENT_COLUMNS.index(c) for c in ("household_id", *STAMP_COLUMNS))


def with_stamp(event: dict[str, Any], boot: Any, mono_ms: Any, clock: Any) -> dict[str, Any]:
    """``event`` with the gate's clock stamp (boot, mono_ms, clock) when the gate sent one: an older gate's events,
    which have none, read as they always did. The one rule for the sync API's event dicts and the live stream's."""
    if boot is not None or mono_ms is not None or clock is not None:
        event.update(boot=boot, mono_ms=mono_ms, clock=clock)
    return event


def row_event(row: list[Any], data: Any = None) -> dict[str, Any]:
    """A stored row back as the event dict ``ingest`` hands on (the live stream's): the envelope, the data
    (parsed from the row, or ``data`` when given: what the gate sent, where the office stored more), the clock
    stamp when the gate sent one, and ``flag`` when the row has one."""
    event = {"seq": row[SEQ], "id": row[ID], "ts": row[TS], "gate_id": row[0], "volunteer_id": row[VOLUNTEER],
             "kind": row[KIND], "subject": row[SUBJECT], "household_id": row[_HOUSEHOLD],
             "data": json.loads(row[DATA]) if data is None else data}
    with_stamp(event, row[_BOOT], row[_MONO], row[_CLOCK])
    if row[FLAG]:
        event["flag"] = row[FLAG]
    return event
