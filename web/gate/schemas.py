"""Request bodies of the gate's local API: strict, so a wrong body is a 400 with the field named, never a guess.

Each body names its fields for the volunteer in ``field_labels`` (and, where
the generic sentence is poor, a whole sentence in ``field_hints``): the 400
says "请填写姓名。" in the page's language (web/json_api.py, web/common/problems.py).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from kiosk.config.base import Direction
from kiosk.credentials import PIN_PATTERN
from kiosk.gate.passages import ACK_OUTCOMES
from kiosk.gate.visitors import VisitorReason
from kiosk.privacy import normalise_phone, phone_problem_code

# A body temperature anyone could type: outside this it is a typo, not a reading.
Celsius = Annotated[float, Field(ge=25, le=45)]
# Journal seqs and registry ids fit SQLite's integers with room to spare; anything larger is not one of ours.
Seq = Annotated[int, Field(ge=1, le=2**53)]
RegistryId = Annotated[int, Field(ge=0, le=2**53)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class Body(BaseModel):
    """Unknown fields and wrong types are refused (ints are accepted where a float is expected)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    field_labels: ClassVar[dict] = {
        "celsius": _l("Temperature"), "manual_c": _l("Temperature"), "handheld_c": _l("Handheld reading"),
        "temperatures_c": _l("Temperature"), "direction": _l("In or out"), "text": _l("Card code"),
    }
    field_hints: ClassVar[dict] = {}


class ScanIn(Body):
    """As if a code had been scanned (``text`` null: someone without a card)."""

    text: Annotated[str, StringConstraints(max_length=4096)] | None = None
    direction: Direction | None = None
    manual_c: Celsius | None = None
    handheld_c: Celsius | None = None


class ReadingIn(Body):
    """A temperature the volunteer typed for the passage waiting on screen."""

    celsius: Celsius
    source: Literal["manual", "handheld_contact"] = "manual"


def _phone(value: str) -> str:
    """A phone as the journal keeps it (digits only), or a value error (the 400 names the field)."""
    if not value:
        raise PydanticCustomError("missing", "the phone number is missing")
    problem = phone_problem_code(value)
    if problem is not None:
        raise PydanticCustomError("phone_" + problem, "not a phone number: digits only, a mobile has 11")
    return normalise_phone(value)


class VehicleIn(Body):
    """A vehicle at the gate: a plate typed on the plate keyboard, or a scanned vehicle card."""

    field_labels: ClassVar[dict] = {"plate": _l("Plate number"), "passengers": _l("Passengers"),
                                    "driver": _l("Driver"), "disinfected": _l("Disinfected"),
                                    "visitor_name": _l("Driver's name"), "visitor_phone": _l("Driver's phone number"),
                                    "visitor_host_household_id": _l("Host household"),
                                    "visitor_reason": _l("Reason"), "visitor_from": _l("Coming from")}
    field_hints: ClassVar[dict] = {
        ("visitor_phone", "*"): _l("The phone number is not valid: type digits only (a mobile number has 11)."),
        ("temperatures_c", "too_small"): _l("The temperature must be between 25 and 45 °C: measure again."),
        ("temperatures_c", "too_large"): _l("The temperature must be between 25 and 45 °C: measure again."),
    }

    plate: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=10)] | None = None
    text: Annotated[str, StringConstraints(max_length=4096)] | None = None
    disinfected: bool = False
    passengers: int = Field(0, ge=0, le=60)
    driver: Annotated[str, StringConstraints(max_length=64)] | None = None
    """The subject of the driver's card scanned on the form (the gate holds the card: POST /vehicle/form)."""
    direction: Direction | None = None
    supersedes_seq: Seq | None = None
    """The refused save this one corrects (e.g. 已消毒，放行 after 请先给车辆消毒)."""
    # A driver with no card, registered as a visitor on the form (the visitor form's rules: kiosk/gate/visitors.py).
    visitor_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] | None = None
    visitor_phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=24), AfterValidator(_phone)] | None = None
    visitor_from: Text = ""
    visitor_host_household_id: RegistryId | None = None
    visitor_reason: VisitorReason | None = None
    temperatures_c: list[Celsius] = Field(default_factory=list, max_length=6)
    """The visitor driver's temperatures so far (``remeasure`` in the answer asks for one more)."""
    source: Literal["sensor", "manual", "handheld_contact"] = "manual"


class VehicleFormIn(Body):
    """The vehicle form opened (and renewed every 10 s while on screen) or closed: while open, cards are its people."""

    open: bool
    direction: Direction | None = None
    fresh: bool = False
    """A new vehicle: forget the cards scanned on the form before."""


class VisitorIn(Body):
    """An outsider registered at the gate (外来人员登记)."""

    field_labels: ClassVar[dict] = {
        "name": _l("Name"), "phone": _l("Phone number"), "id_number": _l("ID number"),
        "coming_from": _l("Coming from"), "host_household_id": _l("Host household"), "reason": _l("Reason"),
    }
    field_hints: ClassVar[dict] = {
        ("phone", "*"): _l("The phone number is not valid: type digits only (a mobile number has 11)."),
        ("temperatures_c", "too_small"): _l("The temperature must be between 25 and 45 °C: measure again."),
        ("temperatures_c", "too_large"): _l("The temperature must be between 25 and 45 °C: measure again."),
    }

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=24), AfterValidator(_phone)]
    """Digits once separators are gone, 5–15 of them, a mobile (1…) 11: kiosk.privacy's rule, also in GET /rules."""
    id_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=18)] | None = None
    coming_from: Text = ""
    host_household_id: RegistryId | None = None
    reason: VisitorReason | None = None
    """A code (GET /rules lists them as ``visitor_reasons``), never the words on the button."""
    temperatures_c: list[Celsius] = Field(default_factory=list, max_length=6)
    source: Literal["sensor", "manual", "handheld_contact"] = "manual"
    direction: Direction = "in"
    alarm_seq: Seq | None = None
    """The unknown-visitor alarm the walk-up raised: the registration closes it."""
    known_seq: Seq | None = None
    """A returning visitor: the earlier registration the form was filled from (GET /visitors/known); the gate takes
    the full name from it when ``name`` is still its masked form."""


class DirectionIn(Body):
    """The volunteer's 进 / 出 choice (null clears it)."""

    direction: Direction | None
    hold: bool = True
    """False for the answer to 进还是出?: that person only, not the next ones."""


class SignInIn(Body):
    """A volunteer's sign-in."""

    field_labels: ClassVar[dict] = {"volunteer_id": _l("Volunteer"), "pin": _l("PIN")}
    field_hints: ClassVar[dict] = {("pin", "*"): _l("The PIN is 4 to 8 digits.")}

    volunteer_id: RegistryId
    pin: Annotated[str, StringConstraints(pattern=PIN_PATTERN)]


class AcknowledgeIn(Body):
    """The volunteer on duty has dealt with an alarm."""

    field_labels: ClassVar[dict] = {"note": _l("Note"), "outcome": _l("What was done")}

    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""
    outcome: Literal[ACK_OUTCOMES] | None = None  # type: ignore[valid-type]
    """A quick outcome (已复测正常 …); a note, the outcome, or both."""


class SimulationIn(Body):
    """The simulation panel: who stands at the thermometer, and whether it is faulty."""

    person_c: Celsius | None = None
    thermometer_fault: bool = False
    card: Annotated[str, StringConstraints(max_length=80)] | None = None
    """Hold this card image up to the camera (a name from GET /simulation)."""
    gate_open: bool = False
    """Swing the gate leaf open (true) or shut (false), when a reed switch is configured."""
    voice_muted: bool = False
    """The panel's mute: the fake loudspeaker plays (and records) nothing while set."""
