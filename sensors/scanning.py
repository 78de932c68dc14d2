"""The scanner loop: frames → decoder → de-duplicated scans, in a thread of its own.

A card held in front of the camera is in every frame for a second or more; the
loop reports its text once per ``repeat_after_s`` seconds (config
``decoder.repeat_after_s``). Scans go to a callback, or into a queue when there
is none. The loop never dies silently: a source that raises is reported through
``on_status`` and retried with backoff (reopened, when the scanner was given a
way to open it), and ``status`` always says what the loop is doing.

``Scanner.step()`` is one turn of the loop, so tests drive it frame by frame
with a fake clock; ``start()`` runs it in a :class:`kiosk.workers.Worker`.

A live camera (its ``choose_from`` > 1) is read on a thread of its own by a
:class:`FrameGrabber`: a card held up gives several frames while one is being
decoded (a Pi decodes slower than the camera delivers), some streaked by the
hand's motion, and the loop decodes the sharpest of those that arrived since
its last decode (:class:`SharpestFrames`, at most ``choose_from`` of them, the
older ones dropped — nothing queues up) rather than whichever came next.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Self

import numpy as np

from kiosk.workers import Backoff, Worker
from sensors.cameras import FrameSource
from sensors.decoders import Decoder, DecoderError
from sensors.image_ops import sharpness

log = logging.getLogger(__name__)

DEFAULT_REPEAT_AFTER_S = 3.0


@dataclass(frozen=True)
class Scan:
    """One QR text read from the camera.

    ``at`` is the scanner's clock (``time.monotonic`` unless injected) when the
    frame was taken from the source; ``frame_ms`` is how long decoding that
    frame took, in milliseconds.
    """

    text: str
    at: float
    frame_ms: float


@dataclass(frozen=True)
class ScannerStatus:
    """What the loop is doing, for the UI and ``kiosk doctor``.

    ``state`` is ``idle`` (not started), ``running``, ``error`` (the source
    failed; retrying after ``retry_in_s``), ``finished`` (a finite source ran
    out) or ``stopped``. Counters cover the scanner's whole life.
    """

    state: str = "idle"
    frames: int = 0
    scans: int = 0
    errors: int = 0
    last_error: str | None = None
    retry_in_s: float | None = None
    last_frame_at: float | None = None
    skipped: int = 0
    """Frames a live camera delivered that were not decoded: a sharper one came in the same turn, or they fell out
    of the window of the last ``choose_from`` frames while the decoder was busy."""


class Deduplicator:
    """Lets a text through at most once per ``repeat_after_s`` seconds (measured on the caller's clock)."""

    def __init__(self, repeat_after_s: float = DEFAULT_REPEAT_AFTER_S) -> None:
        if repeat_after_s < 0:
            raise ValueError(f"repeat_after_s: expected ≥ 0, got {repeat_after_s!r}")
        self.repeat_after_s = repeat_after_s
        self._last: dict[str, float] = {}

    def accept(self, text: str, now: float) -> bool:
        """True if ``text`` was not let through in the last ``repeat_after_s`` seconds (and remember it now)."""
        last = self._last.get(text)
        if last is not None and now - last < self.repeat_after_s:
            return False
        self._last[text] = now
        if len(self._last) > 64:
            self._forget_before(now)
        return True

    def _forget_before(self, now: float) -> None:
        # Keeps memory flat over a day of different cards
        self._last = {text: at for text, at in self._last.items() if now - at < self.repeat_after_s}


class SharpestFrames:
    """The sharpest of the last ``keep`` frames offered; :meth:`take` hands it over and starts afresh.

    Frames are scored once, when offered (``score``: :func:`sensors.image_ops.sharpness`). A frame that is
    older and no sharper than a newer one can never be chosen, so it is let go at once: at most ``keep``
    frames are held, usually one or two. On a tie the newer frame wins (it is the fresher picture).
    """

    def __init__(self, keep: int = 4, score: Callable[[np.ndarray], float] = sharpness) -> None:
        if not 1 <= keep <= 64:
            raise ValueError(f"keep: expected 1 … 64 frames, got {keep!r}")
        self.keep = keep
        self._score = score
        # (sequence number, score, frame), scores strictly decreasing from left to right: the left is the best
        self._kept: deque[tuple[int, float, np.ndarray]] = deque()
        self._seq = 0
        self._since_take = 0

    def __len__(self) -> int:
        """How many frames are held (not how many were offered)."""
        return len(self._kept)

    @property
    def offered(self) -> int:
        """Frames offered since the last :meth:`take`."""
        return self._since_take

    def offer(self, frame: np.ndarray, score: float | None = None) -> float:
        """Consider ``frame`` (scored now unless ``score`` is given); returns its score."""
        value = float(self._score(frame)) if score is None else float(score)
        self._seq += 1
        self._since_take += 1
        while self._kept and self._kept[-1][1] <= value:
            self._kept.pop()  # older and no sharper: never the choice again
        self._kept.append((self._seq, value, frame))
        while self._kept[0][0] <= self._seq - self.keep:
            self._kept.popleft()  # out of the window of the last ``keep`` frames
        return value

    def take(self) -> tuple[np.ndarray | None, int]:
        """The sharpest frame of the window (None if none was offered) and how many offered frames it beat."""
        offered, self._since_take = self._since_take, 0
        if not self._kept:
            return None, 0
        frame = self._kept[0][2]
        self._kept.clear()
        return frame, offered - 1


class FrameGrabber:
    """Reads a live camera on a thread of its own; :meth:`read` returns the sharpest frame since the last read.

    A :class:`~sensors.cameras.FrameSource` itself, so the scanner reads it as it would the camera. The
    thread starts with the first :meth:`read` and scores each frame as it arrives (a fraction of a
    millisecond at 640×480, while the scan loop decodes). ``read`` waits up to ``wait_s`` for a frame and
    returns None if none came. An error from the camera ends the thread and is raised by the next ``read``;
    the read after that starts the thread again (the scanner backs off in between). :meth:`pause` stops the
    thread and keeps the camera open; :meth:`close` also closes the camera. ``skipped`` counts frames that
    were never handed out; ``arrived`` every frame scored and kept for choosing.
    """

    def __init__(self, source: FrameSource, keep: int = 4, *, wait_s: float = 0.25,
                 score: Callable[[np.ndarray], float] = sharpness, idle_s: float = 0.005,
                 name: str = "frame-grabber") -> None:
        self.source = source
        self.wait_s = wait_s
        self._frames = SharpestFrames(keep, score)
        self._idle_s = idle_s
        self._name = name
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._source_done = False
        self.skipped = 0
        self.arrived = 0
        self.closed = False
        self.exhausted = False

    @property
    def choose_from(self) -> int:
        """Already choosing: the scanner must not wrap a grabber in another."""
        return 1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def read(self) -> np.ndarray | None:
        """The sharpest frame that arrived since the last read (waiting up to ``wait_s`` for one), or None."""
        if self.closed:
            from sensors.cameras import CameraError

            raise CameraError("FrameGrabber is closed")
        with self._cond:
            if self._error is None and not self._source_done and (self._thread is None or not self._thread.is_alive()):
                self._start()
            if self._frames.offered == 0 and self._error is None and not self._source_done:
                self._cond.wait(self.wait_s)
            frame, beaten = self._frames.take()
            self.skipped += beaten
            if frame is not None:
                return frame
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            if self._source_done:
                self.exhausted = True
            return None

    def pause(self, timeout: float | None = 5.0) -> bool:
        """Stop the thread, keep the camera open; False if it did not end within ``timeout`` (a driver read)."""
        thread = self._thread
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def close(self) -> None:
        """Stop the thread and close the camera; safe to call twice."""
        if self.closed:
            return
        self.closed = True
        if not self.pause():
            log.warning("%s: the camera thread is still in a read; closing the camera under it", self._name)
        self.source.close()

    def _start(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._stop,), name=self._name, daemon=True)
        self._thread.start()

    def _run(self, stop: threading.Event) -> None:
        source = self.source
        while not stop.is_set():
            try:
                frame = source.read()
            except BaseException as exc:  # the scanner reports it and backs off; the next read starts afresh
                with self._cond:
                    self._error = exc
                    self._cond.notify_all()
                return
            if frame is None:
                if getattr(source, "exhausted", False):
                    with self._cond:
                        self._source_done = True
                        self._cond.notify_all()
                    return
                stop.wait(self._idle_s)
                continue
            score = self._frames._score(frame)  # outside the lock: the reader is not held up by the scoring
            with self._cond:
                self._frames.offer(frame, score)
                self.arrived += 1
                self._cond.notify_all()


class Scanner:
    """Reads frames from a source, decodes them and reports each new text as a :class:`Scan`.

    ``source`` is an open :class:`~sensors.cameras.FrameSource`, or a function
    that opens one (e.g. ``lambda: open_camera(settings)``): with a function the
    scanner opens the source in its thread and, after a failure, closes and
    reopens it — the way back from an unplugged USB camera. The scanner owns
    the source: ``close()`` closes it.

    ``on_scan(scan)`` is called from the scanner thread; without it scans are
    put in ``scans`` (a queue of at most ``queue_size``; when full the oldest
    scan is dropped — a fresh card matters more than a stale one).
    ``on_status(status)`` is called whenever the state changes or an error
    happens. A callback that raises is logged and counted, never fatal.

    After a source error the loop waits ``backoff_s[0]`` seconds, doubling up to
    ``backoff_s[1]``, and starts from ``backoff_s[0]`` again after a read that
    did not fail. ``clock`` is injectable for tests.

    ``choose_from``: decode the sharpest of up to this many frames that arrived
    since the last decode, read by a :class:`FrameGrabber` thread; None (the
    default) takes the source's own ``choose_from`` — more than 1 for live
    cameras, 1 (every frame decoded in order, no extra thread) for replays.
    """

    def __init__(
        self,
        source: FrameSource | Callable[[], FrameSource],
        decoder: Decoder,
        on_scan: Callable[[Scan], None] | None = None,
        *,
        repeat_after_s: float = DEFAULT_REPEAT_AFTER_S,
        on_status: Callable[[ScannerStatus], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        backoff_s: tuple[float, float] = (0.1, 5.0),
        idle_s: float = 0.005,
        queue_size: int = 64,
        choose_from: int | None = None,
        name: str = "qr-scanner",
    ) -> None:
        if choose_from is not None and not 1 <= choose_from <= 64:
            raise ValueError(f"choose_from: expected 1 … 64 frames, got {choose_from!r}")
        self._choose_from = choose_from
        self._name = name
        self._status = ScannerStatus()
        self._lock = threading.Lock()
        if isinstance(source, FrameSource):
            self._source: FrameSource | None = self._grab(source)
            self._open: Callable[[], FrameSource] | None = None
        elif callable(source):
            self._source = None
            self._open = source
        else:
            raise TypeError(f"source: expected a FrameSource or a function returning one, got {type(source).__name__}")
        self.decoder = decoder
        self.on_scan = on_scan
        self.on_status = on_status
        self.dedup = Deduplicator(repeat_after_s)
        self.scans: queue.Queue[Scan] = queue.Queue(maxsize=queue_size)
        self._clock = clock
        self._idle_s = idle_s
        # Plain doubling, no jitter: the camera is the gate's own, nobody else competes for it.
        self._worker = Worker(name, step=self._turn, on_fault=self._source_failed,
                              backoff=Backoff(*backoff_s, jitter=False))
        self._closed = False
        self._last_read_empty = False

    # --- public API --------------------------------------------------------------------

    @property
    def status(self) -> ScannerStatus:
        """A snapshot of the loop's state and counters."""
        with self._lock:
            return self._status

    @property
    def running(self) -> bool:
        """True while the scanner thread is alive."""
        return self._worker.running

    def start(self) -> Self:
        """Start the scanner thread (once); returns self."""
        if self._closed:
            raise RuntimeError("the scanner is closed")
        if not self._worker.running and self.status.state == "idle":
            self._set_status(state="running", retry_in_s=None)
        self._worker.start()
        return self

    def stop(self, timeout: float | None = 5.0) -> bool:
        """Ask the loop to stop and join its thread; False if it did not end within ``timeout``.

        A read blocked inside a camera driver ends at that driver's own timeout.
        """
        if not self._worker.stop(timeout):
            return False
        if isinstance(self._source, FrameGrabber):
            self._source.pause(timeout)  # no camera thread left reading frames nobody decodes
        if self.status.state not in ("finished", "idle"):
            self._set_status(state="stopped", retry_in_s=None)
        return True

    def close(self, timeout: float | None = 5.0) -> bool:
        """Stop the loop and close the source; safe to call twice. Returns what :meth:`stop` returned."""
        stopped = self.stop(timeout)
        if not self._closed:
            self._closed = True
            if self._source is not None and stopped:
                self._close_source()
        return stopped

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get(self, timeout: float | None = None) -> Scan | None:
        """The next scan from the queue (when no ``on_scan`` was given), or None after ``timeout`` seconds."""
        try:
            return self.scans.get(timeout=timeout)
        except queue.Empty:
            return None

    def step(self) -> list[Scan]:
        """One turn of the loop: read a frame, decode it, report new texts. Returns the scans reported.

        Raises what the source raises (the thread catches it and backs off);
        a frame the decoder refuses is counted as an error and skipped.
        """
        source = self._source
        if source is None:
            assert self._open is not None
            source = self._source = self._grab(self._open())
        frame = source.read()
        at = self._clock()
        self._last_read_empty = frame is None
        if frame is None:
            return []
        started = time.perf_counter()
        try:
            texts = self.decoder.decode(frame)
        except DecoderError as exc:
            self._error(f"decoder refused a frame: {exc}")
            return []
        frame_ms = (time.perf_counter() - started) * 1000.0
        scans = [Scan(text, at, frame_ms) for text in texts if self.dedup.accept(text, at)]
        with self._lock:
            status = self._status
            self._status = replace(
                status,
                frames=status.frames + 1,
                scans=status.scans + len(scans),
                last_frame_at=at,
                skipped=source.skipped if isinstance(source, FrameGrabber) else status.skipped,
                state="running" if status.state in ("idle", "error") else status.state,
                retry_in_s=None,
            )
            changed = status.state != self._status.state
        if changed:
            self._notify()
        for scan in scans:
            self._deliver(scan)
        return scans

    # --- the thread --------------------------------------------------------------------

    def _turn(self) -> float | None:
        """The worker's turn: one :meth:`step`, then how long to wait (None: a finite source ran out)."""
        self.step()
        source = self._source
        if source is not None and getattr(source, "exhausted", False):
            self._set_status(state="finished", retry_in_s=None)
            return None
        # A source with nothing to give may return at once; don't spin a core on it
        return self._idle_s if self._last_read_empty else 0

    def _source_failed(self, worker: Worker, exc: BaseException) -> None:
        """Anything the source raised: report it; the worker backs off and the next turn tries again."""
        delay = worker.retry_in_s
        self._error(f"{type(exc).__name__}: {exc}", retry_in_s=delay)
        log.warning("%s: frame source failed (%s); retrying in %.2f s", self._name, exc, delay or 0.0)
        if self._open is not None:
            self._close_source()  # the next turn reopens it: the way back from an unplugged camera

    # --- helpers -----------------------------------------------------------------------

    def _grab(self, source: FrameSource) -> FrameSource:
        """``source`` itself, or a :class:`FrameGrabber` over it when the loop is to choose among its frames."""
        keep = self._choose_from if self._choose_from is not None else getattr(source, "choose_from", 1)
        if keep > 1 and not isinstance(source, FrameGrabber):
            grabber = FrameGrabber(source, keep, name=f"{self._name}-camera")
            grabber.skipped = self.status.skipped  # the count covers the scanner's life, across reopened cameras
            return grabber
        return source

    def _deliver(self, scan: Scan) -> None:
        if self.on_scan is None:
            while True:
                try:
                    self.scans.put_nowait(scan)
                    return
                except queue.Full:
                    try:
                        self.scans.get_nowait()
                    except queue.Empty:
                        pass
        try:
            self.on_scan(scan)
        except Exception as exc:
            log.exception("%s: on_scan callback failed", self._name)
            self._error(f"on_scan callback failed: {type(exc).__name__}: {exc}", keep_state=True)

    def _error(self, message: str, *, retry_in_s: float | None = None, keep_state: bool = False) -> None:
        with self._lock:
            status = self._status
            self._status = replace(
                status,
                errors=status.errors + 1,
                last_error=message,
                state=status.state if keep_state or retry_in_s is None else "error",
                retry_in_s=retry_in_s,
            )
        self._notify()

    def _set_status(self, **changes: Any) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)
        self._notify()

    def _notify(self) -> None:
        if self.on_status is None:
            return
        try:
            self.on_status(self.status)
        except Exception:
            log.exception("%s: on_status callback failed", self._name)

    def _close_source(self) -> None:
        source, self._source = self._source, None
        if source is None:
            return
        try:
            source.close()
        except Exception as exc:
            log.warning("%s: closing the frame source failed: %s", self._name, exc)

