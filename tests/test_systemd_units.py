"""The systemd units in systemd/: well-formed, and they start commands and options the ``kiosk`` CLI really has.

systemd allows a key more than once in a section (each ExecStartPre= adds a
command, an empty value resets a list), which configparser refuses in strict
mode and silently collapses otherwise — so the units are read with the small
parser below, and configparser (strict=False) only confirms the sections.
"""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from kiosk.cli import main
from kiosk.config import load_gate_config, load_office_config

REPO = Path(__file__).resolve().parent.parent
UNITS = REPO / "systemd"
CURRENT = "/opt/kiosk/current"  # the running release (the install layout; kiosk/install.py)
KIOSK = CURRENT + "/.venv/bin/kiosk"
GATE_URL = "http://127.0.0.1:8080/"
STATUS_URL = "http://127.0.0.1:8080/api/v1/status"
ALL_UNITS = ["kiosk-gate.service", "kiosk-office.service", "kiosk-browser.service", "kiosk-screen.service"]
BROWSER_UNITS = ["kiosk-browser.service", "kiosk-screen.service"]  # labwc user unit, cage system unit
SERVER_UNITS = {  # unit → (CLI path after the binary, config file)
    "kiosk-gate.service": (["run"], "/etc/kiosk/config.yaml"),
    "kiosk-office.service": (["office", "serve"], "/etc/kiosk/office.yaml"),
}
CHROMIUM_FLAGS = [
    "--kiosk", "--noerrdialogs", "--disable-infobars", "--no-first-run", "--disable-session-crashed-bubble",
    "--disable-pinch", "--overscroll-history-navigation=0", "--disable-background-networking",
    "--disable-component-update", "--check-for-update-interval=31536000", "--incognito", "--touch-events=enabled",
    "--ozone-platform-hint=auto",
]


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """Sections of a unit file → their (key, value) pairs in order, repeated keys kept; backslash continues a line."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    pending = ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not pending and (not line or line[0] in "#;"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"line {number}: not `Key=value` inside a [Section]: {raw!r}"
        current.append((key.strip(), value.strip()))
    return sections


class Unit:
    def __init__(self, name: str):
        self.name = name
        self.text = (UNITS / name).read_text(encoding="utf-8")
        self.sections = parse_unit(self.text)

    def values(self, section: str, key: str) -> list[str]:
        """Every value of a key, honouring systemd's rule that an empty assignment resets the list."""
        found: list[str] = []
        for k, v in self.sections.get(section, []):
            if k == key:
                found = [] if v == "" else found + [v]
        return found

    def one(self, section: str, key: str) -> str:
        values = self.values(section, key)
        assert len(values) == 1, f"{self.name}: [{section}] {key}= expected once, got {values}"
        return values[0]

    def words(self, section: str, key: str) -> list[str]:
        """Space-separated list settings (SupplementaryGroups=, WantedBy= …), all assignments joined."""
        return [word for value in self.values(section, key) for word in value.split()]

    def command(self, key: str) -> list[str]:
        """The argv of a single Exec*= line, without systemd's -@:+! prefixes."""
        argv = shlex.split(self.one("Service", key))
        argv[0] = argv[0].lstrip("-@:+!")
        return argv


@pytest.fixture(params=ALL_UNITS)
def unit(request) -> Unit:
    return Unit(request.param)


@pytest.fixture
def gate() -> Unit:
    return Unit("kiosk-gate.service")


@pytest.fixture
def office() -> Unit:
    return Unit("kiosk-office.service")


@pytest.fixture
def browser() -> Unit:
    return Unit("kiosk-browser.service")


def seconds(value: str) -> float:
    """A systemd time span as used here: plain seconds, or with an s / min suffix."""
    value = value.strip()
    for suffix, factor in (("min", 60), ("s", 1)):
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * factor
    return float(value)


# -- every unit ---------------------------------------------------------------


def test_unit_has_the_three_sections(unit):
    assert {"Unit", "Service", "Install"} <= set(unit.sections), unit.name
    assert unit.values("Unit", "Description"), unit.name
    assert unit.words("Install", "WantedBy"), unit.name


def test_configparser_reads_the_same_sections(unit):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(unit.text)
    assert set(parser.sections()) == set(unit.sections)
    assert parser.get("Service", "ExecStart") == unit.one("Service", "ExecStart")


def test_unit_restarts_forever(unit):
    # The servers say when they are ready (test_server_unit_is_notify_with_a_watchdog); the browser is simple.
    assert unit.one("Service", "Type") == ("simple" if unit.name in BROWSER_UNITS else "notify")
    assert unit.one("Service", "Restart") == "always"
    assert unit.one("Unit", "StartLimitIntervalSec") == "0", "an unattended gate must never stop retrying"


def test_parser_keeps_repeated_keys_and_resets_on_empty():
    sections = parse_unit("[Service]\nEnvironment=A=1\nEnvironment=B=2\n# c\nExecStart=/bin/x \\\n  --y\n")
    assert sections["Service"] == [("Environment", "A=1"), ("Environment", "B=2"), ("ExecStart", "/bin/x  --y")]
    unit = Unit.__new__(Unit)
    unit.name, unit.sections = "t", parse_unit("[Service]\nX=a\nX=\nX=b\n")
    assert unit.values("Service", "X") == ["b"]


# -- gate and office: the commands they start exist ----------------------------


@pytest.mark.parametrize("name", sorted(SERVER_UNITS))
def test_server_unit_starts_a_real_cli_command_with_real_options(name):
    path, config_file = SERVER_UNITS[name]
    argv = Unit(name).command("ExecStart")
    assert argv[0] == KIOSK
    words = argv[1:]
    command = []
    while words and not words[0].startswith("-"):
        command.append(words.pop(0))
    assert command == path
    assert words[words.index("--config") + 1] == config_file

    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    for word in words:
        if word.startswith("--"):
            option = word.split("=", 1)[0]
            assert option in result.output, f"{name}: `kiosk {' '.join(command)}` has no {option}"


@pytest.mark.parametrize("name, user, state", [("kiosk-gate.service", "kiosk", "kiosk"),
                                               ("kiosk-office.service", "kiosk-office", "kiosk-office")])
def test_server_unit_runs_as_its_user_with_its_state_and_hardening(name, user, state):
    unit = Unit(name)
    assert unit.one("Service", "User") == user
    assert unit.one("Service", "WorkingDirectory") == CURRENT
    assert unit.one("Service", "StateDirectory") == state
    assert f"/var/lib/{state}" in unit.words("Service", "ReadWritePaths")
    assert unit.one("Service", "ProtectSystem") == "strict"
    for key in ("NoNewPrivileges", "PrivateTmp", "ProtectHome"):
        assert unit.one("Service", key) == "yes", f"{name}: {key}"
    assert unit.values("Service", "CapabilityBoundingSet") == [], f"{name}: no capabilities at all"
    assert unit.one("Service", "KillSignal") == "SIGTERM"
    assert 0 < seconds(unit.one("Service", "TimeoutStopSec")) <= 60
    assert unit.words("Install", "WantedBy") == ["multi-user.target"]


def test_gate_stops_cleanly_on_sigterm_within_its_timeout(gate):
    assert gate.command("ExecStart")[1] == "run"
    assert gate.one("Service", "KillSignal") == "SIGTERM"
    assert seconds(gate.one("Service", "TimeoutStopSec")) == 15
    assert seconds(gate.one("Service", "RestartSec")) == 2


@pytest.mark.parametrize("name, watchdog_s", [("kiosk-gate.service", 30), ("kiosk-office.service", 60)])
def test_server_unit_is_notify_with_a_watchdog(name, watchdog_s):
    unit = Unit(name)
    # READY=1 and WATCHDOG=1 come from the main process (kiosk/service_notify.py), never from a child.
    assert unit.one("Service", "Type") == "notify"
    assert unit.one("Service", "NotifyAccess") == "main"
    assert seconds(unit.one("Service", "WatchdogSec")) == watchdog_s
    # The keep-alive goes out at half the timeout, and a check's own bound (≤ 5 s) fits well inside that half.
    assert watchdog_s / 2 >= 3 * 5
    # A Pi's start (databases, camera, web app) is covered; READY=1 comes only once it serves.
    assert seconds(unit.one("Service", "TimeoutStartSec")) == 90
    assert unit.one("Service", "Restart") == "always"
    # The notify socket is AF_UNIX: it must stay allowed.
    assert "AF_UNIX" in unit.words("Service", "RestrictAddressFamilies")


def test_units_pass_systemd_analyze_verify(tmp_path):
    """systemd's own check, with the venv's kiosk (absent here) replaced by a binary that exists."""
    import shutil
    import subprocess

    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is part of systemd; install it to verify the units"
    names = ("kiosk-gate.service", "kiosk-office.service", "kiosk-screen.service")
    for name in names:
        text = (UNITS / name).read_text(encoding="utf-8").replace(KIOSK, "/bin/true")
        # The screen's programs (cage, chromium, curl) are not on this machine: verify checks that ExecStart= exists.
        for program in ("/usr/bin/cage", "/usr/bin/curl", "/usr/bin/timeout"):
            text = text.replace(program + " ", "/bin/true ")
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = subprocess.run([analyze, "verify", *(str(tmp_path / n) for n in names)],
                            capture_output=True, text=True, timeout=60)
    # User=kiosk-screen / SupplementaryGroups= of users this machine lacks are resolved at start, not by verify.
    assert result.returncode == 0 and "kiosk-" not in result.stderr, result.stderr


def test_browser_user_unit_passes_systemd_analyze_verify(tmp_path):
    """The labwc browser is a user unit: verified by a user manager, with an XDG_RUNTIME_DIR for its %t."""
    import os
    import shutil
    import subprocess

    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is part of systemd; install it to verify the units"
    text = (UNITS / "kiosk-browser.service").read_text(encoding="utf-8")
    for program in ("/usr/bin/chromium", "/usr/bin/timeout"):
        text = text.replace(program + " ", "/bin/true ")
    (tmp_path / "kiosk-browser.service").write_text(text, encoding="utf-8")
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    result = subprocess.run([analyze, "--user", "verify", str(tmp_path / "kiosk-browser.service")],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)})
    assert result.returncode == 0 and "kiosk-" not in result.stderr, result.stderr


def test_gate_keeps_its_devices(gate):
    assert set(gate.words("Service", "SupplementaryGroups")) >= {"gpio", "i2c", "video"}
    # Any of these would hide /dev/gpiochip*, /dev/i2c-*, /dev/video*, /dev/dma_heap, /dev/vchiq.
    assert gate.values("Service", "PrivateDevices") in ([], ["no"])
    assert gate.values("Service", "DevicePolicy") in ([], ["auto"])
    assert gate.values("Service", "DeviceAllow") == []
    assert gate.values("Service", "ProtectClock") in ([], ["no"]), "may imply DeviceAllow=char-rtc, closing the rest"
    # lgpio writes its notify pipes into LG_WD (else the read-only working directory).
    runtime = gate.one("Service", "RuntimeDirectory")
    assert f"LG_WD=/run/{runtime}" in gate.words("Service", "Environment")


def test_office_has_no_devices(office):
    assert office.one("Service", "PrivateDevices") == "yes"
    assert not set(office.words("Service", "SupplementaryGroups")) & {"gpio", "i2c", "video"}


def test_state_directories_match_the_shipped_configs(gate, office):
    config = load_gate_config(REPO / "config.yaml")
    assert config.gate.data_dir == "/var/lib/" + gate.one("Service", "StateDirectory")
    assert f"http://{config.web.host}:{config.web.port}/" == GATE_URL
    office_config = load_office_config(REPO / "office.yaml")
    assert office_config.office.data_dir == "/var/lib/" + office.one("Service", "StateDirectory")
    assert office_config.office.keys_dir.startswith(office_config.office.data_dir + "/")


# -- browser --------------------------------------------------------------------


@pytest.mark.parametrize("name", BROWSER_UNITS)
def test_browser_is_chromium_in_kiosk_mode_on_the_gate(name):
    argv = Unit(name).command("ExecStart")
    if name == "kiosk-screen.service":  # cage runs chromium as its one client
        assert argv[0] == "/usr/bin/cage" and "--" in argv
        argv = argv[argv.index("--") + 1:]
    assert argv[0] == "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS:
        assert flag in argv, flag
    assert argv[-1] == GATE_URL
    # The profile lives in RAM: a clean start after a crash (no restore bubble), no writes to the SD card.
    profile = next(a for a in argv if a.startswith("--user-data-dir="))
    assert profile.split("=", 1)[1].startswith(("%t/", "/run/"))
    assert any(a.startswith("--disk-cache-size=") for a in argv)


@pytest.mark.parametrize("name", BROWSER_UNITS)
def test_browser_waits_for_the_gate(name):
    browser = Unit(name)
    argv = browser.command("ExecStartPre")
    assert argv[:2] == ["/usr/bin/timeout", "30"]
    poll = argv[-1]
    assert "curl -fsS" in poll and STATUS_URL in poll
    assert seconds(browser.one("Service", "TimeoutStartSec")) > 30
    assert "$" not in browser.one("Service", "ExecStartPre"), "systemd would expand $… itself"


def test_browser_is_a_user_unit_of_the_graphical_session(browser):
    assert browser.words("Install", "WantedBy") == ["graphical-session.target"]
    assert "graphical-session.target" in browser.words("Unit", "PartOf")
    # A user manager has no User= and cannot order itself after a system unit.
    assert browser.values("Service", "User") == []
    assert "kiosk-gate.service" not in browser.words("Unit", "After")


def test_screen_is_cage_on_tty1_with_a_pam_session():
    """cage's documented way to boot into one program: a system unit, a dedicated user, a PAM session on tty1."""
    screen = Unit("kiosk-screen.service")
    assert screen.one("Service", "User") == "kiosk-screen"
    assert screen.one("Service", "PAMName") == "kiosk-screen"  # /etc/pam.d/kiosk-screen (kiosk/install.py)
    assert screen.one("Service", "TTYPath") == "/dev/tty1"
    assert "getty@tty1.service" in screen.words("Unit", "Conflicts")
    # A system unit can follow the Type=notify gate: it starts once the gate says READY.
    assert "kiosk-gate.service" in screen.words("Unit", "After")
    assert screen.words("Install", "WantedBy") == ["graphical.target"]
    assert screen.one("Service", "RuntimeDirectory") == "kiosk-screen"


def test_gate_has_the_groups_the_installer_gives_its_user():
    from kiosk.install import SERVICE_USER

    assert SERVICE_USER["gate"] == Unit("kiosk-gate.service").one("Service", "User")
    groups = set(Unit("kiosk-gate.service").words("Service", "SupplementaryGroups"))
    script = (REPO / "scripts" / "install").read_text(encoding="utf-8")
    assert groups == {"gpio", "i2c", "video", "input", "audio"}
    assert "usermod -a -G gpio,i2c,video,input,audio kiosk" in script


def test_readme_covers_every_unit():
    readme = (UNITS / "README.md").read_text(encoding="utf-8")
    for name in ALL_UNITS:
        assert name in readme
    for needle in ("journalctl -u kiosk-gate", "systemctl enable --now", "useradd", "~/.config/systemd/user/",
                   "Type=notify", "WatchdogSec=", "scripts/install", "RuntimeWatchdogSec=", "Storage=volatile",
                   "/srv/kiosk", "noatime", "kiosk-screen.service"):
        assert needle in readme, needle
