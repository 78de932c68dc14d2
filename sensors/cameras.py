"""Frame sources behind one small interface: ``read()`` → greyscale frame (or None), ``close()``.

- :class:`PiCameraSource` — a Raspberry Pi camera through picamera2: the Y plane of a
  YUV420 "lores" stream is the greyscale frame; continuous autofocus where the
  camera has it (Camera Module 3).
- :class:`USBCameraSource` — a USB webcam (or a video file) through OpenCV.
- :class:`ReplaySource` — image files or a folder of them, optionally looped, paced
  or watched for new files; also scriptable (``show``) and able to fail on demand
  (``fail_next``). The fake beside the real ones, used by tests and the simulator.

Frames are ``numpy.uint8`` arrays of shape (height, width), C-contiguous. picamera2,
libcamera and OpenCV are imported only inside the class that needs them, so the
project imports and tests on any PC; a missing library is a :class:`CameraError`
that says how to install it, never a quiet switch to another source.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from kiosk.exc import KioskError

if TYPE_CHECKING:  # pragma: no cover
    from kiosk.config.hardware import CameraSettings

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".pgm", ".ppm", ".pnm"})

PICAMERA2_HINT = (
    "sudo apt install python3-picamera2; create the venv with --system-site-packages "
    "(python3 -m venv --system-site-packages .venv) so it can see picamera2"
)

WEBCAM_HINT = "pip install '.[webcam]'"
"""How to get OpenCV for a USB webcam: the project's ``webcam`` extra (opencv-python-headless), run in the checkout."""

DEFAULT_CHOOSE_FROM = 1  # off: measured no faster with today's decoder (docs/qr.md, benchmarks frame-choice)
"""A live camera lets the scan loop choose the sharpest of this many successive frames (see sensors.scanning)."""


class CameraError(KioskError, OSError):
    """A camera could not be opened or stopped delivering frames; the message says what to check."""


class ImageFileError(CameraError):
    """An image file is missing, unreadable or not an image."""


@runtime_checkable
class FrameSource(Protocol):
    """Where frames come from. Real cameras block in ``read`` until the next frame.

    ``read`` returns a greyscale ``uint8`` array (height × width), or None when no
    frame is available right now (a replay source waiting for files, or one that
    has run out — see its ``exhausted``). It raises :class:`CameraError` when the
    device fails. ``close`` is idempotent; sources are context managers.
    """

    def read(self) -> np.ndarray | None:
        """The next greyscale frame, or None if there is none (yet)."""
        ...

    def close(self) -> None:
        """Release the device; safe to call twice."""
        ...


class _SourceBase:
    """Context-manager plumbing and the closed check shared by the sources."""

    closed = False
    exhausted = False
    """True once a finite source (a replay without loop or watch, a video file) has delivered its last frame."""
    choose_from = 1
    """How many successive frames the scan loop may choose the sharpest from (1: decode every frame, in order).

    Live cameras deliver frames whether or not anyone decodes them, so the scan loop reads them on a thread of
    its own and decodes the sharpest that arrived since the last decode; a replay's or a video file's frames are
    each decoded, in order, as tests and the demo expect."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the device; safe to call twice."""
        self.closed = True

    def _check_open(self) -> None:
        if self.closed:
            raise CameraError(f"{type(self).__name__} is closed")


# --- images -------------------------------------------------------------------------------


def load_gray(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file (PNG, JPEG, WebP, …) as a greyscale uint8 array of shape (height, width).

    Transparent pixels are put on white first, as if the picture were printed
    on paper (a QR code with a transparent background would otherwise turn
    black on black). The EXIF orientation is ignored: decoders find rotated
    codes themselves. Raises :class:`ImageFileError` with the reason.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            return _to_gray(image)
    except FileNotFoundError:
        raise ImageFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageFileError(f"{path}: is a folder, not an image") from None
    except UnidentifiedImageError:
        raise ImageFileError(f"{path}: not an image this machine can read (PNG, JPEG, WebP, BMP, GIF, TIFF)") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageFileError(f"{path}: cannot read image: {exc}") from exc


def _to_gray(image) -> np.ndarray:
    from PIL import Image

    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit and float greyscale: Pillow's convert("L") would clip, not scale
        values = np.asarray(image, dtype=np.float64)
        top = values.max() if values.size else 0.0
        scaled = values * (255.0 / top) if top > 0 else values
        return np.ascontiguousarray(np.clip(scaled, 0, 255).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    return np.ascontiguousarray(np.asarray(image.convert("L"), dtype=np.uint8))


def fit_frame(gray: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Place ``gray`` in the middle of a frame of ``size`` = (width, height), as a camera would see it.

    A larger image is scaled down to fit (aspect kept); a smaller one keeps its
    pixels. The border is filled with the lightest tenth of the image's own
    edge, as if it lay on its paper — copying the edge outwards would extend
    the modules of a code printed without a quiet zone and ruin it.
    """
    from PIL import Image

    width, height = size
    h, w = gray.shape
    if w > width or h > height:
        scale = min(width / w, height / h)
        new_size = (max(1, round(w * scale)), max(1, round(h * scale)))
        gray = np.asarray(Image.fromarray(gray).resize(new_size, Image.Resampling.BOX))
        h, w = gray.shape
    edge = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    frame = np.full((height, width), _percentile_90(edge), dtype=np.uint8)
    top, left = (height - h) // 2, (width - w) // 2
    frame[top : top + h, left : left + w] = gray
    return frame


def _percentile_90(values: np.ndarray) -> int:
    """``int(np.percentile(values, 90))``, the same linear interpolation, without np.percentile: its np.unique
    imports numpy.ma, ~1.3 MB the gate otherwise never loads (issue 14)."""
    ordered = np.sort(values.ravel()).astype(np.float64)
    index = 0.9 * (len(ordered) - 1)
    below = int(np.floor(index))
    above = min(below + 1, len(ordered) - 1)
    low, high, t = ordered[below], ordered[above], index - below
    # numpy's _lerp: from the nearer end, so the result is exact at either end
    return int(high - (high - low) * (1 - t) if t >= 0.5 else low + (high - low) * t)


def qr_array(
    text: str, *, module_px: int = 4, border: int = 4, error: str = "q", inverted: bool = False
) -> np.ndarray:
    """A QR code of ``text`` as a greyscale frame: what the replay camera shows for a card.

    ``module_px`` pixels per module, ``border`` modules of quiet zone, error
    correction level ``error`` (l, m, q, h), dark on light unless ``inverted``.
    Rendered with segno, the library that prints the cards.
    """
    import segno

    code = segno.make(text, error=error, micro=False, boost_error=False)
    dark = np.array([list(row) for row in code.matrix], dtype=bool)
    dark = np.pad(dark, border, constant_values=False)
    image = np.where(dark != inverted, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(np.repeat(image, module_px, axis=0), module_px, axis=1))


def streaked(gray: np.ndarray, length_px: float) -> np.ndarray:
    """``gray`` as a camera sees it when it moves ``length_px`` pixels sideways during the exposure.

    Each pixel is the mean of a horizontal run of ``length_px`` pixels (a box
    point-spread function; a fractional length weights the run's ends), the
    picture's edges repeated outwards. A length of 1 or less returns a copy.
    For replays and benchmarks of cards held up by a moving hand.
    """
    frame = np.asarray(gray)
    if frame.dtype != np.uint8 or frame.ndim != 2:
        raise ValueError(f"streaked: expected a greyscale uint8 frame, got {frame.dtype} {frame.shape}")
    if length_px <= 1:
        return frame.copy()
    whole = int(np.ceil(length_px))
    if whole % 2 == 0:
        whole += 1  # an odd run keeps the picture where it was
    kernel = np.ones(whole, dtype=np.float64)
    edge = (whole - length_px) / 2  # the part of each end pixel outside the run
    kernel[0] -= edge
    kernel[-1] -= edge
    kernel /= kernel.sum()
    reach = whole // 2
    padded = np.pad(frame.astype(np.float64), ((0, 0), (reach, reach)), mode="edge")
    out = np.zeros(frame.shape, dtype=np.float64)
    for offset, weight in enumerate(kernel):
        out += weight * padded[:, offset : offset + frame.shape[1]]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _natural_key(path: Path) -> list[object]:
    # "card2.png" before "card10.png", as a person numbering files expects
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """The image files directly in ``folder``, in natural name order (2 before 10); hidden files skipped."""
    entries = [
        entry
        for entry in Path(folder).iterdir()
        if entry.suffix.lower() in IMAGE_SUFFIXES and not entry.name.startswith(".") and entry.is_file()
    ]
    return sorted(entries, key=_natural_key)


# --- replay (the fake) -------------------------------------------------------------------


class ReplaySource(_SourceBase):
    """Frames from an image file, a folder of images, or arrays: the camera of tests, demo and simulator.

    ``path`` is an image file or a folder (its images in natural name order).
    ``loop`` starts again after the last image (a card held in front of the
    camera); without it the source is ``exhausted`` after the last one and
    ``read`` returns None. ``fps`` paces ``read`` like a camera (default: as
    fast as asked). ``size`` = (width, height) places every image in a frame of
    that size (see :func:`fit_frame`). Decoded frames are kept in memory, so a
    loop costs no disk reads or image decoding; they are read-only arrays.

    ``watch`` (folder only): ignore the images already in the folder and look
    for new or replaced image files every ``poll_s`` seconds, delivering each
    once — drop a card's picture into the folder and the gate sees it. Between
    drops ``read`` waits up to ``poll_s`` and returns None. Write files
    elsewhere and move them in, or the source may find them half-written; it
    retries an unreadable new file on the next poll and gives up (raising
    :class:`ImageFileError` once) when it is still unreadable and unchanged.

    Scripting and faults: ``show(image, frames=1)`` puts a frame (array or
    path) in front of the camera for the next reads; ``fail_next(error, count)``
    makes the next reads raise.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        frames: Iterable[np.ndarray] | None = None,
        loop: bool = False,
        fps: float | None = None,
        size: tuple[int, int] | None = None,
        watch: bool = False,
        poll_s: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if (path is None) == (frames is None):
            raise ValueError("ReplaySource takes a path or frames, not both and not neither")
        if fps is not None and fps <= 0:
            raise ValueError(f"fps: expected a positive number, got {fps!r}")
        self.path = Path(path) if path is not None else None
        self.loop = loop
        self.fps = fps
        self.size = size
        self.watch = watch
        self.poll_s = poll_s
        self._clock = clock
        self._sleep = sleep
        self._index = 0
        self._next_due: float | None = None
        self._shown: deque[np.ndarray] = deque()
        self._wake = threading.Event()
        self._failures: deque[BaseException] = deque()
        self._seen: dict[Path, tuple[int, int]] = {}  # watch: path → (mtime_ns, size) delivered or given up on
        self._pending: dict[Path, tuple[int, int]] = {}  # watch: unreadable new files, retried while they change
        self._next_poll = 0.0
        self._items: list[Path | np.ndarray]
        self._cache: dict[int, np.ndarray] = {}
        if frames is not None:
            self._items = [self._prepare(np.asarray(frame)) for frame in frames]
            if watch:
                raise ValueError("watch needs a folder path")
        else:
            assert self.path is not None
            if self.path.is_dir():
                images = list_images(self.path)
                if watch:
                    # What lies in the folder already is old news (e.g. last session's drops)
                    self._seen = {image: _stamp(image) for image in images}
                    self._items = []
                else:
                    self._items = list(images)
                if not watch and not self._items:
                    raise CameraError(f"replay folder {self.path} has no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
            elif self.path.is_file():
                if watch:
                    raise CameraError(f"replay watch needs a folder, {self.path} is a file")
                self._items = [self.path]
            else:
                raise CameraError(f"replay path {self.path} does not exist")

    @classmethod
    def from_frames(cls, frames: Iterable[np.ndarray], **options) -> ReplaySource:
        """A replay of in-memory greyscale frames (same options as the constructor, except ``watch``)."""
        return cls(frames=frames, **options)

    def show(self, image: np.ndarray | str | os.PathLike[str], frames: int = 1) -> None:
        """Put ``image`` (greyscale array or image file) in front of the camera for the next ``frames`` reads."""
        frame = load_gray(image) if isinstance(image, (str, os.PathLike)) else np.asarray(image)
        frame = self._prepare(frame)
        self._shown.extend([frame] * frames)
        self._wake.set()  # a reader waiting for the next folder poll takes it now

    def fail_next(self, error: BaseException | None = None, count: int = 1) -> None:
        """Make the next ``count`` reads raise ``error`` (default: a CameraError saying it was injected)."""
        for _ in range(count):
            self._failures.append(error if error is not None else CameraError("injected camera fault"))

    def read(self) -> np.ndarray | None:
        """The next frame; None when waiting for new files (watch) or after the last one (see ``exhausted``)."""
        self._check_open()
        self._pace()
        if self._failures:
            raise self._failures.popleft()
        if self._shown:
            return self._shown.popleft()
        if self._index < len(self._items):
            index = self._index
            self._index += 1
            if self._index == len(self._items) and self.loop:
                self._index = 0
            return self._frame(index)
        if self.watch:
            return self._poll_folder()
        self.exhausted = True
        return None

    def _pace(self) -> None:
        if self.fps is None:
            return
        period = 1.0 / self.fps
        now = self._clock()
        if self._next_due is None or now - self._next_due >= period:
            # First frame, or the reader fell a whole frame behind: no burst to catch up, a new grid
            self._next_due = now + period
            return
        if now < self._next_due:
            self._sleep(self._next_due - now)
        self._next_due += period

    def _frame(self, index: int) -> np.ndarray:
        cached = self._cache.get(index)
        if cached is not None:
            return cached
        item = self._items[index]
        if isinstance(item, np.ndarray):
            return item
        frame = self._prepare(load_gray(item))
        self._cache[index] = frame
        return frame

    def _prepare(self, frame: np.ndarray) -> np.ndarray:
        if frame.ndim == 3 and frame.shape[2] in (3, 4):
            # RGB(A) arrays from callers: the same luma weights as Pillow's "L" conversion
            frame = (frame[..., 0] * 0.299 + frame[..., 1] * 0.587 + frame[..., 2] * 0.114 + 0.5).astype(np.uint8)
        if frame.dtype != np.uint8 or frame.ndim != 2:
            raise CameraError(f"replay frames must be greyscale uint8 (height, width), got {frame.dtype} {frame.shape}")
        if self.size is not None and frame.shape != (self.size[1], self.size[0]):
            frame = fit_frame(frame, self.size)
        # The same array is handed out on every loop: our own read-only copy, so no reader can
        # change what the next one sees, nor the source change the caller's array
        frame = np.array(frame, dtype=np.uint8, order="C", copy=True)
        frame.flags.writeable = False
        return frame

    def _poll_folder(self) -> np.ndarray | None:
        assert self.path is not None
        now = self._clock()
        if now < self._next_poll:
            if self._sleep is time.sleep:
                # Real time: wait on an event, so a frame shown meanwhile is delivered at once, not after the poll
                self._wake.wait(self._next_poll - now)
                self._wake.clear()
                if self._shown:
                    return self._shown.popleft()
            else:
                self._sleep(self._next_poll - now)
        self._next_poll = self._clock() + self.poll_s
        try:
            images = list_images(self.path)
        except OSError as exc:
            raise CameraError(f"replay folder {self.path} cannot be read: {exc}") from exc
        for image in images:
            try:
                stamp = _stamp(image)
            except OSError:
                continue  # removed between listing and stat
            if self._seen.get(image) == stamp:
                continue
            try:
                frame = self._prepare(load_gray(image))
            except ImageFileError:
                if self._pending.get(image) != stamp:
                    self._pending[image] = stamp  # still being written, perhaps: look again next poll
                    continue
                self._seen[image] = stamp
                self._pending.pop(image, None)
                raise
            self._seen[image] = stamp
            self._pending.pop(image, None)
            return frame
        return None


def _stamp(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_mtime_ns, status.st_size


# --- USB webcam (OpenCV) ------------------------------------------------------------------


class USBCameraSource(_SourceBase):
    """A USB webcam through OpenCV (V4L2 on Linux), or any video file OpenCV can open.

    ``device`` is the OpenCV index (``0`` for /dev/video0) or a path/URL of a video
    file (tests use an MJPG .avi). Width, height and fps are requested from a
    device; the camera may pick the nearest mode it has (``frame_size`` says what
    it delivers). The driver keeps one buffered frame so a read returns a fresh
    picture, not one from a quarter-second ago. A device that delivers no frame
    raises :class:`CameraError`; a file that has ended returns None and sets
    ``exhausted``.
    """

    def __init__(
        self,
        device: int | str | os.PathLike[str] = 0,
        width: int = 640,
        height: int = 480,
        fps: float = 30,
        *,
        choose_from: int = DEFAULT_CHOOSE_FROM,
        timeout_s: float = 2.0,
    ) -> None:
        try:
            import cv2
        except ImportError as exc:
            # OpenCV is an optional extra: only a gate with a USB webcam installs it (a Pi camera never needs it)
            raise CameraError(
                f"USB 摄像头需要 OpenCV，请在程序目录运行 {WEBCAM_HINT} / a USB webcam (camera.source: usb) needs "
                f"OpenCV, which is not installed ({exc}): run {WEBCAM_HINT} in the checkout "
                "(or pip install opencv-python-headless)"
            ) from exc
        self._cv2 = cv2
        self.device = device if isinstance(device, int) else os.fspath(device)
        self.is_file = not isinstance(device, int)
        self.choose_from = 1 if self.is_file else choose_from  # a video file's frames are each decoded, in order
        if isinstance(self.device, str):  # self.is_file
            if not Path(self.device).exists():
                raise CameraError(f"video file {self.device} does not exist")
            capture = cv2.VideoCapture(self.device)
        else:
            capture = cv2.VideoCapture(self.device, cv2.CAP_V4L2 if os.name == "posix" else cv2.CAP_ANY)
        if not capture.isOpened():
            capture.release()
            if self.is_file:
                raise CameraError(f"OpenCV cannot open video file {self.device}")
            raise CameraError(
                f"no USB camera at index {self.device} (/dev/video{self.device}): check it is plugged in "
                "(v4l2-ctl --list-devices), that no other program holds it, and that this user is in the 'video' group"
            )
        if not self.is_file:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            capture.set(cv2.CAP_PROP_FPS, fps)
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
            if hasattr(cv2, "CAP_PROP_READ_TIMEOUT_MSEC"):
                capture.set(cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_s * 1000)  # honoured by some backends only
        self._capture = capture
        self.timeout_s = timeout_s
        self.frame_size = (
            int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
        if not self.is_file and self.frame_size != (width, height):
            log.warning("USB camera %s delivers %s×%s, not the %s×%s asked for", self.device, *self.frame_size, width, height)

    def read(self) -> np.ndarray | None:
        """The next frame in greyscale; None at the end of a video file."""
        self._check_open()
        try:
            ok, frame = self._capture.read()
        except self._cv2.error as exc:
            raise CameraError(f"USB camera {self.device}: {exc}") from exc
        if not ok or frame is None:
            if self.is_file:
                self.exhausted = True
                return None
            raise CameraError(
                f"USB camera {self.device} delivered no frame: unplugged, or a USB hub without enough power?"
            )
        if frame.ndim == 3:
            frame = self._cv2.cvtColor(frame, self._cv2.COLOR_BGR2GRAY)
        return np.ascontiguousarray(frame)

    def close(self) -> None:
        """Release the camera; safe to call twice."""
        if not self.closed:
            self._capture.release()
        super().close()


# --- Raspberry Pi camera (picamera2) ------------------------------------------------------

DEFAULT_EXPOSURE_US = 6000
"""The Pi camera's shutter time at a gate: a card moved at 0.5 m/s travels 3 mm in 6 ms, about one module."""

FOCUS_MODES = ("continuous", "fixed")

# libcamera's enum values (control_ids_core.yaml), used where the libcamera module lacks the enum class
_ENUM_FALLBACK = {
    ("AeExposureModeEnum", "Normal"): 0, ("AeExposureModeEnum", "Short"): 1, ("AeExposureModeEnum", "Long"): 2,
    ("ExposureTimeModeEnum", "Manual"): 1, ("AnalogueGainModeEnum", "Manual"): 1,
    ("AfModeEnum", "Manual"): 0, ("AfModeEnum", "Continuous"): 2, ("AfSpeedEnum", "Fast"): 1,
}


def pi_camera_controls(
    available: Iterable[str],
    *,
    fps: float = 30,
    exposure_us: int = DEFAULT_EXPOSURE_US,
    analogue_gain: float | None = None,
    exposure_mode: str = "short",
    focus: str = "continuous",
    focus_distance_m: float = 0.3,
    enums: object | None = None,
) -> tuple[dict[str, object], list[str]]:
    """The libcamera controls for a gate camera, and the names of those the camera does not have.

    - ``exposure_us`` > 0 fixes the shutter time (``ExposureTime``, with ``ExposureTimeMode`` manual on libcamera
      0.5+) so a moving card is not streaked; auto-exposure keeps the picture bright by raising the analogue gain
      (noisier, but noise costs a decoder far less than a streak). ``analogue_gain`` fixes the gain too (both
      manual: nothing adapts to the light any more). ``exposure_us`` 0 leaves the shutter to auto-exposure in
      ``exposure_mode`` (``AeExposureMode``: short, normal or long).
    - ``focus`` on a camera with a motorised lens (Camera Module 3): ``continuous`` autofocus, fast; or ``fixed``
      at ``focus_distance_m`` (``AfMode`` manual, ``LensPosition`` = 1 / distance in dioptres). A fixed-focus
      camera has no ``AfMode``: its focus ring is set by hand.
    - ``FrameRate`` (picamera2 turns it into ``FrameDurationLimits``) is always set.

    ``available`` is the camera's ``camera_controls`` (picamera2 refuses a control the camera does not
    advertise); ``enums`` is libcamera's ``controls`` module (its enum classes), ints when None.
    """
    if exposure_mode not in ("short", "normal", "long"):
        raise ValueError(f"exposure_mode: expected short, normal or long, got {exposure_mode!r}")
    if focus not in FOCUS_MODES:
        raise ValueError(f"focus: expected one of {', '.join(FOCUS_MODES)}, got {focus!r}")
    if exposure_us < 0 or (exposure_us and exposure_us > 1_000_000 / fps):
        raise ValueError(f"exposure_us: expected 0 (auto) or a shutter time within one frame at {fps:g} fps, got {exposure_us}")

    def enum(kind: str, name: str) -> object:
        return getattr(getattr(enums, kind, None), name, _ENUM_FALLBACK[(kind, name)])

    wanted: dict[str, object] = {}
    if exposure_us:
        wanted["ExposureTimeMode"] = enum("ExposureTimeModeEnum", "Manual")  # libcamera 0.5+: ExposureTime applies
        wanted["ExposureTime"] = int(exposure_us)
        if analogue_gain is not None:
            wanted["AnalogueGainMode"] = enum("AnalogueGainModeEnum", "Manual")
            wanted["AnalogueGain"] = float(analogue_gain)
    else:
        wanted["AeExposureMode"] = enum("AeExposureModeEnum", exposure_mode.capitalize())
        if analogue_gain is not None:
            wanted["AnalogueGainMode"] = enum("AnalogueGainModeEnum", "Manual")
            wanted["AnalogueGain"] = float(analogue_gain)
    if focus == "continuous":
        wanted["AfMode"] = enum("AfModeEnum", "Continuous")
        wanted["AfSpeed"] = enum("AfSpeedEnum", "Fast")
    else:
        wanted["AfMode"] = enum("AfModeEnum", "Manual")
        wanted["LensPosition"] = round(1.0 / focus_distance_m, 3)
    names = set(available)
    if "AfMode" not in names:
        # A fixed-focus camera: no lens to drive, and nothing to report — its focus ring is set by hand
        for key in ("AfMode", "AfSpeed", "LensPosition"):
            wanted.pop(key, None)
    controls: dict[str, object] = {"FrameRate": float(fps)}
    skipped = []
    for key, value in wanted.items():
        if key in names:
            controls[key] = value
        elif key not in ("ExposureTimeMode", "AnalogueGainMode"):  # absent before libcamera 0.5: not needed there
            skipped.append(key)
    return controls, skipped


class PiCameraSource(_SourceBase):
    """A Raspberry Pi camera through picamera2, greyscale from the Y plane of a YUV420 "lores" stream.

    The lores stream is produced by the ISP at the requested size alongside the
    main stream, so greyscale frames cost no conversion in Python: the first
    ``height`` rows of the YUV420 buffer are the luminance. The camera is set
    up for a gate (see :func:`pi_camera_controls`): a short fixed shutter time
    with the gain left to auto-exposure, and on a Camera Module 3 continuous
    autofocus (or a fixed focus distance); the controls go in the camera
    configuration, so the very first frame has them. ``controls`` says what
    was asked of the camera, ``skipped_controls`` what it does not support.
    ``camera_num`` picks the camera on boards with two. Each read waits up to
    ``timeout_s`` for the next frame.

    picamera2 comes from apt, not pip: when it is missing this raises
    :class:`CameraError` with the fix — there is no fallback to another source.
    """

    def __init__(
        self,
        width: int = 640,
        height: int = 480,
        fps: float = 30,
        *,
        camera_num: int = 0,
        exposure_us: int = DEFAULT_EXPOSURE_US,
        analogue_gain: float | None = None,
        exposure_mode: str = "short",
        focus: str = "continuous",
        focus_distance_m: float = 0.3,
        choose_from: int = DEFAULT_CHOOSE_FROM,
        timeout_s: float = 2.0,
    ) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError as exc:
            raise CameraError(f"picamera2 is not available ({exc}): {PICAMERA2_HINT}") from exc
        # YUV420 needs even dimensions
        self.width, self.height = width - width % 2, height - height % 2
        self.timeout_s = timeout_s
        self.choose_from = choose_from
        self.autofocus = False
        try:
            camera = Picamera2(camera_num)
        except (IndexError, RuntimeError, OSError) as exc:
            raise CameraError(
                f"no Raspberry Pi camera #{camera_num} ({exc}): check the ribbon cable and `rpicam-hello --list-cameras`; "
                "another program (rpicam-*, a second kiosk) may hold it"
            ) from exc
        self._camera = camera
        try:
            try:
                from libcamera import controls as enums
            except ImportError:  # picamera2 without its libcamera bindings cannot run anyway; ints are libcamera's values
                enums = None
            self.controls, self.skipped_controls = pi_camera_controls(
                camera.camera_controls, fps=fps, exposure_us=exposure_us, analogue_gain=analogue_gain,
                exposure_mode=exposure_mode, focus=focus, focus_distance_m=focus_distance_m, enums=enums,
            )
            if self.skipped_controls:
                log.warning("Raspberry Pi camera #%s does not support %s: left at its defaults", camera_num,
                            ", ".join(self.skipped_controls))
            size = (self.width, self.height)
            config = camera.create_video_configuration(
                main={"size": size, "format": "YUV420"},
                lores={"size": size, "format": "YUV420"},
                controls=dict(self.controls),
                buffer_count=4,
                # Wait for the next frame rather than hand out a queued older one: a fresh picture is what counts
                queue=False,
            )
            camera.configure(config)
            camera.start()
            self.autofocus = self.controls.get("AfMode") == getattr(
                getattr(enums, "AfModeEnum", None), "Continuous", _ENUM_FALLBACK[("AfModeEnum", "Continuous")])
        except Exception as exc:
            self._release()
            raise CameraError(f"Raspberry Pi camera #{camera_num} could not start at {width}×{height}@{fps}: {exc}") from exc

    def read(self) -> np.ndarray:
        """The next frame: the Y plane of the lores stream."""
        self._check_open()
        try:
            job = self._camera.capture_array("lores", wait=False)
            yuv = self._camera.wait(job, timeout=self.timeout_s)
        except TimeoutError as exc:
            raise CameraError(f"Raspberry Pi camera delivered no frame within {self.timeout_s:g} s") from exc
        except Exception as exc:
            raise CameraError(f"Raspberry Pi camera failed: {exc}") from exc
        # The array is (height × 3/2, stride): Y rows first, then U and V; rows may be padded
        return np.ascontiguousarray(yuv[: self.height, : self.width])

    def metadata(self) -> dict:
        """The camera's report on its latest frame (ExposureTime, AnalogueGain, LensPosition, …): for tuning."""
        self._check_open()
        return dict(self._camera.capture_metadata())

    def close(self) -> None:
        """Stop and release the camera; safe to call twice."""
        if not self.closed:
            self._release()
        super().close()

    def _release(self) -> None:
        for step in (self._camera.stop, self._camera.close):
            try:
                step()
            except Exception as exc:  # closing must not hide the error that made us close
                log.warning("Raspberry Pi camera: %s failed while closing: %s", step.__name__, exc)


# --- factory ------------------------------------------------------------------------------


def open_camera(settings: CameraSettings) -> FrameSource | None:
    """Open the frame source ``settings.source`` names; None for ``none`` (a gate with a USB scanner only).

    The Pi camera gets the gate's exposure and focus settings (``exposure_us``, ``analogue_gain``,
    ``exposure_mode``, ``focus``, ``focus_distance_m``); live cameras carry ``choose_from`` for the scan loop.

    ``replay`` reads ``settings.replay_path``: a folder is watched (each image
    dropped in after the start is delivered once), a single file is looped at
    ``fps`` (a card held in front of the camera); frames are sized
    ``width``×``height``. A camera that cannot be opened raises
    :class:`CameraError`; nothing falls back to a fake.
    """
    size = (settings.width, settings.height)
    if settings.source == "picamera2":
        return PiCameraSource(
            settings.width, settings.height, settings.fps, exposure_us=settings.exposure_us,
            analogue_gain=settings.analogue_gain, exposure_mode=settings.exposure_mode, focus=settings.focus,
            focus_distance_m=settings.focus_distance_m, choose_from=settings.choose_from,
        )
    if settings.source == "usb":
        return USBCameraSource(settings.usb_device, settings.width, settings.height, settings.fps,
                               choose_from=settings.choose_from)
    if settings.source == "replay":
        if not settings.replay_path:
            raise CameraError("camera.replay_path is required when camera.source is replay")
        path = Path(settings.replay_path)
        if path.is_dir():
            return ReplaySource(path, watch=True, size=size)
        return ReplaySource(path, loop=True, fps=settings.fps, size=size)
    if settings.source == "none":
        return None
    raise CameraError(f"camera.source: unknown source {settings.source!r}")
