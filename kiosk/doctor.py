"""``kiosk doctor``: one line per check (ok / warn / fail) with the fix, for whoever sets up a gate.

This module holds the result type and the checks that need no hardware
(data folder, clock, office link); the hardware probes live in
``sensors.diagnostics`` and are imported only when doctor runs.
"""

from __future__ import annotations

import enum
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kiosk.disk import DISK_WARN_BYTES, disk_low


class Status(str, enum.Enum):
    """How a check came out."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    status: Status
    detail: str
    hint: str = ""

    def to_dict(self) -> dict:
        """JSON-ready form for ``--json``."""
        return {"name": self.name, "status": self.status.value, "detail": self.detail, "hint": self.hint}


def ok(name: str, detail: str) -> Check:
    """A passing check."""
    return Check(name, Status.OK, detail)


def warn(name: str, detail: str, hint: str = "") -> Check:
    """A check that passed with a concern."""
    return Check(name, Status.WARN, detail, hint)


def fail(name: str, detail: str, hint: str = "") -> Check:
    """A failing check; doctor exits 1."""
    return Check(name, Status.FAIL, detail, hint)


def guarded(name: str, probe: Callable[[], Check]) -> Check:
    """Run one probe; an unexpected exception becomes a failing line instead of ending the report."""
    try:
        return probe()
    except Exception as exc:  # the report must go on whatever one probe meets
        return fail(name, f"{type(exc).__name__}: {exc}", "this is a bug in the check itself: please report it")


def check_data_dir(path: str | Path) -> Check:
    """The data folder exists (or can be made), is writable with fsync, and has free space."""
    name = "data folder"
    path = Path(path)
    if not path.exists():
        parent = next((p for p in path.parents if p.exists()), Path("/"))
        if parent.is_dir() and os.access(parent, os.W_OK):
            return warn(name, f"{path}: does not exist yet", "the gate creates it on first start")
        return fail(name, f"{path}: does not exist and {parent} is not writable",
                    f"create it for the gate's user: sudo install -d -o $USER {path}")
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-") as probe:
            probe.write(b"x")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        return fail(name, f"{path}: not writable ({exc.strerror or exc})",
                    f"create it and give the gate's user write access: sudo install -d -o $USER {path}")
    free = shutil.disk_usage(path).free
    detail = f"{path}: writable, {free / 1024**3:.1f} GiB free"
    # The same threshold as the gate's own disk fault (kiosk.disk): doctor and status bar never disagree.
    if disk_low(free):
        return fail(name, detail, "free disk space: the journal needs room to record every passage")
    if free < DISK_WARN_BYTES:
        return warn(name, detail, "less than 1 GiB free: clean up or use a larger card")
    return ok(name, detail)


def _ntp_synchronised() -> bool | None:
    """systemd's view of clock sync; None when it cannot be asked (no timedatectl, no systemd)."""
    try:
        result = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
                                capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() == "yes"


def check_clock(now: datetime | None = None, synchronised: Callable[[], bool | None] = _ntp_synchronised) -> Check:
    """The clock is plausible and synchronised: card validity and the ledger's times depend on it."""
    name = "clock"
    now = now or datetime.now(UTC)
    if now.year < 2024:
        return fail(name, f"the clock says {now:%Y-%m-%d %H:%M} UTC",
                    "a Pi has no battery clock: connect to the network (NTP) or set it: sudo date -s '2026-11-28 09:00'")
    state = synchronised()
    if state is None:
        return warn(name, f"{now:%Y-%m-%d %H:%M} UTC; synchronisation unknown (no timedatectl)",
                    "make sure NTP runs: sudo timedatectl set-ntp true")
    if not state:
        return warn(name, f"{now:%Y-%m-%d %H:%M} UTC, not synchronised",
                    "enable NTP (sudo timedatectl set-ntp true) or add an RTC module; the office flags gates whose clock is off")
    return ok(name, f"{now:%Y-%m-%d %H:%M} UTC, synchronised")


def check_office(url: str | None, timeout_s: float = 3.0) -> Check:
    """The office's /healthz answers, when an office is configured."""
    name = "office link"
    if not url:
        return ok(name, "no office configured (stand-alone gate)")
    target = url.rstrip("/") + "/healthz"
    try:
        with urllib.request.urlopen(target, timeout=timeout_s) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return warn(name, f"{target}: unreachable ({reason})",
                    "the gate keeps working offline and syncs later; check Wi-Fi and sync.office_url")
    if status != 200:
        return warn(name, f"{target}: answered HTTP {status}", "check sync.office_url points at the office server")
    return ok(name, f"{target}: reachable")


def exit_code(checks: Iterable[Check]) -> int:
    """1 when any check failed, else 0."""
    return 1 if any(c.status is Status.FAIL for c in checks) else 0
