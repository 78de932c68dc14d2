"""Small greyscale image operations in NumPy for the decoder's retries and the scan loop.

No OpenCV: the gate installs it only for USB webcams. Every function takes a
2-D ``uint8`` array (height × width) and returns a new array; none of them
keeps state, so they are safe from any thread.

- :func:`sharpness` — how sharp a frame is (variance of a Laplacian on a 2×2-averaged
  copy), for the scan loop to pick the sharpest of a few recent frames.
- :func:`half_scale` — 2×2 area average (what OpenCV's ``INTER_AREA`` does at ½).
- :func:`gaussian_blur` / :func:`unsharp` — separable Gaussian, unsharp mask.
"""

from __future__ import annotations

import numpy as np


def _block_sums(gray: np.ndarray) -> np.ndarray:
    # Sums of 2×2 blocks as int16 (at most 4 × 255): strided adds beat reshape().sum() by ~20×
    height, width = gray.shape
    wide = gray[: height - height % 2, : width - width % 2].astype(np.int16)
    rows = wide[0::2] + wide[1::2]
    return rows[:, 0::2] + rows[:, 1::2]


def half_scale(gray: np.ndarray) -> np.ndarray:
    """The frame at half size, each pixel the rounded mean of a 2×2 block (an odd last row or column is dropped).

    The same pixels as OpenCV's ``resize(..., INTER_AREA)`` at ½.
    """
    sums = _block_sums(gray)
    sums += 2
    sums >>= 2
    return sums.astype(np.uint8)


def sharpness(gray: np.ndarray) -> float:
    """How sharp ``gray`` is: the variance of a 4-neighbour Laplacian of a 2×2-averaged copy.

    Larger is sharper; only comparisons between frames of the same camera and
    scene mean anything (the figure grows with contrast and texture as well as
    focus). The averaging halves the cost and keeps sensor noise from counting
    as detail. About 0.25 ms for a 640×480 frame on the development machine.
    Returns 0.0 for a frame smaller than 6 × 6; raises ValueError for anything
    that is not a 2-D ``uint8`` array.
    """
    if not isinstance(gray, np.ndarray) or gray.dtype != np.uint8 or gray.ndim != 2:
        kind = f"{gray.dtype} array of shape {gray.shape}" if isinstance(gray, np.ndarray) else type(gray).__name__
        raise ValueError(f"sharpness: expected a greyscale uint8 frame (height × width), got {kind}")
    frame = gray
    if min(frame.shape) < 6:
        return 0.0
    small = _block_sums(frame).astype(np.float32)
    laplacian = small[:-2, 1:-1] + small[2:, 1:-1] + small[1:-1, :-2] + small[1:-1, 2:] - 4 * small[1:-1, 1:-1]
    # The block sums are 4× the means, so the variance is 16× that of the averaged copy's Laplacian
    return float(laplacian.var()) / 16.0


def block_contrast(gray: np.ndarray, block: int = 8) -> np.ndarray:
    """Standard deviation of each ``block`` × ``block`` tile (float32, one value per whole tile)."""
    height, width = gray.shape
    rows, cols = height // block, width // block
    values = gray[: rows * block, : cols * block].astype(np.float32)
    # Sum down each tile's rows first, then across: both reductions run over contiguous memory
    # (a reshape to (rows, block, cols, block) reduced over axes 1 and 3 is several times slower)
    sums = values.reshape(rows, block, cols * block).sum(axis=1).reshape(rows, cols, block).sum(axis=2)
    squares = np.square(values).reshape(rows, block, cols * block).sum(axis=1).reshape(rows, cols, block).sum(axis=2)
    count = block * block
    return np.sqrt(np.maximum(squares * count - np.square(sums), 0.0)) / count


def box_mean(values: np.ndarray, size: int) -> np.ndarray:
    """Mean over every ``size`` × ``size`` window that fits (a 'valid' box filter, via a summed-area table)."""
    table = np.zeros((values.shape[0] + 1, values.shape[1] + 1), dtype=np.float64)
    table[1:, 1:] = values.cumsum(axis=0).cumsum(axis=1)
    sums = table[size:, size:] - table[:-size, size:] - table[size:, :-size] + table[:-size, :-size]
    return (sums / (size * size)).astype(np.float32)


def disc_kernel(radius: float) -> np.ndarray:
    """A defocus point-spread function: a uniform disc of ``radius`` pixels, anti-aliased, summing to 1."""
    reach = int(np.ceil(radius)) + 1
    oversample = 8
    steps = (np.arange((2 * reach + 1) * oversample) + 0.5) / oversample - (reach + 0.5)
    xs, ys = np.meshgrid(steps, steps)
    inside = (xs * xs + ys * ys <= radius * radius).astype(np.float64)
    kernel = inside.reshape(2 * reach + 1, oversample, 2 * reach + 1, oversample).mean(axis=(1, 3))
    return kernel / kernel.sum()


def gaussian_kernel(sigma: float) -> np.ndarray:
    """A 2-D Gaussian point-spread function of ``sigma`` pixels (±3 σ), summing to 1."""
    reach = max(1, int(np.ceil(3 * sigma)))
    line = np.exp(-np.square(np.arange(-reach, reach + 1)) / (2 * sigma * sigma))
    kernel = np.outer(line, line)
    return kernel / kernel.sum()


class Spectrum:
    """One crop's Fourier transform, to filter it several ways for the price of one forward FFT.

    :meth:`wiener` undoes a known blur (the point-spread function) with a
    noise-to-signal ratio keeping noise from exploding where the blur removed
    everything; :meth:`unsharp` is an unsharp mask (the image plus ``amount``
    times its detail above a Gaussian of ``sigma``). The crop is taken with
    its mean removed, and the result clipped back to ``uint8``.
    """

    def __init__(self, crop: np.ndarray) -> None:
        values = crop.astype(np.float32)
        self.shape: tuple[int, int] = (int(values.shape[0]), int(values.shape[1]))
        self.mean = float(values.mean())
        self._spectrum = np.fft.rfft2(values - self.mean).astype(np.complex64)

    @property
    def values(self) -> np.ndarray:
        """The (half-plane, ``rfft2``) Fourier transform of the crop less its mean."""
        return self._spectrum

    def filtered(self, transfer: np.ndarray) -> np.ndarray:
        """The crop multiplied in frequency by ``transfer`` (from :func:`wiener_transfer` or
        :func:`unsharp_transfer` for this crop's shape), back as ``uint8``."""
        values = np.fft.irfft2(self._spectrum * transfer, s=self.shape) + self.mean
        return np.clip(values, 0, 255).astype(np.uint8)

    def wiener(self, kernel: np.ndarray, noise_to_signal: float) -> np.ndarray:
        """The crop deconvolved by ``kernel`` (Wiener filter with a constant ``noise_to_signal``)."""
        return self.filtered(wiener_transfer(kernel, noise_to_signal, self.shape))

    def unsharp(self, sigma: float, amount: float) -> np.ndarray:
        """The crop unsharp-masked: itself plus ``amount`` × (itself − its Gaussian blur of ``sigma``)."""
        return self.filtered(unsharp_transfer(sigma, amount, self.shape))


def kernel_transfer(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The ``rfft2`` of ``kernel`` centred on pixel (0, 0) of an image of ``shape``, so filtering does not shift it."""
    padded = np.zeros(shape, dtype=np.float64)
    reach_y, reach_x = kernel.shape[0] // 2, kernel.shape[1] // 2
    padded[: kernel.shape[0], : kernel.shape[1]] = kernel
    return np.fft.rfft2(np.roll(padded, (-reach_y, -reach_x), axis=(0, 1)))


def wiener_transfer(kernel: np.ndarray, noise_to_signal: float, shape: tuple[int, int]) -> np.ndarray:
    """The Wiener filter undoing ``kernel`` for images of ``shape``: conj(K) / (|K|² + noise_to_signal)."""
    transfer = kernel_transfer(kernel, shape)
    return (np.conj(transfer) / (np.square(np.abs(transfer)) + noise_to_signal)).astype(np.complex64)


def unsharp_transfer(sigma: float, amount: float, shape: tuple[int, int]) -> np.ndarray:
    """An unsharp mask in frequency for images of ``shape``: 1 + amount × (1 − Gaussian(σ))."""
    return (1.0 + amount - amount * kernel_transfer(gaussian_kernel(sigma), shape)).astype(np.complex64)


def _window_min(values: np.ndarray, size: int) -> np.ndarray:
    # Minimum over every size × size window that fits, separably (rows, then columns)
    rows = values[: values.shape[0] - size + 1].copy()
    for step in range(1, size):
        np.minimum(rows, values[step : values.shape[0] - size + 1 + step], out=rows)
    out = rows[:, : rows.shape[1] - size + 1].copy()
    for step in range(1, size):
        np.minimum(out, rows[:, step : rows.shape[1] - size + 1 + step], out=out)
    return out


# Tiles of a quarter-scale copy: 4 px there, 16 px in the frame. A window of 4 × 4 tiles (64 px in the
# frame) fits inside the smallest card code (45 modules × 2.5 px ≈ 112 px) anywhere near its middle.
_TILE = 4
_WINDOW = 4
_TILE_PX = 16  # a tile's side in the frame
# A crop to filter is at most this many pixels a side (a 45-module code at 4 px is 180 px, 212 with its
# quiet zone), and a frame where more than this share of the windows look code-like has texture everywhere.
MAX_CROP = 256
MAX_CODE_LIKE_SHARE = 0.4


def code_like_region(half: np.ndarray, min_contrast: float = 10.0) -> tuple[int, int, int, int] | None:
    """Where a QR code may be in a frame, from its 2×2-averaged copy ``half``: (top, left, bottom, right) in the frame.

    A QR code is contrast everywhere over a square: every 16-px tile inside it
    holds module edges, even under heavy blur, while in an ordinary scene
    contrast comes in edges and patches. So the test is the smallest tile
    standard deviation over a 4 × 4-tile window: a window where every tile
    exceeds ``min_contrast`` grey levels is code-like. The region is the box
    round the code-like windows near the best one, with a margin for the
    quiet zone, at most ``MAX_CROP`` px a side; None when no window qualifies
    (most frames without a code) or when so many do that the frame is texture
    all over (``MAX_CODE_LIKE_SHARE``).
    The tiles are measured on a further 2×2-averaged copy (a quarter of the
    frame): the blurred code keeps its contrast there, and it is 4× less work.
    About 0.15 ms for the half of a 640×480 frame.
    """
    if min(half.shape) < 2 * _TILE * _WINDOW:
        return None
    tiles = block_contrast(half_scale(half), _TILE)
    if min(tiles.shape) < _WINDOW:
        return None
    windows = _window_min(tiles, _WINDOW)
    best = float(windows.max())
    if best < min_contrast:
        return None
    qualifying = windows >= max(min_contrast, 0.5 * best)
    if qualifying.mean() > MAX_CODE_LIKE_SHARE:
        # Texture everywhere (foliage, gravel, sensor noise at high gain): not one card's code
        return None
    by, bx = np.unravel_index(int(windows.argmax()), windows.shape)
    ys, xs = np.nonzero(qualifying)
    # Only windows within a card's reach of the best one (9 tiles = 144 px in the frame)
    near = (np.abs(ys - by) <= 9) & (np.abs(xs - bx) <= 9)
    ys, xs = ys[near], xs[near]
    scale = _TILE_PX
    margin = 2 * scale
    top = int(ys.min()) * scale - margin
    left = int(xs.min()) * scale - margin
    bottom = (int(ys.max()) + _WINDOW) * scale + margin
    right = (int(xs.max()) + _WINDOW) * scale + margin
    # At most MAX_CROP px a side, round the centroid of the windows (inside a code every window
    # qualifies, so the centroid leans to it rather than to texture beside it): a code needing the
    # retries is small (45 modules at ≤ 4 px plus its quiet zone), and the filters' cost grows with the crop
    centre_y = int((ys.mean() + _WINDOW / 2) * scale)
    centre_x = int((xs.mean() + _WINDOW / 2) * scale)
    if bottom - top > MAX_CROP:
        top = max(top, min(centre_y - MAX_CROP // 2, bottom - MAX_CROP))
        bottom = top + MAX_CROP
    if right - left > MAX_CROP:
        left = max(left, min(centre_x - MAX_CROP // 2, right - MAX_CROP))
        right = left + MAX_CROP
    height, width = 2 * half.shape[0], 2 * half.shape[1]
    top, left = max(0, top), max(0, left)
    return top, left, min(height, bottom), min(width, right)


def upscale2(gray: np.ndarray) -> np.ndarray:
    """The frame at twice its size, bilinear (Pillow's C resize)."""
    from PIL import Image

    height, width = gray.shape
    return np.asarray(Image.fromarray(gray).resize((2 * width, 2 * height), Image.Resampling.BILINEAR))


def motion_kernel(length: float, angle: float) -> np.ndarray:
    """A straight motion streak of ``length`` px at ``angle`` degrees (counter-clockwise from +x), anti-aliased, summing to 1."""
    reach = int(np.ceil(length / 2)) + 1
    kernel = np.zeros((2 * reach + 1, 2 * reach + 1))
    steps = np.linspace(-length / 2, length / 2, int(length * 32) + 1)
    xs = steps * np.cos(np.radians(angle)) + reach
    ys = -steps * np.sin(np.radians(angle)) + reach
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    # Each point of the streak shares its weight among the four pixels round it (bilinear)
    for dx, dy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(kernel, (np.clip(y0 + dy, 0, 2 * reach), np.clip(x0 + dx, 0, 2 * reach)), weight)
    return kernel / kernel.sum()


def streak_estimate(spectrum: Spectrum, shortest: float = 4.5, longest: float = 10.0) -> tuple[float, float]:
    """The length (px) and angle (degrees) of the motion streak that most likely blurred a crop.

    A streak of length L multiplies the image's spectrum by a sinc with zeros
    every 1/L along its direction; in the cepstrum (the inverse transform of
    the log magnitude) those periodic zeros become a deep minimum at the
    offset (L cos θ, L sin θ). This looks for it between ``shortest`` and
    ``longest`` px. It is a guess: the caller tries the matching Wiener filter
    and keeps the result only if a code reads.
    """
    height, width = spectrum.shape
    cepstrum = np.fft.irfft2(np.log(np.abs(spectrum.values) + 1e-3), s=spectrum.shape)
    dy = np.fft.fftfreq(height, 1.0 / height)[:, None]
    dx = np.fft.fftfreq(width, 1.0 / width)[None, :]
    distance = np.hypot(dy, dx)
    # Half the plane suffices (the cepstrum of a real image is symmetric)
    allowed = (distance >= shortest) & (distance <= longest) & (dy >= 0)
    index = np.unravel_index(int(np.argmin(np.where(allowed, cepstrum, np.inf))), cepstrum.shape)
    offset_y, offset_x = float(dy[index[0], 0]), float(dx[0, index[1]])
    return float(np.hypot(offset_x, offset_y)), float(np.degrees(np.arctan2(-offset_y, offset_x)) % 180.0)
