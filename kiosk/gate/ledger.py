"""What the gate's own screen reads back from its journal: today's passages and counts, and alarms still open.

The functions over events are pure (events in, data out); ``GateLedger``
fetches the events and names the holders (masked) from the registry.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from kiosk.events import Event, EventKind, parse_subject
from kiosk.exc import Refusal
from kiosk.gate.journal import Journal
from kiosk.privacy import mask_name
from kiosk.registry import Registry

PASSAGE_KINDS = (EventKind.PASSAGE, EventKind.VEHICLE, EventKind.VISITOR_REGISTRATION, EventKind.PASSAGE_ABANDONED)
ALARM_KINDS = (EventKind.ALARM_RAISED, EventKind.ALARM_ACKNOWLEDGED)
# An alarm older than this is the office's business, not the gate screen's.
ALARM_HORIZON = timedelta(hours=48)


class AlarmError(Refusal):
    """An acknowledgement that cannot be recorded (no such open alarm, nobody signed in): ``AlarmError(code, english)``."""


def local_midnight(now: datetime, timezone: str) -> datetime:
    """The start of ``now``'s day in the community's time zone (aware)."""
    zone = ZoneInfo(timezone)
    return datetime.combine(now.astimezone(zone).date(), time(), zone)


def counts(tally: Iterable[tuple[str, str | None, str | None, int]],
           superseded: Iterable[tuple[str, str | None, str | None, int]] = ()) -> dict[str, int]:
    """People and vehicles in and out, and refusals, from (kind, verdict, direction, how many) rows.

    ``superseded`` rows are decisions a later one replaced (a fever by infrared
    that a handheld reading then settled): the person counts once, as the last decision.
    """
    out = {"in": 0, "out": 0, "refused": 0, "vehicles": 0, "visitors": 0}
    rows = [*tally, *((kind, verdict, direction, -n) for kind, verdict, direction, n in superseded)]
    for kind, verdict, direction, n in rows:
        if kind == EventKind.PASSAGE_ABANDONED.value:
            continue
        if verdict != "admit":
            out["refused"] += n
            continue
        if kind == EventKind.VEHICLE.value:
            out["vehicles"] += n
            continue
        if kind == EventKind.VISITOR_REGISTRATION.value:
            out["visitors"] += n
        if direction in ("in", "out"):
            out[direction] += n
    return out


def open_alarms(events: Iterable[Event]) -> list[Event]:
    """Raised alarms with no acknowledgement among ``events`` (oldest first)."""
    events = list(events)
    acknowledged = {e.data.get("alarm_event_id") for e in events if e.kind is EventKind.ALARM_ACKNOWLEDGED}
    return [e for e in events if e.kind is EventKind.ALARM_RAISED and e.id not in acknowledged]


class GateLedger:
    """Today at this gate, and its open alarms, for the touchscreen."""

    def __init__(self, journal: Journal, registry: Registry, timezone: str):
        self.journal = journal
        self.registry = registry
        self.timezone = timezone

    def _who(self, event: Event) -> dict:
        """A masked name and the household label for an event's subject (never a full name on screen)."""
        name = None
        subject = event.subject or ""
        parsed = parse_subject(subject)
        if parsed is not None and parsed[0] == "resident":
            row = self.registry.resident(parsed[1])
            name = row.get("name") if row else None
        elif event.kind is EventKind.VISITOR_REGISTRATION:
            name = event.data.get("name")
        return {"name": mask_name(name) if name else None,
                "household": self.registry.household_label_of(event.household_id) if event.household_id else None}

    def today(self, now: datetime, recent: int = 12) -> dict:
        """Counts in / out since local midnight, the most recent passages, and how many alarms are open."""
        midnight = local_midnight(now, self.timezone)
        rows = []
        for event in self.journal.newest(PASSAGE_KINDS, midnight, recent):
            rows.append({"seq": event.seq, "ts": event.ts, "kind": event.kind.value,
                         "verdict": event.data.get("verdict", "abandoned"), "direction": event.data.get("direction"),
                         "prompt": event.data.get("prompt"), "plate": event.data.get("plate"),
                         "temperature_c": event.data.get("temperature_c"), **self._who(event)})
        tally = counts(self.journal.tally_since(midnight, PASSAGE_KINDS), self.journal.superseded_since(midnight))
        return {"counts": tally, "recent": rows, "open_alarms": self.open_alarm_count(now)}

    def open_alarm_count(self, now: datetime) -> int:
        """How many alarms raised here in the last 48 hours nobody has acknowledged (the badge)."""
        return self.journal.open_alarm_count(now - ALARM_HORIZON)

    def open_alarms(self, now: datetime) -> list[dict]:
        """Alarms raised here in the last 48 hours that nobody has acknowledged yet, newest first."""
        events = self.journal.events_since(now - ALARM_HORIZON, ALARM_KINDS)
        return [{"seq": e.seq, "id": e.id, "ts": e.ts, "kind": e.data.get("kind"), "reason": e.data.get("reason"),
                 "detail": e.data.get("detail") or {}, **self._who(e)} for e in reversed(open_alarms(events))]

    def walk_up_alarm(self, now: datetime, alarm_seq: int | None, window: timedelta) -> Event | None:
        """The open unknown-visitor alarm a registration answers: ``alarm_seq``, or the newest raised within ``window``."""
        candidates = [a for a in self.open_alarms(now) if a["kind"] == "unknown_visitor"]
        if alarm_seq is not None:
            candidates = [a for a in candidates if a["seq"] == alarm_seq]
        else:
            cutoff = now - window
            candidates = [a for a in candidates if datetime.fromisoformat(a["ts"].replace("Z", "+00:00")) >= cutoff]
        return self.journal.get(candidates[0]["seq"]) if candidates else None

    def acknowledge(self, alarm_seq: int, volunteer_id: str | None, note: str, now: datetime, *,
                    outcome: str | None = None) -> Event:
        """Journal that the volunteer on duty has dealt with an alarm (the office sees who, when, the outcome and note)."""
        if not (note or "").strip() and not outcome:
            raise AlarmError("ack_needs", "choose what was done, or write a note")
        if volunteer_id is None:
            raise AlarmError("not_signed_in", "sign in first: an alarm is acknowledged by the volunteer on duty")
        alarm = self.journal.get(alarm_seq)
        if alarm is None or alarm.kind is not EventKind.ALARM_RAISED:
            raise AlarmError("no_alarm", f"no alarm with seq {alarm_seq} at this gate", seq=alarm_seq)
        if all(a["seq"] != alarm_seq for a in self.open_alarms(now)):
            raise AlarmError("already_acknowledged", f"alarm {alarm_seq} is already acknowledged", seq=alarm_seq)
        return self.journal.append(
            EventKind.ALARM_ACKNOWLEDGED,
            {"alarm_event_id": alarm.id, "alarm_seq": alarm.seq, "kind": alarm.data.get("kind"),
             "outcome": outcome, "note": (note or "").strip()[:500]},
            volunteer_id=volunteer_id, subject=alarm.subject, household_id=alarm.household_id)
