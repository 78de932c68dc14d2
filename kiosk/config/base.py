"""Building blocks shared by every config section: a strict base model and the constrained value types."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError

# The one definition of a passage's direction and of a gate's mode (config, policy, API and page all use these).
Direction = Literal["in", "out"]
"""Which way someone passes: into the compound or out of it."""
GateMode = Literal["two-way", "in-only", "out-only"]
"""A two-way gate, or a lane that only lets people in (or out)."""
Lane = Direction | None
"""A camera or scanner that serves one direction only (a gate with separate lanes), or None for both."""


class Section(BaseModel):
    """A config section: unknown keys are errors, values are checked on assignment and frozen after load."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, use_attribute_docstrings=True)


def _shown(value: Any) -> str:
    # Same rendering as the loader's messages: strings in double quotes, Chinese kept readable.
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _i2c_address(value: Any) -> int:
    # YAML 1.2 reads 0x5a as an int; a quoted "0x5a" arrives as a string, which people also write.
    if isinstance(value, str):
        try:
            value = int(value, 0)
        except ValueError:
            raise PydanticCustomError("i2c_address", "expected an I2C address 0x03-0x77, got {got}",
                                      {"got": _shown(value)}) from None
    if isinstance(value, bool) or not isinstance(value, int) or not 0x03 <= value <= 0x77:
        got = f"0x{value:02x}" if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else _shown(value)
        raise PydanticCustomError("i2c_address", "expected an I2C address 0x03-0x77, got {got}", {"got": got})
    return value


def _gpio_pin(value: Any) -> Any:
    # gpiozero accepts BCM numbers ("17"), "GPIO17", "BCM17" or physical "BOARD11" names.
    if value is None:
        return None
    if isinstance(value, bool):
        raise PydanticCustomError("gpio_pin", "expected a GPIO pin (BCM number 0-27 or a name like GPIO17), got {got}", {"got": _shown(value)})
    if isinstance(value, int):
        if 0 <= value <= 27:
            return value
    elif isinstance(value, str) and value.strip():
        name = value.strip().upper()
        for prefix in ("GPIO", "BCM"):
            if name.startswith(prefix) and name[len(prefix):].isdigit() and 0 <= int(name[len(prefix):]) <= 27:
                return name
        if name.startswith("BOARD") and name[5:].isdigit() and 1 <= int(name[5:]) <= 40:
            return name
    raise PydanticCustomError("gpio_pin", "expected a GPIO pin (BCM number 0-27 or a name like GPIO17), got {got}", {"got": _shown(value)})


def _timezone(value: Any) -> str:
    if isinstance(value, str):
        try:
            ZoneInfo(value)
            return value
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise PydanticCustomError("timezone", "expected an IANA time zone such as Asia/Shanghai, got {got}", {"got": _shown(value)})


I2CAddress = Annotated[int, BeforeValidator(_i2c_address)]
"""A 7-bit I2C address outside the reserved ranges (0x03-0x77)."""

GPIOPin = Annotated[int | str | None, BeforeValidator(_gpio_pin)]
"""A GPIO pin as gpiozero names it, or None when the part is not fitted."""

TimeZoneName = Annotated[str, BeforeValidator(_timezone)]
"""An IANA time zone name, checked against the zoneinfo database."""
