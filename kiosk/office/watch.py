"""The gate-offline alarm: the office notices a gate gone silent (a gate cannot say so itself).

A gate is *heard* when its heartbeat or a batch of its events arrives (the
office's own receive times, ``heartbeats.received_at`` and
``events.received_at``). A gate not heard for ``alarms.offline_after_s``
gets one open ``gate_offline`` alarm in the office's alarms table — gate_id
set, seq NULL, event id ``office:gate_offline:<gate>:<raised at>`` — and the
alarm is published to the live pages like a gate's. When the gate is heard
again after the alarm was raised, the alarm is closed (acknowledged by
``office:auto`` with the note code ``back_online``) and that is published too.

A revoked gate raises nothing (an open alarm of its own is closed with
``gate_revoked``); a gate never heard at all (added, not yet installed) raises
nothing either. Everything the check needs is in the database, so an office
restart neither forgets an open alarm nor raises a second one:
:func:`offline_changes` is a pure function over the rows and the time, and
:class:`OfflineWatch` reads the rows, applies the changes in the same
transaction and publishes them; ``kiosk office serve`` runs it every
``alarms.check_every_s`` on a :class:`kiosk.workers.Every`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from kiosk.alarm_outcomes import GATE_OFFLINE
from kiosk.workers import Every

log = logging.getLogger(__name__)

# Who closes an office-raised alarm by itself, and the note codes it writes.
AUTO = "office:auto"
BACK_ONLINE = "back_online"
GATE_REVOKED = "gate_revoked"
REASON = "gate_silent"


@dataclass(frozen=True)
class GateSilence:
    """One gate as the check sees it: revoked or not, when it was last heard, and its open offline alarm."""

    gate_id: str
    revoked: bool
    last_heard: datetime | None
    open_alarm: str | None = None  # the open gate_offline alarm's event id
    raised_at: datetime | None = None  # when that alarm was raised


@dataclass(frozen=True)
class Change:
    """What the check does to one gate: ``raise`` an offline alarm, or ``close`` one (with the note code)."""

    action: str  # "raise" | "close"
    gate_id: str
    last_heard: datetime | None = None
    event_id: str | None = None  # the alarm closed
    note: str | None = None


def offline_changes(rows: Iterable[GateSilence], now: datetime, offline_after_s: float) -> list[Change]:
    """The alarms to raise and close at ``now``; ``offline_after_s`` 0 raises none (open ones still close).

    A gate heard after its alarm was raised is back (closed); a revoked gate's
    alarm is closed; a gate silent for ``offline_after_s`` or longer with no
    open alarm gets one. A gate never heard raises nothing.
    """
    limit = timedelta(seconds=offline_after_s)
    changes = []
    for row in rows:
        if row.open_alarm is not None:
            if row.revoked:
                changes.append(Change("close", row.gate_id, row.last_heard, row.open_alarm, GATE_REVOKED))
            elif row.last_heard is not None and row.raised_at is not None and row.last_heard > row.raised_at:
                changes.append(Change("close", row.gate_id, row.last_heard, row.open_alarm, BACK_ONLINE))
            continue
        if row.revoked or row.last_heard is None or offline_after_s <= 0:
            continue
        if now - row.last_heard >= limit:
            changes.append(Change("raise", row.gate_id, row.last_heard))
    return changes


def format_time(moment: datetime) -> str:
    """UTC with milliseconds and ``Z``, as gates stamp their alarms (so the alarms table sorts as one)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def silences(db: sqlite_utils.Database) -> list[GateSilence]:
    """Every gate with its last heartbeat or event (whichever came later) and its open offline alarm, if any.

    The newest event per gate is found through the events' primary key
    (gate_id, seq): no scan, however many events the office holds.
    """
    rows = db.execute(
        "SELECT g.id, g.revoked_at IS NOT NULL, h.received_at,"
        " (SELECT e.received_at FROM events e WHERE e.gate_id = g.id ORDER BY e.seq DESC LIMIT 1),"
        " (SELECT a.event_id FROM alarms a WHERE a.gate_id = g.id AND a.kind = ? AND a.acknowledged_at IS NULL"
        "  ORDER BY a.raised_at LIMIT 1),"
        " (SELECT a.raised_at FROM alarms a WHERE a.gate_id = g.id AND a.kind = ? AND a.acknowledged_at IS NULL"
        "  ORDER BY a.raised_at LIMIT 1)"
        " FROM gates g LEFT JOIN heartbeats h ON h.gate_id = g.id ORDER BY g.id",
        [GATE_OFFLINE, GATE_OFFLINE]).fetchall()
    out = []
    for gate_id, revoked, beat_at, event_at, alarm_id, raised_at in rows:
        heard = [t for t in (_parse(beat_at), _parse(event_at)) if t is not None]
        out.append(GateSilence(gate_id, bool(revoked), max(heard) if heard else None, alarm_id, _parse(raised_at)))
    return out


def _raised_item(gate_id: str, event_id: str, raised_at: str, last_heard: datetime | None, after_s: float) -> dict:
    """The live-stream item for an office-raised alarm: shaped like a gate's alarm_raised (``seq`` None)."""
    return {"kind": "alarm_raised", "gate_id": gate_id, "seq": None, "id": event_id, "ts": raised_at,
            "volunteer_id": None, "subject": None, "household_id": None, "by": "office",
            "data": {"kind": GATE_OFFLINE, "reason": REASON, "subject": None,
                     "detail": {"last_heard": format_time(last_heard) if last_heard else None,
                                "offline_after_s": round(after_s)}}}


def _closed_item(gate_id: str, event_id: str, closed_at: str, note: str) -> dict:
    """The live-stream item for an office-raised alarm closed by itself: shaped like a gate's alarm_acknowledged."""
    return {"kind": "alarm_acknowledged", "gate_id": gate_id, "seq": None, "id": f"{event_id}:{note}",
            "ts": closed_at, "volunteer_id": None, "subject": None, "household_id": None, "by": "office",
            "data": {"alarm_event_id": event_id, "alarm_seq": None, "kind": GATE_OFFLINE, "outcome": note,
                     "note": "", "by": AUTO}}


def apply_changes(db: sqlite_utils.Database, changes: Iterable[Change], now: datetime, offline_after_s: float) -> list[dict]:
    """Write the changes (inside the caller's transaction); returns the live-stream items for them.

    A raise is skipped when the gate already has an open offline alarm (never
    two), a close when the alarm is no longer open.
    """
    at = format_time(now)
    items = []
    for change in changes:
        if change.action == "raise":
            held = db.execute("SELECT 1 FROM alarms WHERE gate_id = ? AND kind = ? AND acknowledged_at IS NULL LIMIT 1",
                              [change.gate_id, GATE_OFFLINE]).fetchone()
            if held:
                continue
            event_id = f"office:{GATE_OFFLINE}:{change.gate_id}:{at}"
            inserted = db.execute(
                "INSERT OR IGNORE INTO alarms (event_id, gate_id, seq, kind, subject, raised_at) VALUES (?, ?, NULL, ?, NULL, ?)",
                [event_id, change.gate_id, GATE_OFFLINE, at]).rowcount
            if inserted:
                items.append(_raised_item(change.gate_id, event_id, at, change.last_heard, offline_after_s))
        elif change.action == "close" and change.event_id is not None:
            updated = db.execute(
                "UPDATE alarms SET acknowledged_at = ?, acknowledged_by = ?, note = ?"
                " WHERE event_id = ? AND gate_id = ? AND acknowledged_at IS NULL",
                [at, AUTO, change.note, change.event_id, change.gate_id]).rowcount
            if updated:
                items.append(_closed_item(change.gate_id, change.event_id, at, change.note or ""))
    return items


class OfflineWatch:
    """Raises and closes gate-offline alarms over an office store; ``check()`` is one round.

    ``publish`` hears the live-stream items of each round (the office app's
    broadcaster); ``clock`` gives the office's time (a test passes its own).
    """

    def __init__(self, store: Any, offline_after_s: float, *, publish: Callable[[list[dict]], None] | None = None,
                 clock: Callable[[], datetime] | None = None):
        self.store = store
        self.offline_after_s = offline_after_s
        self.publish = publish
        self.clock = clock or (lambda: datetime.now(UTC))

    def check(self, now: datetime | None = None) -> list[dict]:
        """One round: read every gate, raise and close alarms in one transaction, publish; returns the items."""
        now = now or self.clock()
        with self.store.writing() as db:
            changes = offline_changes(silences(db), now, self.offline_after_s)
            items = apply_changes(db, changes, now, self.offline_after_s) if changes else []
        if items and self.publish is not None:
            self.publish(items)
        for item in items:
            log.info("gate %s: %s %s", item["gate_id"], item["kind"], item["data"].get("outcome") or GATE_OFFLINE)
        return items

    def start(self, every_s: float) -> Every:
        """Run ``check`` now and every ``every_s`` seconds on a worker thread; stop it with ``.stop()``."""
        return Every("gate-offline-watch", self.check, every_s).start()


def start_offline_watch(store: Any, settings: Any, publish: Callable[[list[dict]], None] | None) -> Every:
    """The watch ``kiosk office serve`` runs, from the office config's ``alarms`` section (OfficeAlarmSettings)."""
    return OfflineWatch(store, settings.offline_after_s, publish=publish).start(settings.check_every_s)
