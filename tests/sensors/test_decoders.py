"""QR decoders: exact texts from generated cards (plain, inverted, turned, scaled), nothing from empty frames,
no crash on any array, and the default decoder reading at least what zxing-cpp's own call reads on the corpus."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from sensors.cameras import load_gray, qr_array
from sensors.decoders import (
    DEFAULT_RETRIES,
    ENGINES,
    MAX_PIXELS,
    RETRIES,
    Decoder,
    DecoderError,
    RobustDecoder,
    ZBarDecoder,
    ZXingDecoder,
    check_frame,
    make_decoder,
)
from sensors.image_ops import disc_kernel, gaussian_kernel, motion_kernel

REPO = Path(__file__).resolve().parents[2]
# A card-like text: versioned prefix + Base45-style body, all QR-alphanumeric (version 7 at level Q)
CARD = "GK1:" + ("6BFOXN%TS3DH0YOJ58S S-W5HDC *M0II5EH9*4I0BE7V1.ZO2R" * 3)[:119]


@pytest.fixture(scope="module", params=ENGINES)
def decoder(request) -> Decoder:
    return make_decoder(request.param)


@pytest.fixture(scope="module")
def card() -> np.ndarray:
    return qr_array(CARD, module_px=4)


def test_card_text_is_exact(decoder, card):
    assert decoder.decode(card) == [CARD]


def test_inverted_card(decoder, card):
    assert decoder.decode(255 - card) == [CARD]


@pytest.mark.parametrize("quarter_turns", [1, 2, 3])
def test_card_turned_by_right_angles(decoder, card, quarter_turns):
    assert decoder.decode(np.rot90(card, quarter_turns)) == [CARD]


@pytest.mark.parametrize("degrees", [17, -35])
def test_card_turned_at_an_angle(decoder, card, degrees):
    turned = np.asarray(Image.fromarray(card).rotate(degrees, Image.Resampling.BILINEAR, expand=True, fillcolor=255))
    assert decoder.decode(turned) == [CARD]


@pytest.mark.parametrize("scale", [0.6, 1.7])
def test_card_scaled(decoder, card, scale):
    size = round(card.shape[1] * scale)
    scaled = np.asarray(Image.fromarray(card).resize((size, size), Image.Resampling.BILINEAR))
    assert decoder.decode(scaled) == [CARD]


def test_card_small_in_a_camera_frame(decoder):
    frame = np.full((480, 640), 200, dtype=np.uint8)
    code = qr_array(CARD, module_px=3)
    frame[50 : 50 + code.shape[0], 300 : 300 + code.shape[1]] = code
    assert decoder.decode(frame) == [CARD]


def test_utf8_text(decoder):
    text = "居民出入卡 · 3号楼 2单元"
    code = np.asarray(qr_array(text, module_px=5))
    assert decoder.decode(code) == [text]


def test_two_codes_in_one_frame():
    frame = np.full((300, 600), 255, dtype=np.uint8)
    frame[20:232, 20:232] = qr_array(CARD)
    other = qr_array("GK1:OTHER", module_px=6)
    frame[40 : 40 + other.shape[0], 330 : 330 + other.shape[1]] = other
    assert sorted(ZXingDecoder().decode(frame)) == sorted([CARD, "GK1:OTHER"])


@pytest.mark.parametrize("value", [0, 128, 255])
def test_blank_frame_is_empty(decoder, value):
    assert decoder.decode(np.full((480, 640), value, dtype=np.uint8)) == []


def test_noise_frame_is_empty(decoder):
    noise = np.random.default_rng(3).integers(0, 256, (480, 640), dtype=np.uint8)
    assert decoder.decode(noise) == []


@pytest.mark.parametrize("shape", [(0, 0), (1, 1), (0, 640), (480, 0), (20, 640), (1, 100_000)])
def test_too_small_to_hold_a_code(decoder, shape):
    assert decoder.decode(np.zeros(shape, dtype=np.uint8)) == []


@pytest.mark.parametrize(
    "bad",
    [
        [[0, 255], [255, 0]],
        "frame",
        None,
        np.zeros((64, 64), dtype=np.float64),
        np.zeros((64, 64), dtype=np.int16),
        np.zeros((64, 64), dtype=bool),
        np.zeros((64, 64, 3), dtype=np.uint8),
        np.zeros((4, 64, 64), dtype=np.uint8),
        np.zeros(64, dtype=np.uint8),
        np.uint8(7),
    ],
    ids=["list", "str", "None", "float64", "int16", "bool", "rgb", "3d", "1d", "scalar"],
)
def test_unusable_input_is_a_clear_error(decoder, bad):
    with pytest.raises(DecoderError, match="expected"):
        decoder.decode(bad)


def test_huge_frame_is_refused_without_touching_its_pixels(decoder):
    # A zero-stride view: 400 MP of "pixels" in one byte of memory
    huge = np.broadcast_to(np.uint8(255), (20_000, 20_000))
    assert huge.size > MAX_PIXELS
    with pytest.raises(DecoderError, match="larger than"):
        decoder.decode(huge)


def test_views_and_single_channel_arrays_are_accepted(decoder, card):
    padded = np.pad(card, 10, constant_values=255)
    view = padded[5:-5, 5:-5]  # not C-contiguous
    assert not view.flags.c_contiguous
    assert decoder.decode(view) == [CARD]
    assert decoder.decode(np.asfortranarray(card)) == [CARD]
    assert decoder.decode(card[:, :, np.newaxis]) == [CARD]
    readonly = card.copy()
    readonly.flags.writeable = False
    assert decoder.decode(readonly) == [CARD]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    array=hnp.arrays(
        dtype=st.sampled_from([np.uint8, np.uint8, np.uint8, np.int8, np.uint16, np.float32, np.bool_]),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=80),
    )
)
def test_no_array_crashes_a_decoder(array):
    for engine in ENGINES:
        try:
            texts = _decoders()[engine].decode(array)
        except DecoderError:
            continue
        assert isinstance(texts, list) and all(isinstance(t, str) for t in texts)


_CACHE: dict[str, Decoder] = {}


def _decoders() -> dict[str, Decoder]:
    if not _CACHE:
        _CACHE.update({engine: make_decoder(engine) for engine in ENGINES})
    return _CACHE


def test_check_frame():
    frame = np.zeros((30, 40), dtype=np.uint8)
    assert check_frame(frame) is frame
    assert check_frame(np.zeros((30, 10), dtype=np.uint8)) is None


def test_make_decoder():
    assert isinstance(make_decoder(), RobustDecoder)
    assert isinstance(make_decoder("zxing"), RobustDecoder)
    assert isinstance(make_decoder("zxing-raw"), ZXingDecoder)
    assert isinstance(make_decoder("zbar"), ZBarDecoder)
    with pytest.raises(DecoderError, match="expected one of zxing, zxing-raw, zbar, got 'quirc'"):
        make_decoder("quirc")
    for engine in ENGINES:
        assert isinstance(make_decoder(engine), Decoder)
        assert make_decoder(engine).name == engine


def test_zbar_missing_library_says_what_to_install(monkeypatch):
    # What pyzbar does on a machine without libzbar0: its import fails
    monkeypatch.setitem(sys.modules, "pyzbar.pyzbar", None)
    monkeypatch.delitem(sys.modules, "pyzbar", raising=False)
    with pytest.raises(DecoderError, match="sudo apt install libzbar0"):
        ZBarDecoder()


def test_robust_decoder_options(card):
    with pytest.raises(DecoderError, match="unknown 'denoise'"):
        RobustDecoder(retries=("sharpen", "denoise"))
    with pytest.raises(DecoderError, match="binarizer"):
        ZXingDecoder(binarizer="otsu")
    assert RobustDecoder().retries == DEFAULT_RETRIES
    plain = RobustDecoder(retries=())
    assert plain.decode_with_stage(card) == ([CARD], "primary")
    assert plain.decode_with_stage(np.zeros((100, 100), np.uint8)) == ([], None)
    assert RobustDecoder(retries=("zoom",)).decode(np.full((480, 640), 9, np.uint8)) == []


def _card_frame(module_px: int, *, at: tuple[int, int] = (150, 250), inverted: bool = False) -> np.ndarray:
    # The card code printed grey on grey (dark 50, light 203) in a 640×480 frame of grey 90, as float
    code = qr_array(CARD, module_px=module_px, inverted=inverted).astype(np.float64) * 0.6 + 50
    frame = np.full((480, 640), 90.0)
    frame[at[0] : at[0] + code.shape[0], at[1] : at[1] + code.shape[1]] = code
    return frame


def _blurred(frame: np.ndarray, kernel: np.ndarray, noise: float, seed: int) -> np.ndarray:
    # Convolution by FFT (edges extended), then sensor noise: NumPy only, as the decoder
    ky, kx = kernel.shape[0] // 2, kernel.shape[1] // 2
    padded = np.pad(frame, ((ky, ky), (kx, kx)), mode="edge")
    blurred = np.fft.irfft2(np.fft.rfft2(padded) * np.fft.rfft2(kernel, s=padded.shape), s=padded.shape)
    blurred = blurred[2 * ky : 2 * ky + frame.shape[0], 2 * kx : 2 * kx + frame.shape[1]]
    return np.clip(blurred + np.random.default_rng(seed).normal(0, noise, frame.shape), 0, 255).astype(np.uint8)


def test_sharpen_retry_reads_a_blurred_card_the_first_pass_misses():
    # 2 px per module, lightly out of focus: the kind of frame the sharpen retry is there for
    frame = _blurred(_card_frame(2), gaussian_kernel(0.9), noise=5, seed=5)
    assert ZXingDecoder().decode(frame) == []
    assert RobustDecoder(retries=DEFAULT_RETRIES[:2]).decode(frame) == []
    assert RobustDecoder().decode_with_stage(frame) == ([CARD], "sharpen")


@pytest.mark.parametrize(
    ("kernel", "inverted"),
    [(disc_kernel(2.8), False), (disc_kernel(2.8), True), (gaussian_kernel(2.0), False)],
    ids=["disc-2.8px", "disc-2.8px-inverted", "gauss-2px"],
)
def test_deblur_retry_reads_a_heavily_defocused_card(kernel, inverted):
    # 3 px per module under a defocus disc of radius 2.8 px (or a Gaussian of σ 2): nothing else reads it
    frame = _blurred(_card_frame(3, inverted=inverted), kernel, noise=6, seed=7)
    assert ZXingDecoder().decode(frame) == []
    assert RobustDecoder(retries=("global-histogram", "half-scale", "sharpen")).decode(frame) == []
    assert RobustDecoder().decode_with_stage(frame) == ([CARD], "deblur")


@pytest.mark.parametrize(("length", "angle"), [(7, 120), (8, 30), (8, 90)])
def test_destreak_retry_reads_a_card_moving_across_the_view(length, angle):
    # 4 px per module under a 7–8 px motion streak: the streak's length and angle are guessed, then undone
    frame = _blurred(_card_frame(4), motion_kernel(length, angle), noise=6, seed=9)
    assert RobustDecoder(retries=DEFAULT_RETRIES[:-1]).decode(frame) == []
    assert RobustDecoder().decode_with_stage(frame) == ([CARD], "destreak")


def test_deblur_finds_the_card_anywhere_in_the_frame():
    frame = _blurred(_card_frame(3, at=(300, 430)), disc_kernel(2.8), noise=6, seed=8)
    assert RobustDecoder().decode(frame) == [CARD]


@pytest.mark.parametrize(
    "frame",
    [
        np.full((480, 640), 128, np.uint8),
        np.random.default_rng(1).integers(0, 256, (480, 640), dtype=np.uint8),
        # A checkerboard of 16-px squares: contrast in every tile, so the code-like test fires, yet no code
        np.kron((np.indices((30, 40)).sum(axis=0) % 2 * 160 + 40).astype(np.uint8), np.ones((16, 16), np.uint8)),
        _blurred(np.full((480, 640), 90.0), disc_kernel(2.5), noise=6, seed=3),
    ],
    ids=["blank", "noise", "checkerboard", "blurred-noise"],
)
def test_frames_without_a_code_read_nothing(frame):
    decoder = RobustDecoder(retries=RETRIES)
    assert decoder.decode_with_stage(frame) == ([], None)


def test_decoding_never_imports_opencv():
    # The gate installs OpenCV only for USB webcams: the decoder, retries included, must not need it
    script = (
        "import sys, numpy as np\n"
        "from sensors.cameras import qr_array\n"
        "from sensors.decoders import RETRIES, RobustDecoder, make_decoder\n"
        "from sensors.image_ops import sharpness\n"
        "frame = np.full((480, 640), 90, np.uint8)\n"
        "frame[100:300, 100:300] = np.kron(np.indices((25, 25)).sum(axis=0) % 2 * 150 + 50, np.ones((8, 8))).astype(np.uint8)\n"
        "decoder = RobustDecoder(retries=RETRIES)\n"
        "assert decoder.decode(frame) == []\n"
        "assert decoder.decode(qr_array('GK1:TEST', module_px=3)) == ['GK1:TEST']\n"
        "assert make_decoder('zxing').decode(np.zeros((64, 64), np.uint8)) == []\n"
        "sharpness(frame)\n"
        "print(sorted(m for m in sys.modules if m == 'cv2' or m.startswith('cv2.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# --- the corpus ---------------------------------------------------------------------------


# In the repository (zxing-cpp's sample photos, Apache-2.0: see its README and LICENSE), so a bare clone tests it
CORPUS = REPO / "tests" / "data" / "qr-corpus"


@pytest.fixture(scope="module")
def corpus() -> list[tuple[str, np.ndarray, str]]:
    root = CORPUS
    if not root.is_dir():
        pytest.fail(f"QR corpus not found at {root}: it belongs in the repository at tests/data/qr-corpus")
    samples = []
    for image in sorted(root.glob("*/*")):
        if image.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"):
            expected = image.with_suffix(".txt").read_bytes().decode("utf-8")
            samples.append((f"{image.parent.name}/{image.name}", load_gray(image), expected))
    assert len(samples) >= 100, f"QR corpus at {root} holds only {len(samples)} images"
    return samples


def test_default_decoder_reads_every_corpus_image_zxing_cpp_reads(corpus):
    import zxingcpp

    robust = RobustDecoder()
    by_call, by_robust, stages = set(), set(), {}
    for name, gray, expected in corpus:
        if expected in [barcode.text for barcode in zxingcpp.read_barcodes(gray)]:
            by_call.add(name)
        texts, stage = robust.decode_with_stage(gray)
        if expected in texts:
            by_robust.add(name)
            stages[name] = stage
        assert texts in ([], [expected]) or expected in texts, f"{name}: read a wrong text {texts!r}"
    assert by_call <= by_robust, f"read by zxingcpp.read_barcodes but not by RobustDecoder: {sorted(by_call - by_robust)}"
    assert len(by_robust) > len(by_call)
    # The retries earn their place: some images are read only thanks to one of them
    assert {stages[name] for name in by_robust} - {"primary"}
