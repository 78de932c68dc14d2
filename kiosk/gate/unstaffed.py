"""The unstaffed-gate alarm (无人值守): nobody signed in at the gate for longer than ``alarms.unstaffed_after_s``.

An *unstaffed spell* starts when the volunteer on duty signs out (or, at a
gate where nobody has ever signed in, when the gate starts) and ends when a
volunteer signs in. Once a spell has lasted ``unstaffed_after_s`` the gate
journals one ``alarm_raised`` of kind ``unstaffed_gate`` (its detail says
since when); the next sign-in journals its ``alarm_acknowledged`` by that
volunteer with the outcome ``volunteer_signed_in``. Both reach the office by
the normal sync. The page shows a banner while ``unstaffed_since`` (in the
gate's status) is set.

The rule is a pure function (:func:`unstaffed_action`) over what the journal
says; :class:`UnstaffedWatch` reads the journal, keeps the spell in memory for
the status payload (asked every second) and journals what the rule says. Its
state comes from the journal at start, so a restart never raises a second
alarm for the same spell, and a sign-in whose acknowledgement was cut off by a
crash is acknowledged at the next check.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from kiosk.alarm_outcomes import UNSTAFFED_GATE
from kiosk.events import Event, EventKind
from kiosk.gate.journal import Journal, format_ts, parse_ts

SHIFT_KINDS = (EventKind.SHIFT_SIGN_IN, EventKind.SHIFT_SIGN_OUT)
# The outcome code of an unstaffed-gate alarm closed by the sign-in that ended its spell.
SIGNED_IN_OUTCOME = "volunteer_signed_in"
REASON = "unstaffed"
# How far before the last shift event an open unstaffed alarm is looked for at start (the gate's alarm horizon).
ALARM_LOOKBACK = timedelta(hours=48)

Action = Literal["raise", "close"]


def unstaffed_action(on_duty: str | None, spell_since: datetime | None, alarm_open: bool, now: datetime,
                     after_s: float) -> Action | None:
    """What to do now: ``raise`` the alarm, ``close`` it, or nothing (None).

    ``on_duty`` is the volunteer signed in (None: nobody); ``spell_since`` when
    nobody has been signed in since; ``alarm_open`` whether this spell's alarm
    (or an earlier one never closed) is open; ``after_s`` 0 never raises.
    """
    if on_duty is not None:
        return "close" if alarm_open else None
    if alarm_open or after_s <= 0 or spell_since is None:
        return None
    return "raise" if now - spell_since >= timedelta(seconds=after_s) else None


@dataclass
class _Spell:
    """Where the watch stands: the last shift event's seq, when the spell began, and the open alarm (if raised)."""

    shift_seq: int = 0
    on_duty: str | None = None
    since: datetime | None = None
    alarm: Event | None = None


class UnstaffedWatch:
    """Raises and closes the unstaffed-gate alarm for one gate's journal; thread-safe.

    ``check()`` runs the rule once (a timer calls it, and the gate after every
    sign-in and sign-out) and returns the events it journaled.
    """

    def __init__(self, journal: Journal, after_s: float, clock: Callable[[], datetime]):
        self.journal = journal
        self.after_s = after_s
        self.clock = clock
        self._lock = threading.Lock()
        self._started = clock()
        self._spell = self._load()

    def _load(self) -> _Spell:
        """The spell as the journal tells it: the last shift event and the unstaffed alarm still open, if any."""
        last = self.journal.latest(SHIFT_KINDS)
        spell = _Spell(alarm=self._open_alarm(last))
        if last is None:
            # A gate nobody has ever signed in at: the spell began when the gate first started (the open alarm
            # remembers when), else now.
            since = (spell.alarm.data.get("detail") or {}).get("since") if spell.alarm is not None else None
            spell.since = parse_ts(since) if isinstance(since, str) else self._started
            return spell
        spell.shift_seq = last.seq
        if last.kind is EventKind.SHIFT_SIGN_IN:
            spell.on_duty = last.volunteer_id
        else:
            spell.since = parse_ts(last.ts)
        return spell

    def _open_alarm(self, last: Event | None) -> Event | None:
        """The newest unstaffed-gate alarm no acknowledgement answers.

        Looked for from two days before the last shift event (the gate's alarm
        horizon): this spell's alarm comes after that event, and one whose
        closing a crash cut off comes shortly before the sign-in.
        """
        # Never staffed: the whole journal's alarms (read once, at start, through the kind-and-time index).
        since = parse_ts(last.ts) - ALARM_LOOKBACK if last is not None else datetime(2000, 1, 1, tzinfo=UTC)
        events = self.journal.events_since(since, (EventKind.ALARM_RAISED, EventKind.ALARM_ACKNOWLEDGED))
        answered = {e.data.get("alarm_event_id") for e in events if e.kind is EventKind.ALARM_ACKNOWLEDGED}
        mine = [e for e in events if e.kind is EventKind.ALARM_RAISED and e.data.get("kind") == UNSTAFFED_GATE
                and e.id not in answered]
        return mine[-1] if mine else None

    def _signed_in_after(self, alarm: Event) -> str | None:
        """The volunteer whose sign-in ended the spell ``alarm`` was raised in (None if nobody has signed in since)."""
        for event in self.journal.events_since(parse_ts(alarm.ts), (EventKind.SHIFT_SIGN_IN,)):
            if event.seq > alarm.seq:
                return event.volunteer_id
        return None

    def unstaffed_since(self) -> str | None:
        """When the unstaffed spell began, ISO 8601 UTC, while its alarm is open and nobody is signed in; else None."""
        spell = self._spell
        if spell.on_duty is not None or spell.alarm is None or spell.since is None:
            return None
        return format_ts(spell.since)

    def check(self) -> list[Event]:
        """Follow the journal's shift events and raise or close the alarm as :func:`unstaffed_action` says."""
        with self._lock:
            spell = self._spell
            last = self.journal.latest(SHIFT_KINDS)
            if last is not None and last.seq != spell.shift_seq:
                spell.shift_seq = last.seq
                if last.kind is EventKind.SHIFT_SIGN_IN:
                    spell.on_duty, spell.since = last.volunteer_id, None
                else:
                    spell.on_duty, spell.since = None, parse_ts(last.ts)
            journaled: list[Event] = []
            alarm = spell.alarm
            # An alarm older than the last shift event was raised in a spell a sign-in has ended since (a sign-in
            # and a sign-out between two checks, or a crash before the acknowledgement): close it for that volunteer.
            ended = alarm is not None and alarm.seq < spell.shift_seq
            on_duty = (self._signed_in_after(alarm) or spell.on_duty) if ended and alarm is not None else spell.on_duty
            action = unstaffed_action(on_duty, spell.since, alarm is not None, self.clock(), self.after_s)
            if action == "close" and alarm is not None:
                spell.alarm = None
                journaled.append(self.journal.append(EventKind.ALARM_ACKNOWLEDGED, {
                    "alarm_event_id": alarm.id, "alarm_seq": alarm.seq, "kind": UNSTAFFED_GATE,
                    "outcome": SIGNED_IN_OUTCOME, "note": "", "by": "gate"}, volunteer_id=on_duty))
                if spell.on_duty is None:  # the spell that followed may be due an alarm of its own
                    action = unstaffed_action(None, spell.since, False, self.clock(), self.after_s)
            if action == "raise" and spell.since is not None:
                spell.alarm = self.journal.append(EventKind.ALARM_RAISED, {
                    "kind": UNSTAFFED_GATE, "reason": REASON, "subject": None,
                    "detail": {"since": format_ts(spell.since), "after_s": round(self.after_s)}})
                journaled.append(spell.alarm)
            return journaled
