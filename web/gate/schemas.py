"""Request bodies of the gate's local API: strict, so a wrong body is a 400 with the field named, never a guess."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from kiosk.config.base import Direction
from kiosk.credentials import PIN_PATTERN
from kiosk.gate.passages import ACK_OUTCOMES
from kiosk.gate.visitors import VisitorReason

# A body temperature anyone could type: outside this it is a typo, not a reading.
Celsius = Annotated[float, Field(ge=25, le=45)]
# Journal seqs and registry ids fit SQLite's integers with room to spare; anything larger is not one of ours.
Seq = Annotated[int, Field(ge=1, le=2**53)]
RegistryId = Annotated[int, Field(ge=0, le=2**53)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class Body(BaseModel):
    """Unknown fields and wrong types are refused (ints are accepted where a float is expected)."""

    model_config = ConfigDict(extra="forbid", strict=True)


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


class VehicleIn(Body):
    """A vehicle at the gate: a plate typed on the plate keyboard, or a scanned vehicle card."""

    plate: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=10)] | None = None
    text: Annotated[str, StringConstraints(max_length=4096)] | None = None
    disinfected: bool = False
    passengers: int = Field(0, ge=0, le=60)
    driver: Annotated[str, StringConstraints(max_length=64)] | None = None
    direction: Direction | None = None


class VisitorIn(Body):
    """An outsider registered at the gate (外来人员登记)."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    phone: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 -]{5,20}$")]
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


class DirectionIn(Body):
    """The volunteer's 进 / 出 choice (null clears it)."""

    direction: Direction | None
    hold: bool = True
    """False for the answer to 进还是出?: that person only, not the next ones."""


class SignInIn(Body):
    """A volunteer's sign-in."""

    volunteer_id: RegistryId
    pin: Annotated[str, StringConstraints(pattern=PIN_PATTERN)]


class AcknowledgeIn(Body):
    """The volunteer on duty has dealt with an alarm."""

    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""
    outcome: Literal[ACK_OUTCOMES] | None = None  # type: ignore[valid-type]
    """A quick outcome (已复测正常 …); a note, the outcome, or both."""


class SimulationIn(Body):
    """The simulation panel: who stands at the thermometer, and whether it is faulty."""

    person_c: Celsius | None = None
    thermometer_fault: bool = False
    card: Annotated[str, StringConstraints(max_length=80)] | None = None
    """Hold this card image up to the camera (a name from GET /simulation)."""
