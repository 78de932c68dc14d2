"""The office's configuration (``office.yaml``)."""

from __future__ import annotations

from pydantic import Field, model_validator

from kiosk.config.base import Section, TimeZoneName


class OfficeSection(Section):
    """The community office server."""

    name: str = ""
    """Shown on reports, e.g. 昆吾社区居委会."""
    timezone: TimeZoneName = "Asia/Shanghai"
    data_dir: str = "/var/lib/kiosk-office"
    """The office database lives here."""
    keys_dir: str = "/var/lib/kiosk-office/keys"
    """The card-signing key (mode 0600) and the public keyset gates trust."""


class ServerSettings(Section):
    """Where the sync API listens."""

    host: str = "0.0.0.0"
    port: int = Field(8443, ge=1, le=65535)
    tls_cert: str | None = None
    """PEM server certificate (``kiosk office tls-init`` makes one); without it the API is plain HTTP."""
    tls_key: str | None = None
    """The server certificate's private key."""
    tls_ca: str | None = None
    """The CA certificate gates trust; copied into each provisioning file."""
    public_url: str | None = None
    """The address gates use to reach this office, e.g. http://192.168.1.10:8443 (written into provisioning files)."""
    idle_timeout_s: float = Field(15.0, ge=1.0, le=600.0)
    """A connection that sends no complete request for this long is closed (idle, slow headers, TLS handshake)."""
    body_timeout_s: float = Field(30.0, ge=1.0, le=600.0)
    """A request body must arrive within this; a slower one is answered 408."""
    max_streams: int = Field(500, ge=1, le=10000)
    """Open live-event streams (staff pages) in all; beyond it a new one is answered 503."""
    max_streams_per_token: int = Field(16, ge=1, le=1000)
    """Open live-event streams per staff token (a person's browser tabs)."""
    check_processes: int | None = Field(None, ge=0, le=16)
    """Processes that check the gates' batches beside the serving one (web/office/batch_check.py), so checking
    uses another core; 0: check in the serving threads; unset: one on a machine with two cores or more."""

    @model_validator(mode="after")
    def _tls_pair(self) -> ServerSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("expected tls_cert and tls_key together (or neither)")
        return self


class RegistrySettings(Section):
    """Defaults the office applies when it changes the registry."""

    card_validity_days: int = Field(365, ge=1, le=3650)
    quarantine_days: int = Field(14, ge=1, le=60)
    """Home-quarantine length (居家隔离) when an order is added without an end date."""


class OfficeAlarmSettings(Section):
    """Alarms the office raises itself (no gate can: a silent gate says nothing)."""

    offline_after_s: float = Field(120.0, ge=0, le=7 * 86400)
    """A gate heard from neither by heartbeat nor by events for this long raises the gate-offline alarm; 0: never."""
    check_every_s: float = Field(10.0, ge=0.1, le=600)
    """How often the office looks for silent gates (and for silent gates heard again)."""


class FollowupSettings(Section):
    """The office's follow-up work: home-quarantine checks and disinfection rounds."""

    quarantine_check_deadlines: list[str] = Field(default_factory=lambda: ["12:00", "20:00"], min_length=1,
                                                  max_length=6)
    """Local times (HH:MM, ascending) by which each day's temperature checks of a person in home quarantine are due:
    one check per deadline (twice a day by default); a check not recorded by its deadline is flagged on the desk."""
    disinfection_rounds_per_day: int = Field(2, ge=1, le=12)
    """Disinfection rounds (消杀) each compound needs a day; the desk flags a compound with fewer."""

    @model_validator(mode="after")
    def _deadlines(self) -> FollowupSettings:
        import re

        if any(not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", t) for t in self.quarantine_check_deadlines):
            raise ValueError("expected quarantine_check_deadlines as HH:MM times, e.g. [\"12:00\", \"20:00\"]")
        if sorted(set(self.quarantine_check_deadlines)) != self.quarantine_check_deadlines:
            raise ValueError("expected quarantine_check_deadlines in ascending order, each once")
        return self


class BackupSettings(Section):
    """The nightly backup of the office (``kiosk office backup``, kiosk-office-backup.timer; docs/backup.md)."""

    dir: str | None = None
    """Where backups go, one folder per run: best a second disk or a USB disk (not inside data_dir or keys_dir).
    null: the folder next to data_dir named ``<data_dir>-backups`` (/var/lib/kiosk-office-backups by default)."""
    keep_daily: int = Field(7, ge=0, le=366)
    """Keep the newest backup of each of the last this many days that have one."""
    keep_weekly: int = Field(4, ge=0, le=260)
    """… of each of the last this many weeks."""
    keep_monthly: int = Field(6, ge=0, le=120)
    """… of each of the last this many months. The newest good backup is always kept."""


class OfficeConfig(Section):
    """Everything in ``office.yaml``."""

    office: OfficeSection = Field(default_factory=OfficeSection)
    server: ServerSettings = Field(default_factory=ServerSettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    alarms: OfficeAlarmSettings = Field(default_factory=OfficeAlarmSettings)
    followup: FollowupSettings = Field(default_factory=FollowupSettings)
    backup: BackupSettings = Field(default_factory=BackupSettings)
