"""Choosing the sharpest frame: SharpestFrames' window, the FrameGrabber thread over a live camera, and the
Scanner decoding the sharp frame of a card held up among streaked ones — with the guarantees of the plain loop
(one scan per window for a held card, faults reported and retried, stop and close) kept."""

from __future__ import annotations

import queue
import threading
import time

import numpy as np
import pytest

from sensors.cameras import CameraError, ReplaySource, fit_frame, qr_array, streaked
from sensors.decoders import make_decoder
from sensors.image_ops import sharpness
from sensors.scanning import FrameGrabber, Scanner, SharpestFrames
from tests.sensors.test_scanning import wait_for

CARD = "GK1:CHOOSE-SHARP-0001"




@pytest.fixture(scope="module")
def card() -> np.ndarray:
    return fit_frame(qr_array(CARD, module_px=3), (320, 240))


@pytest.fixture(scope="module")
def streak(card) -> np.ndarray:
    # Ten modules of motion in one exposure: no decoder reads this
    return streaked(card, 30)


class LiveCamera:
    """A live camera the test feeds: ``read`` waits a little for a pushed frame (or error), else returns None."""

    choose_from = 4  # a camera configured to choose (the default is 1: off)

    def __init__(self) -> None:
        self.frames: queue.Queue = queue.Queue()
        self.reads = 0
        self.closed = False

    def push(self, *frames) -> None:
        for frame in frames:
            self.frames.put(frame)

    def read(self):
        try:
            item = self.frames.get(timeout=0.02)
        except queue.Empty:
            return None
        if isinstance(item, BaseException):
            raise item
        self.reads += 1
        return item

    def close(self) -> None:
        self.closed = True


def level(value: int) -> np.ndarray:
    return np.full((8, 8), value, dtype=np.uint8)


# --- SharpestFrames ------------------------------------------------------------------------------


def test_takes_the_sharpest_since_the_last_take():
    frames = SharpestFrames(keep=4, score=lambda f: float(f[0, 0]))
    for value in (3, 9, 2, 5):
        frames.offer(level(value))
    frame, beaten = frames.take()
    assert frame[0, 0] == 9 and beaten == 3
    assert frames.take() == (None, 0)  # nothing new since
    frames.offer(level(1))
    frame, beaten = frames.take()
    assert frame[0, 0] == 1 and beaten == 0


def test_only_the_last_keep_frames_count():
    frames = SharpestFrames(keep=3, score=lambda f: float(f[0, 0]))
    for value in (50, 4, 3, 2, 1):  # 50 and 4 are older than the last 3 frames: out of the window
        frames.offer(level(value))
    frame, beaten = frames.take()
    assert frame[0, 0] == 3 and beaten == 4


def test_a_tie_goes_to_the_newer_frame_and_memory_stays_bounded():
    frames = SharpestFrames(keep=4, score=lambda f: 1.0)
    first, second = level(0), level(0)
    frames.offer(first)
    frames.offer(second)
    assert frames.take()[0] is second
    rng = np.random.default_rng(7)
    for _ in range(1000):
        frames.offer(level(0), score=float(rng.random()))
        assert len(frames) <= 4
    falling = SharpestFrames(keep=4)
    for value in range(100, 0, -1):
        falling.offer(level(0), score=float(value))  # each older frame sharper: all in the window kept, no more
        assert len(falling) <= 4


def test_default_score_is_the_sharpness_and_prefers_the_still_card(card, streak):
    frames = SharpestFrames(keep=4)
    for frame in (streak, streaked(card, 12), card, streaked(card, 6)):
        frames.offer(frame)
    assert frames.take()[0] is card
    assert sharpness(card) > sharpness(streaked(card, 6)) > sharpness(streak)


def test_keep_is_bounded():
    for keep in (0, 65):
        with pytest.raises(ValueError):
            SharpestFrames(keep)


# --- FrameGrabber ----------------------------------------------------------------------------------


def test_grabber_hands_out_the_sharpest_frame_that_arrived(card, streak):
    camera = LiveCamera()
    grabber = FrameGrabber(camera, keep=4, wait_s=0.05)
    assert grabber.read() is None  # starts the thread
    camera.push(streak, card, streak)
    assert wait_for(lambda: grabber.arrived == 3)  # scored and kept, not only read from the camera
    assert grabber.read() is card and grabber.skipped == 2
    camera.push(streak, streak)
    assert wait_for(lambda: grabber.arrived == 5)
    assert grabber.read() is streak
    grabber.close()
    assert camera.closed


def test_grabber_read_waits_briefly_then_returns_none():
    camera = LiveCamera()
    grabber = FrameGrabber(camera, keep=2, wait_s=0.05)
    started = time.monotonic()
    assert grabber.read() is None
    assert time.monotonic() - started >= 0.04
    camera.push(level(1))
    assert wait_for(lambda: grabber.read() is not None)
    grabber.close()


def test_grabber_raises_a_camera_error_once_then_reads_again():
    camera = LiveCamera()
    grabber = FrameGrabber(camera, keep=3, wait_s=1.0)
    camera.push(CameraError("ribbon cable loose"))
    with pytest.raises(CameraError, match="ribbon cable loose"):
        while True:
            grabber.read()
    camera.push(level(7))
    assert wait_for(lambda: (frame := grabber.read()) is not None and frame[0, 0] == 7)
    grabber.close()
    grabber.close()
    with pytest.raises(CameraError, match="closed"):
        grabber.read()


def test_grabber_pause_keeps_the_camera_open():
    camera = LiveCamera()
    grabber = FrameGrabber(camera, keep=3)
    camera.push(level(1))
    assert wait_for(lambda: grabber.read() is not None)
    assert grabber.pause(timeout=5)
    assert not camera.closed
    camera.push(level(3))
    assert wait_for(lambda: (frame := grabber.read()) is not None and frame[0, 0] == 3)  # the thread restarts
    grabber.close()


def test_grabber_over_a_finite_source_ends_exhausted():
    source = ReplaySource.from_frames([level(1), level(2)])
    grabber = FrameGrabber(source, keep=4, wait_s=0.2)
    seen = []
    assert wait_for(lambda: (seen.append(grabber.read()), grabber.exhausted)[1])
    assert any(frame is not None and frame[0, 0] == 2 for frame in seen)
    grabber.close()


# --- the Scanner with a live camera -----------------------------------------------------------------


def test_scanner_reads_the_card_from_the_one_sharp_frame(card, streak):
    camera = LiveCamera()
    decoder = make_decoder()
    assert decoder.decode(streak) == []  # the streaked frames alone give nothing
    scanner = Scanner(camera, decoder, repeat_after_s=60)
    assert isinstance(scanner._source, FrameGrabber)  # a live camera: the loop chooses among its frames
    assert scanner.step() == []  # nothing yet: the camera thread starts and the read gives up after wait_s
    camera.push(streak, streak, card, streak)
    assert wait_for(lambda: scanner._source.arrived == 4)
    scans = scanner.step()
    assert [s.text for s in scans] == [CARD]
    assert scanner.status.frames == 1 and scanner.status.skipped == 3
    scanner.close()
    assert camera.closed


def test_scanner_with_choose_from_one_decodes_each_frame_in_turn(card, streak):
    camera = LiveCamera()
    scanner = Scanner(camera, make_decoder(), choose_from=1)
    assert scanner._source is camera
    camera.push(streak, streak, card)
    assert [len(scanner.step()) for _ in range(3)] == [0, 0, 1]
    assert scanner.status.skipped == 0
    scanner.close()


def test_replays_are_not_wrapped_and_choose_from_is_checked():
    source = ReplaySource.from_frames([level(1)])
    assert Scanner(source, make_decoder())._source is source
    for bad in (0, 100):
        with pytest.raises(ValueError):
            Scanner(source, make_decoder(), choose_from=bad)


def test_a_card_held_in_view_is_still_reported_once_per_window(card, streak):
    seen = []
    camera = LiveCamera()
    with Scanner(camera, make_decoder(), seen.append, repeat_after_s=60) as scanner:
        for _ in range(10):
            camera.push(streak, card, card)
            time.sleep(0.01)
        assert wait_for(lambda: camera.reads == 30)
        assert wait_for(lambda: scanner.status.frames >= 2)
    assert [s.text for s in seen] == [CARD]
    assert not scanner.running and camera.closed


def test_a_failing_live_camera_is_reported_retried_and_reopened(card):
    opened: list[LiveCamera] = []

    def open_camera():
        camera = LiveCamera()
        if not opened:
            camera.push(CameraError("USB hub reset"))
        else:
            camera.push(*([card] * 20))
        opened.append(camera)
        return camera

    seen = []
    scanner = Scanner(open_camera, make_decoder(), seen.append, backoff_s=(0.001, 0.01))
    with scanner:
        assert wait_for(lambda: seen)
    assert len(opened) == 2 and opened[0].closed and opened[1].closed
    assert scanner.status.errors == 1 and "USB hub reset" in scanner.status.last_error
    assert [s.text for s in seen] == [CARD]


def test_stop_pauses_the_camera_thread(card):
    camera = LiveCamera()
    scanner = Scanner(camera, make_decoder(), repeat_after_s=60).start()
    camera.push(card)
    assert wait_for(lambda: scanner.status.scans == 1)
    threads = lambda: [t for t in threading.enumerate() if t.name == "qr-scanner-camera" and t.is_alive()]  # noqa: E731
    assert threads()
    assert scanner.stop() is True
    assert wait_for(lambda: not threads())
    assert not camera.closed and scanner.status.state == "stopped"
    scanner.close()
    assert camera.closed
