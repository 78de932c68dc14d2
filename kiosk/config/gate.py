"""The gate's configuration (``config.yaml``): identity, policy, hardware, journal, sync and the screen."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from kiosk.config.base import GateMode, Section, TimeZoneName
from kiosk.config.hardware import (
    CameraSettings,
    DecoderSettings,
    GateLeafSettings,
    ScannerSettings,
    SignalSettings,
    ThermometerSettings,
)
from kiosk.config.policy import PolicySettings
from kiosk.voice.settings import VoiceSettings

_GATE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


class GateSection(Section):
    """Who this gate is and where it keeps its data."""

    id: str
    """Short unique id, e.g. ``north-gate`` (lowercase letters, digits, dashes; ≤ 32)."""
    name: str = ""
    """Name shown on screen, e.g. 北门."""
    timezone: TimeZoneName = "Asia/Shanghai"
    """The community's time zone: card validity dates and the daily ledger use it."""
    data_dir: str = "/var/lib/kiosk"
    """Registry replica and journal live here."""
    mode: GateMode = "two-way"
    """A one-way gate (or lane) always records the same direction; a two-way gate asks or infers it."""
    direction_hold_s: float = Field(60.0, ge=5, le=3600)
    """A volunteer's 进 / 出 choice (or button press) holds this long after the last tap or passage that used it."""
    same_card_window_s: float = Field(10.0, ge=4, le=300)
    """A card seen again within this many seconds of its last sighting continues its passage (never a new one)."""

    @field_validator("id", mode="before")
    @classmethod
    def _gate_id(cls, value):
        if not isinstance(value, str) or not _GATE_ID.match(value):
            raise ValueError("expected lowercase letters, digits and dashes (≤ 32 characters)")
        return value


class JournalSettings(Section):
    """The gate's ledger."""

    retention_days: int = Field(30, ge=1, le=3650)
    """Events the office has acknowledged are purged after this many days; unacknowledged ones never are."""


class SyncSettings(Section):
    """The link to the community office."""

    office_url: str | None = None
    """Office base URL, e.g. https://office.local:8443; none for a stand-alone gate."""
    provisioning_file: str | None = None
    """Written by ``kiosk office add-gate``: token, keyset and CA certificate."""
    interval_s: float = Field(10.0, ge=1, le=3600)
    """How often to send events and pull registry changes."""
    heartbeat_s: float = Field(30.0, ge=5, le=3600)
    allow_plain_http: bool = False
    """Plain HTTP is refused except to localhost unless this is set."""


class GateAlarmSettings(Section):
    """Alarms the gate raises about itself rather than about a passage."""

    unstaffed_after_s: float = Field(600.0, ge=0, le=7 * 86400)
    """Nobody signed in for this long raises the unstaffed-gate alarm (once per spell) and its banner; 0: never."""


def _default_areas() -> list[str]:
    from kiosk.disinfection_codes import AREAS

    return list(AREAS)


def _default_agents() -> list[str]:
    from kiosk.disinfection_codes import AGENTS

    return list(AGENTS)


class DisinfectionSettings(Section):
    """The touchscreen's disinfection round (消杀): the areas and agents offered as buttons (the keyboard for others)."""

    areas: list[str] = Field(default_factory=_default_areas, min_length=1, max_length=12)
    """Where a round is done: codes worded on screen (gate, stairwells, lifts, bins, public_areas, delivery_point) or
    the community's own words, e.g. 3号楼楼道 (each ≤ 64 characters)."""
    agents: list[str] = Field(default_factory=_default_agents, min_length=1, max_length=12)
    """With what: codes (chlorine, alcohol, peracetic_acid, chlorine_dioxide) or the community's own words."""

    @field_validator("areas", "agents")
    @classmethod
    def _choices(cls, value: list[str]) -> list[str]:
        cleaned = [str(v).strip() for v in value]
        if any(not v or len(v) > 64 for v in cleaned):
            raise ValueError("expected each entry as 1-64 characters")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("expected each entry once")
        return cleaned


class VisitorsInsideSettings(Section):
    """Who is still inside (kiosk/gate/visitors_inside.py): how far back an entry counts, and what a long stay is."""

    days: int = Field(7, ge=1, le=31)
    """An entry older than this many days is no longer listed (the office follows it up)."""
    long_stay_h: float = Field(12, gt=0, le=168)
    """A visitor inside longer than this (or since before midnight) is highlighted on the list."""


class VisitorSettings(Section):
    """The visitor form (外来人员登记): what a registration must carry, and how far back a returning visitor is found."""

    host_required: bool = True
    """A visitor is registered only with the household they visit (the server refuses without; the page is told)."""
    known_days: int = Field(90, ge=1, le=3650)
    """A phone typed on the form finds the visitor's last registration here within this many days (within what the
    journal still keeps)."""


class WebSettings(Section):
    """The touchscreen UI and local API."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    """The kiosk browser opens http://127.0.0.1:PORT/; 0 takes any free port (tests, benchmarks)."""
    language: Literal["zh-CN", "en"] = "zh-CN"


class GateConfig(Section):
    """Everything in ``config.yaml``."""

    gate: GateSection
    policy: PolicySettings = Field(default_factory=PolicySettings)
    thermometer: ThermometerSettings = Field(default_factory=ThermometerSettings)
    camera: CameraSettings = Field(default_factory=CameraSettings)
    decoder: DecoderSettings = Field(default_factory=DecoderSettings)
    scanner: ScannerSettings = Field(default_factory=ScannerSettings)
    signals: SignalSettings = Field(default_factory=SignalSettings)
    gate_leaf: GateLeafSettings = Field(default_factory=GateLeafSettings)
    journal: JournalSettings = Field(default_factory=JournalSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    alarms: GateAlarmSettings = Field(default_factory=GateAlarmSettings)
    disinfection: DisinfectionSettings = Field(default_factory=DisinfectionSettings)
    visitors_inside: VisitorsInsideSettings = Field(default_factory=VisitorsInsideSettings)
    visitors: VisitorSettings = Field(default_factory=VisitorSettings)
    voice: VoiceSettings = Field(default_factory=VoiceSettings)
    web: WebSettings = Field(default_factory=WebSettings)
