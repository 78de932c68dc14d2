"""Who is still inside: visitors who came in at this gate and have not left yet, and the record of their exit.

An *entry* is an admitted ``visitor_registration`` going in (the volunteer's form), or an admitted ``passage`` in
of a visitor-pass holder (``subject`` ``visitor:N``). It is open until one of these closes it, in seq order:

* a ``visitor_exit`` event naming its seq (the volunteer tapped 离开 on the list: method ``list``; or the pass was
  scanned going out: method ``pass``, journaled with that passage in one transaction by kiosk/gate/checkpoint.py);
* for a pass holder, an admitted passage of the same pass going out (an older journal without exits), or a newer
  entry of the same pass (they left unseen: only the newest entry counts).

``open_entries`` is pure (events in, entries out), so the office runs the same rule over every gate's events
(kiosk/office/queries/visitors_inside.py). ``VisitorsInside`` reads a gate's journal and registry for it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from kiosk.events import Event, EventKind, parse_subject
from kiosk.exc import KioskError
from kiosk.gate.journal import EventDraft, Journal
from kiosk.privacy import mask_name
from kiosk.registry import Registry

ExitMethod = Literal["list", "pass"]
EXIT_METHODS: tuple[str, ...] = ("list", "pass")
DEFAULT_DAYS = 7
DEFAULT_LONG_STAY_H = 12.0


class VisitorExitError(KioskError, ValueError):
    """An exit that cannot be recorded; ``code`` says why (``unknown``, ``already_out``, ``not_signed_in``)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Entry:
    """One visitor's way in that no exit has closed yet."""

    gate_id: str
    seq: int
    id: str
    ts: str
    how: Literal["registration", "pass"]
    name: str  # as journaled (a registration) or as the pass names them: masked before it is shown
    household_id: int | None
    subject: str | None  # visitor:N for a pass holder, None for a registration
    phone_masked: str | None = None

    @property
    def since(self) -> datetime:
        """When they came in (aware)."""
        return parse_ts(self.ts)


def parse_ts(ts: str) -> datetime:
    """A journal ts (ISO 8601, ``Z`` or an offset) as an aware datetime."""
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def is_pass_subject(subject: str | None) -> bool:
    """True for a visitor pass's subject key (``visitor:12``)."""
    parsed = parse_subject(subject)
    return parsed is not None and parsed[0] == "visitor"


def _entry(event: Event, pass_names: dict[str, str]) -> Entry | None:
    """The entry ``event`` opens, or None (refused, going out, or not a visitor's)."""
    data = event.data
    if data.get("verdict") != "admit" or data.get("direction") != "in":
        return None
    if event.kind is EventKind.VISITOR_REGISTRATION:
        host = data.get("host_household_id")
        return Entry(event.gate_id, event.seq, event.id, event.ts, "registration", str(data.get("name") or ""),
                     host if isinstance(host, int) else event.household_id, None,
                     data.get("phone_masked") if isinstance(data.get("phone_masked"), str) else None)
    if event.kind is EventKind.PASSAGE and is_pass_subject(event.subject):
        assert event.subject is not None
        return Entry(event.gate_id, event.seq, event.id, event.ts, "pass", pass_names.get(event.subject, ""),
                     event.household_id, event.subject)
    return None


def open_entries(events: Iterable[Event], pass_names: dict[str, str] | None = None) -> list[Entry]:
    """The entries among ``events`` (one gate's, any order) that nothing after them closed, oldest first.

    ``pass_names`` maps a pass's subject to the name on it (the registry's); events that are neither an entry nor
    a way out are ignored, so callers may pass more than they need.
    """
    names = pass_names or {}
    entries: dict[int, Entry] = {}
    by_pass: dict[str, int] = {}
    for event in sorted(events, key=lambda e: e.seq):
        if event.kind is EventKind.VISITOR_EXIT:
            entry_seq = event.data.get("entry_seq")
            closed = entries.pop(entry_seq, None) if isinstance(entry_seq, int) else None
            if closed is not None and closed.subject is not None:
                by_pass.pop(closed.subject, None)
            continue
        entry = _entry(event, names)
        if entry is not None:
            if entry.subject is not None:
                earlier = by_pass.pop(entry.subject, None)  # the same pass again: they left unseen
                if earlier is not None:
                    entries.pop(earlier, None)
                by_pass[entry.subject] = entry.seq
            entries[entry.seq] = entry
            continue
        if (event.kind is EventKind.PASSAGE and event.subject in by_pass and event.data.get("verdict") == "admit"
                and event.data.get("direction") == "out"):
            entries.pop(by_pass.pop(event.subject), None)
    return sorted(entries.values(), key=lambda e: (e.ts, e.seq))


def exit_data(entry: Entry, method: ExitMethod) -> dict[str, Any]:
    """A ``visitor_exit`` event's data: which entry (seq and id at its gate), when it began, who (masked), how."""
    return {"entry_seq": entry.seq, "entry_id": entry.id, "entry_gate_id": entry.gate_id,
            "entry_kind": entry.how, "entry_ts": entry.ts, "name_masked": mask_name(entry.name) if entry.name else "",
            "host_household_id": entry.household_id, "method": method}


def exit_draft(entry: Entry, method: ExitMethod, volunteer_id: str | None) -> EventDraft:
    """The journal draft of an entry's exit (the pass's subject and the host household ride along for lookups)."""
    return EventDraft(EventKind.VISITOR_EXIT, exit_data(entry, method), volunteer_id, entry.subject, entry.household_id)


def stay(entry: Entry, now: datetime, midnight: datetime, long_stay_h: float) -> dict[str, Any]:
    """How long ``entry`` has been inside at ``now``: seconds, overnight (came in before ``midnight``), long."""
    seconds = max(0, int((now - entry.since).total_seconds()))
    overnight = entry.since < midnight
    return {"inside_s": seconds, "overnight": overnight, "long": overnight or seconds >= long_stay_h * 3600}


class VisitorsInside:
    """A gate's visitors inside now, from its journal and registry (the list, the count, and recording an exit)."""

    def __init__(self, journal: Journal, registry: Registry, *, timezone: str, days: int = DEFAULT_DAYS,
                 long_stay_h: float = DEFAULT_LONG_STAY_H):
        self.journal = journal
        self.registry = registry
        self.timezone = timezone
        self.days = days
        self.long_stay_h = long_stay_h
        self._lock = threading.Lock()  # one exit at a time: two taps on the same row record it once
        self._cache: tuple[int, int, list[Entry]] | None = None  # (last seq, day, entries): status asks often

    def _events(self, now: datetime) -> list[Event]:
        since = now - timedelta(days=self.days)
        kinds = (EventKind.VISITOR_REGISTRATION, EventKind.VISITOR_EXIT)
        return [*self.journal.events_since(since, kinds),
                *self.journal.subject_events_since("visitor", since, (EventKind.PASSAGE,))]

    def _pass_names(self, events: Iterable[Event]) -> dict[str, str]:
        names: dict[str, str] = {}
        for subject in {e.subject for e in events if is_pass_subject(e.subject)}:
            parsed = parse_subject(subject)
            visitor_pass = self.registry.visitor_pass(parsed[1]) if parsed else None
            names[str(subject)] = visitor_pass.name if visitor_pass is not None else ""
        return names

    def entries(self, now: datetime) -> list[Entry]:
        """Open entries of the last ``days`` days, oldest first (cached until the journal grows or the hour turns)."""
        key = (self.journal.last_seq, int(now.timestamp() // 3600))
        cached = self._cache
        if cached is not None and (cached[0], cached[1]) == key:
            return cached[2]
        events = self._events(now)
        found = open_entries(events, self._pass_names(events))
        self._cache = (*key, found)
        return found

    def count(self, now: datetime) -> int:
        """How many visitors are inside now (the home screen's badge)."""
        return len(self.entries(now))

    def listing(self, now: datetime, midnight: datetime) -> list[dict]:
        """The screen's rows, longest inside first: masked name and phone, host household, since when, how long."""
        rows = []
        for entry in self.entries(now):
            rows.append({"entry_seq": entry.seq, "since": entry.ts, "how": entry.how,
                         "name": mask_name(entry.name) if entry.name else None, "phone": entry.phone_masked,
                         "household": self.registry.household_label_of(entry.household_id)
                         if entry.household_id is not None else None,
                         **stay(entry, now, midnight, self.long_stay_h)})
        return rows

    def open_entry_of_pass(self, subject: str, now: datetime) -> Entry | None:
        """The open entry of a visitor pass (its holder is going out), or None."""
        return next((e for e in self.entries(now) if e.subject == subject), None)

    def record_exit(self, entry_seq: int, now: datetime, volunteer_id: str | None,
                    method: ExitMethod = "list") -> Event:
        """Journal that the visitor of entry ``entry_seq`` has left (VisitorExitError when it cannot be)."""
        if volunteer_id is None:
            raise VisitorExitError("not_signed_in", "sign in first: a visitor's exit is recorded by the volunteer on duty")
        with self._lock:
            entry = next((e for e in self.entries(now) if e.seq == entry_seq), None)
            if entry is None:
                raise self._why_not(entry_seq)
            return self.journal.append_many([exit_draft(entry, method, volunteer_id)])[0]

    def _why_not(self, entry_seq: int) -> VisitorExitError:
        event = self.journal.get(entry_seq) if 0 < entry_seq <= self.journal.last_seq else None
        if event is not None and _entry(event, {}) is not None:
            return VisitorExitError("already_out", f"the visitor of entry {entry_seq} is not inside any more")
        return VisitorExitError("unknown", f"no visitor entry {entry_seq} at this gate")
