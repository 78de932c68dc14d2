"""``kiosk doctor``: one line per check (ok / warn / fail) with the fix, for whoever sets up a gate.

This module holds the result type and the checks that need no hardware
(data folder, clock, office link); the hardware probes live in
``sensors.diagnostics`` and are imported only when doctor runs.
"""

from __future__ import annotations

import enum
import os
import shutil
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
    """The kernel's word on clock sync (adjtimex), else systemd's (timedatectl); None when neither can be asked."""
    from kiosk.gate.clock import ClockSource

    return ClockSource().synchronised()


def _newest_journaled(journal_path: str | Path | None) -> datetime | None:
    """The newest time in the gate's journal, read-only; None without a journal (or one that cannot be read)."""
    if journal_path is None or not Path(journal_path).is_file():
        return None
    from kiosk.exc import JournalError
    from kiosk.gate.journal import JournalReader, parse_ts

    try:
        with JournalReader(journal_path) as reader:
            newest = reader.stats().newest_ts
    except JournalError:
        return None  # the data folder's own check says what is wrong with it
    return parse_ts(newest) if newest else None


_RTC_HINT = "add a battery clock (RTC) module: see docs/clock.md"


def check_clock(now: datetime | None = None, synchronised: Callable[[], bool | None] = _ntp_synchronised,
                journal_path: str | Path | None = None) -> Check:
    """The clock is plausible, not behind the journal's newest event, and synchronised: card validity and the
    ledger's times depend on it. Says trusted or not, as the gate's screen does (kiosk.gate.clock)."""
    from kiosk.gate.clock import TrustCode, assess

    name = "clock"
    now = now or datetime.now(UTC)
    if now.year < 2024:
        return fail(name, f"the clock says {now:%Y-%m-%d %H:%M} UTC: not trusted",
                    "a Pi has no battery clock: connect to the network (NTP) or set it: sudo date -s '2026-11-28 09:00'; "
                    + _RTC_HINT)
    newest = _newest_journaled(journal_path)
    state = synchronised()
    trust = assess(now, newest_ts=newest, synchronised=state)
    if trust.code is TrustCode.BEHIND_JOURNAL:
        return fail(name, f"{now:%Y-%m-%d %H:%M} UTC: not trusted, {_hours(trust.behind_s)} behind the journal's "
                    f"newest event ({newest:%Y-%m-%d %H:%M} UTC)",
                    "the clock went back (a power cut without network?): let NTP set it (sudo timedatectl set-ntp true)"
                    " or set it by hand (sudo date -s …); " + _RTC_HINT)
    if state is None:
        return warn(name, f"{now:%Y-%m-%d %H:%M} UTC; synchronisation unknown (no adjtimex, no timedatectl)",
                    "make sure NTP runs: sudo timedatectl set-ntp true")
    if not state:
        return warn(name, f"{now:%Y-%m-%d %H:%M} UTC, not synchronised: not trusted until NTP or the office's "
                    "heartbeat vouches for it",
                    "enable NTP (sudo timedatectl set-ntp true) or " + _RTC_HINT
                    + "; the office flags gates whose clock is off")
    return ok(name, f"{now:%Y-%m-%d %H:%M} UTC, synchronised, trusted")


def _hours(seconds: float | None) -> str:
    seconds = seconds or 0.0
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


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
