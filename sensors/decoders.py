"""QR decoders behind one interface: ``decode(gray) -> list[str]``.

- :class:`ZXingDecoder` — one zxing-cpp pass, QR only, text exactly as encoded.
- :class:`ZBarDecoder` — pyzbar (libzbar0), QR only, inverted codes by a second pass.
- :class:`RobustDecoder` — the gate's default: the zxing-cpp pass, then, only on a
  frame where it found nothing, a few cheap retries (another binariser, a half-scale
  copy, a sharpened copy) chosen by measuring on the QR photo corpus (docs/qr.md,
  ``bench/qr_corpus_bench.py``).

``make_decoder(engine)`` maps the config value ``decoder.engine`` to one of them:
``"zxing"`` → RobustDecoder, ``"zxing-raw"`` → ZXingDecoder, ``"zbar"`` → ZBarDecoder.

Every decoder takes a greyscale ``uint8`` array of shape (height, width). Input it
cannot use raises :class:`DecoderError` (wrong type, dtype or shape, absurdly large);
a frame too small to hold any QR code simply yields ``[]``. The decoding libraries
are imported when a decoder is made, so importing this module costs only numpy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from kiosk.exc import KioskError


class DecoderError(KioskError, ValueError):
    """A decoder could not be made (library missing) or was handed a frame it cannot use."""


# A version-1 QR code is 21×21 modules; below one pixel per module nothing can read it.
MIN_SIDE = 21
# ~50 MP: larger than any camera frame or phone photo; a bigger array is a mistake, and
# decoding it would take seconds and hundreds of MB.
MAX_PIXELS = 50_000_000

ENGINES = ("zxing", "zxing-raw", "zbar")


@runtime_checkable
class Decoder(Protocol):
    """Anything that turns a greyscale frame into the texts of the QR codes it shows."""

    name: str

    def decode(self, gray: np.ndarray) -> list[str]:
        """Return the text of every QR code read in ``gray`` (uint8, height × width), in the order found."""
        ...


def check_frame(gray: object) -> np.ndarray | None:
    """Validate a frame for decoding: a C-contiguous 2-D uint8 array, or None when it is too small to hold a code.

    Raises :class:`DecoderError` for anything that is not a greyscale uint8 image
    or that has more than ``MAX_PIXELS`` pixels. An (H, W, 1) array is accepted.
    """
    if not isinstance(gray, np.ndarray):
        raise DecoderError(f"expected a numpy array (greyscale frame), got {type(gray).__name__}")
    if gray.dtype != np.uint8:
        raise DecoderError(f"expected a uint8 greyscale frame, got dtype {gray.dtype}")
    if gray.ndim == 3 and gray.shape[2] == 1:
        gray = gray[:, :, 0]
    if gray.ndim != 2:
        raise DecoderError(
            f"expected a greyscale frame of shape (height, width), got shape {gray.shape}; "
            "convert colour images to greyscale first"
        )
    height, width = gray.shape
    if height * width > MAX_PIXELS:
        raise DecoderError(
            f"frame of {width}×{height} pixels is larger than the {MAX_PIXELS // 1_000_000} MP limit; scale it down first"
        )
    if height < MIN_SIDE or width < MIN_SIDE:
        return None
    # zxing-cpp and zbar want one plain buffer; views with odd strides get copied once here
    return np.ascontiguousarray(gray)


def _unique(texts: Sequence[str]) -> list[str]:
    # The same symbol can be found twice (e.g. by the normal and the inverted pass)
    return list(dict.fromkeys(texts))


class ZXingDecoder:
    """One zxing-cpp pass over the frame: QR codes only, text exactly as encoded.

    ``binarizer`` is ``"local"`` (zxing-cpp's default LocalAverage) or ``"global"``
    (GlobalHistogram). Rotated, mirrored-contrast (light-on-dark) and oversized codes
    are found by zxing-cpp's own ``try_rotate``/``try_invert``/``try_downscale``,
    all on by default. The text is zxing-cpp's ``TextMode.Plain``: the bytes
    transcoded by the symbol's ECI (or guessed character set), without the
    "human readable" rewriting of its default mode (``<GS>`` for control
    characters, brackets around GS1 application identifiers).
    """

    name = "zxing-raw"

    def __init__(
        self,
        *,
        binarizer: str = "local",
        try_rotate: bool = True,
        try_invert: bool = True,
        try_downscale: bool = True,
    ) -> None:
        try:
            import zxingcpp
        except ImportError as exc:  # pragma: no cover - zxing-cpp is a hard dependency
            raise DecoderError(f"zxing-cpp is not installed ({exc}): pip install zxing-cpp") from exc
        binarizers = {"local": zxingcpp.Binarizer.LocalAverage, "global": zxingcpp.Binarizer.GlobalHistogram}
        if binarizer not in binarizers:
            raise DecoderError(f"binarizer: expected one of {', '.join(binarizers)}, got {binarizer!r}")
        self._read = zxingcpp.read_barcodes
        self._options: dict[str, Any] = {
            "formats": zxingcpp.BarcodeFormat.QRCode,
            "text_mode": zxingcpp.TextMode.Plain,
            "binarizer": binarizers[binarizer],
            "try_rotate": try_rotate,
            "try_invert": try_invert,
            "try_downscale": try_downscale,
        }

    def decode(self, gray: np.ndarray) -> list[str]:
        """Return the text of every QR code zxing-cpp reads in ``gray``."""
        frame = check_frame(gray)
        if frame is None:
            return []
        return self._decode(frame)

    def _decode(self, frame: np.ndarray, **overrides: Any) -> list[str]:
        options = self._options if not overrides else {**self._options, **overrides}
        return _unique([barcode.text for barcode in self._read(frame, **options)])


class ZBarDecoder:
    """pyzbar (the zbar library) restricted to QR codes; bytes decoded as UTF-8.

    zbar does not look for light-on-dark codes, so a frame where it finds nothing
    is tried once more inverted. zbar itself converts a symbol's bytes to UTF-8
    (guessing the character set when the symbol has no ECI); bytes that are still
    not UTF-8 come back with U+FFFD in their place rather than as an error.
    """

    name = "zbar"

    def __init__(self) -> None:
        try:
            from pyzbar import pyzbar
        except ImportError as exc:
            raise DecoderError(
                f"pyzbar cannot load the zbar library ({exc}): sudo apt install libzbar0"
            ) from exc
        self._pyzbar = pyzbar
        self._symbols = [pyzbar.ZBarSymbol.QRCODE]

    def decode(self, gray: np.ndarray) -> list[str]:
        """Return the text of every QR code zbar reads in ``gray`` (normal first, then inverted)."""
        frame = check_frame(gray)
        if frame is None:
            return []
        texts = self._decode(frame)
        if not texts:
            texts = self._decode(np.subtract(255, frame, dtype=np.uint8))
        return texts

    def _decode(self, frame: np.ndarray) -> list[str]:
        height, width = frame.shape
        try:
            symbols = self._pyzbar.decode((frame.tobytes(), width, height), symbols=self._symbols)
        except Exception as exc:  # pyzbar raises its own PyZbarError, or ctypes errors
            raise DecoderError(f"zbar failed on a {width}×{height} frame: {exc}") from exc
        return _unique([symbol.data.decode("utf-8", errors="replace") for symbol in symbols])


# The retries RobustDecoder knows, cheapest first. Each one is measured by
# bench/qr_corpus_bench.py; docs/qr.md has the figures behind the default set.
RETRIES = ("global-histogram", "half-scale", "sharpen", "zoom")
DEFAULT_RETRIES = ("global-histogram", "half-scale", "sharpen")

# Unsharp mask used by "sharpen": blur radius and strength, chosen on blurred
# synthetic cards (1.5–3 px per module, Gaussian blur σ 0.8–1.5), where it reads
# about a quarter more than the plain pass; larger radii start to hurt.
SHARPEN_SIGMA = 2.0
SHARPEN_AMOUNT = 1.5
# "zoom" only on frames up to this size: beyond it codes already have pixels to spare
# and a 2× upscale costs more than it can win.
ZOOM_MAX_PIXELS = 1_000_000
# The zoomed copy's modules are twice as wide, so its unsharp mask is wider and stronger.
ZOOM_SHARPEN_SIGMA = 3.0
ZOOM_SHARPEN_AMOUNT = 2.0


class RobustDecoder:
    """The gate's default decoder: zxing-cpp, then cheap retries on frames where it found nothing.

    The first pass is :class:`ZXingDecoder` with zxing-cpp's defaults (LocalAverage
    binariser, rotation, inversion, downscaling), so this decoder reads every
    frame that pass reads, at the same cost. Only when it finds nothing — which
    is most frames at a gate, where nobody holds up a card — do the retries
    run, in order, stopping at the first that reads a code:

    - ``global-histogram``: the same frame through zxing-cpp's GlobalHistogram
      binariser. One threshold for the whole image copes with codes whose
      modules carry texture or pictures and with strong vignetting, where the
      local-average threshold breaks modules apart.
    - ``half-scale``: a 2×2-averaged copy, GlobalHistogram again. Averaging
      removes print halftone, JPEG noise and texture inside modules of codes
      that are large in the frame (zxing-cpp's own downscaling only starts
      above 500 px and uses its default binariser).
    - ``sharpen``: an unsharp-masked copy, LocalAverage. Out-of-focus and
      motion-blurred small codes — a card moving towards a fixed-focus camera.
    - ``zoom`` (not in the default set): the centre half of the frame upscaled
      2× and sharpened, for cards held far from the camera (≈1.5 px per module).
      It reads more such cards but costs about as much as the other three
      together on every frame without a code.

    ``retries`` picks and orders them (names from ``RETRIES``); ``()`` makes
    this a plain ZXingDecoder. OpenCV (``opencv-python-headless``) does the
    image operations; it is imported here, not at module import.
    """

    name = "zxing"

    def __init__(self, retries: Sequence[str] = DEFAULT_RETRIES) -> None:
        unknown = [name for name in retries if name not in RETRIES]
        if unknown:
            raise DecoderError(f"retries: unknown {', '.join(map(repr, unknown))}; expected names from {', '.join(RETRIES)}")
        self.retries = tuple(retries)
        self._primary = ZXingDecoder()
        self._global = ZXingDecoder(binarizer="global")
        if self.retries:
            try:
                import cv2
            except ImportError as exc:
                raise DecoderError(
                    f"OpenCV is needed for the decoder's retries ({exc}): pip install opencv-python-headless"
                ) from exc
            self._cv2 = cv2
        self._stages: list[tuple[str, Callable[[np.ndarray], list[str]]]] = [("primary", self._primary._decode)]
        self._stages += [(name, getattr(self, "_retry_" + name.replace("-", "_"))) for name in self.retries]

    def decode(self, gray: np.ndarray) -> list[str]:
        """Return the text of every QR code read in ``gray``, from the first pass that reads any."""
        return self.decode_with_stage(gray)[0]

    def decode_with_stage(self, gray: np.ndarray) -> tuple[list[str], str | None]:
        """Like :meth:`decode`, and also say which pass read the codes.

        The stage is ``"primary"``, a retry name, or None when nothing was read;
        ``kiosk decode`` and the corpus benchmark use it to show what each retry wins.
        """
        frame = check_frame(gray)
        if frame is None:
            return [], None
        for stage, attempt in self._stages:
            texts = attempt(frame)
            if texts:
                return texts, stage
        return [], None

    def _retry_global_histogram(self, frame: np.ndarray) -> list[str]:
        return self._global._decode(frame)

    def _retry_half_scale(self, frame: np.ndarray) -> list[str]:
        height, width = frame.shape
        if min(height, width) // 2 < MIN_SIDE:
            return []
        half = self._cv2.resize(frame, (width // 2, height // 2), interpolation=self._cv2.INTER_AREA)
        return self._global._decode(half)

    def _retry_sharpen(self, frame: np.ndarray) -> list[str]:
        return self._primary._decode(_unsharp(self._cv2, frame, SHARPEN_SIGMA, SHARPEN_AMOUNT), try_downscale=False)

    def _retry_zoom(self, frame: np.ndarray) -> list[str]:
        height, width = frame.shape
        if height * width > ZOOM_MAX_PIXELS or min(height, width) < 2 * MIN_SIDE:
            return []
        centre = frame[height // 4 : height // 4 + height // 2, width // 4 : width // 4 + width // 2]
        zoomed = self._cv2.resize(centre, None, fx=2, fy=2, interpolation=self._cv2.INTER_LINEAR)
        return self._primary._decode(_unsharp(self._cv2, zoomed, ZOOM_SHARPEN_SIGMA, ZOOM_SHARPEN_AMOUNT), try_downscale=False)


def _unsharp(cv2, frame: np.ndarray, sigma: float, amount: float) -> np.ndarray:
    blurred = cv2.GaussianBlur(frame, (0, 0), sigma)
    return cv2.addWeighted(frame, 1.0 + amount, blurred, -amount, 0)


def make_decoder(engine: str = "zxing") -> Decoder:
    """The decoder for a ``decoder.engine`` config value.

    ``"zxing"`` (default) → :class:`RobustDecoder`; ``"zxing-raw"`` →
    :class:`ZXingDecoder` (one pass, for benchmarks and diagnosis); ``"zbar"`` →
    :class:`ZBarDecoder`. Raises :class:`DecoderError` for another name or when
    the engine's library cannot be loaded (the message says what to install).
    """
    if engine == "zxing":
        return RobustDecoder()
    if engine == "zxing-raw":
        return ZXingDecoder()
    if engine == "zbar":
        return ZBarDecoder()
    raise DecoderError(f"decoder engine: expected one of {', '.join(ENGINES)}, got {engine!r}")
