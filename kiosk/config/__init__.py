"""Typed configuration: one pydantic model per section, loaded from ``config.yaml`` (gate) or ``office.yaml`` (office).

Code receives these objects, never raw dicts. Unknown keys and bad values are
refused at start, one line per problem: ``file: key.path: expected …, got …``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.config.gate import GateConfig
from kiosk.config.loader import load_settings, parse_settings
from kiosk.config.policy import OutingRule, PolicySettings

if TYPE_CHECKING:
    from kiosk.config.office import OfficeConfig

__all__ = [
    "GateConfig",
    "OfficeConfig",
    "OutingRule",
    "PolicySettings",
    "load_gate_config",
    "load_office_config",
    "parse_settings",
]


def load_gate_config(path: str | Path = "config.yaml") -> GateConfig:
    """Load and validate a gate's ``config.yaml``."""
    return load_settings(path, GateConfig)


def load_office_config(path: str | Path = "office.yaml") -> OfficeConfig:
    """Load and validate the office's ``office.yaml``."""
    from kiosk.config.office import OfficeConfig

    return load_settings(path, OfficeConfig)


def __getattr__(name: str) -> Any:
    """``OfficeConfig`` on first use: the gate (which imports this package) never builds the office's models."""
    if name == "OfficeConfig":
        from kiosk.config.office import OfficeConfig

        return OfficeConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
