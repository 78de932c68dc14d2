"""One way to run a background loop, and one way to back off after a failure.

Every loop of the gate (the scanner, the passage worker, sync, the sensor
monitors, the timers) is a :class:`Worker`: a daemon thread with a stop event,
a join with a timeout, and a fault report — modelled on gpiozero's
``GPIOThread``. A subclass implements :meth:`Worker.step`, which does one turn
and says how long to wait before the next; an exception from a step is
reported through ``on_fault`` and the loop backs off (:class:`Backoff`) and
goes on, so a loop never dies silently. ``step()`` can also be called directly
by tests, one turn at a time.

A class whose own ``step()`` means something else (the scanner's returns the
scans it read) builds on a worker instead: ``Worker(name, step=self._turn)``,
the way ``threading.Thread`` takes a ``target``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Self

log = logging.getLogger(__name__)


class Backoff:
    """Exponential backoff with full jitter: the n-th wait is random in [0, min(cap, first × 2^(n-1))].

    Full jitter keeps many gates that lost the office at once from retrying in
    step. ``jitter=False`` gives the plain doubling (first, 2×first, … cap), for
    a local device where nobody else competes. ``reset()`` after a success.
    """

    def __init__(self, first_s: float = 1.0, cap_s: float = 60.0, *, jitter: bool = True,
                 rng: random.Random | None = None) -> None:
        if first_s <= 0 or cap_s < first_s:
            raise ValueError(f"backoff: expected 0 < first_s ≤ cap_s, got {first_s!r}, {cap_s!r}")
        self.first_s, self.cap_s, self.jitter = first_s, cap_s, jitter
        self.failures = 0
        self._rng = rng or random.Random()

    def delay(self, failures: int) -> float:
        """The wait after ``failures`` consecutive failures (1 = the first), without changing the count."""
        # The exponent is bounded so a loop failing for weeks never overflows a float.
        ceiling = min(self.cap_s, self.first_s * 2 ** min(max(failures - 1, 0), 30))
        return self._rng.uniform(0, ceiling) if self.jitter else ceiling

    def next(self) -> float:
        """Count one more failure and return how long to wait."""
        self.failures += 1
        return self.delay(self.failures)

    def reset(self) -> None:
        """A success: the next failure starts from ``first_s`` again."""
        self.failures = 0


class Worker:
    """A background loop in a daemon thread: ``start()``, ``stop()`` (sets the event, joins), fault report.

    Subclasses implement :meth:`step` (or pass ``step=`` a function); it returns
    the seconds to wait before the next turn (0 for at once, None to end the
    loop — e.g. a device closed under it). ``stopping`` is set when the loop
    should end; a step that blocks should wait on it (``self.stopping.wait(s)``),
    never on ``time.sleep``. :meth:`wake` cuts the wait between turns short; a
    wake that comes during a step makes the next turn start at once, so it is
    never lost.

    An exception from a step goes to ``on_fault(worker, exc)`` (logged when
    there is none) and the loop waits ``backoff.next()`` before trying again;
    during the report ``retry_in_s`` already holds that wait, for a status line.
    A worker runs once: after ``stop()`` make a new one to run again.
    """

    def __init__(self, name: str, *, step: Callable[[], float | None] | None = None,
                 on_fault: Callable[[Worker, BaseException], None] | None = None,
                 backoff: Backoff | None = None) -> None:
        self.name = name
        if step is not None:
            self.step = step  # type: ignore[method-assign]  # an instance attribute shadows the method
        self.on_fault = on_fault
        self.backoff = backoff or Backoff(0.1, 5.0, jitter=False)
        self.stopping = threading.Event()
        self.last_fault: BaseException | None = None
        self.retry_in_s: float | None = None
        # time.monotonic() when the loop last began a turn: the heartbeat a watchdog reads (kiosk.service_notify).
        self.turned_at: float | None = None
        self._woken = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> float | None:
        """One turn of the loop; returns the wait before the next turn (None: the loop is done)."""
        raise NotImplementedError

    @property
    def running(self) -> bool:
        """True while the worker's thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Self:
        """Start the thread (a second call does nothing); returns self."""
        if self._thread is None:
            self.stopping.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float | None = 5.0) -> bool:
        """Ask the loop to end and join it; False if it is still running after ``timeout`` seconds. Idempotent.

        Called from inside a step (a callback that stops its own loop) it only
        asks: the loop ends when that step returns.
        """
        self.stopping.set()
        self._woken.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.warning("%s did not stop within %s s", self.name, timeout)
                return False
        return True

    def close(self) -> bool:
        """Stop the loop; subclasses that hold a device or a session also release it here. Idempotent."""
        return self.stop()

    def wake(self) -> None:
        """Cut the current wait short: the next turn starts now (a poke; does nothing once stopped)."""
        self._woken.set()

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` between turns unless woken or asked to stop; True if stopping.

        :meth:`stop` and :meth:`wake` end the wait; so ask through them, not ``stopping.set()``.
        """
        if not self.stopping.is_set():
            self._woken.wait(seconds)
        return self.stopping.is_set()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def fault(self, exc: BaseException) -> None:
        """Report a failure of this loop (called by the loop; subclasses may call it for a caught error)."""
        self.last_fault = exc
        if self.on_fault is None:
            log.warning("%s: %s: %s", self.name, type(exc).__name__, exc)
            return
        try:
            self.on_fault(self, exc)
        except Exception:  # a failing report must not end the loop it reports on
            log.exception("%s: fault report failed", self.name)

    def _run(self) -> None:
        while True:
            # Cleared before the stop check: a stop() (or wake) after this point leaves the event
            # set, so the wait below returns at once instead of sleeping through it.
            self._woken.clear()
            if self.stopping.is_set():
                return
            self.turned_at = time.monotonic()
            try:
                wait = self.step()
            except Exception as exc:
                self.retry_in_s = wait = self.backoff.next()
                self.fault(exc)
            else:
                self.backoff.reset()
                self.last_fault = self.retry_in_s = None
            if wait is None:
                return
            if wait > 0 and self.wait(wait):
                return


class Every(Worker):
    """Runs ``work()`` at start and then every ``every_s`` seconds (retention purge, disk check, sweeps)."""

    def __init__(self, name: str, work: Callable[[], object], every_s: float, **kwargs) -> None:
        if every_s <= 0:
            raise ValueError(f"{name}: expected every_s > 0, got {every_s!r}")
        # A failed round (a busy journal, a vanished disk) is tried again at the next tick, not sooner.
        kwargs.setdefault("backoff", Backoff(every_s, every_s, jitter=False))
        super().__init__(name, **kwargs)
        self.work, self.every_s = work, every_s

    def step(self) -> float:
        """Do the work once; the next turn comes ``every_s`` later."""
        self.work()
        return self.every_s
