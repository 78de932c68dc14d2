"""QR decoders behind one interface: ``decode(gray) -> list[str]``.

- :class:`ZXingDecoder` — one zxing-cpp pass, QR only, text exactly as encoded.
- :class:`ZBarDecoder` — pyzbar (libzbar0), QR only, inverted codes by a second pass.
- :class:`RobustDecoder` — the gate's default: the zxing-cpp pass, then, only on a
  frame where it found nothing, a few cheap retries (another binariser, a half-scale
  copy), then, only where part of the frame looks like a code, a sharpened and a
  deconvolved crop — chosen by measuring on the QR photo corpus and blurred
  synthetic cards (docs/qr.md, ``bench/qr_corpus_bench.py``). NumPy only, no OpenCV.

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
from sensors import image_ops


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
# bench/qr_corpus_bench.py; docs/qr.md and docs/benchmarks.md have the figures behind the default set.
RETRIES = ("global-histogram", "half-scale", "sharpen", "deblur", "destreak", "zoom")
DEFAULT_RETRIES = ("global-histogram", "half-scale", "sharpen", "deblur", "destreak")

# Unsharp mask used by "sharpen": blur radius and strength, chosen on blurred
# synthetic cards (1.5–3 px per module, Gaussian blur σ 0.8–1.5); stronger
# amounts amplify sensor noise (σ 6) past what the binariser copes with.
SHARPEN_SIGMA = 2.0
SHARPEN_AMOUNT = 1.5
# "deblur": Wiener deconvolution by these point-spread functions, one after the other
# until one reads — (shape, size in px, noise-to-signal ratio): Gaussians of σ 1.4–2.6
# and defocus discs of radius 2.5 and 3.2, lightest first. The noise-to-signal ratio
# trades ringing against amplified noise; each was chosen on the synthetic cards
# (bench/qr_corpus_bench.py), where every entry rescues cards the others miss.
DEBLUR_FILTERS: tuple[tuple[str, float, float], ...] = (
    ("gauss", 1.8, 0.01),
    ("gauss", 1.4, 0.01),
    ("gauss", 2.2, 0.01),
    ("disc", 2.5, 0.03),
    ("gauss", 2.6, 0.01),
    ("disc", 3.2, 0.03),
)
# The sharpen and deblur crop's side (px): a 45-module card code at 4 px per module with its quiet zone
# is 212 px; a power of two keeps the transforms fast.
CROP = 256
# "destreak": the streak length guessed from the cepstrum comes out about half a pixel short
# (its minimum sits on whole pixels, the streak's ends are anti-aliased); noise-to-signal as for deblur.
DESTREAK_LENGTH_BIAS = 0.5
DESTREAK_NOISE_TO_SIGNAL = 0.01
# "zoom" only on frames up to this size: beyond it codes already have pixels to spare
# and a 2× upscale costs more than it can win.
ZOOM_MAX_PIXELS = 1_000_000
# The zoomed copy's modules are twice as wide, so its unsharp mask is wider and stronger.
ZOOM_SHARPEN_SIGMA = 3.0
ZOOM_SHARPEN_AMOUNT = 2.0


class _Attempt:
    """One frame being decoded: copies the retries share, each made at most once."""

    def __init__(self, frame: np.ndarray) -> None:
        self.frame = frame
        self._half: np.ndarray | None = None
        self._looked = False
        self._spectrum: image_ops.Spectrum | None = None

    @property
    def half(self) -> np.ndarray:
        """The 2×2-averaged copy."""
        if self._half is None:
            self._half = image_ops.half_scale(self.frame)
        return self._half

    def crop(self) -> image_ops.Spectrum | None:
        """The code-like part of the frame, transformed once for every filter that follows; None if there is none.

        The crop is always ``CROP`` px a side (less only in a smaller frame), round
        the middle of the code-like region: one size, so the filters' transfer
        functions are computed once per decoder, not once per frame.
        """
        if not self._looked:
            self._looked = True
            region = image_ops.code_like_region(self.half)
            if region is not None:
                top, left, bottom, right = region
                height, width = self.frame.shape
                side_y, side_x = min(CROP, height), min(CROP, width)
                top = min(max(0, (top + bottom - side_y) // 2), height - side_y)
                left = min(max(0, (left + right - side_x) // 2), width - side_x)
                self._spectrum = image_ops.Spectrum(self.frame[top : top + side_y, left : left + side_x])
        return self._spectrum


class RobustDecoder:
    """The gate's default decoder: zxing-cpp, then retries on frames where it found nothing.

    The first pass is :class:`ZXingDecoder` with zxing-cpp's defaults (LocalAverage
    binariser, rotation, inversion, downscaling), so this decoder reads every
    frame that pass reads, at the same cost. Only when it finds nothing — which
    is most frames at a gate, where nobody holds up a card — do the retries
    run, in order, stopping at the first that reads a code:

    - ``global-histogram``: the same frame through zxing-cpp's GlobalHistogram
      binariser. One threshold for the whole image copes with codes whose
      modules carry texture or pictures and with strong vignetting, where the
      local-average threshold breaks modules apart. zxing-cpp's own
      downscaled copies are left out here (they double the pass's cost on a
      frame without a code) and tried after half-scale on code-like frames.
    - ``half-scale``: a 2×2-averaged copy, GlobalHistogram again. Averaging
      removes print halftone, JPEG noise and texture inside modules of codes
      that are large in the frame (zxing-cpp's own downscaling only starts
      above 500 px and uses its default binariser).
    - ``sharpen`` and ``deblur`` run only on the part of the frame that looks
      like a code (:func:`sensors.image_ops.code_like_region`: contrast in every
      16-px tile of a square), so a frame without one — nearly every frame —
      skips them for the price of that test. ``sharpen`` unsharp-masks the crop
      (light blur, small codes); ``deblur`` deconvolves it (Wiener) by defocus
      discs of a few radii in turn: a card out of focus, nearer than the fixed
      focus of the camera. Both filter one Fourier transform of the crop.
    - ``destreak``: a motion streak's length and angle guessed from the crop's
      cepstrum (:func:`sensors.image_ops.streak_estimate`), then undone the same
      way. It reads some cards moving across the view; a short exposure at the
      camera prevents the streak in the first place.
    - ``zoom`` (not in the default set): the centre half of the frame upscaled
      2× and sharpened, for cards held far from the camera (≈1.5 px per module).
      It costs more than the others together on every frame without a code.

    ``retries`` picks and orders them (names from ``RETRIES``); ``()`` makes
    this a plain ZXingDecoder. The image operations are NumPy and Pillow
    (:mod:`sensors.image_ops`); OpenCV is not needed.
    """

    name = "zxing"

    def __init__(self, retries: Sequence[str] = DEFAULT_RETRIES) -> None:
        unknown = [name for name in retries if name not in RETRIES]
        if unknown:
            raise DecoderError(f"retries: unknown {', '.join(map(repr, unknown))}; expected names from {', '.join(RETRIES)}")
        self.retries = tuple(retries)
        self._primary = ZXingDecoder()
        self._global = ZXingDecoder(binarizer="global")
        make_kernel = {"gauss": image_ops.gaussian_kernel, "disc": image_ops.disc_kernel}
        self._deblur_kernels = [(make_kernel[shape](size), nsr) for shape, size, nsr in DEBLUR_FILTERS]
        # Transfer functions by (filter, crop shape): crops are CROP × CROP but in smaller frames, so this
        # stays a handful of entries (bounded anyway); about 0.25 MB each at 256 × 256
        self._transfers: dict[tuple[str, int, tuple[int, int]], np.ndarray] = {}
        self._stages: list[tuple[str, Callable[[_Attempt], list[str]]]] = [("primary", self._retry_primary)]
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
        attempt = _Attempt(frame)
        for stage, retry in self._stages:
            texts = retry(attempt)
            if texts:
                return texts, stage
        return [], None

    def _retry_primary(self, attempt: _Attempt) -> list[str]:
        return self._primary._decode(attempt.frame)

    def _retry_global_histogram(self, attempt: _Attempt) -> list[str]:
        # Without zxing-cpp's own downscaled copies: on a frame with no code they cost as much again,
        # and half-scale below makes its own; they are tried on code-like frames only
        return self._global._decode(attempt.frame, try_downscale=False)

    def _retry_half_scale(self, attempt: _Attempt) -> list[str]:
        if min(attempt.frame.shape) // 2 < MIN_SIDE:
            return []
        texts = self._global._decode(attempt.half)
        if not texts and attempt.crop() is not None:
            # zxing-cpp's downscaled copies with the global binariser, as global-histogram skipped them
            texts = self._global._decode(attempt.frame)
        return texts

    def _retry_sharpen(self, attempt: _Attempt) -> list[str]:
        spectrum = attempt.crop()
        if spectrum is None:
            return []
        transfer = self._transfer("sharpen", 0, spectrum.shape)
        return self._primary._decode(spectrum.filtered(transfer), try_downscale=False)

    def _retry_deblur(self, attempt: _Attempt) -> list[str]:
        spectrum = attempt.crop()
        if spectrum is None:
            return []
        for index in range(len(self._deblur_kernels)):
            transfer = self._transfer("deblur", index, spectrum.shape)
            texts = self._primary._decode(spectrum.filtered(transfer), try_downscale=False)
            if texts:
                return texts
        return []

    def _transfer(self, name: str, index: int, shape: tuple[int, int]) -> np.ndarray:
        key = (name, index, shape)
        cached = self._transfers.get(key)
        if cached is None:
            if name == "sharpen":
                cached = image_ops.unsharp_transfer(SHARPEN_SIGMA, SHARPEN_AMOUNT, shape)
            else:
                kernel, noise_to_signal = self._deblur_kernels[index]
                cached = image_ops.wiener_transfer(kernel, noise_to_signal, shape)
            if len(self._transfers) >= 64:  # odd frame sizes one after another: start afresh
                self._transfers.clear()
            self._transfers[key] = cached
        return cached

    def _retry_destreak(self, attempt: _Attempt) -> list[str]:
        spectrum = attempt.crop()
        if spectrum is None:
            return []
        length, angle = image_ops.streak_estimate(spectrum)
        kernel = image_ops.motion_kernel(length + DESTREAK_LENGTH_BIAS, angle)
        return self._primary._decode(spectrum.wiener(kernel, DESTREAK_NOISE_TO_SIGNAL), try_downscale=False)

    def _retry_zoom(self, attempt: _Attempt) -> list[str]:
        frame = attempt.frame
        height, width = frame.shape
        if height * width > ZOOM_MAX_PIXELS or min(height, width) < 2 * MIN_SIDE:
            return []
        centre = frame[height // 4 : height // 4 + height // 2, width // 4 : width // 4 + width // 2]
        zoomed = image_ops.upscale2(centre)
        sharpened = image_ops.Spectrum(zoomed).unsharp(ZOOM_SHARPEN_SIGMA, ZOOM_SHARPEN_AMOUNT)
        return self._primary._decode(sharpened, try_downscale=False)


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
