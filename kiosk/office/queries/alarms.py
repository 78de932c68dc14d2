"""The desk's alarm list, one alarm in full, and staff handling an alarm at the office.

An alarm has up to two acknowledgements: the gate's (a volunteer's, or the
passage's own, from an ``alarm_acknowledged`` event: the store fills
``alarms.acknowledged_*``) and the office's (``alarms.office_*``, written
here). Neither overwrites the other, so a gate's batch arriving late never
undoes what staff recorded. An alarm is *open* while it has neither.

Indexes: ``alarms_open`` (open, newest first), ``alarms_raised_at`` (all /
handled), the events primary key (the alarm's event and its passage), and
``events_kind_ts`` (the gate's acknowledgement event, found by kind + ts + gate).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kiosk.alarm_outcomes import office_outcomes
from kiosk.office.queries.common import (
    PASSAGE_KINDS,
    QueryError,
    Who,
    clamp_limit,
    gate_ref,
    gates_by_id,
    loads,
    parse_time,
    placeholders,
    readings_of,
)
from kiosk.office.store import OfficeStore, OfficeStoreError
from kiosk.registry import Registry

STATUSES = ("open", "handled", "all")
MAX_NOTE = 500
MAX_USER = 64
_COLUMNS = ("event_id, gate_id, seq, kind, subject, raised_at, acknowledged_at, acknowledged_by, note,"
            " office_outcome, office_note, office_handled_at, office_handled_by")
# a passage's alarms follow it in one append_many: never more than a decision's alarms (16) apart
_PASSAGE_REACH = 17


def list_alarms(store: OfficeStore, master: Registry, *, status: str = "open", kinds: list[str] | None = None,
                gate: str | None = None, since: datetime | str | None = None, limit: int = 50,
                before: str | datetime | None = None) -> dict:
    """Alarms newest first: ``{"alarms": [alarm, …], "next_before": token | None}``.

    ``status``: open | handled | all. ``kinds``: alarm kind codes. ``since``:
    raised at or after (aware time). ``before``: the previous page's
    ``next_before`` token, or an aware time (raised strictly before). Each
    alarm is as ``alarm_detail`` describes it, without ``history``.
    """
    if status not in STATUSES:
        raise QueryError(f"状态须为 open、handled 或 all / status must be one of {', '.join(STATUSES)}")
    where, params = _filters(status, kinds, gate, since, before)
    rows = store.database().execute(
        f"SELECT {_COLUMNS} FROM alarms WHERE {' AND '.join(where) or '1 = 1'}"
        " ORDER BY raised_at DESC, event_id DESC LIMIT ?", [*params, clamp_limit(limit) + 1]).fetchall()
    page = rows[:clamp_limit(limit)]
    gates, who = gates_by_id(store), Who(master)
    alarms = [_alarm(store, gates, who, dict(zip(_names(), r, strict=True))) for r in page]
    last = page[-1] if page else None
    return {"alarms": alarms, "next_before": f"{last[5]}~{last[0]}" if last is not None and len(rows) > len(page) else None}


def alarm_detail(store: OfficeStore, master: Registry, event_id: str) -> dict:
    """One alarm: as in the list, plus ``data`` (the alarm event's own) and ``history`` (this person's last 10 alarms).

    Alarm fields: ``event_id, kind, reason, detail, gate {id, name, compound}, seq, raised_at, status (open|handled),
    who {subject, subject_kind, subject_id, name_masked, household {id, building, unit, room, label}},
    readings {temperature_c, readings [...]}, gate_action {event_kind, seq, ts, verdict, direction, prompt, reasons}
    | None, acknowledgement (the first) | None, acknowledgements [{by_kind gate|office, by, outcome, note, at}]``.
    """
    row = _row(store, event_id)
    gates, who = gates_by_id(store), Who(master)
    alarm = _alarm(store, gates, who, row)
    history = []
    if row["subject"]:
        others = store.database().execute(
            "SELECT event_id, kind, raised_at FROM alarms WHERE subject = ? AND event_id <> ?"
            " ORDER BY raised_at DESC LIMIT 10", [row["subject"], event_id]).fetchall()
        history = [{"event_id": e, "kind": k, "raised_at": at} for e, k, at in others]
    return {**alarm, "history": history}


def handle_alarm(store: OfficeStore, event_id: str, *, user: str, outcome: str, note: str = "",
                 now: datetime | None = None) -> dict:
    """Record the office's handling of an alarm (outcome code, note, who, when); returns that acknowledgement.

    Allowed once per alarm, whether or not the gate acknowledged it (a gate's
    "reported to the office" is where the office's handling starts). Raises
    OfficeStoreError (zh-CN first) for an unknown alarm, an outcome not valid
    for its kind, a note too long, or an alarm the office already handled.
    """
    user = (user or "").strip()
    note = (note or "").strip()
    if not user or len(user) > MAX_USER:
        raise OfficeStoreError(f"须注明处理人(1–{MAX_USER} 字) / the staff member's name is required (1–{MAX_USER} characters)")
    if len(note) > MAX_NOTE:
        raise OfficeStoreError(f"备注不能超过 {MAX_NOTE} 字 / the note is longer than {MAX_NOTE} characters")
    at = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    with store.writing() as db:
        row = _row(store, event_id)
        allowed = office_outcomes(row["kind"] or "")
        if outcome not in allowed:
            raise OfficeStoreError(f"处理结果 {str(outcome)[:40]!r} 不适用于此类警报 / outcome not valid for a "
                                   f"{row['kind']} alarm; one of: {', '.join(allowed)}")
        if row["office_handled_at"]:
            raise OfficeStoreError(f"此警报已由 {row['office_handled_by']} 于 {row['office_handled_at']} 处理 / "
                                   "this alarm was already handled at the office")
        db.execute("UPDATE alarms SET office_outcome = ?, office_note = ?, office_handled_at = ?, office_handled_by = ?"
                   " WHERE event_id = ? AND office_handled_at IS NULL", [outcome, note, at, user, event_id])
    return {"by_kind": "office", "by": user, "outcome": outcome, "note": note, "at": at}


# -- internals ---------------------------------------------------------------


def _names() -> list[str]:
    return [c.strip() for c in _COLUMNS.split(",")]


def _row(store: OfficeStore, event_id: str) -> dict:
    if not isinstance(event_id, str) or not event_id or len(event_id) > 64:
        raise OfficeStoreError("警报编号无效 / not an alarm id")
    found = store.database().execute(f"SELECT {_COLUMNS} FROM alarms WHERE event_id = ?", [event_id]).fetchone()
    if found is None:
        raise OfficeStoreError(f"没有此警报 {event_id[:64]!r} / no such alarm at the office")
    return dict(zip(_names(), found, strict=True))


def _filters(status: str, kinds: list[str] | None, gate: str | None, since: Any, before: Any) -> tuple[list[str], list]:
    where: list[str] = []
    params: list[Any] = []
    if status == "open":
        where.append("acknowledged_at IS NULL AND office_handled_at IS NULL")  # the partial index alarms_open
    elif status == "handled":
        where.append("(acknowledged_at IS NOT NULL OR office_handled_at IS NOT NULL)")
    if kinds:
        kinds = [str(k)[:64] for k in list(kinds)[:32]]
        where.append(f"kind IN ({placeholders(kinds)})")
        params += kinds
    if gate:
        where.append("gate_id = ?")
        params.append(str(gate)[:64])
    if since is not None:
        where.append("raised_at >= ?")
        params.append(_iso(parse_time(since, "since")))
    if before is not None:
        text = before if isinstance(before, str) else None
        if text is not None and "~" in text:
            at, _, event_id = text.partition("~")
            parse_time(at, "before")  # a tampered token is a clear error, not an empty page
            where.append("(raised_at < ? OR (raised_at = ? AND event_id < ?))")
            params += [at, at, event_id[:64]]
        else:
            where.append("raised_at < ?")
            params.append(_iso(parse_time(before, "before")))
    return where, params


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _alarm(store: OfficeStore, gates: dict, who: Who, row: dict) -> dict:
    db = store.database()
    event = db.execute("SELECT ts, household_id, data, volunteer_id FROM events WHERE gate_id = ? AND seq = ?",
                       [row["gate_id"], row["seq"]]).fetchone()
    data = loads(event[2]) if event else {}
    household = event[1] if event else None
    if event is None and row["seq"] is None:  # office-raised: a quarantine check's fever keeps its reading there
        from kiosk.office.quarantine import alarm_data

        data = alarm_data(store, row["event_id"]) or data
    passage = _passage(store, row, data)
    passage_data = passage["data"] if passage else None
    acks = []
    if row["acknowledged_at"]:
        acks.append(_gate_ack(store, row))
    if row["office_handled_at"]:
        acks.append({"by_kind": "office", "by": row["office_handled_by"], "outcome": row["office_outcome"],
                     "note": row["office_note"] or "", "at": row["office_handled_at"]})
    acks.sort(key=lambda a: a["at"] or "")
    detail = data.get("detail") if isinstance(data.get("detail"), dict) else {}
    return {
        "event_id": row["event_id"], "kind": row["kind"], "reason": data.get("reason"), "detail": detail,
        "gate": gate_ref(gates, row["gate_id"]), "seq": row["seq"], "raised_at": row["raised_at"],
        "status": "handled" if acks else "open",
        "who": who.of(row["subject"], household, passage_data),
        "readings": readings_of(data, passage_data),
        "gate_action": None if passage is None else {k: v for k, v in passage.items() if k != "data"},
        "acknowledgement": acks[0] if acks else None,
        "acknowledgements": acks,
    }


def _passage(store: OfficeStore, row: dict, alarm_data: dict) -> dict | None:
    """The decision this alarm came from: the passage-like event just before it that lists an alarm of its kind."""
    if row["seq"] is None:  # an alarm the office raised itself (a gate gone silent): no gate event behind it
        return None
    rows = store.database().execute(
        "SELECT seq, ts, kind, data FROM events WHERE gate_id = ? AND seq < ? AND seq >= ? ORDER BY seq DESC",
        [row["gate_id"], row["seq"], row["seq"] - _PASSAGE_REACH]).fetchall()
    for seq, ts, kind, text in rows:
        if kind == "alarm_raised":
            continue  # a sibling alarm of the same decision
        if kind not in PASSAGE_KINDS:
            return None
        data = loads(text)
        listed = [a.get("kind") for a in data.get("alarms") or [] if isinstance(a, dict)]
        if row["kind"] not in listed:
            return None  # an alarm raised on its own (an overdue-return sweep) after an unrelated passage
        return {"event_kind": kind, "seq": seq, "ts": ts, "verdict": data.get("verdict"),
                "direction": data.get("direction"), "prompt": data.get("prompt"),
                "reasons": [r for r in data.get("reasons") or [] if isinstance(r, str)], "data": data}
    return None


def _gate_ack(store: OfficeStore, row: dict) -> dict:
    """The gate's acknowledgement: the alarm_acknowledged event the store closed the alarm with (found by kind+ts+gate)."""
    found = store.database().execute(
        "SELECT volunteer_id, data FROM events WHERE kind = 'alarm_acknowledged' AND ts = ? AND gate_id = ?",
        [row["acknowledged_at"], row["gate_id"]]).fetchall()
    outcome, by_gate = None, False
    for _volunteer, text in found:
        data = loads(text)
        if data.get("alarm_event_id") == row["event_id"]:
            outcome, by_gate = data.get("outcome"), data.get("by") == "gate"
            break
    return {"by_kind": "gate", "by": row["acknowledged_by"], "outcome": outcome, "note": row["note"] or "",
            "at": row["acknowledged_at"], "by_passage": by_gate}


def count_alarms(store: OfficeStore, *, status: str = "open") -> int:
    """How many alarms are open (or handled, or all): the desk's top bar (index ``alarms_open`` for open ones)."""
    if status not in STATUSES:
        raise QueryError(f"状态须为 open、handled 或 all / status must be one of {', '.join(STATUSES)}")
    where, params = _filters(status, None, None, None, None)
    return int(store.database().execute(
        f"SELECT COUNT(*) FROM alarms WHERE {' AND '.join(where) or '1 = 1'}", params).fetchone()[0])
