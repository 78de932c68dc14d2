"""Typed configuration: one pydantic model per section, loaded from ``config.yaml`` (gate) or ``office.yaml`` (office).

Code receives these objects, never raw dicts. Unknown keys and bad values are
refused at start, one line per problem: ``file: key.path: expected …, got …``.
"""

from __future__ import annotations

from pathlib import Path

from kiosk.config.gate import GateConfig
from kiosk.config.loader import load_settings, parse_settings
from kiosk.config.office import OfficeConfig
from kiosk.config.policy import OutingRule, PolicySettings

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
    return load_settings(path, OfficeConfig)
