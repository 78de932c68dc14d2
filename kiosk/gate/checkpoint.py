"""The gate's decision chain wired together: scanned text → card check → facts → policy → journal.

``Checkpoint`` is the I/O edge around the pure policy. The gate process, the
demo and the tests drive passages through it, so each runs the same chain.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from kiosk.cards import CardCheck, CardKind, verify_card
from kiosk.config.base import Direction
from kiosk.config.gate import GateConfig
from kiosk.events import Event, EventKind
from kiosk.gate.direction import DirectionSource
from kiosk.gate.facts import Facts, gather_facts
from kiosk.gate.journal import EventDraft, Journal
from kiosk.gate.policy import (
    AlarmKind,
    Decision,
    Occupant,
    Passage,
    Reason,
    VehiclePassage,
    Verdict,
    decide,
    decide_occupant,
    decide_vehicle,
    decide_visitor,
)
from kiosk.gate.visitors import VisitorRegistration
from kiosk.gate.visitors_inside import VisitorsInside, exit_draft
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
        inside = config.visitors_inside  # who is still inside: a pass scanned going out closes its holder's entry
        self.inside = VisitorsInside(journal, registry, timezone=config.gate.timezone, days=inside.days,
                                     long_stay_h=inside.long_stay_h)

    def check_card(self, text: str, now: datetime) -> CardCheck:
        """Verify a scanned text offline, then against the registry's revocations.

        A clock gone back (no battery clock, a power cut) must not make an expired card valid again: validity is
        judged as much later as the journal's clock is behind its newest event (docs/clock.md).
        """
        behind = getattr(self.journal, "behind_journal", None)
        check = verify_card(text, self.keyset, now + behind() if behind else now, self.config.gate.timezone)
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
        exits = self._pass_exit(decision, now, volunteer_id)
        if exits:  # with the passage, in one transaction
            drafts = [*self._drafts(kind, data, decision, volunteer_id, raised or {}), *exits]
            return Outcome(decision, check, tuple(self.journal.append_many(drafts)))
        return Outcome(decision, check, self._record(kind, data, decision, volunteer_id, raised or {}))

    def _pass_exit(self, decision: Decision, now: datetime, volunteer_id: str | None) -> tuple[EventDraft, ...]:
        """A visitor pass let out closes its holder's open entry (kiosk/gate/visitors_inside.py)."""
        holder = decision.holder
        if (decision.verdict is not Verdict.ADMIT or decision.direction != "out" or holder is None
                or not holder.subject.startswith("visitor:")):
            return ()
        entry = self.inside.open_entry_of_pass(holder.subject, now)
        return (exit_draft(entry, "pass", volunteer_id),) if entry is not None else ()

    def occupant(self, text: str, now: datetime, direction: Direction | None) -> tuple[Outcome, Occupant | None]:
        """Check a card scanned on the vehicle form (the driver, a passenger) without journaling anything.

        The decision is the walking rule's in the form's ``direction`` (None: the
        card alone); the occupant is None for a text that is no person's card.
        """
        check = self.check_card(text, now)
        if check.card is None or check.card.kind is CardKind.VEHICLE:
            return Outcome(decide(Passage(check, Facts(), now), self.config.policy), check), None
        gate = self.config.gate
        facts = gather_facts(self.registry, self.journal, check, now,
                             timezone=gate.timezone, outing_days=self.config.policy.outing.period_days)
        occupant = Occupant(check, facts)
        return Outcome(decide_occupant(occupant, now, direction, "volunteer" if direction else None,
                                       self.config.policy), check), occupant

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
        occupants: Sequence[str] = (),
        visitor: tuple[VisitorRegistration, Sequence[Measurement], X25519PublicKey | None] | None = None,
    ) -> Outcome:
        """Decide and journal a vehicle's passage from a typed plate or a scanned vehicle card.

        ``occupants`` are the person cards scanned on the form (the driver first):
        each is checked again now by the walking rules. ``visitor`` is a driver
        registered on the form (registration, temperatures, the office's sealing
        key): their registration is journaled with the vehicle, linked by
        ``visit_ref``, when the vehicle passes or the visitor is refused (fever).
        ``extra`` (e.g. passengers, the driver's subject) is stored with the event.
        Nothing is journaled while the verdict is ``ask`` or a visitor's ``remeasure``.
        """
        check = self.check_card(text, now) if text is not None else None
        gate = self.config.gate
        policy = self.config.policy
        facts = gather_facts(self.registry, self.journal, check, now, timezone=gate.timezone, plate=plate)
        people = []
        for scanned in occupants:
            card_check = self.check_card(scanned, now)
            people.append(Occupant(card_check, gather_facts(self.registry, self.journal, card_check, now,
                                                            timezone=gate.timezone,
                                                            outing_days=policy.outing.period_days)))
        visitor_decision = None
        if visitor is not None:
            visitor_decision = decide_visitor(visitor[1], policy, direction=direction or "in")  # type: ignore[arg-type]
            if visitor_decision.verdict is Verdict.REMEASURE:
                return Outcome(visitor_decision, check)
        decision = decide_vehicle(VehiclePassage(check, facts, now, disinfected, direction, direction_source,  # type: ignore[arg-type]
                                                 tuple(people), visitor_decision), policy)
        if decision.undecided:
            return Outcome(decision, check)
        data = {**decision.to_dict(), "card": check.to_dict()["card"] if check else None, **(extra or {})}
        drafts: list[EventDraft] = []
        if visitor is not None and visitor_decision is not None and (
                decision.verdict is Verdict.ADMIT or visitor_decision.verdict is not Verdict.ADMIT):
            registration, readings, seal_key = visitor
            data["visit_ref"] = uuid.uuid4().hex
            drafts = self._registration_drafts(registration, readings, seal_key, visitor_decision, volunteer_id,
                                               {"visit_ref": data["visit_ref"], "plate": decision.plate or plate or ""})
        raised = {d.data["kind"]: d for d in drafts if d.kind is EventKind.ALARM_RAISED}  # the visitor's own alarms
        drafts += self._drafts(EventKind.VEHICLE, data, decision, volunteer_id, raised)
        return Outcome(decision, check, tuple(self.journal.append_many(drafts)))

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
        raised: Mapping[str, Event] | None = None,
        supersedes_seq: int | None = None,
    ) -> Outcome:
        """Decide a registered visitor by temperature; once decided, journal the registration (and any alarm).

        A handheld follow-up (kiosk/gate/visitor_followup.py) names the registration it replaces
        (``supersedes_seq``) and the alarms it already raised (``raised``: never twice; a normal handheld
        reading closes the fever alarm).

        ``resolves`` is the unknown-visitor alarm this registration answers: it is
        closed in the same transaction. Raises PersonalDataError for an ID number
        with a wrong check digit, before anything is stored.
        """
        decision = decide_visitor(readings, self.config.policy, direction=direction)
        if decision.verdict is Verdict.REMEASURE:
            return Outcome(decision, None)
        link = {"supersedes_seq": supersedes_seq} if supersedes_seq is not None else None
        drafts = self._registration_drafts(registration, readings, id_seal_key, decision, volunteer_id, link)
        if raised:
            drafts = [d for d in drafts if d.kind is not EventKind.ALARM_RAISED or d.data.get("kind") not in raised]
            fever = raised.get(AlarmKind.FEVER.value)
            if fever is not None and Reason.HANDHELD_NORMAL in decision.reasons:
                drafts.append(_resolution(fever, "handheld_normal", volunteer_id))
        if resolves is not None:
            drafts.append(_resolution(resolves, "visitor_registered", volunteer_id))
        return Outcome(decision, None, tuple(self.journal.append_many(drafts)))

    @staticmethod
    def _registration_drafts(registration: VisitorRegistration, readings: Sequence[Measurement],
                             id_seal_key: X25519PublicKey | None, decision: Decision, volunteer_id: str | None,
                             link: dict | None = None) -> list[EventDraft]:
        """A visitor's registration event and its alarms (on foot, or driving in on the vehicle form)."""
        data = registration.event_data(id_seal_key)
        data.update(decision.to_dict(), readings=[r.to_dict() for r in readings], **(link or {}))
        household = registration.host_household_id
        drafts = [EventDraft(EventKind.VISITOR_REGISTRATION, data, volunteer_id, None, household)]
        drafts += [EventDraft(EventKind.ALARM_RAISED, a.to_dict(), volunteer_id, None, household) for a in decision.alarms]
        return drafts

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
        return tuple(self.journal.append_many(self._drafts(kind, data, decision, volunteer_id, raised or {})))

    @staticmethod
    def _drafts(kind: EventKind, data: dict, decision: Decision, volunteer_id: str | None,
                raised: Mapping[str, Event | EventDraft]) -> list[EventDraft]:
        """A decision's event and the alarms it raises (not those of a kind in ``raised``: one per kind)."""
        subject = decision.holder.subject if decision.holder else None
        household = decision.holder.household_id if decision.holder else None
        drafts = [EventDraft(kind, data, volunteer_id, subject, household)]
        drafts += [
            EventDraft(EventKind.ALARM_RAISED, alarm.to_dict(), volunteer_id, alarm.subject or subject, household)
            for alarm in decision.alarms if alarm.kind.value not in raised  # one alarm per kind per passage
        ]
        fever = raised.get(AlarmKind.FEVER.value)
        if isinstance(fever, Event) and Reason.HANDHELD_NORMAL in decision.reasons:
            drafts.append(_resolution(fever, "handheld_normal", volunteer_id))  # the handheld answered the alarm
        return drafts


def _resolution(alarm: Event, outcome: str, volunteer_id: str | None) -> EventDraft:
    """The event that closes ``alarm`` because the passage itself answered it (a handheld reading, a registration)."""
    return EventDraft(EventKind.ALARM_ACKNOWLEDGED,
                      {"alarm_event_id": alarm.id, "alarm_seq": alarm.seq, "kind": alarm.data.get("kind"),
                       "outcome": outcome, "note": "", "by": "gate"},
                      volunteer_id, alarm.subject, alarm.household_id)
