"""The gate's decision chain wired together: scanned text → card check → facts → policy → journal.

``Checkpoint`` is the I/O edge around the pure policy. The gate process, the
demo and the tests drive passages through it, so each runs the same chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from kiosk.cards import CardCheck, verify_card
from kiosk.config.base import Direction
from kiosk.config.gate import GateConfig
from kiosk.events import Event, EventKind
from kiosk.gate.direction import DirectionSource
from kiosk.gate.facts import gather_facts
from kiosk.gate.journal import EventDraft, Journal
from kiosk.gate.policy import (
    AlarmKind,
    Decision,
    Passage,
    Reason,
    VehiclePassage,
    Verdict,
    decide,
    decide_vehicle,
    decide_visitor,
)
from kiosk.gate.visitors import VisitorRegistration
from kiosk.keys import Keyset
from kiosk.measurements import Measurement
from kiosk.registry import Registry


@dataclass(frozen=True)
class Outcome:
    """A decision and the journal events that record it (none while it is still ``remeasure``)."""

    decision: Decision
    check: CardCheck | None
    events: tuple[Event, ...] = ()


class Checkpoint:
    """One gate's decision chain over its registry replica, journal and trusted keys."""

    def __init__(self, config: GateConfig, registry: Registry, journal: Journal, keyset: Keyset):
        self.config = config
        self.registry = registry
        self.journal = journal
        self.keyset = keyset

    def check_card(self, text: str, now: datetime) -> CardCheck:
        """Verify a scanned text offline, then against the registry's revocations."""
        check = verify_card(text, self.keyset, now, self.config.gate.timezone)
        return self.registry.check_revocation(check)

    def passage(
        self,
        text: str | None,
        now: datetime,
        readings: Sequence[Measurement] = (),
        *,
        direction: str | None = None,
        direction_source: DirectionSource | None = None,
        volunteer_id: str | None = None,
        raised: Mapping[str, Event] | None = None,
        supersedes_seq: int | None = None,
    ) -> Outcome:
        """Decide one person's passage; journal it (with its readings and alarms) once it is decided.

        ``raised`` holds the alarms this passage already raised (kind → event):
        they are not raised twice, and a handheld reading that clears a fever
        closes the fever alarm it answers. ``supersedes_seq`` is the passage
        event a follow-up decision (a handheld reading) replaces in the counts.
        """
        check = self.check_card(text, now) if text is not None else None
        gate = self.config.gate
        facts = gather_facts(self.registry, self.journal, check, now,
                             timezone=gate.timezone, outing_days=self.config.policy.outing.period_days)
        decision = decide(Passage(check, facts, now, tuple(readings), direction, direction_source),  # type: ignore[arg-type]
                          self.config.policy)
        if decision.undecided:
            return Outcome(decision, check)
        kind = EventKind.VEHICLE if decision.vehicle else EventKind.PASSAGE
        data = {**decision.to_dict(), "card": check.to_dict()["card"] if check else None,
                "readings": [r.to_dict() for r in readings]}
        if supersedes_seq is not None:
            data["supersedes_seq"] = supersedes_seq
        return Outcome(decision, check, self._record(kind, data, decision, volunteer_id, raised or {}))

    def vehicle(
        self,
        now: datetime,
        *,
        plate: str | None = None,
        text: str | None = None,
        disinfected: bool = False,
        direction: str | None = None,
        direction_source: DirectionSource | None = None,
        volunteer_id: str | None = None,
        extra: dict | None = None,
    ) -> Outcome:
        """Decide and journal a vehicle's passage from a typed plate or a scanned vehicle card.

        ``extra`` (e.g. passengers, the driver's subject) is stored with the event.
        Nothing is journaled while the verdict is ``ask`` (the form must say in or out).
        """
        check = self.check_card(text, now) if text is not None else None
        gate = self.config.gate
        facts = gather_facts(self.registry, self.journal, check, now, timezone=gate.timezone, plate=plate)
        decision = decide_vehicle(VehiclePassage(check, facts, now, disinfected, direction, direction_source),  # type: ignore[arg-type]
                                  self.config.policy)
        if decision.undecided:
            return Outcome(decision, check)
        data = {**decision.to_dict(), "card": check.to_dict()["card"] if check else None, **(extra or {})}
        return Outcome(decision, check, self._record(EventKind.VEHICLE, data, decision, volunteer_id))

    def visitor(
        self,
        registration: VisitorRegistration,
        now: datetime,
        readings: Sequence[Measurement],
        id_seal_key: X25519PublicKey | None,
        *,
        direction: Direction = "in",
        volunteer_id: str | None = None,
        resolves: Event | None = None,
    ) -> Outcome:
        """Decide a registered visitor by temperature; once decided, journal the registration (and any alarm).

        ``resolves`` is the unknown-visitor alarm this registration answers: it is
        closed in the same transaction. Raises PersonalDataError for an ID number
        with a wrong check digit, before anything is stored.
        """
        data = registration.event_data(id_seal_key)
        decision = decide_visitor(readings, self.config.policy, direction=direction)
        if decision.verdict is Verdict.REMEASURE:
            return Outcome(decision, None)
        data.update(decision.to_dict(), readings=[r.to_dict() for r in readings])
        household = registration.host_household_id
        drafts = [EventDraft(EventKind.VISITOR_REGISTRATION, data, volunteer_id, None, household)]
        drafts += [EventDraft(EventKind.ALARM_RAISED, a.to_dict(), volunteer_id, None, household) for a in decision.alarms]
        if resolves is not None:
            drafts.append(_resolution(resolves, "visitor_registered", volunteer_id))
        return Outcome(decision, None, tuple(self.journal.append_many(drafts)))

    def abandon(self, pending: Outcome, readings: Sequence[Measurement], volunteer_id: str | None = None) -> Event:
        """Journal a passage that never got decided (the person left mid-measurement): a high reading is not lost."""
        decision = pending.decision
        data = {**decision.to_dict(), "card": pending.check.to_dict()["card"] if pending.check else None,
                "readings": [r.to_dict() for r in readings]}
        subject = decision.holder.subject if decision.holder else None
        household = decision.holder.household_id if decision.holder else None
        return self.journal.append(EventKind.PASSAGE_ABANDONED, data, volunteer_id=volunteer_id, subject=subject,
                                   household_id=household)

    def _record(self, kind: EventKind, data: dict, decision: Decision, volunteer_id: str | None,
                raised: Mapping[str, Event] | None = None) -> tuple[Event, ...]:
        # The passage and its alarms go in one transaction: either the office
        # will see both, or the gate never acted on either.
        raised = raised or {}
        subject = decision.holder.subject if decision.holder else None
        household = decision.holder.household_id if decision.holder else None
        drafts = [EventDraft(kind, data, volunteer_id, subject, household)]
        drafts += [
            EventDraft(EventKind.ALARM_RAISED, alarm.to_dict(), volunteer_id, alarm.subject or subject, household)
            for alarm in decision.alarms if alarm.kind.value not in raised  # one alarm per kind per passage
        ]
        fever = raised.get(AlarmKind.FEVER.value)
        if fever is not None and Reason.HANDHELD_NORMAL in decision.reasons:
            drafts.append(_resolution(fever, "handheld_normal", volunteer_id))  # the handheld answered the alarm
        return tuple(self.journal.append_many(drafts))


def _resolution(alarm: Event, outcome: str, volunteer_id: str | None) -> EventDraft:
    """The event that closes ``alarm`` because the passage itself answered it (a handheld reading, a registration)."""
    return EventDraft(EventKind.ALARM_ACKNOWLEDGED,
                      {"alarm_event_id": alarm.id, "alarm_seq": alarm.seq, "kind": alarm.data.get("kind"),
                       "outcome": outcome, "note": "", "by": "gate"},
                      volunteer_id, alarm.subject, alarm.household_id)
