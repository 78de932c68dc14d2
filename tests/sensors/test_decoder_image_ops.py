"""The decoder's NumPy image operations: exact 2×2 averages, a sharpness that orders frames by focus,
a code-like region test that finds a card and ignores plain scenes, and filters that undo what they should."""

from __future__ import annotations

import numpy as np
import pytest

from sensors.cameras import qr_array
from sensors.image_ops import (
    Spectrum,
    code_like_region,
    disc_kernel,
    gaussian_kernel,
    half_scale,
    motion_kernel,
    sharpness,
    streak_estimate,
    upscale2,
)


def _convolve(frame: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    # Circular convolution by FFT, the kernel centred on pixel (0, 0): the model Spectrum.wiener inverts
    padded = np.zeros(frame.shape)
    padded[: kernel.shape[0], : kernel.shape[1]] = kernel
    padded = np.roll(padded, (-(kernel.shape[0] // 2), -(kernel.shape[1] // 2)), axis=(0, 1))
    return np.fft.irfft2(np.fft.rfft2(frame) * np.fft.rfft2(padded), s=frame.shape)


@pytest.mark.parametrize("shape", [(480, 640), (481, 641), (7, 9)])
def test_half_scale_is_the_rounded_mean_of_each_2x2_block(shape):
    gray = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    height, width = shape[0] // 2 * 2, shape[1] // 2 * 2
    blocks = gray[:height, :width].astype(np.float64).reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
    expected = np.floor(blocks + 0.5).astype(np.uint8)  # halves round up, as OpenCV's INTER_AREA does
    assert np.array_equal(half_scale(gray), expected)
    assert half_scale(gray).dtype == np.uint8


def test_sharpness_orders_frames_by_focus():
    card = qr_array("GK1:SHARPNESS", module_px=4).astype(np.float64)
    frames = [np.clip(_convolve(card, gaussian_kernel(sigma)), 0, 255).astype(np.uint8) for sigma in (0.5, 1.0, 2.0)]
    values = [sharpness(frame) for frame in frames]
    assert values[0] > values[1] > values[2] > 0
    assert sharpness(np.full((100, 100), 77, np.uint8)) == 0.0
    assert sharpness(np.zeros((5, 5), np.uint8)) == 0.0


@pytest.mark.parametrize(
    "bad", [np.zeros((10, 10), np.float32), np.zeros((10, 10, 3), np.uint8), [[1, 2], [3, 4]], None]
)
def test_sharpness_refuses_what_is_not_a_greyscale_frame(bad):
    with pytest.raises(ValueError, match="expected a greyscale uint8 frame"):
        sharpness(bad)


def test_code_like_region_finds_a_blurred_card_and_only_it():
    frame = np.full((480, 640), 90.0)
    code = qr_array("GK1:" + "A" * 100, module_px=3).astype(np.float64) * 0.6 + 50
    frame[200 : 200 + code.shape[0], 380 : 380 + code.shape[1]] = code
    frame = _convolve(frame, disc_kernel(2.5)) + np.random.default_rng(2).normal(0, 6, frame.shape)
    gray = np.clip(frame, 0, 255).astype(np.uint8)
    region = code_like_region(half_scale(gray))
    assert region is not None
    top, left, bottom, right = region
    # The box holds the code (but for a module's worth of its quiet zone) and is not the whole frame
    assert top <= 200 + 12 and left <= 380 + 12
    assert bottom >= 200 + code.shape[0] - 12 and right >= 380 + code.shape[1] - 12
    assert (bottom - top) * (right - left) < 0.5 * 480 * 640


@pytest.mark.parametrize(
    "gray",
    [
        np.full((480, 640), 128, np.uint8),
        np.clip(np.random.default_rng(4).normal(128, 3, (480, 640)), 0, 255).astype(np.uint8),
        # One strong edge: contrast in a line of tiles, not over a square
        np.where(np.arange(640) < 320, 40, 220).astype(np.uint8)[None, :].repeat(480, axis=0),
        np.zeros((20, 20), np.uint8),
    ],
    ids=["blank", "sensor-noise", "one-edge", "tiny"],
)
def test_code_like_region_ignores_frames_without_texture(gray):
    assert code_like_region(half_scale(gray)) is None


def test_wiener_undoes_a_known_blur():
    rng = np.random.default_rng(3)
    image = rng.integers(40, 216, (64, 64)).repeat(4, axis=0).repeat(4, axis=1).astype(np.float64)
    kernel = disc_kernel(2.5)
    blurred = np.clip(_convolve(image, kernel), 0, 255).astype(np.uint8)
    restored = Spectrum(blurred).wiener(kernel, 1e-4)
    assert restored.dtype == np.uint8 and restored.shape == image.shape
    before = np.abs(blurred - image).mean()
    after = np.abs(restored.astype(np.float64) - image).mean()
    assert after < before / 3


def test_unsharp_keeps_flat_areas_and_steepens_edges():
    step = np.where(np.arange(64) < 32, 60, 180).astype(np.uint8)[None, :].repeat(64, axis=0)
    blurred = np.clip(_convolve(step.astype(np.float64), gaussian_kernel(1.5)), 0, 255).astype(np.uint8)
    sharpened = Spectrum(blurred).unsharp(2.0, 1.5).astype(int)
    middle = blurred.astype(int)[:, 30:34]
    assert np.abs(np.diff(sharpened[:, 30:34], axis=1)).sum() > np.abs(np.diff(middle, axis=1)).sum()
    assert abs(int(sharpened[32, 16]) - 60) <= 3  # flat part unchanged (away from edges and wrap-around)


@pytest.mark.parametrize(("length", "angle"), [(6.0, 0.0), (8.0, 90.0), (7.0, 45.0)])
def test_streak_estimate_finds_a_streak_on_random_texture(length, angle):
    rng = np.random.default_rng(6)
    image = rng.integers(40, 216, (64, 64)).repeat(3, axis=0).repeat(3, axis=1).astype(np.float64)
    blurred = np.clip(_convolve(image, motion_kernel(length, angle)), 0, 255).astype(np.uint8)
    found_length, found_angle = streak_estimate(Spectrum(blurred))
    assert abs(found_length - length) <= 1.0
    assert min(abs(found_angle - angle), 180 - abs(found_angle - angle)) <= 10


def test_kernels_sum_to_one_and_are_symmetric():
    for kernel in (disc_kernel(1.8), disc_kernel(3.2), gaussian_kernel(0.7), gaussian_kernel(2.6), motion_kernel(7, 30)):
        assert kernel.sum() == pytest.approx(1.0)
        assert np.allclose(kernel, kernel[::-1, ::-1])
        assert kernel.shape[0] % 2 == 1


def test_upscale2_doubles_each_side():
    gray = np.random.default_rng(5).integers(0, 256, (30, 41), dtype=np.uint8)
    assert upscale2(gray).shape == (60, 82)
