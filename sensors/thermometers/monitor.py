"""A background thread that keeps polling a thermometer so a fault reaches the screen within a second."""

from __future__ import annotations

import logging
import threading
from typing import Callable

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

    :meth:`step` is what the thread does once; tests call it on a manual clock.
    Use as a context manager (starts on enter, stops on exit) or call
    :meth:`start` and :meth:`stop`.
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
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def status(self) -> ThermometerStatus | None:
        """The latest status seen (None before the first poll)."""
        return self._last

    def step(self) -> ThermometerStatus:
        """Poll once and report the status if its fault reason changed."""
        status = self.thermometer.poll()
        changed = self._last is None or self._last.fault != status.fault
        self._last = status
        if changed and self.on_change is not None:
            self.on_change(status)
        return status

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.step()
            except DeviceClosedError:
                return
            except Exception:  # a failing callback must not end the watch over the sensor
                log.exception("thermometer monitor: poll or status callback failed")
            self._stopping.wait(self.interval_s)

    def start(self) -> None:
        """Start the background thread (once)."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="thermometer-monitor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread and wait for it; calling it again does nothing."""
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    close = stop

    def __enter__(self) -> "ThermometerMonitor":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
