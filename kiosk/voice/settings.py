"""The ``voice`` section of the gate's config.yaml: on or off, where it plays, how loud, which prompts, and night.

Night is decided by the gate's own clock in its time zone (``gate.timezone``):
between ``night_from`` and ``night_until`` the prompts play at
``night_volume`` (0: the gate is silent at night, the fever prompt too —
the screen, the lights and the buzzer still show everything).
"""

from __future__ import annotations

import re
from datetime import datetime, time

from pydantic import Field, field_validator

from kiosk.config.base import Section
from kiosk.voice.prompts import NAMES

_CLOCK = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")
_DEVICE = re.compile(r"^[A-Za-z0-9_:,=./-]{1,80}$")


def _default_prompts() -> list[str]:
    # The mask reminder is the community's choice (it follows each greeting when listed); the rest speak by default.
    return [n for n in NAMES if n != "wear_mask"]


class VoiceSettings(Section):
    """The gate's spoken prompts (played through ALSA; made by ``kiosk voice render``)."""

    enabled: bool = True
    """Speak at the key moments of a passage; false: the gate is silent."""
    device: str = "default"
    """The ALSA device ``aplay -D`` plays to, e.g. default, plughw:1,0 (a USB speaker); ``aplay -L`` lists them."""
    volume: int = Field(80, ge=0, le=100)
    """Loudness by day, 0-100 (the samples are scaled; the system mixer is left as it is)."""
    prompts: list[str] = Field(default_factory=_default_prompts, max_length=32)
    """Which prompts play (``kiosk voice list`` shows them); one left out is simply not said."""
    night_from: str = "22:00"
    """Night starts at this local time (HH:MM) ..."""
    night_until: str = "06:00"
    """... and ends at this one; the same time twice: no night."""
    night_volume: int = Field(30, ge=0, le=100)
    """Loudness at night, 0-100; 0: silent at night."""
    prompts_dir: str | None = None
    """The rendered WAV files and their manifest; none: DATA_DIR/voice (rendered there at start if missing)."""

    @field_validator("prompts")
    @classmethod
    def _known_prompts(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in NAMES]
        if unknown:
            raise ValueError(f"unknown prompt {', '.join(map(str, unknown))} (known: {', '.join(NAMES)})")
        if len(set(value)) != len(value):
            raise ValueError("expected each prompt once")
        return value

    @field_validator("night_from", "night_until")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not isinstance(value, str) or not _CLOCK.match(value):
            raise ValueError("expected a time of day as HH:MM, e.g. 22:00")
        return value

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not isinstance(value, str) or not _DEVICE.match(value):
            raise ValueError("expected an ALSA device name such as default or plughw:1,0")
        return value

    def is_night(self, local: datetime | time) -> bool:
        """True when ``local`` (the gate's local time) falls in the night window."""
        at = local.time() if isinstance(local, datetime) else local
        start, end = _parse(self.night_from), _parse(self.night_until)
        if start == end:
            return False
        if start < end:
            return start <= at < end
        return at >= start or at < end  # the window crosses midnight

    def volume_at(self, local: datetime | time) -> int:
        """The loudness to play at ``local`` (the gate's local time)."""
        return self.night_volume if self.is_night(local) else self.volume


def _parse(clock: str) -> time:
    hours, minutes = clock.split(":")
    return time(int(hours), int(minutes))
