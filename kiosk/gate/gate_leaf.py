"""A gate left open is noticed: the gate leaf's state, its journal entries and the gate-left-open alarm.

The reed switch (sensors/gate_leaf.py) reports every change; this module
decides what they mean, without any hardware:

- A change the leaf *holds* for ``gate_leaf.settle_s`` is journaled as one
  ``gate_leaf`` event (``state`` open or closed, ``since`` the first edge; a
  closing also says how long it was open). A leaf rattling in the wind, shut
  and open again within the settle time, stays one opening: never one event
  per rattle, and its clock is not restarted.
- An opening that lasts longer than the threshold of the moment — by day
  ``open_alarm_after_min``, at night (``night_from``–``night_until`` on the
  gate's clock in the gate's time zone) the usually stricter
  ``night_open_alarm_after_min`` — raises one ``alarm_raised`` of kind
  ``gate_left_open``: once per opening, even if a volunteer acknowledges it
  while the gate stays open.
- When the leaf shuts, the gate itself journals the alarm's
  ``alarm_acknowledged`` with the outcome ``gate_closed`` (``by: gate``), as a
  sign-in closes the unstaffed-gate alarm (kiosk/gate/unstaffed.py).

:func:`leaf_action` and :func:`alarm_after` are the pure rules;
:class:`GateLeafWatch` keeps the state (restored from the journal at start, so
a restart neither raises a second alarm for the same opening nor forgets
since when the gate has been open) and journals what the rules say.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from kiosk.alarm_outcomes import GATE_LEFT_OPEN
from kiosk.config.hardware import GateLeafSettings
from kiosk.events import Event, EventKind
from kiosk.gate.journal import Journal, format_ts, parse_ts

# The outcome the gate records itself when the leaf shuts on an open gate-left-open alarm.
CLOSED_OUTCOME = "gate_closed"
REASON = "gate_left_open"
# How far back an open gate-left-open alarm is looked for at start (the gate screen's alarm horizon).
ALARM_LOOKBACK = timedelta(hours=48)

Action = Literal["raise", "clear"]


def _clock_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def is_night(local: datetime, night_from: str, night_until: str) -> bool:
    """True when the local wall-clock time ``local`` is in the night ``night_from``–``night_until`` (HH:MM).

    The night may span midnight (22:00–06:00); the start is inside, the end
    outside; the same time for both means there is no night.
    """
    start, end, now = _clock_time(night_from), _clock_time(night_until), local.time().replace(tzinfo=None)
    if start == end:
        return False
    if start < end:
        return start <= now < end
    return now >= start or now < end


def alarm_after(settings: GateLeafSettings, now: datetime, timezone: str) -> tuple[timedelta | None, bool]:
    """How long the leaf may stay open at ``now`` (None: no alarm at this hour), and whether it is night.

    Night is decided on the gate's clock in the gate's time zone (``gate.timezone``).
    """
    night = is_night(now.astimezone(ZoneInfo(timezone)), settings.night_from, settings.night_until)
    minutes = settings.night_open_alarm_after_min if night else settings.open_alarm_after_min
    return (timedelta(minutes=minutes) if minutes > 0 else None), night


def leaf_action(open_since: datetime | None, alarmed: bool, alarm_open: bool, now: datetime,
                after: timedelta | None) -> Action | None:
    """What to do now: ``raise`` the alarm, ``clear`` it, or nothing (None).

    ``open_since`` is when the current opening began (None: the leaf is shut);
    ``alarmed`` whether this opening has raised its alarm already (it raises
    once, even after an acknowledgement); ``alarm_open`` whether that alarm is
    still unanswered; ``after`` the threshold now (None: never).
    """
    if open_since is None:
        return "clear" if alarm_open else None
    if alarmed or after is None:
        return None
    return "raise" if now - open_since >= after else None


@dataclass
class _Leaf:
    """Where the watch stands: what the switch says now, what the journal says, and this opening's alarm."""

    raw_open: bool | None = None  # the switch's last report (None: not read yet)
    raw_since: datetime | None = None  # when it last changed
    settled_open: bool | None = None  # the state the journal holds (None: nothing journaled yet)
    open_since: datetime | None = None  # when the current opening began (None while shut)
    closed_since: datetime | None = None
    alarmed: bool = False  # this opening has raised its alarm
    alarm: Event | None = None  # that alarm, while nobody has answered it


class GateLeafWatch:
    """The gate leaf for one gate's journal; thread-safe.

    ``observe(is_open)`` takes the switch's reports (gpiozero's thread);
    ``check()`` (a timer calls it) journals settled changes and raises or
    clears the alarm, and returns the events it journaled; ``status()`` is the
    part of the gate's status the top bar and the heartbeat carry.
    """

    def __init__(self, journal: Journal, settings: GateLeafSettings, timezone: str,
                 clock: Callable[[], datetime], on_duty: Callable[[], str | None] = lambda: None):
        self.journal = journal
        self.on_duty = on_duty  # the volunteer on duty goes on what is journaled (the office sees who was at the gate)
        self.settings = settings
        self.timezone = timezone
        self.clock = clock
        self._lock = threading.Lock()
        self._leaf = self._load()

    def _load(self) -> _Leaf:
        """The leaf as the journal tells it: its last settled state, and this opening's alarm if there is one."""
        leaf = _Leaf()
        last = self.journal.latest((EventKind.GATE_LEAF,))
        since = (last.data.get("since") if last is not None else None) or (last.ts if last is not None else None)
        if last is not None and last.data.get("state") in ("open", "closed"):
            leaf.settled_open = last.data["state"] == "open"
            if leaf.settled_open:
                leaf.open_since = parse_ts(since) if isinstance(since, str) else parse_ts(last.ts)
            else:
                leaf.closed_since = parse_ts(since) if isinstance(since, str) else parse_ts(last.ts)
        start = (parse_ts(last.ts) if last is not None else self.clock()) - ALARM_LOOKBACK
        events = self.journal.events_since(start, (EventKind.ALARM_RAISED, EventKind.ALARM_ACKNOWLEDGED))
        answered = {e.data.get("alarm_event_id") for e in events if e.kind is EventKind.ALARM_ACKNOWLEDGED}
        mine = [e for e in events if e.kind is EventKind.ALARM_RAISED and e.data.get("kind") == GATE_LEFT_OPEN]
        if last is not None and leaf.settled_open:
            leaf.alarmed = any(e.seq > last.seq for e in mine)
        unanswered = [e for e in mine if e.id not in answered]
        # An unanswered alarm of an opening that has ended (a crash before the clearing) is cleared at the first check.
        leaf.alarm = unanswered[-1] if unanswered else None
        return leaf

    def observe(self, is_open: bool, at: datetime | None = None) -> None:
        """The switch says the leaf is open (True) or shut (False); a repeat of the same state changes nothing."""
        with self._lock:
            leaf = self._leaf
            if leaf.raw_open is not None and bool(is_open) == leaf.raw_open:
                return
            leaf.raw_open, leaf.raw_since = bool(is_open), at or self.clock()

    def _answered(self, alarm: Event) -> bool:
        """True when someone (the volunteer on duty) has acknowledged ``alarm`` since it was raised."""
        for event in self.journal.events_since(parse_ts(alarm.ts), (EventKind.ALARM_ACKNOWLEDGED,)):
            if event.data.get("alarm_event_id") == alarm.id:
                return True
        return False

    def check(self) -> list[Event]:
        """Journal a change the leaf has held for ``settle_s``, then raise or clear the alarm as :func:`leaf_action` says."""
        with self._lock:
            leaf, now = self._leaf, self.clock()
            journaled: list[Event] = []
            held = leaf.raw_since is not None and now - leaf.raw_since >= timedelta(seconds=self.settings.settle_s)
            if leaf.raw_open is not None and held and leaf.raw_open != leaf.settled_open:
                journaled.append(self._settle(leaf))
            if leaf.alarm is not None and self._answered(leaf.alarm):
                leaf.alarm = None  # the volunteer answered it; this opening does not raise another
            after, night = alarm_after(self.settings, now, self.timezone)
            # A leaf shut but not yet settled raises nothing while it settles (nor clears its alarm before it has).
            opening = leaf.open_since if leaf.settled_open and (leaf.raw_open or leaf.alarm is not None) else None
            action = leaf_action(opening, leaf.alarmed, leaf.alarm is not None, now, after)
            if action == "clear" and leaf.alarm is not None:
                alarm, leaf.alarm = leaf.alarm, None
                journaled.append(self.journal.append(EventKind.ALARM_ACKNOWLEDGED, {
                    "alarm_event_id": alarm.id, "alarm_seq": alarm.seq, "kind": GATE_LEFT_OPEN,
                    "outcome": CLOSED_OUTCOME, "note": "", "by": "gate"}, volunteer_id=self.on_duty()))
            elif action == "raise" and leaf.open_since is not None and after is not None:
                leaf.alarmed = True
                leaf.alarm = self.journal.append(EventKind.ALARM_RAISED, {
                    "kind": GATE_LEFT_OPEN, "reason": REASON, "subject": None,
                    "detail": {"since": format_ts(leaf.open_since), "after_s": round(after.total_seconds()),
                               "night": night}}, volunteer_id=self.on_duty())
                journaled.append(leaf.alarm)
            return journaled

    def _settle(self, leaf: _Leaf) -> Event:
        """Journal the switch's state as settled (the caller holds the lock)."""
        assert leaf.raw_since is not None
        if leaf.raw_open:
            leaf.settled_open, leaf.open_since, leaf.closed_since, leaf.alarmed = True, leaf.raw_since, None, False
            return self.journal.append(EventKind.GATE_LEAF, {"state": "open", "since": format_ts(leaf.raw_since)},
                                       volunteer_id=self.on_duty())
        data: dict = {"state": "closed", "since": format_ts(leaf.raw_since)}
        if leaf.open_since is not None:
            data["open_s"] = round(max(0.0, (leaf.raw_since - leaf.open_since).total_seconds()))
        leaf.settled_open, leaf.open_since, leaf.closed_since, leaf.alarmed = False, None, leaf.raw_since, False
        return self.journal.append(EventKind.GATE_LEAF, data, volunteer_id=self.on_duty())

    def status(self) -> dict:
        """``{"open", "since", "minutes", "alarm", "night"}`` for the top bar and the heartbeat.

        ``open`` is the settled state (the switch's own before anything has
        settled; None before it was ever read); ``minutes`` how long it has
        been so, whole minutes (the page's chip; it changes once a minute, so
        the status is pushed no more often than that); ``alarm`` whether the
        gate-left-open alarm is raised and unanswered.
        """
        leaf, now = self._leaf, self.clock()
        state = leaf.settled_open if leaf.settled_open is not None else leaf.raw_open
        since = (leaf.open_since if state else leaf.closed_since) if leaf.settled_open is not None else leaf.raw_since
        minutes = int(max(0.0, (now - since).total_seconds()) // 60) if since is not None else None
        _after, night = alarm_after(self.settings, now, self.timezone)
        return {"open": state, "since": format_ts(since) if since is not None else None, "minutes": minutes,
                "alarm": leaf.alarm is not None, "night": night}


def sweep(gate) -> list[Event]:
    """One check of ``gate.leaf`` (a timer calls this every second): a raised alarm sounds and reaches the office
    at once, and the page hears of the change; returns what was journaled. (The minutes counting up reach the page
    through the gate's own status timer.)"""
    journaled = gate.leaf.check() if gate.leaf is not None else []
    if journaled:
        if gate.signals is not None and any(e.kind is EventKind.ALARM_RAISED for e in journaled):
            gate.signals.alarm(GATE_LEFT_OPEN)
        if gate.sync is not None:
            gate.sync.poke()
        gate.publish_status_if_changed()
    return journaled
