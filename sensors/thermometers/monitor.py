"""A background worker that keeps polling a thermometer so a fault reaches the screen within a second."""

from __future__ import annotations

import logging
from collections.abc import Callable

from kiosk.workers import Backoff, Worker
from sensors.thermometers.errors import DeviceClosedError
from sensors.thermometers.sampling import Thermometer, ThermometerStatus

log = logging.getLogger(__name__)


class ThermometerMonitor:
    """Calls :meth:`Thermometer.poll` every ``interval_s`` and reports each change of state.

    ``on_change(status)`` runs (in the monitor thread) for the first status and
    whenever the fault reason changes — not on every poll. A poll waits at most
    one measurement window (0.4 s by default) for a running :meth:`Thermometer.measure`,
    so with the default 0.1 s interval a new fault is reported well within 1 s.
    Polling that often also keeps consecutive reads close enough in time for the
    jump check (10 °C per 50 ms by default) to mean something between measurements.

    A poll or callback that raises is logged and the watch goes on at the next
    interval; the thread ends by itself when the thermometer is closed
    (:class:`DeviceClosedError`). :meth:`step` is what the thread does once;
    tests call it on a manual clock. Use as a context manager (starts on enter,
    stops on exit) or call :meth:`start` and :meth:`stop`. The thread is a
    :class:`kiosk.workers.Worker`.
    """

    def __init__(
        self,
        thermometer: Thermometer,
        on_change: Callable[[ThermometerStatus], None] | None = None,
        *,
        interval_s: float = 0.1,
    ):
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, got {interval_s}")
        self.thermometer = thermometer
        self.on_change = on_change
        self.interval_s = interval_s
        self._last: ThermometerStatus | None = None
        # After a failure the next poll comes at the usual interval: a fault must still show within a second.
        self._worker = Worker("thermometer-monitor", step=self._turn, on_fault=self._failed,
                              backoff=Backoff(interval_s, interval_s, jitter=False))

    @property
    def status(self) -> ThermometerStatus | None:
        """The latest status seen (None before the first poll)."""
        return self._last

    @property
    def running(self) -> bool:
        """True while the monitor thread is alive (it ends on :meth:`stop` or when the thermometer closes)."""
        return self._worker.running

    def step(self) -> ThermometerStatus:
        """Poll once and report the status if its fault reason changed."""
        status = self.thermometer.poll()
        changed = self._last is None or self._last.fault != status.fault
        self._last = status
        if changed and self.on_change is not None:
            self.on_change(status)
        return status

    def _turn(self) -> float | None:
        try:
            self.step()
        except DeviceClosedError:
            return None  # the thermometer was closed (the gate is shutting down): nothing left to watch
        return self.interval_s

    def _failed(self, worker: Worker, exc: BaseException) -> None:
        log.error("thermometer monitor: poll or status callback failed", exc_info=exc)

    def start(self) -> None:
        """Start the background thread (once)."""
        self._worker.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread and wait for it; calling it again does nothing."""
        self._worker.stop(timeout)

    close = stop

    def __enter__(self) -> ThermometerMonitor:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
