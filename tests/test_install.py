"""The installer's Python step (kiosk/install.py) on a temporary root, and the bash part's syntax.

Everything ``scripts/install`` writes through ``python -m kiosk.install`` lands under ``--root``; commands that change
the running system (chown, systemctl, runuser) are only recorded there, so these tests run as any user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kiosk import install
from kiosk.config import load_gate_config, load_office_config
from kiosk.keys import init_keys, load_keyset
from kiosk.provisioning import write_provisioning
from tests.test_systemd_units import parse_unit

REPO = Path(__file__).resolve().parent.parent


def run(root: Path, *args: str, answers: dict | None = None, tmp: Path | None = None) -> int:
    """``python -m kiosk.install`` in-process, unattended, on ``root``."""
    argv = [*args, "--root", str(root), "--unattended", "--no-start"]
    if answers is not None:
        assert tmp is not None
        path = tmp / "answers.yaml"
        path.write_text("".join(f"{k}: {v}\n" for k, v in answers.items()), encoding="utf-8")
        argv += ["--answers", str(path)]
    return install.main(argv)


def service_values(root: Path, unit: str, key: str) -> list[str]:
    """A [Service] list setting of an installed unit with its drop-ins, in systemd's order."""
    texts = [(root / install.UNIT_DIR / unit).read_text(encoding="utf-8")]
    dropins = root / install.UNIT_DIR / f"{unit}.d"
    if dropins.is_dir():
        texts += [p.read_text(encoding="utf-8") for p in sorted(dropins.glob("*.conf"))]
    values: list[str] = []
    for text in texts:
        for k, v in parse_unit(text).get("Service", []):
            if k == key:
                values = [] if v == "" else values + v.split()
    return values


@pytest.fixture
def root(tmp_path) -> Path:
    path = tmp_path / "root"
    path.mkdir()
    return path


# -- config from flags and from an answers file --------------------------------------------------------------------


def test_gate_config_from_flags(root, capsys):
    assert run(root, "gate", "--gate-id", "north-gate", "--gate-name", "北门",
               "--office-url", "https://office.local:8443/") == 0
    config = load_gate_config(root / "etc/kiosk/config.yaml")
    assert config.gate.id == "north-gate" and config.gate.name == "北门"
    assert config.sync.office_url == "https://office.local:8443"
    assert config.gate.data_dir == "/var/lib/kiosk"
    assert oct((root / "etc/kiosk/config.yaml").stat().st_mode & 0o777) == "0o640"
    # The release's example file was the template: its comments are still there for whoever edits it by hand.
    assert "# registry replica and journal live here" in (root / "etc/kiosk/config.yaml").read_text(encoding="utf-8")
    assert (root / "var/lib/kiosk").is_dir()
    out = capsys.readouterr().out
    assert "配置" in out and "config /etc/kiosk/config.yaml" in out


def test_office_config_from_an_answers_file(root, tmp_path):
    assert run(root, "office", answers={"office_name": "昆吾社区居委会", "public_url": "http://192.168.1.10:8443",
                                        "data_dir": "/srv/kiosk-office"}, tmp=tmp_path) == 0
    config = load_office_config(root / "etc/kiosk/office.yaml")
    assert config.office.name == "昆吾社区居委会"
    assert config.server.public_url == "http://192.168.1.10:8443"
    assert config.office.data_dir == "/srv/kiosk-office"
    assert config.office.keys_dir == "/srv/kiosk-office/keys", "keys follow the data folder"
    assert "/srv/kiosk-office" in service_values(root, "kiosk-office.service", "ReadWritePaths")


def test_flags_override_the_answers_file(root, tmp_path):
    assert run(root, "gate", "--gate-id", "south-gate",
               answers={"gate_id": "north-gate", "gate_name": "南门"}, tmp=tmp_path) == 0
    config = load_gate_config(root / "etc/kiosk/config.yaml")
    assert (config.gate.id, config.gate.name) == ("south-gate", "南门")


def test_gate_config_from_the_provisioning_file(root, tmp_path):
    keys = tmp_path / "keys"
    init_keys(keys)
    provisioning = write_provisioning(tmp_path / "north-gate.provision.json", gate_id="north-gate",
                                      office_url="http://192.168.1.10:8443", token="t" * 43,
                                      keyset=load_keyset(keys / "keyset.json"))
    assert run(root, "gate", "--provisioning", str(provisioning)) == 0
    config = load_gate_config(root / "etc/kiosk/config.yaml")
    assert config.gate.id == "north-gate"
    assert config.sync.office_url == "http://192.168.1.10:8443"
    # The office wrote a plain-HTTP address into the file itself: that is how it serves, so the gate accepts it.
    assert config.sync.allow_plain_http is True
    # In the data folder, not in /etc: the gate writes the office's CA next to it and /etc is read-only to it.
    assert config.sync.provisioning_file == "/var/lib/kiosk/north-gate.provision.json"
    copied = root / "var/lib/kiosk/north-gate.provision.json"
    assert copied.read_bytes() == provisioning.read_bytes()
    assert oct(copied.stat().st_mode & 0o777) == "0o600"


def test_a_provisioning_file_for_another_gate_is_refused(root, tmp_path, capsys):
    keys = tmp_path / "keys"
    init_keys(keys)
    provisioning = write_provisioning(tmp_path / "p.json", gate_id="north-gate", office_url="https://o.local:8443",
                                      token="t" * 43, keyset=load_keyset(keys / "keyset.json"))
    assert run(root, "gate", "--gate-id", "south-gate", "--provisioning", str(provisioning)) == 2
    err = capsys.readouterr().err
    assert "配置文件是给闸机 north-gate 的" in err and "is for gate north-gate, not south-gate" in err
    assert not (root / "etc/kiosk/config.yaml").exists()


def test_questions_on_a_terminal_are_chinese_first():
    asked: list[str] = []
    replies = iter(["North Gate", "north-gate", "北门", "", "https://office.local:8443"])

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return next(replies)

    answers = install.ask_missing("gate", install.Answers(), {}, ask)
    assert (answers.gate_id, answers.gate_name, answers.provisioning, answers.office_url) == \
        ("north-gate", "北门", None, "https://office.local:8443")
    assert asked[0].startswith("闸机编号") and "Gate id" in asked[0]
    assert asked[1] == asked[0], "a bad id is asked again"


def test_office_questions_on_a_terminal():
    replies = iter(["昆吾社区居委会", "http://192.168.1.10:8443"])
    answers = install.ask_missing("office", install.Answers(), {}, lambda _prompt: next(replies))
    assert (answers.office_name, answers.public_url) == ("昆吾社区居委会", "http://192.168.1.10:8443")
    asked: list[str] = []
    install.ask_missing("office", install.Answers(), {"office_name": "x", "public_url": "http://o:1"}, asked.append)
    assert asked == [], "nothing is asked again on a re-run"


# -- re-running ------------------------------------------------------------------------------------------------------


def test_rerun_is_idempotent_and_keeps_hand_edits(root):
    args = ("gate", "--gate-id", "north-gate", "--office-url", "https://office.local:8443")
    assert run(root, *args) == 0
    config_file = root / "etc/kiosk/config.yaml"
    # What a person or `kiosk calibrate` changed since must survive an upgrade.
    edited = config_file.read_text(encoding="utf-8").replace("offset_c: 0.0", "offset_c: 0.7")
    config_file.write_text(edited, encoding="utf-8")
    snapshot = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}

    installer = install.Installer("gate", root=root, source=REPO, release=None,
                                  system=install.System(root, start=False, log=lambda _m: None),
                                  answers=install.merge_answers("gate", {}, {}))
    result = installer.run("auto")
    assert result.changed == []
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == snapshot
    config = load_gate_config(config_file)
    assert config.gate.id == "north-gate" and config.thermometer.offset_c == 0.7

    assert run(root, "gate", "--gate-name", "北门") == 0
    config = load_gate_config(config_file)
    assert (config.gate.id, config.gate.name, config.thermometer.offset_c) == ("north-gate", "北门", 0.7)
    assert config.sync.office_url == "https://office.local:8443"


# -- bad input -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gate_id", ["North", "-gate", "a" * 33, "north gate", "北门", ""])
def test_bad_gate_ids_are_refused_with_a_clear_message(root, capsys, gate_id):
    assert run(root, "gate", f"--gate-id={gate_id}") == 2
    err = capsys.readouterr().err
    assert "闸机编号" in err and "gate id" in err and "e.g. north-gate" in err and "Traceback" not in err
    assert not (root / "etc").exists()


@pytest.mark.parametrize("url, says", [
    ("office.local:8443", "is not an office address"),
    ("ftp://office.local", "is not an office address"),
    ("https://office.local:8443/api", "no path"),
    ("https://user:pw@office.local", "is not an office address"),
    ("https://office.local:99999", "is not an office address"),
    ("http://192.168.1.10:8443", "--allow-plain-http"),
])
def test_bad_office_urls_are_refused_with_a_clear_message(root, capsys, url, says):
    assert run(root, "gate", "--gate-id", "north-gate", "--office-url", url) == 2
    err = capsys.readouterr().err
    assert says in err and "办公室" in err and "Traceback" not in err


def test_plain_http_to_the_office_when_allowed(root):
    assert run(root, "gate", "--gate-id", "north-gate", "--office-url", "http://192.168.1.10:8443",
               "--allow-plain-http") == 0
    assert load_gate_config(root / "etc/kiosk/config.yaml").sync.allow_plain_http is True


@pytest.mark.parametrize("content, says", [
    ("gate_id: north-gate\ncolour: blue\n", "unknown keys colour"),
    ("- a\n- b\n", "expected a mapping"),
    ("gate_id: [north\n", "not valid YAML"),
    ("gate_id: north-gate\nallow_plain_http: maybe\n", "expected true or false"),
    ("gate_id: north-gate\ndata_dir: /etc\n", "data folder"),
    ("gate_id: north-gate\ndata_dir: /home/pi/kiosk\n", "cannot see /home"),
    ("gate_id: north-gate\ndata_dir: var/lib/kiosk\n", "expected a dedicated absolute folder"),
    ("gate_id: north-gate\n" + "# x\n" * 5000, "larger than"),
])
def test_bad_answers_files_are_refused(root, tmp_path, capsys, content, says):
    path = tmp_path / "answers.yaml"
    path.write_text(content, encoding="utf-8")
    assert install.main(["gate", "--root", str(root), "--unattended", "--answers", str(path)]) == 2
    err = capsys.readouterr().err
    assert says in err and "安装未完成" in err and "Traceback" not in err


def test_missing_gate_id_and_office_flags_on_a_gate_are_refused(root, capsys):
    assert run(root, "gate") == 2
    assert "--gate-id" in capsys.readouterr().err
    assert run(root, "office", "--gate-id", "north-gate") == 2
    assert "office install takes no gate id" in capsys.readouterr().err


# -- units and drop-ins ----------------------------------------------------------------------------------------------


def test_units_and_drop_ins_are_written(root):
    assert run(root, "gate", "--gate-id", "north-gate", "--screen", "cage") == 0
    units = root / install.UNIT_DIR
    for name in ("kiosk-gate.service", "kiosk-screen.service"):
        assert (units / name).read_text(encoding="utf-8") == (REPO / "systemd" / name).read_text(encoding="utf-8")
    assert "pam_systemd.so" in (root / install.CAGE_PAM).read_text(encoding="utf-8")
    watchdog = parse_unit((root / install.WATCHDOG_DROPIN).read_text(encoding="utf-8"))["Manager"]
    values = dict(watchdog)
    # The bcm2835 counts 20 bits at 65536 Hz: 15 s at most (the kernel refuses longer).
    assert 0 < int(values["RuntimeWatchdogSec"].rstrip("s")) <= 15
    assert 0 < int(values["RebootWatchdogSec"].rstrip("s")) <= 15
    journald = dict(parse_unit((root / install.JOURNALD_DROPIN).read_text(encoding="utf-8"))["Journal"])
    assert journald["Storage"] == "volatile" and journald["RuntimeMaxUse"].endswith("M")
    assert not (units / "kiosk-gate.service.d").exists(), "the default data folder needs no drop-in"


def test_office_keeps_its_system_log_bounded_on_disk(root):
    assert run(root, "office") == 0
    journald = dict(parse_unit((root / install.JOURNALD_DROPIN).read_text(encoding="utf-8"))["Journal"])
    assert journald["Storage"] == "persistent" and journald["SystemMaxUse"].endswith("M")
    assert not (root / install.UNIT_DIR / "kiosk-screen.service").exists()


def test_data_partition_the_config_and_the_unit_agree(root):
    """Overlay root: data on /srv/kiosk; the config says so, the unit may write there and waits for the mount."""
    assert run(root, "gate", "--gate-id", "north-gate", "--data-dir", "/srv/kiosk/") == 0
    config = load_gate_config(root / "etc/kiosk/config.yaml")
    assert config.gate.data_dir == "/srv/kiosk"
    assert (root / "srv/kiosk").is_dir()
    assert config.gate.data_dir in service_values(root, "kiosk-gate.service", "ReadWritePaths")
    dropin = root / install.UNIT_DIR / "kiosk-gate.service.d" / install.DATA_DROPIN_NAME
    assert ("RequiresMountsFor", "/srv/kiosk") in parse_unit(dropin.read_text(encoding="utf-8"))["Unit"]
    # Back to the default: the drop-in goes, the config follows.
    assert run(root, "gate", "--data-dir", "/var/lib/kiosk") == 0
    assert not dropin.exists()
    assert load_gate_config(root / "etc/kiosk/config.yaml").gate.data_dir == "/var/lib/kiosk"
    assert "/var/lib/kiosk" in service_values(root, "kiosk-gate.service", "ReadWritePaths")


def test_the_office_gets_its_nightly_backup_enabled_and_writable_on_a_data_partition(root):
    release = root / "opt/kiosk/releases/0.1.0-20261201T000000Z"
    release.mkdir(parents=True)
    assert run(root, "office", "--data-dir", "/srv/kiosk-office", "--release", str(release)) == 0
    units = root / install.UNIT_DIR
    assert (units / install.BACKUP_SERVICE).is_file()
    # enabled: the timer (not the oneshot service) is wanted by timers.target
    assert (units / "timers.target.wants" / install.BACKUP_TIMER).is_symlink()
    assert not (units / "multi-user.target.wants" / install.BACKUP_SERVICE).exists()
    writable = service_values(root, install.BACKUP_SERVICE, "ReadWritePaths")
    assert "/srv/kiosk-office" in writable and "/srv/kiosk-office-backups" in writable
    assert (root / "srv/kiosk-office-backups").is_dir()
    assert (root / "srv/kiosk-office-backups").stat().st_mode & 0o777 == 0o700
    # Back to the default folder: the drop-in goes (the unit's own StateDirectory= paths apply).
    assert run(root, "office", "--data-dir", "/var/lib/kiosk-office") == 0
    assert not (units / f"{install.BACKUP_SERVICE}.d" / install.DATA_DROPIN_NAME).exists()
    assert service_values(root, install.BACKUP_SERVICE, "ReadWritePaths") == [
        "/var/lib/kiosk-office", "/var/lib/kiosk-office-backups"]


def test_installed_units_with_their_drop_ins_pass_systemd_analyze_verify(root, tmp_path):
    assert run(root, "gate", "--gate-id", "north-gate", "--data-dir", "/srv/kiosk", "--screen", "cage") == 0
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is part of systemd (make test-packages installs it)"
    units = root / install.UNIT_DIR
    checked = tmp_path / "verify"
    checked.mkdir()
    for name in ("kiosk-gate.service", "kiosk-screen.service"):
        # A unit and its drop-ins as one file (a section may appear again; later assignments add to or override
        # earlier ones, as drop-ins do), with the programs this machine lacks replaced by one it has.
        text = (units / name).read_text(encoding="utf-8")
        for dropin in sorted((units / f"{name}.d").glob("*.conf")) if (units / f"{name}.d").is_dir() else []:
            text += "\n" + dropin.read_text(encoding="utf-8")
        text = text.replace(install.INSTALL_BASE + "/current/.venv/bin/kiosk", "/bin/true")
        for program in ("/usr/bin/cage", "/usr/bin/curl", "/usr/bin/timeout"):
            text = text.replace(program + " ", "/bin/true ")
        (checked / name).write_text(text, encoding="utf-8")
    assert "RequiresMountsFor=/srv/kiosk" in (checked / "kiosk-gate.service").read_text(encoding="utf-8")
    result = subprocess.run([analyze, "verify", *(str(checked / n) for n in ("kiosk-gate.service",
                                                                              "kiosk-screen.service"))],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "kiosk-" not in result.stderr, result.stderr


# -- the touchscreen on Raspberry Pi OS (labwc) ----------------------------------------------------------------------


def fake_pi_desktop(root: Path) -> None:
    """What the installer reads of a Raspberry Pi OS desktop image."""
    (root / "proc/device-tree").mkdir(parents=True)
    (root / "proc/device-tree/model").write_bytes(b"Raspberry Pi 4 Model B Rev 1.5\x00")
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/labwc").write_text("", encoding="utf-8")
    (root / "etc/xdg/labwc").mkdir(parents=True)
    (root / "etc/xdg/labwc/autostart").write_text(
        "/usr/bin/lwrespawn /usr/bin/wf-panel-pi &\n"
        "swayidle -w timeout 600 'wlopm --off \\*' resume 'wlopm --on \\*' &\n", encoding="utf-8")
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000:,,,:/home/pi:/bin/bash\n",
                                     encoding="utf-8")


def test_labwc_browser_for_the_desktop_user(root):
    fake_pi_desktop(root)
    for _ in range(2):
        assert run(root, "gate", "--gate-id", "north-gate") == 0
    unit = root / "home/pi/.config/systemd/user/kiosk-browser.service"
    assert unit.read_text(encoding="utf-8") == (REPO / "systemd/kiosk-browser.service").read_text(encoding="utf-8")
    wants = root / "home/pi/.config/systemd/user/graphical-session.target.wants/kiosk-browser.service"
    assert wants.is_symlink() and (wants.parent / os.readlink(wants)).resolve() == unit.resolve()
    autostart = (root / "home/pi/.config/labwc/autostart").read_text(encoding="utf-8")
    assert autostart.count(install.AUTOSTART_BEGIN) == 1, "a re-run replaces its block"
    assert "systemctl --user start kiosk-browser.service" in autostart
    assert "wf-panel-pi" in autostart, "the rest of the system's autostart is kept"
    assert all(line.startswith("#") for line in autostart.splitlines() if "swayidle" in line), "no blanking"
    assert not (root / install.UNIT_DIR / "kiosk-screen.service").exists()


def test_labwc_without_a_desktop_user_says_what_to_do(root, capsys):
    fake_pi_desktop(root)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    assert run(root, "gate", "--gate-id", "north-gate") == 2
    assert "--desktop-user" in capsys.readouterr().err
    assert run(root, "gate", "--gate-id", "north-gate", "--desktop-user", "volunteer") == 0
    assert (root / "home/volunteer/.config/labwc/autostart").is_file()


def test_older_raspberry_pi_os_chromium_browser_path(root):
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/chromium-browser").write_text("", encoding="utf-8")
    assert run(root, "gate", "--gate-id", "north-gate", "--screen", "cage") == 0
    text = (root / install.UNIT_DIR / "kiosk-screen.service").read_text(encoding="utf-8")
    assert "/usr/bin/chromium-browser --kiosk" in text and "/usr/bin/chromium --kiosk" not in text


# -- activation (until `kiosk upgrade activate` is in the release) ----------------------------------------------------


def test_activation_switches_current_and_previous_and_enables(root, tmp_path):
    releases = root / "opt/kiosk/releases"
    first, second = releases / "0.1.0-20261201T000000Z", releases / "0.1.0-20261202T000000Z"
    for release in (first, second):
        release.mkdir(parents=True)
    assert run(root, "gate", "--gate-id", "north-gate", "--screen", "cage", "--release", str(first)) == 0
    current = root / "opt/kiosk/current"
    assert os.readlink(current) == str(first) and not (root / "opt/kiosk/previous").exists()
    wants = root / install.UNIT_DIR / "multi-user.target.wants/kiosk-gate.service"
    assert wants.is_symlink() and os.readlink(wants) == "/etc/systemd/system/kiosk-gate.service"
    assert (root / install.UNIT_DIR / "graphical.target.wants/kiosk-screen.service").is_symlink()

    assert run(root, "gate", "--release", str(second)) == 0
    assert os.readlink(current) == str(second)
    assert os.readlink(root / "opt/kiosk/previous") == str(first)
    assert run(root, "gate", "--release", str(second)) == 0, "the same release again changes nothing"
    assert os.readlink(root / "opt/kiosk/previous") == str(first)


# -- the bash part ----------------------------------------------------------------------------------------------------


def test_install_script_is_valid_bash_and_strict():
    script = REPO / "scripts" / "install"
    assert os.access(script, os.X_OK)
    text = script.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    # The layout (/opt/kiosk/releases/<version>-<UTC stamp>, its own venv, not editable) and the Python step.
    assert "/opt/kiosk/releases/" in text and '"$python" -m venv' in text and "python=/usr/bin/python3" in text and "-m kiosk.install" in text
    assert "pip install -e" not in text and "--system-site-packages" in text
    assert "dtparam=i2c_arm_baudrate=100000" in text and "raspi-config nonint do_i2c 0" in text


def test_install_script_refuses_a_bad_role_without_root():
    result = subprocess.run(["bash", str(REPO / "scripts" / "install"), "kiosk"], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 2
    assert "gate 或 office" in result.stderr and "must be gate or office" in result.stderr


def test_install_script_help_lists_both_parts_without_root():
    result = subprocess.run(["bash", str(REPO / "scripts" / "install"), "gate", "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--skip-packages" in result.stdout and "--gate-id" in result.stdout and "--answers" in result.stdout
