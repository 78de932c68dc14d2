"""Temperature measurements as the policy sees them: what was read, by what, and under which ambient."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class MeasurementSource(str, enum.Enum):
    """Where a temperature came from."""

    SENSOR = "sensor"  # the gate's infrared thermometer
    MANUAL = "manual"  # typed in by the volunteer from a handheld IR gun
    HANDHELD_CONTACT = "handheld_contact"  # a contact (armpit/oral) thermometer: settles a fever


@dataclass(frozen=True)
class Measurement:
    """One temperature reading of a person.

    ``object_c`` is the body-surface estimate after calibration, or ``None``
    when the device had no trustworthy number (fault). ``ambient_c`` is the
    sensor's own die temperature (``None`` for manual entries). ``raw`` keeps
    the individual reads the value was made from, for the ledger.
    """

    object_c: float | None
    ambient_c: float | None = None
    source: MeasurementSource = MeasurementSource.SENSOR
    taken_at: datetime | None = None
    fault: str | None = None
    raw: tuple[float, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        """Plain JSON-ready form for the journal."""
        return {
            "object_c": self.object_c,
            "ambient_c": self.ambient_c,
            "source": self.source.value,
            "taken_at": self.taken_at.isoformat() if self.taken_at else None,
            "fault": self.fault,
            "raw": list(self.raw),
        }
