"""The scanner loop: de-duplication on an injected clock, delivery by callback or queue, and a loop that
survives failing sources, refused frames and broken callbacks, and stops when told."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from sensors.cameras import CameraError, ReplaySource, qr_array
from sensors.decoders import DecoderError, make_decoder
from sensors.scanning import Deduplicator, Scan, Scanner, ScannerStatus

CARD = "GK1:SCANNER-0001"
OTHER = "GK1:SCANNER-0002"
BLANK = np.full((120, 160), 200, dtype=np.uint8)


@pytest.fixture(scope="module")
def card() -> np.ndarray:
    return qr_array(CARD)


@pytest.fixture(scope="module")
def other() -> np.ndarray:
    return qr_array(OTHER)


@pytest.fixture(scope="module")
def decoder():
    return make_decoder()


class Clock:
    def __init__(self, *times: float) -> None:
        self.times = list(times)

    def __call__(self) -> float:
        return self.times.pop(0)


def wait_for(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.002)
    return condition()


# --- de-duplication -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sightings", "accepted"),
    [
        ([("A", 0.0), ("A", 1.0), ("A", 2.99), ("A", 3.0), ("A", 5.9), ("A", 6.0)], [0.0, 3.0, 6.0]),
        ([("A", 0.0), ("B", 0.5), ("A", 1.0), ("B", 3.4), ("B", 3.5)], [0.0, 0.5, 3.5]),
        ([("A", 10.0), ("A", 100.0)], [10.0, 100.0]),
    ],
)
def test_deduplicator_lets_a_text_through_once_per_window(sightings, accepted):
    dedup = Deduplicator(repeat_after_s=3.0)
    assert [at for text, at in sightings if dedup.accept(text, at)] == accepted


def test_deduplicator_memory_stays_flat():
    dedup = Deduplicator(repeat_after_s=1.0)
    for i in range(10_000):
        assert dedup.accept(f"card-{i}", now=i * 0.1)
    assert len(dedup._last) <= 64 + 10


def test_deduplicator_rejects_negative_window():
    with pytest.raises(ValueError):
        Deduplicator(-1)


# --- one step at a time, on a fake clock ---------------------------------------------------------


def test_step_reports_a_held_card_once_per_window(card, decoder):
    frames = [card, card, card, BLANK, card, card]
    clock = Clock(0.0, 1.0, 2.9, 3.0, 3.1, 6.2)
    scanner = Scanner(ReplaySource.from_frames(frames), decoder, repeat_after_s=3.0, clock=clock)
    reported = [scanner.step() for _ in frames]
    assert [[s.at for s in step] for step in reported] == [[0.0], [], [], [], [3.1], [6.2]]
    first = reported[0][0]
    assert isinstance(first, Scan) and first.text == CARD and first.frame_ms > 0
    assert scanner.get(timeout=0) == first  # no callback: scans wait in the queue
    status = scanner.status
    assert (status.frames, status.scans, status.errors) == (6, 3, 0)
    assert status.last_frame_at == 6.2


def test_step_two_cards_in_the_window(card, other, decoder):
    clock = Clock(0.0, 0.5, 1.0)
    scanner = Scanner(ReplaySource.from_frames([card, other, card]), decoder, clock=clock)
    texts = [[s.text for s in scanner.step()] for _ in range(3)]
    assert texts == [[CARD], [OTHER], []]


def test_step_counts_a_refused_frame_and_goes_on(card, decoder):
    source = ReplaySource.from_frames([card], loop=True)

    class Picky:
        name = "picky"
        calls = 0

        def decode(self, gray):
            Picky.calls += 1
            if Picky.calls == 1:
                raise DecoderError("expected a greyscale frame")
            return decoder.decode(gray)

    scanner = Scanner(source, Picky(), clock=Clock(0.0, 1.0))
    assert scanner.step() == []
    assert scanner.status.errors == 1 and "refused" in scanner.status.last_error
    assert [s.text for s in scanner.step()] == [CARD]


def test_queue_drops_the_oldest_when_full(card, other, decoder):
    clock = Clock(*[float(i * 10) for i in range(6)])
    frames = [card, other] * 3
    scanner = Scanner(ReplaySource.from_frames(frames), decoder, clock=clock, queue_size=2)
    for _ in frames:
        scanner.step()
    kept = [scanner.get(timeout=0), scanner.get(timeout=0)]
    assert [s.at for s in kept] == [40.0, 50.0]
    assert scanner.get(timeout=0) is None


def test_source_must_be_a_source_or_a_factory(decoder):
    with pytest.raises(TypeError):
        Scanner(42, decoder)


# --- the thread -----------------------------------------------------------------------------------


def test_thread_delivers_scans_and_stop_joins(card, decoder):
    seen: list[Scan] = []
    source = ReplaySource.from_frames([BLANK, card], loop=True, fps=200)
    scanner = Scanner(source, decoder, seen.append, repeat_after_s=60)
    scanner.start()
    assert scanner.start() is scanner  # once only
    assert wait_for(lambda: seen)
    assert scanner.running
    assert scanner.stop() is True
    assert not scanner.running
    assert scanner.status.state == "stopped"
    assert [s.text for s in seen] == [CARD]  # held for the whole run: reported once
    assert not source.closed
    scanner.close()
    assert source.closed
    scanner.close()
    scanner.stop()
    with pytest.raises(RuntimeError):
        scanner.start()


def test_context_manager_starts_and_closes(card, decoder):
    source = ReplaySource.from_frames([card], loop=True, fps=100)
    with Scanner(source, decoder, repeat_after_s=60) as scanner:
        scan = scanner.get(timeout=5)
        assert scan is not None and scan.text == CARD
    assert not scanner.running and source.closed


def test_a_failing_source_is_reported_and_retried(card, decoder):
    statuses: list[ScannerStatus] = []
    source = ReplaySource.from_frames([card], loop=True)
    source.fail_next(count=3)
    source.fail_next(OSError("USB hub reset"))
    seen: list[Scan] = []
    scanner = Scanner(source, decoder, seen.append, on_status=statuses.append, backoff_s=(0.001, 0.004))
    with scanner:
        assert wait_for(lambda: seen)
    assert scanner.status.errors == 4
    assert "OSError: USB hub reset" in scanner.status.last_error
    states = [s.state for s in statuses]
    assert "error" in states and states.index("error") < len(states) - 1
    assert states[states.index("error") :].count("running") >= 1  # back to running after the fault
    retries = [s.retry_in_s for s in statuses if s.state == "error"]
    assert retries == [0.001, 0.002, 0.004, 0.004]  # doubling, capped


def test_a_factory_source_is_reopened_after_a_failure(card, decoder):
    opened: list[ReplaySource] = []

    def open_source():
        if len(opened) == 1:
            opened.append(None)
            raise CameraError("no USB camera at index 0")  # still unplugged on the first reopen
        source = ReplaySource.from_frames([card], loop=True)
        if not opened:
            source.fail_next()
        opened.append(source)
        return source

    seen: list[Scan] = []
    scanner = Scanner(open_source, decoder, seen.append, backoff_s=(0.001, 0.01))
    with scanner:
        assert wait_for(lambda: seen)
    assert len(opened) == 3
    assert opened[0].closed  # the failed one was closed before reopening
    assert opened[2].closed  # and the last one by close()
    assert scanner.status.errors == 2


def test_a_broken_callback_does_not_stop_the_loop(card, other, decoder):
    seen: list[str] = []

    def on_scan(scan: Scan) -> None:
        seen.append(scan.text)
        if scan.text == CARD:
            raise RuntimeError("the UI is gone")

    def on_status(status: ScannerStatus) -> None:
        raise RuntimeError("status listener broken too")

    source = ReplaySource.from_frames([card, other], loop=True, fps=200)
    with Scanner(source, decoder, on_scan, on_status=on_status, repeat_after_s=60) as scanner:
        assert wait_for(lambda: OTHER in seen)
        assert scanner.running
    assert scanner.status.errors >= 1


def test_a_finite_source_finishes_the_loop(card, decoder):
    source = ReplaySource.from_frames([card, BLANK, card])
    scanner = Scanner(source, decoder).start()
    assert wait_for(lambda: not scanner.running)
    assert scanner.status.state == "finished" and scanner.status.frames == 3
    assert scanner.stop() is True and scanner.status.state == "finished"
    assert scanner.get(timeout=0).text == CARD


def test_an_empty_source_does_not_spin(decoder, tmp_path):
    source = ReplaySource(tmp_path, watch=True, poll_s=0.0)
    reads = 0
    original = source.read

    def counting_read():
        nonlocal reads
        reads += 1
        return original()

    source.read = counting_read
    with Scanner(source, decoder, idle_s=0.01):
        time.sleep(0.2)
    assert reads < 60


def test_stop_while_backing_off_returns_promptly(decoder):
    source = ReplaySource.from_frames([BLANK], loop=True)
    source.fail_next(count=100)
    scanner = Scanner(source, decoder, backoff_s=(10.0, 10.0)).start()
    assert wait_for(lambda: scanner.status.state == "error")
    started = time.monotonic()
    assert scanner.stop(timeout=2) is True
    assert time.monotonic() - started < 1.0


def test_stop_from_inside_a_callback(card, decoder):
    stopped = threading.Event()
    source = ReplaySource.from_frames([card], loop=True)
    scanner: Scanner

    def on_scan(scan):
        scanner.stop()
        stopped.set()

    scanner = Scanner(source, decoder, on_scan).start()
    assert stopped.wait(5)
    assert wait_for(lambda: not scanner.running)
