"""Config section ``policy``: the rules the gate decides by."""

from __future__ import annotations

from pydantic import Field, model_validator

from kiosk.config.base import Direction, Section


class OutingRule(Section):
    """Household outing limits some communities impose (e.g. one person per household every two days)."""

    enabled: bool = False
    """Off by default; most communities do not limit outings."""
    max_outings: int = Field(1, ge=1, le=50)
    """How many exits one household may make within ``period_days``."""
    period_days: int = Field(2, ge=1, le=30)
    """The rolling window the exits are counted in."""
    max_hours_out: float = Field(2.0, gt=0, le=72)
    """Someone out longer than this raises an overdue-return alarm."""


class PolicySettings(Section):
    """Thresholds and switches of the decision policy."""

    fever_threshold_c: float = Field(37.3, ge=36.0, le=40.0)
    """At or above this a reading is a fever (37.3 °C by national guidance)."""
    plausible_floor_c: float = Field(35.0, ge=30.0, le=36.5)
    """Below this a forehead reading is not trusted (cold foreheads read low outdoors): re-measure."""
    plausible_ceiling_c: float = Field(42.5, ge=40.0, le=45.0)
    """Above this a reading is not a human forehead (sun-heated sensor, hot drink): re-measure."""
    ambient_min_c: float = Field(0.0, ge=-40.0, le=30.0)
    """Below this ambient the thermometer is outside its rated accuracy: re-measure (move into shelter)."""
    ambient_max_c: float = Field(50.0, ge=20.0, le=85.0)
    """Above this ambient the thermometer is outside its rated accuracy."""
    fever_readings_to_confirm: int = Field(2, ge=1, le=5)
    """Consecutive readings at or above the threshold before the gate denies and raises the fever alarm."""
    max_remeasure: int = Field(3, ge=1, le=10)
    """After this many untrustworthy readings, hand over to the volunteer's handheld thermometer."""
    measure_on: list[Direction] = Field(default_factory=lambda: list[Direction](["in"]))
    """Directions in which a temperature is required (entering only, by default)."""
    alarm_on_unknown_visitor: bool = True
    """Raise an alarm when someone without a card (or with a foreign QR code) comes to the gate."""
    require_vehicle_disinfection: bool = True
    """A vehicle entering must be marked disinfected, or it is referred to the volunteer."""
    outing: OutingRule = Field(default_factory=OutingRule)
    """Household outing limits (off by default)."""

    @model_validator(mode="after")
    def _ranges_make_sense(self) -> PolicySettings:
        if self.ambient_min_c >= self.ambient_max_c:
            raise ValueError("expected ambient_min_c below ambient_max_c")
        if self.plausible_floor_c >= self.fever_threshold_c:
            raise ValueError("expected plausible_floor_c below fever_threshold_c")
        return self
