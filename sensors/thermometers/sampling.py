"""From a sensor's single reads to a person's measurement: the read window, presence, the stable maximum and the fault state.

Nothing here knows about a particular sensor model: a :class:`Sensor` is anything
with ``read() -> Sample`` that raises :class:`~sensors.thermometers.errors.SensorError`
(with a ``reason``) when a read is bad, and ``close()``. The MLX90614 driver is one;
a second model (say an MLX90632) is one more such class.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from kiosk.calibration import apply_calibration
from kiosk.measurements import Measurement, MeasurementSource
from sensors.thermometers.errors import DeviceClosedError, Fault, SensorError

# Float noise must not turn "agrees within 0.3 °C" into a disagreement (36.5 vs 36.8).
_EPSILON = 1e-9


@dataclass(frozen=True)
class Sample:
    """One read of a sensor: ambient and object temperature in °C, and the raw words they came from."""

    ambient_c: float
    object_c: float
    words: tuple[int, ...] = ()


class Sensor(Protocol):
    """What :class:`Thermometer` needs from a sensor model."""

    model: str

    def read(self) -> Sample:
        """One ambient + object read; raises SensorError (with a ``reason``) when the read is bad."""
        ...

    def close(self) -> None:
        """Release the device; idempotent."""
        ...


@dataclass(frozen=True)
class ThermometerStatus:
    """The thermometer's health: ``fault`` is None when it is fine, else a :class:`Fault` value.

    ``since`` is when this state began; ``ambient_c`` is the last good ambient read
    (None in fault: no number is reported from a faulty sensor).
    """

    fault: str | None
    detail: str | None
    since: datetime
    ambient_c: float | None = None
    model: str = ""

    @property
    def ok(self) -> bool:
        """True when the thermometer can be trusted."""
        return self.fault is None

    def to_dict(self) -> dict:
        """Plain JSON-ready form for the status API."""
        return {"ok": self.ok, "fault": self.fault, "detail": self.detail, "since": self.since.isoformat(),
                "ambient_c": self.ambient_c, "model": self.model}


def stable_maximum(values: Sequence[float], within_c: float = 0.3) -> float | None:
    """The largest value that agrees within ``within_c`` with at least one of its neighbours in time.

    A read confirmed by the read before or after it is real; a lone spike (or the
    edge of a head moving in or out) is not. None when no two neighbours agree.
    """
    best: float | None = None
    for i, value in enumerate(values):
        neighbours = list(values[max(i - 1, 0):i]) + list(values[i + 1:i + 2])
        if any(abs(value - n) <= within_c + _EPSILON for n in neighbours):
            best = value if best is None else max(best, value)
    return best


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Thermometer:
    """A sensor plus what makes its numbers trustworthy: windows, presence, calibration and a fault state.

    - :meth:`measure` takes ``reads`` reads spread over ``window_s`` and returns a
      :class:`~kiosk.measurements.Measurement`: the calibrated stable maximum, or
      ``object_c=None`` with ``fault`` set. It returns None when nobody is in front
      (object not ``presence_delta_c`` above ambient and the ``presence`` input,
      if any, not firing).
    - :meth:`poll` does one read and returns the :class:`ThermometerStatus`; a
      :class:`~sensors.thermometers.monitor.ThermometerMonitor` calls it in the
      background so a fault shows within a second.
    - Any bad read (bus error, bad PEC, error flag, out of range), identical raw
      words for more than ``stuck_after_s``, or a change faster than ``jump_c`` per
      ``jump_window_s`` puts it in fault. It leaves the fault by itself after
      ``recover_after`` consecutive good reads.

    ``clock``/``sleep``/``now`` are injectable so tests run on a manual clock.
    """

    def __init__(
        self,
        sensor: Sensor,
        *,
        offset_c: float = 0.0,
        ambient_slope: float = 0.0,
        presence: Callable[[], bool] | None = None,
        reads: int = 8,
        window_s: float = 0.4,
        presence_delta_c: float = 2.0,
        stable_within_c: float = 0.3,
        stuck_after_s: float = 2.0,
        jump_c: float = 10.0,
        jump_window_s: float = 0.05,
        recover_after: int = 3,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = _utc_now,
    ):
        if reads < 2:
            raise ValueError(f"reads must be at least 2 (the stable maximum needs neighbours), got {reads}")
        if window_s < 0 or stuck_after_s <= 0 or jump_c <= 0 or jump_window_s <= 0 or stable_within_c < 0:
            raise ValueError("window_s, stuck_after_s, jump_c, jump_window_s and stable_within_c must be positive")
        if recover_after < 1:
            raise ValueError(f"recover_after must be at least 1, got {recover_after}")
        self.sensor = sensor
        self.offset_c = offset_c
        self.ambient_slope = ambient_slope
        self.presence = presence
        self.reads = reads
        self.window_s = window_s
        self.presence_delta_c = presence_delta_c
        self.stable_within_c = stable_within_c
        self.stuck_after_s = stuck_after_s
        self.jump_c = jump_c
        self.jump_window_s = jump_window_s
        self.recover_after = recover_after
        self._clock = clock
        self._sleep = sleep
        self._now = now
        # One lock for the sensor and the state: measure() and a monitor thread share both.
        self._lock = threading.RLock()
        # The fault state has its own short lock: the screen's status must not wait out a 0.4 s read window.
        self._status_lock = threading.Lock()
        self._closed = False
        self._fault: Fault | None = None
        self._detail: str | None = None
        self._since = now()
        self._good_run = 0
        self._ambient: float | None = None
        self._previous: tuple[float, Sample] | None = None
        self._same_words: tuple[int, ...] | None = None
        self._same_since = 0.0

    # Tuning knobs that ThermometerSettings may carry; any it has are taken from it.
    _SETTINGS = ("reads", "window_s", "presence_delta_c", "stable_within_c", "stuck_after_s", "jump_c",
                 "jump_window_s", "recover_after")

    @classmethod
    def from_settings(cls, settings, sensor: Sensor, **kwargs) -> Thermometer:
        """A thermometer set up from a ``ThermometerSettings``: calibration, and the tuning knobs it has.

        Keyword arguments win over the settings.
        """
        for name in cls._SETTINGS:
            if hasattr(settings, name):
                kwargs.setdefault(name, getattr(settings, name))
        return cls(sensor, offset_c=settings.offset_c, ambient_slope=settings.ambient_slope, **kwargs)

    # -- state ------------------------------------------------------------------------------

    @property
    def status(self) -> ThermometerStatus:
        """The current state, without touching the sensor (and without waiting for a read window to end)."""
        with self._status_lock:
            return ThermometerStatus(
                fault=self._fault.value if self._fault else None,
                detail=self._detail,
                since=self._since,
                ambient_c=None if self._fault else self._ambient,
                model=getattr(self.sensor, "model", type(self.sensor).__name__),
            )

    def _enter_fault(self, reason: Fault, detail: str) -> None:
        with self._status_lock:
            if self._fault is not reason:
                self._since = self._now()
            self._fault, self._detail, self._good_run = reason, detail, 0

    def _check(self, t: float, sample: Sample) -> tuple[Fault, str] | None:
        """Stuck and jump checks against earlier reads; updates the history either way."""
        problem = None
        if sample.words and sample.words == self._same_words:
            if t - self._same_since > self.stuck_after_s:
                problem = (Fault.STUCK, f"raw words {', '.join(f'0x{w:04x}' for w in sample.words)} "
                                        f"unchanged for {t - self._same_since:.1f} s")
        else:
            self._same_words, self._same_since = sample.words, t
        if problem is None and self._previous is not None:
            problem = self._jump(t, sample, self._previous)
        self._previous = (t, sample)
        return problem

    def _limit(self, dt: float) -> float:
        # Within one jump window the limit is flat; over longer gaps it grows with time.
        return self.jump_c * max(1.0, dt / self.jump_window_s)

    def _jump(self, t: float, sample: Sample, previous: tuple[float, Sample]) -> tuple[Fault, str] | None:
        """A change since the previous read faster than ``jump_c`` per ``jump_window_s``.

        The sensor low-pass filters its output (FIR/IIR filters set in its
        EEPROM), so a forehead arriving, even in front of a freezing wall, shows as
        a rise over several reads; a bigger step between two close reads is not a
        scene. A step that persists (a real
        but unusual scene) clears like any fault, after ``recover_after`` good reads.
        """
        before_t, before = previous
        dt = max(t - before_t, 0.0)
        limit = self._limit(dt)
        for name, change in (("object", sample.object_c - before.object_c),
                             ("ambient", sample.ambient_c - before.ambient_c)):
            if abs(change) > limit:
                return Fault.JUMP, f"{name} changed {change:+.2f} °C in {dt * 1000:.0f} ms (limit {limit:.1f} °C)"
        return None

    def _read_once(self) -> Sample | None:
        """One read through the fault state machine: the sample if the read was good, else None."""
        t = self._clock()
        try:
            sample = self.sensor.read()
        except SensorError as exc:
            reason = exc.reason if isinstance(exc.reason, Fault) else Fault.__members__.get(str(exc.reason).upper())
            self._enter_fault(reason or Fault.BUS_ERROR, str(exc))
            return None
        except OSError as exc:  # a driver that forgot to wrap its bus errors still must not yield a number
            self._enter_fault(Fault.BUS_ERROR, str(exc))
            return None
        problem = self._check(t, sample)
        if problem is not None:
            self._enter_fault(*problem)
            return None
        with self._status_lock:
            self._ambient = sample.ambient_c
            if self._fault is not None:
                self._good_run += 1
                if self._good_run >= self.recover_after:
                    self._fault, self._detail, self._since = None, None, self._now()
        return sample

    def _check_open(self) -> None:
        if self._closed:
            raise DeviceClosedError("the thermometer is closed")

    # -- public -----------------------------------------------------------------------------

    def poll(self) -> ThermometerStatus:
        """Read the sensor once, update the fault state, and return the status."""
        with self._lock:
            self._check_open()
            self._read_once()
            return self.status

    def measure(self, *, require_presence: bool = True) -> Measurement | None:
        """Take one window of reads and return the measurement, or None when nobody is in front.

        A fault at any moment of the window (or still active from before) gives
        ``Measurement(object_c=None, fault=reason)`` and no number at all. Reads
        that never agree with a neighbour give ``fault="unstable"``. Otherwise the
        stable maximum is calibrated: value + offset_c + ambient_slope × (ambient − 25).
        ``require_presence=False`` measures whatever is in front (calibration rigs).
        """
        interval = self.window_s / self.reads
        with self._lock:
            self._check_open()
            fault = self._fault
            samples: list[Sample] = []
            for i in range(self.reads):
                if i:
                    self._sleep(interval)
                sample = self._read_once()
                if self._fault is not None:
                    fault = self._fault
                if sample is not None:
                    samples.append(sample)
            taken_at = self._now()
        if fault is not None or not samples:
            return Measurement(None, taken_at=taken_at, fault=(fault or Fault.BUS_ERROR).value)

        objects = [s.object_c for s in samples]
        ambient = statistics.median(s.ambient_c for s in samples)
        value = stable_maximum(objects, self.stable_within_c)
        warmest = value if value is not None else max(objects)
        present = (self.presence is not None and bool(self.presence())) or warmest - ambient >= self.presence_delta_c
        if require_presence and not present:
            return None
        if value is None:
            return Measurement(None, taken_at=taken_at, fault=Fault.UNSTABLE.value)
        calibrated = apply_calibration(value, ambient, self.offset_c, self.ambient_slope)
        return Measurement(round(calibrated, 2), round(ambient, 2), MeasurementSource.SENSOR, taken_at, None, tuple(objects))

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Close the sensor; calling it again does nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self.sensor.close()

    def __enter__(self) -> Thermometer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
