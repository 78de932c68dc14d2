"""The gate's clock seam, and how far the gate can trust its wall clock (a Pi has no battery clock).

After a power cut without network a Pi's clock starts wherever fake-hwclock
left it (or at 1970) until NTP steps it: hours wrong, and card validity and the
ledger's times depend on it. This module gives the gate three things:

- :class:`ClockSource`, the seam: the wall clock, the monotonic clock, the boot
  id (``/proc/sys/kernel/random/boot_id``) and whether the kernel's clock is
  synchronised (``adjtimex``, else ``timedatectl``). Tests pass a
  :class:`FakeClockSource`.
- :func:`assess`, pure: a :class:`ClockTrust` (a code, never text) from the
  wall time, the newest journaled time, the synchronised state and the office's
  offset at the last heartbeat.
- :class:`GateClock`, the small state the journal and the heartbeat share: the
  office's last answer, and a cached synchronised state.

Events carry ``boot`` + ``mono_ms`` (monotonic ms since boot) + ``clock`` (the
trust code), so the office can order a boot's events and re-date them from that
boot's heartbeat (kiosk.office.clock_correction). See docs/clock.md.
"""

from __future__ import annotations

import enum
import functools
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"
# The office flags a gate whose clock is further off than this (web/office/api.py CLOCK_TOLERANCE_S); the
# heartbeat's answer may name its own, which then wins.
OFFICE_TOLERANCE_S = 120.0
# No gate of this software ran before this: a clock earlier than it is wrong whatever the journal holds.
FLOOR = datetime(2024, 1, 1, tzinfo=UTC)
# An office heartbeat within its tolerance vouches for a clock NTP has not synchronised (an office LAN without
# internet) for this long by the monotonic clock; a step of the wall clock since is seen at once anyway.
VOUCH_S = 3600.0
# How long a synchronised-state reading is reused (a syscall, or a subprocess without adjtimex).
SYNC_CACHE_S = 10.0
MAX_BOOT_LEN = 64
MAX_MONO_MS = 2**53


class TrustCode(str, enum.Enum):
    """How far the gate's wall clock can be trusted, worst first when several apply."""

    BEHIND_JOURNAL = "behind_journal"  # earlier than the newest journaled event (or than FLOOR): it went backwards
    OFF_OFFICE = "off_office"  # further from the office's clock, at the last heartbeat, than the office tolerates
    UNSYNCHRONISED = "unsynchronised"  # NTP has not synchronised it and no recent heartbeat found it within tolerance
    TRUSTED = "trusted"


TRUST_CODES = tuple(code.value for code in TrustCode)


@dataclass(frozen=True)
class ClockTrust:
    """One assessment: the code, and the figures behind it (for the status API, doctor and tests)."""

    code: TrustCode
    synchronised: bool | None = None
    behind_s: float | None = None  # how far now is before the newest journaled time (positive), when it is
    office_offset_s: float | None = None  # the gate's offset from the office now, as estimated from the last heartbeat

    @property
    def trusted(self) -> bool:
        """True only for ``trusted``: the screen shows its banner otherwise."""
        return self.code is TrustCode.TRUSTED

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the gate's status."""
        return {"trust": self.code.value, "trusted": self.trusted, "synchronised": self.synchronised,
                "behind_s": self.behind_s, "office_offset_s": self.office_offset_s}


@dataclass(frozen=True)
class OfficeObservation:
    """The office's offset at one heartbeat, with the gate's own clocks when it was sent."""

    offset_s: float  # gate clock − office clock, as the office measured it
    wall: datetime  # the gate's wall clock when the heartbeat was sent
    mono_s: float  # the gate's monotonic clock then
    tolerance_s: float = OFFICE_TOLERANCE_S

    def offset_now(self, wall: datetime, mono_s: float) -> float:
        """The offset now: the heartbeat's, plus however far the wall clock was stepped since (wall − monotonic).

        So a clock NTP corrects after the heartbeat is trusted again at once,
        and one stepped away from the office is caught before the next beat.
        """
        stepped = (wall - self.wall).total_seconds() - (mono_s - self.mono_s)
        return self.offset_s + stepped


def assess(now: datetime, *, newest_ts: datetime | None = None, synchronised: bool | None = None,
           office: OfficeObservation | None = None, mono_s: float | None = None) -> ClockTrust:
    """The clock's trust from what the gate knows; the worst finding wins (see :class:`TrustCode`'s order).

    ``newest_ts``: the newest journaled time (None: an empty journal);
    ``synchronised`` None (cannot be asked) is not held against the clock;
    ``office`` with ``mono_s`` (the monotonic clock now) checks the office's offset, and a heartbeat within the
    office's tolerance in the last ``VOUCH_S`` vouches for a clock NTP has not synchronised: the office's clock
    is the one the ledger is read against.
    """
    floor = max(FLOOR, newest_ts) if newest_ts is not None else FLOOR
    behind = (floor - now).total_seconds()
    offset = None
    if office is not None and mono_s is not None:
        offset = round(office.offset_now(now, mono_s), 3)
    if behind > 0:
        code = TrustCode.BEHIND_JOURNAL
    elif offset is not None and abs(offset) > office.tolerance_s:  # type: ignore[union-attr]
        code = TrustCode.OFF_OFFICE
    elif synchronised is False and not (offset is not None and 0 <= mono_s - office.mono_s <= VOUCH_S):  # type: ignore[operator, union-attr]
        code = TrustCode.UNSYNCHRONISED
    else:
        code = TrustCode.TRUSTED
    return ClockTrust(code, synchronised, round(behind, 3) if behind > 0 else None, offset)


# -- the seam --------------------------------------------------------------------


class ClockSource:
    """The real clocks of this machine. Subclass (or :class:`FakeClockSource`) in tests."""

    _boot: str | None = None

    def wall(self) -> datetime:
        """The wall clock, aware, UTC."""
        return datetime.now(UTC)

    def monotonic_s(self) -> float:
        """Seconds since boot that never go backwards (CLOCK_MONOTONIC: since boot on Linux)."""
        return time.monotonic()

    def boot_id(self) -> str | None:
        """This boot's id (a new one each boot), or None where the kernel does not say; read once (it changes only
        with a reboot, and so does this process)."""
        if self._boot is not None:
            return self._boot
        try:
            with open(BOOT_ID_PATH, encoding="ascii") as handle:
                value = handle.read(MAX_BOOT_LEN + 1).strip()
        except (OSError, ValueError):
            return None
        self._boot = value[:MAX_BOOT_LEN] or None
        return self._boot

    def synchronised(self) -> bool | None:
        """Whether NTP has synchronised the clock: ``adjtimex`` (cheap), else ``timedatectl``; None: cannot tell."""
        state = _adjtimex_synchronised()
        return state if state is not None else _timedatectl_synchronised()


class HostClockSource(ClockSource):
    """A simulated gate's clocks (``kiosk demo``, ``kiosk run --simulate``): a PC's, whose own system keeps its time;
    whether NTP synchronised it says nothing about a gate, so it is never held against the clock."""

    def synchronised(self) -> bool | None:
        """Unknown, on purpose."""
        return None


class FakeClockSource(ClockSource):
    """A clock the test moves: ``step`` the wall clock (a power cut, NTP), ``advance`` both, ``reboot``."""

    def __init__(self, wall: datetime, *, mono_s: float = 100.0, boot: str | None = "boot-1",
                 synchronised: bool | None = True):
        self._wall = wall
        self._mono = mono_s
        self.boot = boot
        self.sync = synchronised

    def wall(self) -> datetime:
        """The fake wall clock."""
        return self._wall

    def monotonic_s(self) -> float:
        """The fake monotonic clock."""
        return self._mono

    def boot_id(self) -> str | None:
        """The fake boot id."""
        return self.boot

    def synchronised(self) -> bool | None:
        """The fake synchronised state."""
        return self.sync

    def advance(self, seconds: float) -> None:
        """Time passes: both clocks move on."""
        self._wall += timedelta(seconds=seconds)
        self._mono += seconds

    def step(self, wall: datetime) -> None:
        """The wall clock is set (by NTP, a person, fake-hwclock); the monotonic clock does not move."""
        self._wall = wall

    def reboot(self, boot: str, wall: datetime, *, synchronised: bool | None = False) -> None:
        """A power cut: a new boot id, the monotonic clock from a few seconds, the wall clock wherever it starts."""
        self.boot, self._wall, self._mono, self.sync = boot, wall, 5.0, synchronised


def _adjtimex_synchronised() -> bool | None:
    """The kernel's own word (what chrony and timesyncd set): adjtimex's TIME_ERROR (5) means unsynchronised."""
    adjtimex = _adjtimex()
    if adjtimex is None:
        return None
    import ctypes

    buffer = ctypes.create_string_buffer(512)  # struct timex is 208 bytes on 64-bit Linux; modes 0 only reads
    state = adjtimex(buffer)
    if state < 0:
        return None
    return state != 5


@functools.cache
def _adjtimex() -> Any:
    """libc's adjtimex, found once (the process's own symbols: no ldconfig run); None off Linux/glibc."""
    import ctypes  # here: the gate loads ctypes only when it first asks (its memory is measured)

    try:
        return ctypes.CDLL(None, use_errno=True).adjtimex
    except (OSError, AttributeError):
        return None


def _timedatectl_synchronised() -> bool | None:
    """systemd's view; None when it cannot be asked (no timedatectl, no systemd)."""
    try:
        result = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
                                capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() == "yes"


# -- the gate's shared clock state --------------------------------------------------


@dataclass(frozen=True)
class Stamp:
    """What every event and heartbeat carries about the clock it was stamped with."""

    boot: str | None
    mono_ms: int
    clock: str  # a TrustCode value


class GateClock:
    """The gate's clock state: the seam, the office's last offset, a cached synchronised state. Thread-safe.

    The journal asks :meth:`stamp` once per transaction; the heartbeat sends
    :meth:`stamp` too and hands the office's answer to :meth:`observe_office`.
    """

    def __init__(self, source: ClockSource | None = None, *, sync_cache_s: float = SYNC_CACHE_S):
        self.source = source or ClockSource()
        self._sync_cache_s = sync_cache_s
        self._lock = threading.Lock()
        self._office: OfficeObservation | None = None
        self._sync: tuple[float, bool | None] | None = None  # (monotonic when read, state)

    @property
    def boot(self) -> str | None:
        """This boot's id."""
        return self.source.boot_id()

    def mono_ms(self) -> int:
        """The monotonic clock in whole milliseconds, within 0..2**53."""
        return max(0, min(MAX_MONO_MS, int(self.source.monotonic_s() * 1000)))

    def synchronised(self) -> bool | None:
        """The synchronised state, read at most every ``sync_cache_s``."""
        mono = self.source.monotonic_s()
        with self._lock:
            cached = self._sync
        if cached is not None and 0 <= mono - cached[0] < self._sync_cache_s:
            return cached[1]
        state = self.source.synchronised()
        with self._lock:
            self._sync = (mono, state)
        return state

    def observe_office(self, answer: dict, wall: datetime, mono_s: float) -> None:
        """Keep the office's offset from a heartbeat's answer (sent at ``wall``/``mono_s``); a bad answer is ignored."""
        offset = answer.get("clock_offset_s")
        tolerance = answer.get("clock_tolerance_s", OFFICE_TOLERANCE_S)
        if not isinstance(offset, (int, float)) or not _number(offset) or not _number(tolerance) or tolerance <= 0:
            return
        with self._lock:
            self._office = OfficeObservation(float(offset), wall, mono_s, float(tolerance))

    def assess(self, now: datetime | None = None, newest_ts: datetime | None = None) -> ClockTrust:
        """The trust now (``now``: the caller's wall reading, default the seam's)."""
        now = now or self.source.wall()
        with self._lock:
            office = self._office
        return assess(now, newest_ts=newest_ts, synchronised=self.synchronised(), office=office,
                      mono_s=self.source.monotonic_s())

    def stamp(self, now: datetime | None = None, newest_ts: datetime | None = None) -> Stamp:
        """Boot, monotonic ms and trust code for an event journaled at ``now`` after ``newest_ts``."""
        return Stamp(self.boot, self.mono_ms(), self.assess(now, newest_ts).code.value)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < 10**12


StampFn = Callable[[datetime, datetime | None], Stamp]


def heartbeat_clock(journal: Any) -> tuple[dict[str, Any], Callable[[dict], None]]:
    """A heartbeat's clock fields (gate_clock, boot, mono_ms, clock) from the journal's clock, and what to call with
    the office's answer (its offset then judges the clock until the next heartbeat)."""
    clock: GateClock = getattr(journal, "gate_clock", None) or GateClock()
    wall, mono_ms = clock.source.wall(), clock.mono_ms()
    trust = journal.clock_trust(wall) if hasattr(journal, "clock_trust") else clock.assess(wall)
    fields = {"gate_clock": wall.isoformat(), "boot": clock.boot, "mono_ms": mono_ms, "clock": trust.code.value}
    return fields, lambda answer: clock.observe_office(answer, wall, mono_ms / 1000)
