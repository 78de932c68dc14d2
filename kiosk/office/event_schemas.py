"""What each kind of event's ``data`` may hold when it reaches the office: strict, bounded pydantic models.

The sync API checks the envelope (seq, id, gate, kind …) of every event; this
module checks what is inside ``data``, kind by kind, as the gate journals it
(``kiosk/gate/checkpoint.py``, ``passages.py``, ``shifts.py``, ``ledger.py``,
``visitors.py``, ``disinfection.py``, ``visitors_inside.py``). An event whose data does not fit is still stored — the
gate's stream goes on in seq order, exactly once — but flagged for staff
review, and nothing else at the office (alarms, acknowledgements) is changed
by it.

Codes (verdicts, reasons, prompts, alarm kinds, sources) are checked as
codes, not against today's lists: a gate one release ahead of the office must
not have its every passage flagged for a new reason code. So a gate's
``unstaffed_gate`` alarm (kiosk/gate/unstaffed.py) fits as any alarm does. The
one exception is the office's own alarm: a gate that sends ``gate_offline``,
or acknowledges an alarm the office raised (event id ``office:…``), is flagged
— only the office decides that a gate was silent, and that it is back.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

# Everything a client can send that SQLite may store as an integer must fit its 64 bits.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
Id = Annotated[int, Field(ge=0, le=2**62)]  # registry ids, seqs, card ids: never negative, always storable
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,64}$")]
Short = Annotated[str, StringConstraints(max_length=64)]
Text = Annotated[str, StringConstraints(max_length=500)]
Timestamp = Annotated[str, StringConstraints(min_length=10, max_length=40, pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")]
Celsius = Annotated[float, Field(ge=-100, le=1000, allow_inf_nan=False)]
Scalar = Annotated[str, StringConstraints(max_length=200)] | Int64 | Celsius | bool | None
# A decision's or an alarm's ``detail``: what the words on screen need (a date, a card id, a temperature).
Detail = Annotated[dict[Code, Scalar], Field(max_length=32)]
Direction = Literal["in", "out"]

MAX_PROBLEM_CHARS = 300
# Alarms only the office raises (kiosk/office/watch.py), and the prefix of their event ids.
OFFICE_ONLY_ALARMS = frozenset({"gate_offline"})
OFFICE_ALARM_PREFIX = "office:"


class Data(BaseModel):
    """Strict: an unknown key, a wrong type or an out-of-range value is a problem (bool is never a number)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class AlarmData(Data):
    """An alarm as ``Alarm.to_dict()`` gives it (alarm_raised's data, and each of a decision's alarms)."""

    kind: Code
    reason: Code | None = None
    subject: Short | None = None
    detail: Detail = Field(default_factory=dict)

    @model_validator(mode="after")
    def _not_the_offices(self) -> AlarmData:
        if self.kind in OFFICE_ONLY_ALARMS:
            raise ValueError(f"{self.kind} is raised by the office, never by a gate")
        return self


class CardData(Data):
    """The decoded card (``Card.to_dict()``)."""

    version: Annotated[int, Field(ge=0, le=15)]
    kind: Code
    card_id: Annotated[int, Field(ge=0, le=2**32 - 1)]
    subject_id: Annotated[int, Field(ge=0, le=2**32 - 1)]
    valid_from: Timestamp
    valid_until: Timestamp
    kid: Annotated[str, StringConstraints(max_length=16)]


class ReadingData(Data):
    """One temperature reading (``Measurement.to_dict()``)."""

    object_c: Celsius | None = None
    ambient_c: Celsius | None = None
    source: Code
    taken_at: Timestamp | None = None
    fault: Short | None = None
    raw: list[Celsius] = Field(default_factory=list, max_length=256)


class DecisionData(Data):
    """``Decision.to_dict()``: the fields every passage-like event carries."""

    verdict: Code
    direction: Direction | None = None
    direction_source: Code | None = None
    detail: Detail = Field(default_factory=dict)
    prompt: Code | None = None
    reasons: list[Code] = Field(default_factory=list, max_length=32)
    alarms: list[AlarmData] = Field(default_factory=list, max_length=16)
    subject: Short | None = None
    household_id: Id | None = None
    temperature_c: Celsius | None = None
    vehicle: bool = False
    plate: Annotated[str, StringConstraints(max_length=16)] | None = None
    disinfected: bool | None = None


class PassageData(DecisionData):
    """passage and passage_abandoned: the decision, the card, the readings (a handheld follow-up names what it supersedes)."""

    card: CardData | None = None
    readings: list[ReadingData] = Field(default_factory=list, max_length=64)
    supersedes_seq: Id | None = None


class VehicleData(DecisionData):
    """vehicle: the decision and the card, with what the volunteer typed (passengers, driver)."""

    card: CardData | None = None
    readings: list[ReadingData] = Field(default_factory=list, max_length=64)
    passengers: Annotated[int, Field(ge=0, le=100)] | None = None
    driver: Short | None = None
    passenger_subjects: list[Short] = Field(default_factory=list, max_length=16)  # cards scanned on the vehicle form
    visit_ref: Short | None = None  # the driver's visitor registration journaled with it carries the same ref
    supersedes_seq: Id | None = None  # the refused save of the same vehicle this one corrects


class VisitorData(DecisionData):
    """visitor_registration: the ledger row (ID number only protected: masked, and hashed or sealed) and the decision.

    Besides the fields below, a few more short text fields are accepted: the
    protected forms of the ID number (e.g. a sealed copy for the office) are
    text whatever their name.
    """

    model_config = ConfigDict(extra="allow", strict=True)
    __pydantic_extra__: dict[str, Annotated[str, StringConstraints(max_length=4096)]]

    name: Annotated[str, StringConstraints(max_length=64)]
    phone: Annotated[str, StringConstraints(max_length=32)]
    phone_masked: Annotated[str, StringConstraints(max_length=32)] | None = None
    coming_from: Text = ""
    host_household_id: Id | None = None
    reason: Text = ""
    id_hash: Annotated[str, StringConstraints(max_length=128)] | None = None
    id_masked: Annotated[str, StringConstraints(max_length=32)] | None = None
    readings: list[ReadingData] = Field(default_factory=list, max_length=64)
    supersedes_seq: Id | None = None  # a handheld follow-up after a visitor's fever names the registration it replaces

    @model_validator(mode="after")
    def _few_extras(self) -> VisitorData:
        extra = self.__pydantic_extra__ or {}
        if len(extra) > 4:
            raise ValueError(f"at most 4 fields beyond the ledger's, got {len(extra)}")
        bad = next((k for k in extra if not (k.isascii() and k.replace("_", "").isalnum() and len(k) <= 32)), None)
        if bad is not None:
            raise ValueError(f"field names are short codes, got {bad[:40]!r}")
        return self


class MeasurementData(ReadingData):
    """measurement: one reading on its own."""


class AcknowledgementData(Data):
    """alarm_acknowledged: which alarm (by its event id and seq at this gate), the outcome and the volunteer's note."""

    alarm_event_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    alarm_seq: Id | None = None
    kind: Code | None = None
    outcome: Code | None = None
    note: Text = ""
    by: Code | None = None  # "gate": the gate itself answered it (a handheld reading, a registration, a sign-in)

    @model_validator(mode="after")
    def _not_the_offices(self) -> AcknowledgementData:
        if self.alarm_event_id.startswith(OFFICE_ALARM_PREFIX):
            raise ValueError("an alarm the office raised is closed by the office, never by a gate")
        return self


class SignInData(Data):
    """shift_sign_in carries nothing: the volunteer is the event's volunteer_id."""


class SignOutData(Data):
    """shift_sign_out: whom the shift was handed to, if anyone."""

    handed_over_to: Short | None = None


class SensorFaultData(Data):
    """sensor_fault: a part failed (``fault`` set) or recovered (None)."""

    part: Code
    fault: Short | None = None
    detail: Text | None = None


class DisinfectionData(Data):
    """disinfection: a round the volunteer on duty recorded at the gate (kiosk/gate/disinfection.py); area and
    agent are codes (kiosk/disinfection_codes.py) or the community's own words, never empty."""

    area: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"\S")]
    agent: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"\S")]
    note: Text = ""


class GateLeafData(Data):
    """gate_leaf: the gate leaf's reed switch settled open or shut (kiosk/gate/gate_leaf.py), since when, and how
    long a closed leaf had been open."""

    state: Literal["open", "closed"]
    since: Timestamp | None = None
    open_s: Annotated[int, Field(ge=0, le=10 * 365 * 86400)] | None = None


class VisitorExitData(Data):
    """visitor_exit: a visitor inside left (kiosk/gate/visitors_inside.py) — which entry (its seq and id at its gate,
    a registration or a pass's passage), when it began, the masked name, the host household, and how the exit was
    recorded (``list``: the volunteer tapped 离开; ``pass``: the pass was scanned going out)."""

    entry_seq: Id
    entry_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    entry_gate_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    entry_kind: Literal["registration", "pass"]
    entry_ts: Timestamp
    name_masked: Annotated[str, StringConstraints(max_length=64)] = ""
    host_household_id: Id | None = None
    method: Literal["list", "pass"]


SCHEMAS: dict[str, type[Data]] = {
    "passage": PassageData,
    "passage_abandoned": PassageData,
    "vehicle": VehicleData,
    "visitor_registration": VisitorData,
    "measurement": MeasurementData,
    "alarm_raised": AlarmData,
    "alarm_acknowledged": AcknowledgementData,
    "shift_sign_in": SignInData,
    "shift_sign_out": SignOutData,
    "sensor_fault": SensorFaultData,
    "disinfection": DisinfectionData,
    "visitor_exit": VisitorExitData,
    "gate_leaf": GateLeafData,
}


def data_problem(kind: str, data: Any) -> str | None:
    """None when ``data`` fits its kind's schema; else one line (the first problem, and how many in all) for staff."""
    schema = SCHEMAS.get(kind)
    if schema is None:
        return f"kind: no schema for event kind {str(kind)[:40]!r}"
    try:
        # the compiled validator itself, without model_validate's Python wrapper: ingest calls this for every event
        schema.__pydantic_validator__.validate_python(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "data"
        problem = f"data.{where}: {first['msg']}" if where != "data" else f"data: {first['msg']}"
        if exc.error_count() > 1:
            problem += f" (and {exc.error_count() - 1} more)"
        return problem[:MAX_PROBLEM_CHARS]
    return None
