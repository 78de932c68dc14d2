"""The one background-loop base class and the one backoff: steps, stop and join, fault reports and retries,
the end of a loop, wake-ups, timers and the backoff's doubling, cap, jitter and reset.

Timing is driven by events: a test waits (with a generous timeout) for something to happen, and asserts
on a bound far below that timeout only where the point is that a wait was cut short."""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time

import pytest

from kiosk.workers import Backoff, Every, Worker

TIMEOUT = 5.0  # what a test waits at most for something that should happen at once


class Steps(Worker):
    """A worker that runs a script of turns: each entry is a wait to return, or an exception to raise."""

    def __init__(self, script, *, then=None, **kwargs) -> None:
        super().__init__("steps", **kwargs)
        self.script = list(script)
        self.then = then  # what every turn after the script returns
        self.turns = 0
        self.turned = threading.Condition()

    def step(self):
        with self.turned:
            self.turns += 1
            self.turned.notify_all()
        item = self.script.pop(0) if self.script else self.then
        if isinstance(item, BaseException):
            raise item
        return item

    def wait_turns(self, n: int) -> bool:
        with self.turned:
            return self.turned.wait_for(lambda: self.turns >= n, TIMEOUT)


def wait_until(condition, timeout: float = TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.002)
    return condition()


# --- the loop ---------------------------------------------------------------------------------------


def test_the_loop_runs_steps_until_stopped():
    worker = Steps([], then=0)
    assert worker.start() is worker
    assert worker.start() is worker  # a second start is no second thread
    assert worker.wait_turns(20)
    assert worker.running
    assert worker.stop() is True
    assert not worker.running
    turns = worker.turns
    time.sleep(0.01)
    assert worker.turns == turns  # joined: no turn after stop returned


def test_stop_is_idempotent_and_safe_before_start():
    worker = Steps([], then=0)
    assert worker.stop() is True  # never started: nothing to join
    worker.start()
    assert worker.wait_turns(1)
    assert worker.stop() is True
    assert worker.stop() is True
    assert worker.close() is True
    assert not worker.running


def test_stop_cuts_a_long_wait_short():
    worker = Steps([], then=60.0).start()
    assert worker.wait_turns(1)
    started = time.monotonic()
    assert worker.stop(timeout=TIMEOUT) is True
    assert time.monotonic() - started < 1.0
    assert worker.turns == 1


def test_stop_reports_a_step_that_does_not_end_in_time(caplog):
    release = threading.Event()

    class Stuck(Worker):
        def step(self):
            release.wait(TIMEOUT)  # a driver call that ignores the stop event
            return 0

    worker = Stuck("stuck").start()
    try:
        assert worker.stop(timeout=0.05) is False
        assert worker.running and "did not stop within" in caplog.text
    finally:
        release.set()
    assert worker.stop() is True and not worker.running


def test_stop_from_inside_a_step_ends_the_loop_after_that_step():
    worker: Worker
    stopped = []

    def step():
        stopped.append(worker.stop())  # from the worker's own thread: asks, does not join itself
        return 0

    worker = Worker("self-stopping", step=step).start()
    assert wait_until(lambda: not worker.running)
    assert stopped == [True]


def test_none_ends_the_loop():
    worker = Steps([0, 0, None], then=0).start()
    assert wait_until(lambda: not worker.running)
    assert worker.turns == 3
    assert worker.stop() is True


def test_a_step_function_instead_of_a_subclass():
    turns = []
    worker = Worker("function", step=lambda: turns.append(1) or (None if len(turns) == 3 else 0)).start()
    assert wait_until(lambda: not worker.running)
    assert len(turns) == 3


def test_the_base_step_must_be_implemented():
    with pytest.raises(NotImplementedError):
        Worker("abstract").step()


def test_context_manager_starts_and_closes():
    closed = []

    class Closing(Steps):
        def close(self):
            closed.append(True)
            return super().close()

    with Closing([], then=0) as worker:
        assert worker.wait_turns(1) and worker.running
    assert not worker.running and closed == [True]


# --- faults -----------------------------------------------------------------------------------------


def test_a_raising_step_is_reported_and_retried_after_the_backoff():
    reports = []

    def on_fault(worker, exc):
        # The wait is known during the report, for a status line that says "retrying in …"
        reports.append((worker, exc, worker.retry_in_s, worker.backoff.failures))

    boom = [OSError("bus error 1"), OSError("bus error 2"), RuntimeError("bus error 3")]
    worker = Steps(boom, then=None, on_fault=on_fault, backoff=Backoff(0.001, 0.002, jitter=False))
    worker.start()
    assert wait_until(lambda: not worker.running)
    assert worker.turns == 4  # three failures, each retried, then the step that ended the loop
    assert [(w, str(e), wait, n) for w, e, wait, n in reports] == [
        (worker, "bus error 1", 0.001, 1), (worker, "bus error 2", 0.002, 2), (worker, "bus error 3", 0.002, 3)]
    # the success after them cleared the fault and started the backoff over
    assert worker.last_fault is None and worker.retry_in_s is None and worker.backoff.failures == 0


def test_the_fault_stays_visible_while_backing_off():
    faulted = threading.Event()
    worker = Steps([ValueError("no camera")], then=0, on_fault=lambda w, e: faulted.set(),
                   backoff=Backoff(60.0, 60.0, jitter=False)).start()
    try:
        assert faulted.wait(TIMEOUT)
        assert isinstance(worker.last_fault, ValueError) and worker.retry_in_s == 60.0
        assert worker.running and worker.turns == 1  # alive, waiting out the backoff
    finally:
        assert worker.stop() is True


def test_a_fault_without_a_report_is_logged(caplog):
    worker = Steps([KeyError("gone")], then=None, backoff=Backoff(0.001, 0.001))
    with caplog.at_level(logging.WARNING, logger="kiosk.workers"):
        worker.start()
        assert wait_until(lambda: not worker.running)
    assert "steps: KeyError" in caplog.text and worker.turns == 2


def test_a_failing_fault_report_does_not_end_the_loop(caplog):
    def on_fault(worker, exc):
        raise RuntimeError("the screen is gone")

    worker = Steps([OSError("first"), OSError("second")], then=None, on_fault=on_fault,
                   backoff=Backoff(0.001, 0.001, jitter=False))
    worker.start()
    assert wait_until(lambda: not worker.running)
    assert worker.turns == 3
    assert "fault report failed" in caplog.text


def test_the_default_backoff_doubles_without_jitter():
    worker = Steps([])
    assert (worker.backoff.first_s, worker.backoff.cap_s, worker.backoff.jitter) == (0.1, 5.0, False)


# --- waking -----------------------------------------------------------------------------------------


def test_wake_cuts_a_wait_short():
    worker = Steps([], then=60.0).start()
    try:
        assert worker.wait_turns(1)
        started = time.monotonic()
        worker.wake()
        assert worker.wait_turns(2)
        assert time.monotonic() - started < 1.0
        worker.wake()
        assert worker.wait_turns(3)
    finally:
        worker.stop()


def test_wake_cuts_a_backoff_short():
    worker = Steps([OSError("office down")], then=60.0, backoff=Backoff(60.0, 60.0, jitter=False)).start()
    try:
        assert wait_until(lambda: worker.retry_in_s == 60.0)
        worker.wake()  # an alarm must not wait out the backoff
        assert worker.wait_turns(2)
    finally:
        worker.stop()


def test_a_wake_during_a_step_is_not_lost():
    inside, go_on = threading.Event(), threading.Event()
    turns = []

    def step():
        turns.append(1)
        if len(turns) == 1:
            inside.set()
            go_on.wait(TIMEOUT)
        return 60.0

    worker = Worker("busy", step=step).start()
    try:
        assert inside.wait(TIMEOUT)
        worker.wake()  # the poke arrives while the first turn is still working
        go_on.set()
        assert wait_until(lambda: len(turns) >= 2, timeout=1.0)  # the second turn does not wait 60 s
    finally:
        worker.stop()


def test_wait_says_whether_to_stop():
    worker = Worker("idle", step=lambda: None)
    assert worker.wait(0.001) is False
    worker.stop()
    started = time.monotonic()
    assert worker.wait(60.0) is True  # at once, and the loop should end
    assert time.monotonic() - started < 1.0


# --- Every ------------------------------------------------------------------------------------------


class RecordedWaits(Every):
    """An Every whose waits are recorded and end at once: the schedule without the sleeping."""

    def __init__(self, *args, ticks: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.waits: list[float] = []
        self.ticks = ticks

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return len(self.waits) >= self.ticks


def test_every_runs_at_start_and_then_every_interval():
    calls = []
    timer = RecordedWaits("purge", lambda: calls.append(len(calls)), 3600.0, ticks=3).start()
    assert wait_until(lambda: not timer.running)
    assert calls == [0, 1, 2]  # the first at start, no wait before it
    assert timer.waits == [3600.0, 3600.0, 3600.0]


def test_every_works_at_start_without_waiting_an_interval():
    first = threading.Event()
    timer = Every("disk", first.set, 60.0).start()
    try:
        assert first.wait(TIMEOUT)
    finally:
        assert timer.stop() is True


def test_every_in_real_time():
    times = []
    timer = Every("sweep", lambda: times.append(time.monotonic()), 0.02).start()
    try:
        assert wait_until(lambda: len(times) >= 4)
    finally:
        timer.stop()
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= 0.015 for gap in gaps)  # never sooner than the interval (event waits may wake a hair early)


def test_every_retries_a_failed_round_at_the_next_tick():
    reports = []

    def work():
        if not reports:
            raise OSError("journal busy")

    timer = RecordedWaits("retention", work, 3600.0, ticks=2,
                          on_fault=lambda worker, exc: reports.append(str(exc))).start()
    assert wait_until(lambda: not timer.running)
    assert reports == ["journal busy"]
    assert timer.waits == [3600.0, 3600.0]  # the retry comes at the next tick, not sooner


def test_every_refuses_a_zero_interval():
    with pytest.raises(ValueError, match="every_s"):
        Every("never", lambda: None, 0)


# --- Backoff ----------------------------------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap():
    backoff = Backoff(0.5, 5.0, jitter=False)
    assert [backoff.next() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert backoff.failures == 7


def test_backoff_reset_starts_over():
    backoff = Backoff(0.1, 1.0, jitter=False)
    for _ in range(5):
        backoff.next()
    backoff.reset()
    assert backoff.failures == 0
    assert backoff.next() == 0.1


def test_backoff_delay_does_not_count():
    backoff = Backoff(1.0, 60.0, jitter=False)
    assert [backoff.delay(n) for n in (0, 1, 2, 3, 7, 10**6)] == [1.0, 1.0, 2.0, 4.0, 60.0, 60.0]
    assert backoff.failures == 0  # a huge count neither overflows nor changes the state


def test_full_jitter_stays_within_the_doubling_ceiling():
    backoff = Backoff(1.0, 60.0, rng=random.Random(7))
    for failures, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0), (7, 60.0), (30, 60.0)]:
        delays = [backoff.delay(failures) for _ in range(500)]
        assert all(0.0 <= d <= ceiling for d in delays)
        # spread over the whole range, not bunched: gates that failed together retry apart
        assert min(delays) < 0.1 * ceiling and max(delays) > 0.9 * ceiling


def test_jitter_is_reproducible_with_a_seeded_rng():
    first = Backoff(1.0, 60.0, rng=random.Random(3))
    second = Backoff(1.0, 60.0, rng=random.Random(3))
    assert [first.next() for _ in range(10)] == [second.next() for _ in range(10)]


@pytest.mark.parametrize("first_s, cap_s", [(0, 1.0), (-1.0, 1.0), (2.0, 1.0)])
def test_backoff_refuses_bad_bounds(first_s, cap_s):
    with pytest.raises(ValueError, match="backoff"):
        Backoff(first_s, cap_s)
