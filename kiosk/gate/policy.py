"""The decision policy: who passes. Pure — data in, decision out; no I/O, no clock reads.

A passage is decided from the verified card (or none), what the registry and
journal know (``Facts``), this passage's temperature readings, the direction,
the time, and the settings. The gate calls ``decide`` again after every new
reading until the verdict is no longer ``remeasure``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from kiosk.cards import CardCheck, CardKind, Rejection
from kiosk.config.base import Direction
from kiosk.config.policy import PolicySettings
from kiosk.events import subject_key
from kiosk.gate.direction import DirectionSource, infer
from kiosk.gate.facts import Facts, Holder, LastPassage
from kiosk.measurements import Measurement, MeasurementSource


class Verdict(str, enum.Enum):
    """What the gate does now."""

    ADMIT = "admit"
    DENY = "deny"
    REFER = "refer"  # the volunteer must act (register a visitor, take a handheld reading, check a card)
    REMEASURE = "remeasure"  # not decided yet: another (or a first) temperature reading is needed
    ASK = "ask"  # not decided yet: the volunteer must say whether this person goes in or out


class Prompt(str, enum.Enum):
    """Which message the screen shows; the web layer translates each (zh-CN first)."""

    WELCOME = "welcome"  # admitted, coming in
    QUARANTINE_RETURN = "quarantine_return"  # admitted home under a quarantine order: go home, the office is told
    ASK_DIRECTION = "ask_direction"  # 进还是出? the direction decides this passage and nobody has said it
    GOODBYE = "goodbye"  # admitted, going out
    WELCOME_VISITOR = "welcome_visitor"  # a visitor admitted (registered, or with a visitor pass): not 欢迎回家
    GOODBYE_VISITOR = "goodbye_visitor"  # a visitor going out
    VEHICLE_ADMIT = "vehicle_admit"  # a vehicle admitted, in or out
    MEASURE = "measure"  # step up to the thermometer
    REMEASURE_FEVER = "remeasure_fever"  # high reading: wait a moment, measure again
    REMEASURE_LOW = "remeasure_low"  # implausibly low: move closer / out of the wind
    REMEASURE_HIGH = "remeasure_high"  # implausibly high: measure again
    REMEASURE_AMBIENT = "remeasure_ambient"  # thermometer too cold or hot: shelter it
    REMEASURE_FAULT = "remeasure_fault"  # the thermometer gave no number
    HANDHELD_CHECK = "handheld_check"  # volunteer: take a reading by hand
    FEVER = "fever"  # fever confirmed: do not admit, follow the fever procedure
    REGISTER_VISITOR = "register_visitor"
    CARD_REJECTED = "card_rejected"  # damaged or forged
    CARD_EXPIRED = "card_expired"  # detail.valid_until
    CARD_NOT_YET_VALID = "card_not_yet_valid"  # detail.valid_from
    CARD_FOREIGN = "card_foreign"  # signed by a key this community does not use
    CARD_LOST = "card_lost"  # reported lost (挂失)
    CARD_REPLACED = "card_replaced"  # a newer card was issued to the holder
    CARD_MOVED_OUT = "card_moved_out"  # the holder moved out of the community
    CARD_REVOKED = "card_revoked"  # withdrawn for another reason
    CARD_NOT_IN_REGISTRY = "card_not_in_registry"
    QUARANTINE = "quarantine"
    OUTING_LIMIT = "outing_limit"
    VISITOR_PASS_OUTSIDE_WINDOW = "visitor_pass_outside_window"
    REGISTER_VEHICLE = "register_vehicle"
    DISINFECT_VEHICLE = "disinfect_vehicle"


class Reason(str, enum.Enum):
    """Machine-readable reasons behind a decision; stored in the journal."""

    CARD_VALID = "card_valid"
    NO_CARD = "no_card"
    NOT_A_CARD = "not_a_card"
    CARD_UNKNOWN_VERSION = "card_unknown_version"
    CARD_MALFORMED = "card_malformed"
    CARD_UNKNOWN_KEY = "card_unknown_key"
    CARD_BAD_SIGNATURE = "card_bad_signature"
    CARD_NOT_YET_VALID = "card_not_yet_valid"
    CARD_EXPIRED = "card_expired"
    CARD_REVOKED = "card_revoked"
    CARD_MISMATCH = "card_mismatch"  # the registry's record names another holder
    CARD_NOT_IN_REGISTRY = "card_not_in_registry"
    TEMPERATURE_NORMAL = "temperature_normal"
    TEMPERATURE_NOT_REQUIRED = "temperature_not_required"
    TEMPERATURE_MISSING = "temperature_missing"
    FEVER_UNCONFIRMED = "fever_unconfirmed"
    FEVER = "fever"
    HANDHELD_NORMAL = "handheld_normal"
    READING_TOO_LOW = "reading_too_low"
    READING_TOO_HIGH = "reading_too_high"
    AMBIENT_OUT_OF_RANGE = "ambient_out_of_range"
    SENSOR_FAULT = "sensor_fault"
    TOO_MANY_UNTRUSTED_READINGS = "too_many_untrusted_readings"
    QUARANTINE = "quarantine"
    QUARANTINE_RETURN = "quarantine_return"
    OUTING_LIMIT = "outing_limit"
    OVERDUE_RETURN = "overdue_return"
    DIRECTION_UNKNOWN = "direction_unknown"  # asked: nobody said, and nothing to infer from or a rule depends on it
    VISITOR_PASS_VALID = "visitor_pass_valid"
    VISITOR_PASS_OUTSIDE_WINDOW = "visitor_pass_outside_window"
    VEHICLE_KNOWN = "vehicle_known"
    VEHICLE_UNKNOWN = "vehicle_unknown"
    VEHICLE_NOT_DISINFECTED = "vehicle_not_disinfected"
    DIRECTION_OVERRIDDEN = "direction_overridden"
    VISITOR_REGISTERED = "visitor_registered"
    OCCUPANT_REFUSED = "occupant_refused"  # the vehicle's driver or a scanned passenger may not pass (their reasons follow)
    DRIVER_CHECKED = "driver_checked"  # the driver's card was scanned on the vehicle form and passes
    DRIVER_VISITOR = "driver_visitor"  # the driver was registered as a visitor on the vehicle form


class AlarmKind(str, enum.Enum):
    """Alarms the office must answer."""

    FEVER = "fever"
    UNKNOWN_VISITOR = "unknown_visitor"
    INVALID_CARD = "invalid_card"
    QUARANTINE_BREACH = "quarantine_breach"
    OVERDUE_RETURN = "overdue_return"
    UNSTAFFED_GATE = "unstaffed_gate"  # nobody signed in at the gate for alarms.unstaffed_after_s (kiosk.gate.unstaffed)
    GATE_LEFT_OPEN = "gate_left_open"  # the gate leaf open longer than gate_leaf.*_alarm_after_min (kiosk.gate.gate_leaf)
    GATE_OFFLINE = "gate_offline"  # raised by the office, never by a gate: the gate went silent (kiosk.office.watch)


@dataclass(frozen=True)
class Alarm:
    """An alarm to raise: its kind, the reason in machine form, and who it concerns."""

    kind: AlarmKind
    reason: Reason
    subject: str | None = None
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready form for the journal."""
        return {"kind": self.kind.value, "reason": self.reason.value, "subject": self.subject, "detail": self.detail}


@dataclass(frozen=True)
class Decision:
    """The policy's answer for one passage."""

    verdict: Verdict
    direction: Direction | None  # None: not known, and nothing this decision did depended on it
    prompt: Prompt
    reasons: tuple[Reason, ...] = ()
    alarms: tuple[Alarm, ...] = ()
    holder: Holder | None = None
    temperature_c: float | None = None
    vehicle: bool = False
    plate: str | None = None
    disinfected: bool | None = None
    direction_source: DirectionSource | None = None
    detail: dict = field(default_factory=dict)  # what the prompt's words need, e.g. an expiry date

    @property
    def undecided(self) -> bool:
        """True while the passage still waits for a reading or a direction (nothing is journaled yet)."""
        return self.verdict in (Verdict.REMEASURE, Verdict.ASK)

    def to_dict(self) -> dict:
        """JSON-ready form for the journal and the screen."""
        return {
            "verdict": self.verdict.value,
            "direction": self.direction,
            "direction_source": self.direction_source,
            "detail": self.detail,
            "prompt": self.prompt.value,
            "reasons": [r.value for r in self.reasons],
            "alarms": [a.to_dict() for a in self.alarms],
            "subject": self.holder.subject if self.holder else None,
            "household_id": self.holder.household_id if self.holder else None,
            "temperature_c": self.temperature_c,
            "vehicle": self.vehicle,
            "plate": self.plate,
            "disinfected": self.disinfected,
        }


@dataclass(frozen=True)
class Passage:
    """Everything one person's passage is decided from."""

    check: CardCheck | None  # None: nobody scanned anything (a walk-up at the gate)
    facts: Facts
    now: datetime
    readings: tuple[Measurement, ...] = ()  # this passage's readings, oldest first
    direction: Direction | None = None  # given by the lane, the volunteer or a button; None: infer if safe
    direction_source: DirectionSource | None = None


@dataclass(frozen=True)
class VehiclePassage:
    """Everything one vehicle's passage is decided from: a vehicle card, or a plate typed by the volunteer."""

    check: CardCheck | None
    facts: Facts
    now: datetime
    disinfected: bool = False
    direction: Direction | None = None  # the volunteer's choice on the vehicle form, or the lane
    direction_source: DirectionSource | None = None
    occupants: tuple[Occupant, ...] = ()  # cards scanned on the vehicle form: the driver first, then passengers
    visitor_driver: Decision | None = None  # a driver registered as a visitor on the form: ``decide_visitor``'s answer


@dataclass(frozen=True)
class Occupant:
    """Someone in a vehicle whose person card was scanned on the vehicle form (the driver, or a passenger)."""

    check: CardCheck
    facts: Facts


# -- direction ----------------------------------------------------------------


def _heading(given: Direction | None, source: DirectionSource | None,
             last: LastPassage | None) -> tuple[Direction | None, DirectionSource | None]:
    """The given direction, or one inferred from the holder's last admitted passage (None without history)."""
    if given is not None:
        return given, source or "volunteer"
    inferred = infer(last.direction if last is not None else None)
    return inferred, ("inferred" if inferred else None)


def depends_on_direction(card_kind: CardKind, facts: Facts, direction: Direction, now: datetime,
                         s: PolicySettings) -> bool:
    """True when the other direction would be decided by a different rule, so a guess must not decide.

    Home quarantine (out: denied; in: admitted and reported), the outing rule
    (exits are counted, returns are timed), a visitor pass outside its window
    (in: denied), and a guess that would skip a temperature the other way needs.
    """
    if facts.quarantine and card_kind in (CardKind.RESIDENT, CardKind.VOLUNTEER):
        return True
    if s.outing.enabled and card_kind is not CardKind.VISITOR:
        return True
    if card_kind is CardKind.VISITOR and (facts.visitor_pass is None or not facts.visitor_pass.covers(now)):
        return True
    return direction not in s.measure_on and any(d in s.measure_on for d in ("in", "out"))


def _ask(holder: Holder | None, reasons: Iterable[Reason], *, vehicle: bool = False, **extra) -> Decision:
    return Decision(Verdict.ASK, None, Prompt.ASK_DIRECTION, (*reasons, Reason.DIRECTION_UNKNOWN), holder=holder,
                    vehicle=vehicle, **extra)


# -- temperature ---------------------------------------------------------------


class TemperatureStatus(str, enum.Enum):
    """The state of this passage's temperature readings."""

    NORMAL = "normal"
    FEVER = "fever"  # confirmed: enough consecutive readings, or a handheld contact reading
    FEVER_UNCONFIRMED = "fever_unconfirmed"  # one high reading: measure again
    UNTRUSTED = "untrusted"  # the last reading cannot be trusted: measure again
    NEEDS_HANDHELD = "needs_handheld"  # too many untrusted readings: the volunteer measures
    MISSING = "missing"


@dataclass(frozen=True)
class TemperatureAssessment:
    """What the readings add up to, with the reason and the value to record."""

    status: TemperatureStatus
    reason: Reason
    value_c: float | None = None
    prompt: Prompt | None = None


def _untrusted_reason(reading: Measurement, s: PolicySettings) -> tuple[Reason, Prompt] | None:
    if reading.object_c is None or reading.fault:
        return Reason.SENSOR_FAULT, Prompt.REMEASURE_FAULT
    if reading.ambient_c is not None and not s.ambient_min_c <= reading.ambient_c <= s.ambient_max_c:
        return Reason.AMBIENT_OUT_OF_RANGE, Prompt.REMEASURE_AMBIENT
    if reading.object_c < s.plausible_floor_c:
        return Reason.READING_TOO_LOW, Prompt.REMEASURE_LOW
    if reading.object_c > s.plausible_ceiling_c:
        return Reason.READING_TOO_HIGH, Prompt.REMEASURE_HIGH
    return None


def assess_temperature(readings: Iterable[Measurement], s: PolicySettings) -> TemperatureAssessment:
    """Turn this passage's readings into normal / fever / measure-again.

    A handheld contact reading settles the question. Otherwise the latest
    infrared reading decides: untrusted readings (fault, implausible, ambient
    out of range) never admit and never raise a fever alarm on their own; a
    fever needs ``fever_readings_to_confirm`` consecutive trusted high readings.
    """
    readings = tuple(readings)
    contact = [r for r in readings if r.source is MeasurementSource.HANDHELD_CONTACT]
    if contact:
        last = contact[-1]
        untrusted = _untrusted_reason(last, s)
        if untrusted is not None or last.object_c is None:  # (no number is always untrusted)
            reason = untrusted[0] if untrusted is not None else Reason.SENSOR_FAULT
            return TemperatureAssessment(TemperatureStatus.NEEDS_HANDHELD, reason, None, Prompt.HANDHELD_CHECK)
        if last.object_c >= s.fever_threshold_c:
            return TemperatureAssessment(TemperatureStatus.FEVER, Reason.FEVER, last.object_c, Prompt.FEVER)
        return TemperatureAssessment(TemperatureStatus.NORMAL, Reason.HANDHELD_NORMAL, last.object_c)

    infrared = [r for r in readings if r.source is not MeasurementSource.HANDHELD_CONTACT]
    if not infrared:
        return TemperatureAssessment(TemperatureStatus.MISSING, Reason.TEMPERATURE_MISSING, None, Prompt.MEASURE)
    untrusted = _untrusted_reason(infrared[-1], s)
    if untrusted is not None:
        count = sum(1 for r in infrared if _untrusted_reason(r, s) is not None)
        if count >= s.max_remeasure:
            return TemperatureAssessment(TemperatureStatus.NEEDS_HANDHELD, Reason.TOO_MANY_UNTRUSTED_READINGS, None, Prompt.HANDHELD_CHECK)
        return TemperatureAssessment(TemperatureStatus.UNTRUSTED, untrusted[0], None, untrusted[1])

    trusted = [r.object_c for r in infrared if _untrusted_reason(r, s) is None and r.object_c is not None]
    value = trusted[-1]
    if value < s.fever_threshold_c:
        return TemperatureAssessment(TemperatureStatus.NORMAL, Reason.TEMPERATURE_NORMAL, value)
    streak = 0
    for reading in reversed(trusted):
        if reading < s.fever_threshold_c:
            break
        streak += 1
    if streak >= s.fever_readings_to_confirm:
        return TemperatureAssessment(TemperatureStatus.FEVER, Reason.FEVER, value, Prompt.FEVER)
    return TemperatureAssessment(TemperatureStatus.FEVER_UNCONFIRMED, Reason.FEVER_UNCONFIRMED, value, Prompt.REMEASURE_FEVER)


# -- cards ---------------------------------------------------------------------

_CARD_REASON = {
    Rejection.NOT_A_CARD: Reason.NOT_A_CARD,
    Rejection.UNKNOWN_VERSION: Reason.CARD_UNKNOWN_VERSION,
    Rejection.MALFORMED: Reason.CARD_MALFORMED,
    Rejection.UNKNOWN_KEY: Reason.CARD_UNKNOWN_KEY,
    Rejection.BAD_SIGNATURE: Reason.CARD_BAD_SIGNATURE,
    Rejection.NOT_YET_VALID: Reason.CARD_NOT_YET_VALID,
    Rejection.EXPIRED: Reason.CARD_EXPIRED,
    Rejection.REVOKED: Reason.CARD_REVOKED,
}


# What a refused card's holder is told: the real reason, in plain words (the page words each prompt).
_CARD_PROMPT = {
    Reason.CARD_EXPIRED: Prompt.CARD_EXPIRED,
    Reason.CARD_NOT_YET_VALID: Prompt.CARD_NOT_YET_VALID,
    Reason.CARD_UNKNOWN_KEY: Prompt.CARD_FOREIGN,
}
# Only a reported loss is 挂失; a replaced card or a holder who moved out is told so.
_REVOCATION_PROMPT = {"lost": Prompt.CARD_LOST, "replaced": Prompt.CARD_REPLACED, "moved_out": Prompt.CARD_MOVED_OUT}


def _card_problem(check: CardCheck, facts: Facts, direction: Direction | None,
                  source: DirectionSource | None = None) -> Decision | None:
    """A denial for a card that is not genuine, current and unrevoked; None when the card is fine."""
    reason = None
    if not check.valid:
        reason = _CARD_REASON[check.reason] if check.reason else Reason.CARD_MALFORMED
    elif facts.revoked:
        reason = Reason.CARD_REVOKED
    elif facts.card_known and not facts.card_matches:
        reason = Reason.CARD_MISMATCH
    if reason is None:
        return None
    card = check.card
    subject = subject_key(card.kind.value, card.subject_id) if card else None
    detail = {"card_id": card.card_id, "kid": card.kid} if card else {}
    shown: dict = {}
    if reason is Reason.CARD_REVOKED:
        prompt = _REVOCATION_PROMPT.get(facts.revocation_reason or "", Prompt.CARD_REVOKED)
        detail["revocation"] = facts.revocation_reason or "withdrawn"
    else:
        prompt = _CARD_PROMPT.get(reason, Prompt.CARD_REJECTED)
    if card is not None and reason is Reason.CARD_EXPIRED:
        shown = {"valid_until": card.valid_until.isoformat()}
    elif card is not None and reason is Reason.CARD_NOT_YET_VALID:
        shown = {"valid_from": card.valid_from.isoformat()}
    return Decision(
        Verdict.DENY, direction, prompt, (reason,),
        (Alarm(AlarmKind.INVALID_CARD, reason, subject, detail),), holder=facts.holder,
        direction_source=source, detail=shown,
    )


def _unknown_visitor(check: CardCheck | None, direction: Direction | None, source: DirectionSource | None,
                     s: PolicySettings) -> Decision:
    reason = Reason.NO_CARD if check is None else Reason.NOT_A_CARD
    alarms = (Alarm(AlarmKind.UNKNOWN_VISITOR, reason),) if s.alarm_on_unknown_visitor else ()
    return Decision(Verdict.REFER, direction, Prompt.REGISTER_VISITOR, (reason,), alarms, direction_source=source)


# -- people --------------------------------------------------------------------


def decide(passage: Passage, s: PolicySettings) -> Decision:
    """Decide one person's passage. Call again with each new reading (or the direction) while it is undecided.

    A direction that was only inferred decides nothing a rule depends on
    (``depends_on_direction``): the verdict is ``ask`` until the volunteer says.
    """
    facts, check = passage.facts, passage.check
    given = passage.direction is not None and passage.direction_source != "inferred"
    direction, source = _heading(passage.direction, passage.direction_source, facts.last_passage)

    if check is None or check.reason is Rejection.NOT_A_CARD:
        return _unknown_visitor(check, passage.direction, passage.direction_source, s)
    denial = _card_problem(check, facts, passage.direction, passage.direction_source)
    if denial is not None:
        return denial
    card = check.card
    if card is None:  # a check that passed _card_problem has a card; this keeps a mistake there from admitting
        return Decision(Verdict.DENY, passage.direction, Prompt.CARD_REJECTED, (Reason.CARD_MALFORMED,))
    if card.kind is CardKind.VEHICLE:
        return decide_vehicle(VehiclePassage(check, facts, passage.now, False, passage.direction,
                                             passage.direction_source), s)
    holder = facts.holder
    if holder is None:
        return Decision(Verdict.REFER, passage.direction, Prompt.CARD_NOT_IN_REGISTRY,
                        (Reason.CARD_VALID, Reason.CARD_NOT_IN_REGISTRY), direction_source=passage.direction_source)
    reasons = [Reason.CARD_VALID]
    if given:
        reasons.append(Reason.DIRECTION_OVERRIDDEN)
    if direction is None or (not given and depends_on_direction(card.kind, facts, direction, passage.now, s)):
        return _ask(holder, reasons)

    def made(verdict: Verdict, prompt: Prompt, why: Iterable[Reason], alarms: Iterable[Alarm] = (),
             temperature_c: float | None = None) -> Decision:
        return Decision(verdict, direction, prompt, tuple(why), tuple(alarms), holder=holder,
                        temperature_c=temperature_c, direction_source=source)

    if card.kind is CardKind.VISITOR:
        visitor_pass = facts.visitor_pass
        if direction == "in" and (visitor_pass is None or not visitor_pass.covers(passage.now)):
            return made(Verdict.DENY, Prompt.VISITOR_PASS_OUTSIDE_WINDOW, (*reasons, Reason.VISITOR_PASS_OUTSIDE_WINDOW))
        reasons.append(Reason.VISITOR_PASS_VALID)

    quarantine = facts.quarantine[0] if facts.quarantine else None
    if direction == "out" and quarantine is not None:
        alarm = Alarm(AlarmKind.QUARANTINE_BREACH, Reason.QUARANTINE, holder.subject,
                      {"order_id": quarantine.id, "ends_on": quarantine.ends_on.isoformat()})
        return made(Verdict.DENY, Prompt.QUARANTINE, (*reasons, Reason.QUARANTINE), (alarm,))

    outing = s.outing
    if (outing.enabled and direction == "out" and card.kind is not CardKind.VISITOR
            and len(facts.household_exits) >= outing.max_outings):
        return made(Verdict.REFER, Prompt.OUTING_LIMIT, (*reasons, Reason.OUTING_LIMIT))

    temperature = None
    if direction in s.measure_on:
        assessment = assess_temperature(passage.readings, s)
        temperature = assessment.value_c
        status = assessment.status
        if status in (TemperatureStatus.MISSING, TemperatureStatus.UNTRUSTED, TemperatureStatus.FEVER_UNCONFIRMED):
            return made(Verdict.REMEASURE, assessment.prompt or Prompt.MEASURE, (*reasons, assessment.reason),
                        temperature_c=temperature)
        if status is TemperatureStatus.NEEDS_HANDHELD:
            return made(Verdict.REFER, Prompt.HANDHELD_CHECK, (*reasons, assessment.reason))
        if status is TemperatureStatus.FEVER:
            alarm = Alarm(AlarmKind.FEVER, Reason.FEVER, holder.subject, {"temperature_c": temperature})
            return made(Verdict.DENY, Prompt.FEVER, (*reasons, Reason.FEVER), (alarm,), temperature_c=temperature)
        reasons.append(assessment.reason)
    else:
        reasons.append(Reason.TEMPERATURE_NOT_REQUIRED)

    alarms: list[Alarm] = []
    if card.kind is CardKind.VISITOR:  # a visitor pass: 欢迎回家 is for residents
        prompt = Prompt.WELCOME_VISITOR if direction == "in" else Prompt.GOODBYE_VISITOR
    else:
        prompt = Prompt.WELCOME if direction == "in" else Prompt.GOODBYE
    if direction == "in" and quarantine is not None:
        # Back home under an order: let them in (home is where they must be), and tell the office they were out.
        alarms.append(Alarm(AlarmKind.QUARANTINE_BREACH, Reason.QUARANTINE_RETURN, holder.subject,
                            {"order_id": quarantine.id, "ends_on": quarantine.ends_on.isoformat()}))
        reasons.append(Reason.QUARANTINE_RETURN)
        prompt = Prompt.QUARANTINE_RETURN
    if direction == "in" and card.kind is not CardKind.VISITOR:
        overdue = _overdue(holder.subject, facts.last_passage, passage.now, s)
        if overdue is not None:
            reasons.append(Reason.OVERDUE_RETURN)
            if not facts.last_passage or not facts.last_passage.overdue_alarmed:  # the sweep raised it already
                alarms.append(overdue)
    return made(Verdict.ADMIT, prompt, reasons, alarms, temperature_c=temperature)


# -- outings -------------------------------------------------------------------


def _overdue(subject: str, last: LastPassage | None, now: datetime, s: PolicySettings) -> Alarm | None:
    if not s.outing.enabled or last is None or last.direction != "out":
        return None
    out_for = now - last.at
    if out_for <= timedelta(hours=s.outing.max_hours_out):
        return None
    return Alarm(AlarmKind.OVERDUE_RETURN, Reason.OVERDUE_RETURN, subject,
                 {"left_at": last.at.isoformat(), "hours_out": round(out_for.total_seconds() / 3600, 1)})


def overdue_returns(outside: Iterable[tuple[str, datetime]], now: datetime, s: PolicySettings) -> list[Alarm]:
    """Alarms for everyone still out longer than the outing rule allows (a periodic sweep).

    ``outside`` holds (subject, left_at) for each holder whose last passage was out.
    """
    alarms = []
    for subject, left_at in outside:
        alarm = _overdue(subject, LastPassage("out", left_at), now, s)
        if alarm is not None:
            alarms.append(alarm)
    return alarms


# -- vehicles ------------------------------------------------------------------


def decide_vehicle(passage: VehiclePassage, s: PolicySettings) -> Decision:
    """Decide a vehicle's passage, from a vehicle card or a typed plate.

    Entering needs disinfection, so a vehicle is never decided on a guessed
    direction when disinfection is required: the verdict is ``ask``.
    """
    facts, check = passage.facts, passage.check
    given = passage.direction is not None and passage.direction_source != "inferred"
    direction, source = _heading(passage.direction, passage.direction_source, facts.last_passage)
    if check is not None:
        denial = _card_problem(check, facts, passage.direction, passage.direction_source)
        if denial is not None:
            return replace(denial, vehicle=True, disinfected=passage.disinfected)
    holder = facts.holder
    plate = holder.plate if holder is not None else facts.plate
    common: dict[str, Any] = dict(holder=holder, vehicle=True, plate=plate, disinfected=passage.disinfected)
    overridden = (Reason.DIRECTION_OVERRIDDEN,) if given else ()
    driven = bool(passage.occupants) or passage.visitor_driver is not None
    if holder is None and not driven:
        return Decision(Verdict.REFER, passage.direction, Prompt.REGISTER_VEHICLE, (Reason.VEHICLE_UNKNOWN, *overridden),
                        direction_source=passage.direction_source, **common)
    # An unknown vehicle whose driver is known (a resident's card, or registered as a visitor) is decided by its driver.
    reasons = (Reason.VEHICLE_KNOWN if holder is not None else Reason.VEHICLE_UNKNOWN, *overridden)
    if direction is None or (not given and s.require_vehicle_disinfection and not passage.disinfected):
        return _ask(holder, reasons, vehicle=True, plate=plate, disinfected=passage.disinfected)
    people = [decide_occupant(o, passage.now, direction, source, s) for o in passage.occupants]
    if passage.visitor_driver is not None:
        people.insert(0, passage.visitor_driver)
    for person in people:
        if person.verdict is not Verdict.ADMIT:  # the same rule as walking: a quarantined driver going out is refused
            return replace(person, reasons=(*reasons, Reason.OCCUPANT_REFUSED, *person.reasons), direction=direction,
                           direction_source=source, **common)
    if passage.occupants:
        reasons = (*reasons, Reason.DRIVER_CHECKED)
    if passage.visitor_driver is not None:
        reasons = (*reasons, Reason.DRIVER_VISITOR)
    if direction == "in" and s.require_vehicle_disinfection and not passage.disinfected:
        return Decision(Verdict.REFER, direction, Prompt.DISINFECT_VEHICLE, (*reasons, Reason.VEHICLE_NOT_DISINFECTED),
                        direction_source=source, **common)
    prompt = Prompt.VEHICLE_ADMIT
    # Admitted people may still raise alarms (home under a quarantine order, back late): the vehicle carries them.
    alarms = tuple(a for person in people for a in person.alarms)
    if any(person.prompt is Prompt.QUARANTINE_RETURN for person in people):
        prompt = Prompt.QUARANTINE_RETURN
    return Decision(Verdict.ADMIT, direction, prompt, reasons, alarms, direction_source=source, **common)


def decide_occupant(occupant: Occupant, now: datetime, direction: Direction | None,
                    source: DirectionSource | None, s: PolicySettings) -> Decision:
    """Decide a person in a vehicle by the walking rules (``decide``), in the vehicle's direction.

    One definition: card checks, revocation, quarantine, the outing rule and a
    visitor pass's window are the walking passage's. Only the temperature is
    not asked for here: the vehicle form takes none for a resident's card.
    """
    return decide(Passage(occupant.check, occupant.facts, now, (), direction, source),
                  s.model_copy(update={"measure_on": []}))


# -- registered visitors -------------------------------------------------------


def decide_visitor(readings: Iterable[Measurement], s: PolicySettings, *, direction: Direction = "in") -> Decision:
    """Decide a visitor the volunteer has just registered, from the temperatures taken at the gate.

    Coming in, a visitor always needs a temperature: the same rules as for
    residents (untrusted or single high readings ask for another; a confirmed
    fever denies and raises the fever alarm). A visitor leaving is not measured.
    """
    reasons = [Reason.VISITOR_REGISTERED]
    common: dict[str, Any] = {"direction_source": "volunteer"}
    temperature = None
    if direction in s.measure_on:
        assessment = assess_temperature(readings, s)
        temperature = assessment.value_c
        status = assessment.status
        if status in (TemperatureStatus.MISSING, TemperatureStatus.UNTRUSTED, TemperatureStatus.FEVER_UNCONFIRMED):
            return Decision(Verdict.REMEASURE, direction, assessment.prompt or Prompt.MEASURE, (*reasons, assessment.reason), temperature_c=temperature, **common)
        if status is TemperatureStatus.NEEDS_HANDHELD:
            return Decision(Verdict.REFER, direction, Prompt.HANDHELD_CHECK, (*reasons, assessment.reason), **common)
        if status is TemperatureStatus.FEVER:
            alarm = Alarm(AlarmKind.FEVER, Reason.FEVER, None, {"temperature_c": temperature, "visitor": True})
            return Decision(Verdict.DENY, direction, Prompt.FEVER, (*reasons, Reason.FEVER), (alarm,), temperature_c=temperature, **common)
        reasons.append(assessment.reason)
    prompt = Prompt.WELCOME_VISITOR if direction == "in" else Prompt.GOODBYE_VISITOR
    return Decision(Verdict.ADMIT, direction, prompt, tuple(reasons), temperature_c=temperature, **common)
