"""systemd/kiosk-office-backup.service and .timer: systemd accepts them, and they run a real `kiosk office backup`
as the office's user with the office's hardening, every night."""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from kiosk.cli import main
from kiosk.config import load_office_config
from kiosk.office.backup import backup_dir
from tests.test_systemd_units import KIOSK, REPO, UNITS, Unit, seconds

SERVICE = "kiosk-office-backup.service"
TIMER = "kiosk-office-backup.timer"
# Every hardening setting of kiosk-office.service the backup must share (same user, same walls).
HARDENING = ["NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "DevicePolicy",
             "ProtectControlGroups", "ProtectKernelModules", "ProtectKernelLogs", "ProtectKernelTunables",
             "ProtectClock", "ProtectHostname", "ProtectProc", "RestrictSUIDSGID", "RestrictRealtime",
             "RestrictNamespaces", "LockPersonality", "RestrictAddressFamilies", "CapabilityBoundingSet",
             "AmbientCapabilities", "SystemCallArchitectures", "SystemCallFilter", "SystemCallErrorNumber", "UMask",
             "User", "Group", "WorkingDirectory"]


@pytest.fixture
def service() -> Unit:
    return Unit(SERVICE)


@pytest.fixture
def timer() -> Unit:
    return Unit(TIMER)


def test_service_is_a_oneshot_running_a_real_backup_command(service):
    assert service.one("Service", "Type") == "oneshot"
    assert service.values("Service", "Restart") in ([], ["no"]), "a failed backup shows as a failed unit, once"
    argv = shlex.split(service.one("Service", "ExecStart"))
    assert argv[:3] == [KIOSK, "office", "backup"]
    assert argv[argv.index("--config") + 1] == "/etc/kiosk/office.yaml"
    result = CliRunner().invoke(main, ["office", "backup", "--help"])
    assert result.exit_code == 0, result.output
    for word in argv[3:]:
        if word.startswith("--"):
            assert word in result.output
    assert service.one("Service", "TimeoutStartSec") == "2h", "a big office.db on an SD card takes a while"


def test_service_has_the_office_units_user_and_hardening(service):
    office = Unit("kiosk-office.service")
    for key in HARDENING:
        assert service.values("Service", key) == office.values("Service", key), key
    assert service.values("Service", "CapabilityBoundingSet") == []


def test_service_may_write_the_office_data_and_the_default_backup_folder(service):
    config = load_office_config(REPO / "office.yaml")
    writable = service.words("Service", "ReadWritePaths")
    assert config.office.data_dir in writable
    assert config.backup.dir is None and str(backup_dir(config)) in writable
    states = service.words("Service", "StateDirectory")
    assert {"/var/lib/" + s for s in states} == {config.office.data_dir, str(backup_dir(config))}
    assert service.one("Service", "StateDirectoryMode") == "0700", "backups hold the signing key"


def test_timer_runs_the_backup_every_night_and_catches_up(timer):
    assert timer.one("Timer", "OnCalendar") == "*-*-* 02:30"
    assert timer.one("Timer", "Persistent") == "true"
    assert seconds(timer.one("Timer", "RandomizedDelaySec")) == 600
    assert timer.one("Timer", "Unit") == SERVICE
    assert timer.words("Install", "WantedBy") == ["timers.target"]


def test_backup_units_pass_systemd_analyze_verify(tmp_path):
    """systemd's own check, with the venv's kiosk (absent here) replaced by a binary that exists."""
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is part of systemd; install it to verify the units"
    for name in (SERVICE, TIMER):
        (tmp_path / name).write_text((UNITS / name).read_text(encoding="utf-8").replace(KIOSK, "/bin/true"),
                                     encoding="utf-8")
    result = subprocess.run([analyze, "verify", str(tmp_path / SERVICE), str(tmp_path / TIMER)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "kiosk-" not in result.stderr, result.stderr
    calendar = subprocess.run([analyze, "calendar", "*-*-* 02:30"], capture_output=True, text=True, timeout=30)
    assert calendar.returncode == 0 and "02:30:00" in calendar.stdout, calendar.stdout + calendar.stderr
