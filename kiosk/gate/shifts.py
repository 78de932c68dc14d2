"""Volunteer shifts at the gate: sign-in by PIN with a lockout, sign-out, and hours on duty from the journal.

Who is on duty is read back from the journal (the last sign-in or sign-out
event), so a restart of the gate process does not sign the volunteer out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from kiosk.credentials import verify_secret
from kiosk.events import Event, EventKind
from kiosk.exc import Refusal
from kiosk.gate.journal import EventDraft, Journal, parse_ts
from kiosk.registry import Registry

_SHIFT_KINDS = (EventKind.SHIFT_SIGN_IN, EventKind.SHIFT_SIGN_OUT)
MAX_TRIES = 5
LOCKOUT = timedelta(minutes=5)


class ShiftError(Refusal):
    """A sign-in that cannot succeed: unknown volunteer, wrong PIN, or locked out (codes ``unknown``, ``wrong_pin``, ``locked``)."""

    def __init__(self, code: str, message: str, *, tries_left: int | None = None, locked_until: datetime | None = None):
        super().__init__(code, message, n=tries_left)
        self.tries_left = tries_left
        self.locked_until = locked_until


@dataclass
class PinGuard:
    """Counts wrong PINs per volunteer; after ``max_tries`` in a row the volunteer is locked out for ``lockout``.

    Pure state: the caller passes the time, so the rule is tested without waiting.
    """

    max_tries: int = MAX_TRIES
    lockout: timedelta = LOCKOUT

    def __post_init__(self) -> None:
        self._failures: dict[int, int] = {}
        self._locked_until: dict[int, datetime] = {}

    def locked_until(self, volunteer_id: int, now: datetime) -> datetime | None:
        """When the volunteer's lockout ends, or None if they may try."""
        until = self._locked_until.get(volunteer_id)
        if until is not None and now >= until:
            del self._locked_until[volunteer_id]
            self._failures.pop(volunteer_id, None)
            return None
        return until

    def failed(self, volunteer_id: int, now: datetime) -> int:
        """Record a wrong PIN; returns the tries left (0 means now locked out)."""
        count = self._failures.get(volunteer_id, 0) + 1
        self._failures[volunteer_id] = count
        if count >= self.max_tries:
            self._locked_until[volunteer_id] = now + self.lockout
            return 0
        return self.max_tries - count

    def succeeded(self, volunteer_id: int) -> None:
        """A right PIN clears the count."""
        self._failures.pop(volunteer_id, None)


def hours_on_duty(events: Iterable[Event], volunteer_id: str, now: datetime) -> float:
    """Hours ``volunteer_id`` has been signed in, summed over the given shift events (oldest first).

    A shift still open counts up to ``now``.
    """
    total = timedelta()
    started: datetime | None = None
    for event in events:
        if event.volunteer_id != volunteer_id:
            continue
        at = parse_ts(event.ts)
        if event.kind is EventKind.SHIFT_SIGN_IN:
            started = started or at
        elif event.kind is EventKind.SHIFT_SIGN_OUT and started is not None:
            total += at - started
            started = None
    if started is not None:
        total += now - started
    return round(total.total_seconds() / 3600, 2)


class ShiftDesk:
    """Sign-in and sign-out at one gate; one volunteer on duty at a time (a new sign-in takes over the shift)."""

    def __init__(self, registry: Registry, journal: Journal, clock: Callable[[], datetime], guard: PinGuard | None = None):
        self.registry = registry
        self.journal = journal
        self.clock = clock
        self.guard = guard or PinGuard()
        self._lock = threading.Lock()

    def volunteers(self) -> list[dict]:
        """The volunteers who may sign in here: id and name (never the PIN hash)."""
        return [{"id": r["id"], "name": r["name"]} for r in self.registry.volunteers()]

    def on_duty(self) -> str | None:
        """The id of the volunteer signed in now, from the journal's last shift event."""
        last = self.journal.latest(_SHIFT_KINDS)
        return last.volunteer_id if last is not None and last.kind is EventKind.SHIFT_SIGN_IN else None

    def duty(self, since: datetime) -> dict | None:
        """The volunteer on duty with their name and hours on duty since ``since`` (e.g. local midnight)."""
        volunteer_id = self.on_duty()
        if volunteer_id is None:
            return None
        row = self.registry.volunteer(int(volunteer_id)) or {}
        events = self.journal.events_since(since, _SHIFT_KINDS)
        if not any(e.kind is EventKind.SHIFT_SIGN_IN and e.volunteer_id == volunteer_id for e in events):
            # signed in before ``since``: the shift counts from its sign-in, not from midnight
            started = self.journal.latest((EventKind.SHIFT_SIGN_IN,), volunteer_id=volunteer_id)
            events = ([started] if started else []) + events
        return {"id": volunteer_id, "name": row.get("name", ""),
                "hours": hours_on_duty(events, volunteer_id, self.clock())}

    def sign_in(self, volunteer_id: int, pin: str) -> Event:
        """Check the PIN and journal the sign-in; raises ShiftError (unknown, wrong_pin, locked)."""
        with self._lock:
            now = self.clock()
            row = self.registry.volunteer(volunteer_id)
            if row is None:
                raise ShiftError("unknown", f"no volunteer {volunteer_id} at this gate")
            until = self.guard.locked_until(volunteer_id, now)
            if until is not None:
                raise ShiftError("locked", "too many wrong PINs", locked_until=until)
            if not verify_secret(pin, row.get("pin_hash") or ""):
                left = self.guard.failed(volunteer_id, now)
                if left == 0:
                    raise ShiftError("locked", "too many wrong PINs", locked_until=self.guard.locked_until(volunteer_id, now))
                raise ShiftError("wrong_pin", "wrong PIN", tries_left=left)
            self.guard.succeeded(volunteer_id)
            current = self.on_duty()
            drafts: list[EventDraft] = []
            if current is not None:
                self._sign_out_draft(drafts, current, handed_over_to=str(volunteer_id))
            return self.journal.append_many(drafts + [_draft(EventKind.SHIFT_SIGN_IN, str(volunteer_id), {})])[-1]

    def sign_out(self) -> Event | None:
        """Journal the sign-out of the volunteer on duty (None if nobody was)."""
        with self._lock:
            current = self.on_duty()
            if current is None:
                return None
            drafts: list = []
            self._sign_out_draft(drafts, current)
            return self.journal.append_many(drafts)[-1]

    def _sign_out_draft(self, drafts: list, volunteer_id: str, **data: str) -> None:
        drafts.append(_draft(EventKind.SHIFT_SIGN_OUT, volunteer_id, data))


def _draft(kind: EventKind, volunteer_id: str, data: dict) -> EventDraft:
    return EventDraft(kind, data, volunteer_id, f"volunteer:{volunteer_id}", None)
