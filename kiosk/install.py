"""The installer's Python step (``scripts/install`` runs it from the new release's venv): config, units, drop-ins.

``scripts/install gate|office`` does what needs root and the network in bash (apt, users and groups, I2C, staging
a release in ``/opt/kiosk/releases/``) and then runs ``python -m kiosk.install ROLE --release DIR …``, which:

1. collects the answers (flags, ``--answers FILE``, or questions on a terminal, Chinese first) and refuses bad ones
   with a clear zh + en message;
2. writes ``/etc/kiosk/config.yaml`` (gate) or ``/etc/kiosk/office.yaml`` (office): on the first install from the
   release's commented example, on a re-run by editing the existing file in place (comments and the other settings
   kept), validated before it replaces the old one;
3. puts the provisioning file in the data folder (the gate writes the office's CA next to it; ``/etc`` is read-only
   to the service);
4. installs the units (the layout's paths: ``/opt/kiosk/current``), a data-folder drop-in when the data folder is
   not the default (``ReadWritePaths=`` and ``RequiresMountsFor=``, for a data partition under an overlay root), the
   hardware watchdog drop-in and the journald drop-in, and on a gate the touchscreen browser (labwc user unit and
   autostart on Raspberry Pi OS, a cage system unit on plain Debian);
5. activates the release (``kiosk upgrade activate`` when the release has it; else switches the symlinks and enables
   and starts the units itself) and ends with ``kiosk doctor``'s verdict.

Everything is written under ``--root`` (default ``/``), so the tests run it on a temporary folder. Commands that
change the running system (chown, ``systemctl``, ``kiosk keys init``, doctor) run only when the root is ``/``.
No Flask, no hardware imports.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import grp
import io
import ipaddress
import os
import pwd
import re
import shutil
import subprocess
import sys
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROLES = ("gate", "office")
SCREENS = ("auto", "labwc", "cage", "none")
INSTALL_BASE = "/opt/kiosk"
CONFIG_FILE = {"gate": "/etc/kiosk/config.yaml", "office": "/etc/kiosk/office.yaml"}
EXAMPLE_FILE = {"gate": "config.yaml", "office": "office.yaml"}
DEFAULT_DATA_DIR = {"gate": "/var/lib/kiosk", "office": "/var/lib/kiosk-office"}
SERVICE_USER = {"gate": "kiosk", "office": "kiosk-office"}
SERVER_UNIT = {"gate": "kiosk-gate.service", "office": "kiosk-office.service"}
BACKUP_SERVICE, BACKUP_TIMER = "kiosk-office-backup.service", "kiosk-office-backup.timer"
SCREEN_USER = "kiosk-screen"  # cage's dedicated screen user on plain Debian
# Every unit and drop-in this installer writes, relative to the root.
UNIT_DIR = "etc/systemd/system"
WATCHDOG_DROPIN = "etc/systemd/system.conf.d/50-kiosk-watchdog.conf"
JOURNALD_DROPIN = "etc/systemd/journald.conf.d/50-kiosk.conf"
DATA_DROPIN_NAME = "50-kiosk-data-dir.conf"
CAGE_PAM = "etc/pam.d/kiosk-screen"
# The bcm2835 watchdog counts 20 bits of 1/65536 s: its longest timeout is 15 s (bcm2835_wdt.c, WDOG_TICKS_TO_SECS
# of 0xfffff); the kernel refuses a longer one, so both values stay at or under it.
RUNTIME_WATCHDOG_S = 14
REBOOT_WATCHDOG_S = 15
MAX_ANSWERS_BYTES = 16 * 1024
MAX_TEXT = 200
_GATE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
# The marked block the installer owns in the desktop user's labwc autostart (replaced, never appended twice).
AUTOSTART_BEGIN = "# >>> kiosk-browser (scripts/install) >>>"
AUTOSTART_END = "# <<< kiosk-browser <<<"
ANSWER_KEYS = ("gate_id", "gate_name", "office_url", "provisioning", "allow_plain_http", "data_dir", "office_name",
               "public_url", "screen", "desktop_user", "webcam")


class InstallError(Exception):
    """A problem the person installing must fix; the message is zh-CN first, then English."""


def message(zh: str, en: str) -> str:
    """One user-facing line, Chinese first."""
    return f"{zh} / {en}"


# -- answers -------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Answers:
    """What the installer was told: flags override the answers file, which overrides the existing config."""

    gate_id: str | None = None
    gate_name: str | None = None
    office_url: str | None = None
    provisioning: str | None = None
    allow_plain_http: bool | None = None
    data_dir: str | None = None
    office_name: str | None = None
    public_url: str | None = None
    screen: str = "auto"
    desktop_user: str | None = None
    webcam: bool = False


def _bounded_text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InstallError(message(f"{name}：应为文字", f"{name}: expected text, got {type(value).__name__}"))
    value = value.strip()
    if len(value) > MAX_TEXT or any(ord(c) < 32 for c in value):
        raise InstallError(message(f"{name}：过长或含控制字符", f"{name}: longer than {MAX_TEXT} characters or has "
                                   "control characters"))
    return value


def load_answers(path: str | Path) -> dict[str, Any]:
    """Read an answers file: a small YAML mapping of ``ANSWER_KEYS`` (unknown keys refused, size bounded)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_ANSWERS_BYTES + 1)
    except OSError as exc:
        raise InstallError(message(f"读不了应答文件 {path}", f"cannot read the answers file {path}: "
                                   f"{exc.strerror or exc}")) from None
    if len(raw) > MAX_ANSWERS_BYTES:
        raise InstallError(message(f"应答文件 {path} 过大", f"the answers file {path} is larger than "
                                   f"{MAX_ANSWERS_BYTES // 1024} KiB"))
    try:
        data = YAML(typ="safe", pure=True).load(raw.decode("utf-8"))
    except (YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InstallError(message(f"应答文件 {path} 不是有效的 YAML", f"{path}: not valid YAML: {first}")) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InstallError(message(f"应答文件 {path} 应为键值映射", f"{path}: expected a mapping of keys"))
    unknown = sorted(str(k) for k in data if k not in ANSWER_KEYS)
    if unknown:
        raise InstallError(message(f"应答文件 {path} 有未知的键：{', '.join(unknown)}",
                                   f"{path}: unknown keys {', '.join(unknown)} (allowed: {', '.join(ANSWER_KEYS)})"))
    return {str(k): v for k, v in data.items() if v is not None}


def check_gate_id(value: Any) -> str:
    """A gate id as config.yaml accepts it, or InstallError saying what one looks like."""
    text = _bounded_text("gate_id", value)
    if not _GATE_ID.match(text):
        raise InstallError(message(f"闸机编号 {text!r} 无效：只能用小写字母、数字和连字符（最多 32 个，字母或数字开头），"
                                   "例如 north-gate",
                                   f"gate id {text!r} is not valid: lowercase letters, digits and dashes (at most 32, "
                                   "starting with a letter or digit), e.g. north-gate"))
    return text


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(name: str, value: Any, *, allow_plain_http: bool) -> str:
    """An office URL: http(s)://host[:port] with no path, query or credentials; plain HTTP only when allowed."""
    text = _bounded_text(name, value).rstrip("/")
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError:
        parts, port = None, None
    example = "https://office.local:8443"
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or parts.password or (port is not None and port < 1):
        raise InstallError(message(f"{name} {text!r} 不是办公室地址，应形如 {example}",
                                   f"{name} {text!r} is not an office address: expected e.g. {example} "
                                   "(http or https, a host, an optional port, no path)"))
    if parts.scheme == "http" and not allow_plain_http and not _is_local(parts.hostname):
        raise InstallError(message(f"办公室地址 {name} {text!r} 是明文 HTTP：请用 https，或确认局域网内明文传输并加 --allow-plain-http",
                                   f"{name} {text!r} is plain HTTP: use https, or accept plain HTTP on this network "
                                   "with --allow-plain-http"))
    return text


def check_data_dir(value: Any) -> str:
    """An absolute, normalised folder outside the places the installer or the OS own."""
    text = _bounded_text("data_dir", value)
    path = os.path.normpath(text)
    if not text.startswith("/") or path in ("/", "/etc", "/usr", "/opt", "/opt/kiosk", "/boot", "/proc", "/sys",
                                            "/dev", "/run", "/tmp", "/var", "/var/lib", "/srv", "/home") \
            or path.startswith(("/opt/kiosk/", "/proc/", "/sys/", "/dev/", "/run/", "/tmp/", "/etc/", "/usr/",
                                "/home/", "/root")) \
            or " " in path:
        raise InstallError(message(f"数据目录 {text!r} 不可用：应为一个专用的绝对路径，例如 /srv/kiosk",
                                   f"data folder {text!r} cannot be used: expected a dedicated absolute folder, e.g. "
                                   "/srv/kiosk or /var/lib/kiosk (no spaces, not a system folder, not under /home: "
                                   "the services cannot see /home)"))
    return path


def check_user(value: Any) -> str:
    """A local user name (the desktop autologin user)."""
    text = _bounded_text("desktop_user", value)
    if not _USER.match(text) or text == "root":
        raise InstallError(message(f"用户名 {text!r} 无效", f"user name {text!r} is not valid (and not root)"))
    return text


def merge_answers(role: str, file_answers: dict[str, Any], flags: dict[str, Any]) -> Answers:
    """Flags over the answers file; every value checked. Raises InstallError with the first bad one."""
    merged = {**file_answers, **{k: v for k, v in flags.items() if v is not None}}
    answers = Answers()
    for key in ("allow_plain_http", "webcam"):
        if key in merged:
            if not isinstance(merged[key], bool):
                raise InstallError(message(f"{key} 应为 true 或 false", f"{key}: expected true or false"))
            setattr(answers, key, merged[key])
    if "gate_id" in merged:
        answers.gate_id = check_gate_id(merged["gate_id"])
    for key in ("gate_name", "office_name"):
        if key in merged:
            setattr(answers, key, _bounded_text(key, merged[key]))
    if "office_url" in merged:
        answers.office_url = check_url("office_url", merged["office_url"],
                                       allow_plain_http=bool(answers.allow_plain_http))
    if "public_url" in merged:
        # The office's own address as gates reach it: plain HTTP is the office's choice (no TLS configured).
        answers.public_url = check_url("public_url", merged["public_url"], allow_plain_http=True)
    if "provisioning" in merged:
        answers.provisioning = _bounded_text("provisioning", merged["provisioning"])
    if "data_dir" in merged:
        answers.data_dir = check_data_dir(merged["data_dir"])
    if "screen" in merged:
        screen = _bounded_text("screen", merged["screen"])
        if screen not in SCREENS:
            raise InstallError(message(f"screen 应为 {' | '.join(SCREENS)}", f"screen: expected one of "
                                       f"{', '.join(SCREENS)}, got {screen!r}"))
        answers.screen = screen
    if "desktop_user" in merged:
        answers.desktop_user = check_user(merged["desktop_user"])
    if role == "office" and (answers.gate_id or answers.provisioning or answers.office_url):
        raise InstallError(message("办公室安装不需要闸机编号、办公室地址或配置文件（这些用于闸机）",
                                   "an office install takes no gate id, office URL or provisioning file (those are "
                                   "for a gate)"))
    return answers


def ask_missing(role: str, answers: Answers, existing: dict[str, Any], ask: Callable[[str], str]) -> Answers:
    """On a terminal: ask for what is still missing, Chinese first; an empty answer keeps the shown default."""
    def question(zh: str, en: str, default: str | None) -> str | None:
        shown = f" [{default}]" if default else ""
        reply = ask(f"{zh} / {en}{shown}: ").strip()
        return reply or default

    for _attempt in range(3):
        try:
            if role == "gate":
                if answers.gate_id is None and not existing.get("gate_id"):
                    reply = question("闸机编号（如 north-gate）", "Gate id (e.g. north-gate)", None)
                    if reply:
                        answers.gate_id = check_gate_id(reply)
                if answers.gate_name is None and not existing.get("gate_name"):
                    answers.gate_name = question("闸机名称（屏幕上显示，如 北门）", "Gate name on screen (e.g. 北门)",
                                                 None)
                if answers.provisioning is None and not existing.get("provisioning"):
                    reply = question("办公室给的配置文件路径（kiosk office add-gate 生成；没有请直接回车）",
                                     "Provisioning file from the office (kiosk office add-gate; Enter for none)", None)
                    answers.provisioning = reply or None
                if answers.office_url is None and answers.provisioning is None and not existing.get("office_url"):
                    reply = question("办公室地址（如 https://office.local:8443；单机请直接回车）",
                                     "Office URL (e.g. https://office.local:8443; Enter for a stand-alone gate)", None)
                    if reply:
                        answers.office_url = check_url("office_url", reply,
                                                       allow_plain_http=bool(answers.allow_plain_http))
            else:
                if answers.office_name is None and not existing.get("office_name"):
                    answers.office_name = question("办公室名称（如 昆吾社区居委会）", "Office name (e.g. 昆吾社区居委会)",
                                                   None)
                if answers.public_url is None and not existing.get("public_url"):
                    reply = question("闸机访问办公室的地址（如 http://192.168.1.10:8443；稍后再定请直接回车）",
                                     "The address gates reach this office at (e.g. http://192.168.1.10:8443; Enter "
                                     "to decide later)", None)
                    if reply:
                        answers.public_url = check_url("public_url", reply, allow_plain_http=True)
            return answers
        except InstallError as exc:
            print(exc, file=sys.stderr)
    raise InstallError(message("三次都没有有效回答，安装已停止", "no valid answer after three tries; nothing installed"))


# -- paths under the root ------------------------------------------------------------------------------------------


def under(root: Path, absolute: str | Path) -> Path:
    """``absolute`` (a path on the installed system) inside ``root``."""
    return root / str(absolute).lstrip("/")


def write_file(path: Path, text: str, mode: int = 0o644) -> bool:
    """Write ``text`` atomically when it differs; True when the file changed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        os.chmod(path, mode)
        return False
    temporary = path.with_name(f".{path.name}.install-{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return True


class System:
    """What the installer does to the running system; on a ``--root`` other than ``/`` it only says what it would do.

    ``start``: systemd is running (False in a chroot or with ``--no-start``).
    """

    def __init__(self, root: Path, *, start: bool, log: Callable[[str], None] = print):
        self.root = root
        self.live = root.resolve() == Path("/")
        self.start = start and self.live
        self.log = log
        self.skipped: list[str] = []

    def chown(self, path: Path, user: str, group: str | None = None) -> None:
        """Give ``path`` to ``user`` (and ``group``) when that user exists on the live system."""
        if not self.live or os.geteuid() != 0:
            self.skipped.append(f"chown {user}:{group or user} {path}")
            return
        try:
            uid = pwd.getpwnam(user).pw_uid
            gid = grp.getgrnam(group or user).gr_gid
        except KeyError:
            self.skipped.append(f"chown {user}:{group or user} {path} (no such user)")
            return
        os.chown(path, uid, gid)

    def run(self, argv: Sequence[str], *, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        """Run a command on the live system (never under a test root)."""
        if not self.live:
            self.skipped.append(" ".join(argv))
            return subprocess.CompletedProcess(list(argv), 0, "", "")
        self.log("+ " + " ".join(argv))
        result = subprocess.run(list(argv), text=True, capture_output=True, timeout=timeout)
        if check and result.returncode != 0:
            raise InstallError(message(f"命令失败：{' '.join(argv)}", f"command failed: {' '.join(argv)}\n"
                                       f"{(result.stderr or result.stdout).strip()[-2000:]}"))
        return result


def systemd_running(root: Path) -> bool:
    """True when systemd runs this system (not a chroot, not a container without it)."""
    if root.resolve() != Path("/") or not Path("/run/systemd/system").is_dir():
        return False
    try:
        state = subprocess.run(["systemctl", "is-system-running"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    # "degraded" (a unit failed) and "starting" still have a working manager; "offline" / errors do not.
    return state.stdout.strip() in ("running", "degraded", "starting", "initializing", "maintenance")


def is_raspberry_pi(root: Path) -> bool:
    """The device tree says Raspberry Pi (under the root, so a test can fake it)."""
    try:
        return "raspberry pi" in under(root, "/proc/device-tree/model").read_bytes().decode("ascii", "replace").lower()
    except OSError:
        return False


# -- config files --------------------------------------------------------------------------------------------------


def _yaml():
    from ruamel.yaml import YAML

    from kiosk.calibration import _represent_null

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.representer.add_representer(type(None), _represent_null)
    return yaml


def existing_settings(role: str, path: Path) -> dict[str, Any]:
    """The settings of an installed config file the answers may default from (empty when there is none)."""
    if not path.is_file():
        return {}
    from kiosk.config.loader import read_yaml
    from kiosk.exc import ConfigError

    try:
        data = read_yaml(path) or {}
    except ConfigError as exc:
        raise InstallError(message(f"已安装的配置 {path} 读不了，请先修好或移走",
                                   f"the installed config {path} cannot be read; fix or move it first: "
                                   + "; ".join(exc.problems))) from None
    if not isinstance(data, dict):
        return {}
    if role == "gate":
        gate, sync = data.get("gate") or {}, data.get("sync") or {}
        return {"gate_id": gate.get("id"), "gate_name": gate.get("name"), "data_dir": gate.get("data_dir"),
                "office_url": sync.get("office_url"), "provisioning": sync.get("provisioning_file")}
    office, server = data.get("office") or {}, data.get("server") or {}
    return {"office_name": office.get("name"), "data_dir": office.get("data_dir"),
            "public_url": server.get("public_url")}


def _section(data, name: str):
    from ruamel.yaml.comments import CommentedMap

    section = data.get(name)
    if section is None:
        section = data[name] = CommentedMap()
    return section


def render_config(role: str, template: str, answers: Answers, data_dir: str,
                  provisioning_target: str | None) -> str:
    """``template`` (the installed file, or the release's example) with the answers set; comments kept."""
    from kiosk.calibration import _guess_indent

    yaml = _yaml()
    mapping, sequence, offset = _guess_indent(template)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    data = yaml.load(template)
    if role == "gate":
        gate = _section(data, "gate")
        if answers.gate_id:
            gate["id"] = answers.gate_id
        if answers.gate_name is not None:
            gate["name"] = answers.gate_name
        gate["data_dir"] = data_dir
        sync = _section(data, "sync")
        if answers.office_url:
            sync["office_url"] = answers.office_url
        if provisioning_target:
            sync["provisioning_file"] = provisioning_target
        if answers.allow_plain_http is not None:
            sync["allow_plain_http"] = answers.allow_plain_http
    else:
        office = _section(data, "office")
        if answers.office_name is not None:
            office["name"] = answers.office_name
        old_data_dir = str(office.get("data_dir") or DEFAULT_DATA_DIR["office"])
        keys_dir = str(office.get("keys_dir") or old_data_dir + "/keys")
        office["data_dir"] = data_dir
        if keys_dir == old_data_dir + "/keys":  # keys follow the data folder unless placed elsewhere on purpose
            office["keys_dir"] = data_dir + "/keys"
        if answers.public_url:
            _section(data, "server")["public_url"] = answers.public_url
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def validate_config(role: str, text: str, shown_as: str):
    """Load ``text`` as the role's config; InstallError listing every problem."""
    from ruamel.yaml import YAML

    from kiosk.config import GateConfig, OfficeConfig
    from kiosk.config.loader import parse_settings
    from kiosk.exc import ConfigError

    try:
        return parse_settings(YAML(typ="safe", pure=True).load(text), GateConfig if role == "gate" else OfficeConfig,
                              shown_as)
    except ConfigError as exc:
        raise InstallError(message("生成的配置无效", "the resulting config is not valid:\n  "
                                   + "\n  ".join(exc.problems))) from None


# -- systemd units and drop-ins --------------------------------------------------------------------------------------


def watchdog_dropin() -> str:
    """systemd's own hardware-watchdog keep-alive, within the bcm2835's 15 s."""
    return (
        "# Written by scripts/install (kiosk/install.py). systemd itself feeds the hardware watchdog: if the\n"
        "# kernel or PID 1 hangs, the board resets. The Raspberry Pi's bcm2835 watchdog counts at most 15 s\n"
        "# (20 bits of 1/65536 s); a longer value is refused by the kernel. No watchdog device: systemd ignores it.\n"
        "[Manager]\n"
        f"RuntimeWatchdogSec={RUNTIME_WATCHDOG_S}s\n"
        "# A reboot that hangs (an unmount that never returns) is reset by the hardware after this.\n"
        f"RebootWatchdogSec={REBOOT_WATCHDOG_S}s\n"
    )


def journald_dropin(role: str) -> str:
    """The system log on a gate in RAM (bounded); on the office on disk, bounded."""
    if role == "gate":
        return (
            "# Written by scripts/install (kiosk/install.py). SD-card care: a gate keeps the system log in RAM.\n"
            "# The records that matter (passages, alarms, faults) are in the gate's own journal database and at the\n"
            "# office; a persistent log would rewrite the card all day, more so in a restart loop. After a reboot\n"
            "# the previous boot's log is gone: look at the office's view of the gate instead.\n"
            "[Journal]\n"
            "Storage=volatile\n"
            "RuntimeMaxUse=48M\n"
            "RuntimeKeepFree=64M\n"
            "ForwardToSyslog=no\n"
        )
    return (
        "# Written by scripts/install (kiosk/install.py). The office keeps its system log across reboots (what\n"
        "# happened before a crash matters there), bounded so a chatty month never fills its disk.\n"
        "[Journal]\n"
        "Storage=persistent\n"
        "SystemMaxUse=256M\n"
        "SystemKeepFree=1G\n"
        "MaxRetentionSec=3month\n"
    )


def data_dir_dropin(data_dir: str) -> str:
    """A server unit's drop-in for a data folder other than its StateDirectory (e.g. a data partition)."""
    return (
        "# Written by scripts/install (kiosk/install.py): the data folder from the config (a data partition that\n"
        "# survives an overlay root), writable to the service, and mounted before it starts.\n"
        "[Unit]\n"
        f"RequiresMountsFor={data_dir}\n"
        "[Service]\n"
        f"ReadWritePaths={data_dir}\n"
    )


CAGE_PAM_TEXT = (
    "# Written by scripts/install (kiosk/install.py): the session of kiosk-screen.service (cage on tty1).\n"
    "# pam_systemd registers it with logind, which gives the screen user its seat (DRM, input) and XDG_RUNTIME_DIR.\n"
    "auth     required pam_unix.so nullok\n"
    "account  required pam_unix.so\n"
    "session  required pam_unix.so\n"
    "session  required pam_systemd.so\n"
)


def autostart_block() -> str:
    """The lines the installer owns in the desktop user's ``~/.config/labwc/autostart``."""
    return (
        f"{AUTOSTART_BEGIN}\n"
        "# The gate's touchscreen: hand the Wayland session to the user manager, then start the browser unit.\n"
        "systemctl --user import-environment WAYLAND_DISPLAY DISPLAY XDG_CURRENT_DESKTOP\n"
        "systemctl --user start kiosk-browser.service &\n"
        f"{AUTOSTART_END}\n"
    )


def labwc_autostart(current: str | None, system_default: str | None) -> str:
    """The desktop user's labwc autostart: their file (or a copy of the system one) without screen blanking
    (``swayidle`` lines), with the installer's block exactly once."""
    base = current if current is not None else (system_default or "")
    kept: list[str] = []
    inside = False
    for line in base.splitlines():
        if line.strip() == AUTOSTART_BEGIN:
            inside = True
            continue
        if line.strip() == AUTOSTART_END:
            inside = False
            continue
        if inside:
            continue
        if "swayidle" in line and not line.lstrip().startswith("#"):
            # raspi-config's "screen blanking off" does not edit a user's copy: the idle timer that turns the panel
            # off is taken out here.
            kept.append("# " + line + "   # disabled by scripts/install: the gate's screen never blanks")
            continue
        kept.append(line)
    text = "\n".join(kept).rstrip("\n")
    return (text + "\n\n" if text else "") + autostart_block()


@dataclasses.dataclass
class Result:
    """What a run did: files written (changed or not) and what it did not do, for the summary and the tests."""

    config_path: Path
    data_dir: str
    written: list[str] = dataclasses.field(default_factory=list)
    changed: list[str] = dataclasses.field(default_factory=list)
    units: list[str] = dataclasses.field(default_factory=list)
    screen: str = "none"
    activated: str = ""
    verdict: str = ""
    skipped: list[str] = dataclasses.field(default_factory=list)


class Installer:
    """One run of the Python step for one role."""

    def __init__(self, role: str, *, root: Path, source: Path, release: Path | None, system: System,
                 answers: Answers, log: Callable[[str], None] = print):
        self.role = role
        self.root = root
        self.source = source
        self.release = release
        self.system = system
        self.answers = answers
        self.log = log
        self.config_path = under(root, CONFIG_FILE[role])
        self.result = Result(self.config_path, "")

    def put(self, relative: str, text: str, mode: int = 0o644) -> Path:
        """Write one file under the root, recording it."""
        path = under(self.root, relative)
        if write_file(path, text, mode):
            self.result.changed.append("/" + relative.lstrip("/"))
        self.result.written.append("/" + relative.lstrip("/"))
        return path

    # the steps

    def config(self) -> None:
        """Write the role's config file (first install from the example; later runs edit it in place)."""
        existing = existing_settings(self.role, self.config_path)
        answers = self.answers
        if self.role == "gate":
            self._gate_answers(existing)
        data_dir = answers.data_dir or existing.get("data_dir") or DEFAULT_DATA_DIR[self.role]
        data_dir = check_data_dir(data_dir)
        self.result.data_dir = data_dir
        provisioning_target = None
        if self.role == "gate" and answers.provisioning:
            provisioning_target = f"{data_dir}/{answers.gate_id or existing.get('gate_id')}.provision.json"
        first = not self.config_path.is_file()
        template = ((self.source / EXAMPLE_FILE[self.role]).read_text(encoding="utf-8") if first
                    else self.config_path.read_text(encoding="utf-8"))
        if first and self.role == "gate" and answers.gate_name is None:
            answers.gate_name = ""  # not the example's 北门 on a gate nobody named
        text = render_config(self.role, template, answers, data_dir, provisioning_target)
        validate_config(self.role, text, CONFIG_FILE[self.role])
        path = self.put(CONFIG_FILE[self.role], text, 0o640)
        under(self.root, "/etc/kiosk").chmod(0o755)
        self.system.chown(path, "root", SERVICE_USER[self.role])
        self._data_folder(data_dir)
        if provisioning_target and answers.provisioning:
            target = under(self.root, provisioning_target)
            content = Path(answers.provisioning).read_text(encoding="utf-8")
            if write_file(target, content, 0o600):
                self.result.changed.append(provisioning_target)
            self.result.written.append(provisioning_target)
            self.system.chown(target, SERVICE_USER["gate"])

    def _gate_answers(self, existing: dict[str, Any]) -> None:
        """Gate id and office URL from the provisioning file when it is given; both checked against the flags."""
        answers = self.answers
        if answers.provisioning:
            from kiosk.provisioning import ProvisioningError, read_provisioning

            try:
                document = read_provisioning(answers.provisioning)
            except ProvisioningError as exc:
                raise InstallError(message("办公室给的配置文件无效", f"the provisioning file is not usable: {exc}")) \
                    from None
            file_id = check_gate_id(document["gate_id"])
            wanted = answers.gate_id or existing.get("gate_id")
            if answers.gate_id and answers.gate_id != file_id:
                raise InstallError(message(f"配置文件是给闸机 {file_id} 的，不是 {wanted}",
                                           f"the provisioning file is for gate {file_id}, not {wanted}: use the file "
                                           f"`kiosk office add-gate {wanted}` made, or --gate-id {file_id}"))
            answers.gate_id = file_id
            if not answers.office_url:
                url = str(document["office_url"])
                plain_ok = bool(answers.allow_plain_http) or url.startswith("https:")
                if not plain_ok:
                    parsed = urllib.parse.urlsplit(url)
                    if not _is_local(parsed.hostname or ""):
                        # The office wrote this address itself: plain HTTP is how that office serves.
                        answers.allow_plain_http = True
                        self.log(message(f"办公室地址 {url} 是明文 HTTP，已设 sync.allow_plain_http: true",
                                         f"the office URL {url} is plain HTTP; sync.allow_plain_http set to true"))
                answers.office_url = check_url("office_url (provisioning)", url, allow_plain_http=True)
        if not answers.gate_id and not existing.get("gate_id"):
            raise InstallError(message("缺少闸机编号：加 --gate-id ID，或 --provisioning 办公室给的文件",
                                       "no gate id: give --gate-id ID, or --provisioning FILE from the office"))

    def _data_folder(self, data_dir: str) -> None:
        path = under(self.root, data_dir)
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o750 if self.role == "gate" else 0o700)
        self.system.chown(path, SERVICE_USER[self.role])

    def units(self, screen: str) -> None:
        """The server unit, its data drop-in, the watchdog and journald drop-ins, and the gate's screen."""
        unit = SERVER_UNIT[self.role]
        self.put(f"{UNIT_DIR}/{unit}", (self.source / "systemd" / unit).read_text(encoding="utf-8"))
        self.result.units.append(unit)
        dropin = f"{UNIT_DIR}/{unit}.d/{DATA_DROPIN_NAME}"
        if self.result.data_dir != DEFAULT_DATA_DIR[self.role]:
            self.put(dropin, data_dir_dropin(self.result.data_dir))
        else:
            with contextlib.suppress(FileNotFoundError):
                under(self.root, dropin).unlink()
                self.result.changed.append("/" + dropin + " (removed)")
        self.put(WATCHDOG_DROPIN, watchdog_dropin())
        self.put(JOURNALD_DROPIN, journald_dropin(self.role))
        if self.role == "gate":
            self.screen(screen)
        else:
            self.backup_units()

    def backup_units(self) -> None:
        """The office's nightly backup (docs/backup.md): the oneshot service and its timer, the timer enabled.

        The backups go to ``backup.dir`` or, by default, ``<data_dir>-backups`` beside the data folder; for a data
        folder other than the default that sibling is made here (the service may write only its two folders).
        """
        for name in (BACKUP_SERVICE, BACKUP_TIMER):
            self.put(f"{UNIT_DIR}/{name}", (self.source / "systemd" / name).read_text(encoding="utf-8"))
        self.result.units.append(BACKUP_TIMER)
        dropin = f"{UNIT_DIR}/{BACKUP_SERVICE}.d/{DATA_DROPIN_NAME}"
        data_dir = self.result.data_dir
        if data_dir != DEFAULT_DATA_DIR["office"]:
            backups = data_dir.rstrip("/") + "-backups"
            self.put(dropin, data_dir_dropin(data_dir) + f"ReadWritePaths={backups}\n")
            path = under(self.root, backups)
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o700)
            self.system.chown(path, SERVICE_USER["office"])
        else:
            with contextlib.suppress(FileNotFoundError):
                under(self.root, dropin).unlink()
                self.result.changed.append("/" + dropin + " (removed)")

    def screen(self, screen: str) -> None:
        """The touchscreen browser: labwc user unit + autostart (Raspberry Pi OS) or the cage system unit."""
        if screen == "auto":  # Raspberry Pi OS with its desktop runs labwc; Pi OS Lite and plain Debian get cage
            screen = "labwc" if is_raspberry_pi(self.root) and under(self.root, "/usr/bin/labwc").exists() else "cage"
        self.result.screen = screen
        if screen == "cage":
            self.put(f"{UNIT_DIR}/kiosk-screen.service", self.browser_unit("kiosk-screen.service"))
            self.put(CAGE_PAM, CAGE_PAM_TEXT)
            self.result.units.append("kiosk-screen.service")
        elif screen == "labwc":
            user = self.answers.desktop_user or desktop_user(self.root)
            if user is None:
                raise InstallError(message("找不到桌面自动登录的用户：加 --desktop-user 用户名",
                                           "no desktop autologin user found: give --desktop-user NAME (the user "
                                           "Raspberry Pi OS logs in on the touchscreen)"))
            home = home_of(self.root, user)
            unit_text = self.browser_unit("kiosk-browser.service")
            base = f"{home}/.config/systemd/user"
            self.put(f"{base}/kiosk-browser.service", unit_text)
            wants = under(self.root, f"{base}/graphical-session.target.wants/kiosk-browser.service")
            wants.parent.mkdir(parents=True, exist_ok=True)
            if not wants.is_symlink():
                wants.symlink_to("../kiosk-browser.service")
            autostart = under(self.root, f"{home}/.config/labwc/autostart")
            system_default = under(self.root, "/etc/xdg/labwc/autostart")
            text = labwc_autostart(autostart.read_text(encoding="utf-8") if autostart.is_file() else None,
                                   system_default.read_text(encoding="utf-8") if system_default.is_file() else None)
            self.put(f"{home}/.config/labwc/autostart", text)
            for path in (under(self.root, f"{home}/.config"), under(self.root, f"{home}/.config/systemd"),
                         under(self.root, base), wants.parent, autostart.parent, autostart,
                         under(self.root, f"{base}/kiosk-browser.service")):
                self.system.chown(path, user)
            self.result.units.append(f"kiosk-browser.service (user unit of {user})")
        # with "none", a gate without a screen (or with a browser set up by hand) gets no browser unit

    def browser_unit(self, name: str) -> str:
        """A browser unit as shipped, with older Raspberry Pi OS's ``chromium-browser`` when only that is there."""
        text = (self.source / "systemd" / name).read_text(encoding="utf-8")
        if not under(self.root, "/usr/bin/chromium").exists() and under(self.root, "/usr/bin/chromium-browser").exists():
            text = text.replace("/usr/bin/chromium ", "/usr/bin/chromium-browser ")
        return text

    def office_keys(self) -> None:
        """First office install: create the card-signing key (``kiosk keys init``) as the office's user."""
        if self.role != "office" or self.release is None:
            return
        config = validate_config("office", self.config_path.read_text(encoding="utf-8"), str(self.config_path))
        keys_dir = config.office.keys_dir
        if (under(self.root, keys_dir) / "keyset.json").is_file():
            return
        kiosk = str(self.release / ".venv/bin/kiosk")
        self.system.run(as_user(SERVICE_USER["office"], [kiosk, "keys", "init", "--config", CONFIG_FILE["office"]]))

    def activate(self) -> None:
        """``kiosk upgrade activate`` when the release has it; else the same switch done here (marked as such).

        The screen unit (cage) is not the role's server unit: it is enabled (and started) here either way.
        """
        if self.release is None:
            self.result.activated = "no release given: nothing activated"
            return
        kiosk = self.release / ".venv/bin/kiosk"
        server = SERVER_UNIT[self.role]
        extra = [u for u in self.result.units if u != server and "user unit" not in u]
        start_flags = [] if self.system.start else ["--no-start"]
        if self.system.live and has_upgrade_activate(kiosk):
            self.system.run(["systemctl", "daemon-reload"], check=False)
            done = self.system.run([str(kiosk), "upgrade", "activate", str(self.release), "--role", self.role,
                                    *start_flags], timeout=900)
            if done.stdout.strip():
                self.log(done.stdout.strip())
            self.result.activated = f"kiosk upgrade activate {self.release}"
            units = extra
        else:
            # FALLBACK until `kiosk upgrade activate` (helper H) is in the release: switch current/previous, enable
            # and (re)start here; no database snapshot, no migration, no rollback.
            switch_current(self.root, self.release)
            self.result.activated = f"fallback (no kiosk upgrade activate): {INSTALL_BASE}/current -> {self.release}"
            units = [server, *extra]
        if not units:
            return
        if self.system.live and shutil.which("systemctl"):
            self.system.run(["systemctl", "daemon-reload"], check=False)
            self.system.run(["systemctl", "enable", *units])
            if self.system.start:
                self.system.run(["systemctl", "restart", *units], timeout=180)
        else:
            enable_offline(self.root, units)

    def doctor(self) -> None:
        """The gate's ``kiosk doctor`` as the service user (the gate stopped meanwhile: it holds camera and pins)."""
        if self.release is None or not self.system.live:
            self.result.verdict = "doctor not run (no release, or not the live system)"
            return
        kiosk = str(self.release / ".venv/bin/kiosk")
        if self.role == "office":
            check = self.system.run([kiosk, "config", "check", "--office", CONFIG_FILE["office"]], check=False)
            self.result.verdict = (check.stdout + check.stderr).strip()
            return
        running = self.system.start and self.system.run(["systemctl", "is-active", "--quiet", "kiosk-gate"],
                                                        check=False).returncode == 0
        if running:
            self.system.run(["systemctl", "stop", "kiosk-gate"], check=False)
        try:
            check = self.system.run(as_user(SERVICE_USER["gate"], ["env", "LG_WD=/tmp", kiosk, "doctor", "--config",
                                                                   CONFIG_FILE["gate"]]), check=False, timeout=120)
        finally:
            if running:
                self.system.run(["systemctl", "start", "kiosk-gate"], check=False, timeout=180)
        self.result.verdict = (check.stdout + check.stderr).strip()
        if check.returncode != 0:
            self.result.verdict += "\n" + message("体检有失败项（见上，每项后有修法）",
                                                  "doctor found failures (above, each with its fix)")

    def run(self, screen: str) -> Result:
        """Every step in order; returns what was done."""
        self.config()
        self.units(screen)
        self.office_keys()
        if self.role == "gate":
            self.doctor()  # before activation: a running gate holds the camera and pins
        self.activate()
        if self.role == "office":
            self.doctor()
        self.result.skipped = list(self.system.skipped)
        return self.result


def as_user(user: str, argv: list[str]) -> list[str]:
    """``argv`` run as ``user`` with that user's groups (i2c, gpio, video … for the gate)."""
    return ["runuser", "-u", user, "--", *argv]


def has_upgrade_activate(kiosk: Path) -> bool:
    """The release's CLI has ``kiosk upgrade activate`` (helper H's command)."""
    if not kiosk.exists():
        return False
    try:
        result = subprocess.run([str(kiosk), "upgrade", "activate", "--help"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def switch_current(root: Path, release: Path) -> None:
    """``current`` → ``release`` and ``previous`` → the old current, each by a new symlink renamed over the old."""
    base = under(root, INSTALL_BASE)
    base.mkdir(parents=True, exist_ok=True)
    current = base / "current"
    target = str(release)
    old = os.readlink(current) if current.is_symlink() else None
    if old == target:
        return
    if old is not None:
        _replace_symlink(base / "previous", old)
    _replace_symlink(current, target)


def _replace_symlink(link: Path, target: str) -> None:
    temporary = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    temporary.symlink_to(target)
    os.replace(temporary, link)


def enable_offline(root: Path, units: list[str]) -> None:
    """``systemctl enable`` without a running systemd: the [Install] WantedBy= symlinks, made by hand."""
    for unit in units:
        text = under(root, f"/{UNIT_DIR}/{unit}").read_text(encoding="utf-8")
        for target in re.findall(r"^WantedBy=(.+)$", text, flags=re.M):
            for name in target.split():
                link = under(root, f"/{UNIT_DIR}/{name}.wants/{unit}")
                link.parent.mkdir(parents=True, exist_ok=True)
                if not link.is_symlink():
                    link.symlink_to(f"/{UNIT_DIR}/{unit}")


def desktop_user(root: Path) -> str | None:
    """Raspberry Pi OS's desktop autologin user: lightdm's ``autologin-user``, else the first user with uid 1000."""
    for conf in ("/etc/lightdm/lightdm.conf",):
        with contextlib.suppress(OSError):
            for line in under(root, conf).read_text(encoding="utf-8", errors="replace").splitlines():
                match = re.match(r"^\s*autologin-user\s*=\s*(\S+)", line)
                if match and _USER.match(match.group(1)):
                    return match.group(1)
    with contextlib.suppress(OSError):
        for line in under(root, "/etc/passwd").read_text(encoding="utf-8", errors="replace").splitlines():
            fields = line.split(":")
            if len(fields) >= 7 and fields[2] == "1000" and _USER.match(fields[0]):
                return fields[0]
    return None


def home_of(root: Path, user: str) -> str:
    """The user's home folder from the root's /etc/passwd (``/home/USER`` when not listed)."""
    with contextlib.suppress(OSError):
        for line in under(root, "/etc/passwd").read_text(encoding="utf-8", errors="replace").splitlines():
            fields = line.split(":")
            if len(fields) >= 7 and fields[0] == user and fields[5].startswith("/"):
                return fields[5]
    return f"/home/{user}"


# -- the command ----------------------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    """The options of ``python -m kiosk.install`` (``scripts/install`` passes its own through)."""
    p = argparse.ArgumentParser(prog="scripts/install", description=(
        "安装闸机或办公室 / Install a gate or the office: config, systemd units, drop-ins, activation, doctor."))
    p.add_argument("role", choices=ROLES)
    p.add_argument("--root", default="/", help="write under this folder instead of / (tests, images)")
    p.add_argument("--source", default=None, help="the release's source tree (default: this package's tree)")
    p.add_argument("--release", default=None, help="the staged release folder to activate (/opt/kiosk/releases/…)")
    p.add_argument("--unattended", action="store_true", help="never ask: take everything from flags and --answers")
    p.add_argument("--answers", metavar="FILE", help="a YAML file of answers (keys: " + ", ".join(ANSWER_KEYS) + ")")
    p.add_argument("--gate-id")
    p.add_argument("--gate-name")
    p.add_argument("--office-url")
    p.add_argument("--provisioning", metavar="FILE", help="the file `kiosk office add-gate` made for this gate")
    p.add_argument("--allow-plain-http", action="store_true", default=None,
                   help="accept a plain-HTTP office URL on the local network")
    p.add_argument("--data-dir", help="data folder (default /var/lib/kiosk or /var/lib/kiosk-office); e.g. /srv/kiosk"
                   " on a data partition when the root is an overlay")
    p.add_argument("--office-name")
    p.add_argument("--public-url", help="the office's address as gates reach it, e.g. http://192.168.1.10:8443")
    p.add_argument("--screen", choices=SCREENS, default=None,
                   help="gate's touchscreen browser: labwc (Raspberry Pi OS), cage (plain Debian), none; default auto")
    p.add_argument("--desktop-user", help="Raspberry Pi OS's desktop autologin user (default: found by itself)")
    p.add_argument("--webcam", action="store_true", default=None, help="(used by scripts/install: [webcam] extra)")
    p.add_argument("--no-start", action="store_true", help="enable but do not start (no running systemd: a chroot)")
    return p


def main(argv: Sequence[str] | None = None, *, ask: Callable[[str], str] = input) -> int:
    """Run the Python step; 0 on success, 2 with a zh + en message on bad input or a failed step."""
    args = parser().parse_args(argv)
    root = Path(args.root)
    source = Path(args.source) if args.source else Path(__file__).resolve().parent.parent
    try:
        if not root.is_dir():
            raise InstallError(message(f"根目录 {root} 不存在", f"--root {root}: not a folder"))
        if not (source / "systemd" / SERVER_UNIT[args.role]).is_file():
            raise InstallError(message(f"{source} 不是本项目的源码目录", f"--source {source}: not this project's tree"))
        file_answers = load_answers(args.answers) if args.answers else {}
        flags = {key: getattr(args, key) for key in ANSWER_KEYS}
        answers = merge_answers(args.role, file_answers, flags)
        if not args.unattended and sys.stdin.isatty():
            existing = existing_settings(args.role, under(root, CONFIG_FILE[args.role]))
            answers = ask_missing(args.role, answers, existing, ask)
        start = not args.no_start and systemd_running(root)
        system = System(root, start=start)
        release = Path(args.release) if args.release else None
        result = Installer(args.role, root=root, source=source, release=release, system=system,
                           answers=answers).run(answers.screen)
    except InstallError as exc:
        print(f"安装未完成 / install not finished: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(message("安装未完成：文件操作失败", f"install not finished: {exc}"), file=sys.stderr)
        return 2
    summary(args.role, result, start)
    return 0


def summary(role: str, result: Result, started: bool) -> None:
    """What the run did, Chinese first; the doctor's verdict last."""
    print(message(f"配置：{CONFIG_FILE[role]}，数据目录：{result.data_dir}",
                  f"config {CONFIG_FILE[role]}, data folder {result.data_dir}"))
    print(message("已更改的文件", "files changed") + ": " + (", ".join(result.changed) or "-"))
    print(message("服务", "units") + ": " + ", ".join(result.units))
    print(message("启用", "activation") + ": " + result.activated)
    if not started:
        print(message("未启动服务（没有运行中的 systemd 或 --no-start）；重启后自动运行",
                      "units not started (no running systemd, or --no-start); they start at the next boot"))
    if result.skipped:
        print(message("未在此系统上执行", "not done on this system") + ": " + "; ".join(result.skipped[:20]))
    if result.verdict:
        print(message("体检结果", "doctor's verdict") + ":\n" + result.verdict)


if __name__ == "__main__":
    sys.exit(main())
