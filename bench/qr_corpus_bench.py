"""QR decoding on the photo corpus: share read and time per image, per 640×480 frame, and scan-loop frames/s.

Measures, on tests/data/qr-corpus (photos of QR codes with the expected text of each):

- the libraries' own default calls — ``zxingcpp.read_barcodes(img)`` (the baseline the
  default decoder must match) and ``pyzbar.decode(img)`` — and our decoders
  (``ZXingDecoder``, ``ZBarDecoder``, ``RobustDecoder``): images read correctly (text
  equal to the expected text, byte for byte), images with a wrong text, median and
  p95 milliseconds per image (decoding only; images are loaded beforehand);
- the same on 640×480 frames: every corpus image placed in a camera-sized frame, the
  same photos with the code painted out (the common case at a gate: no card in view),
  a blank frame and a frame of random pixels (worst case);
- what each retry of ``RobustDecoder`` adds (images rescued, cost on frames without a code);
- frames/s the scanner loop sustains on one core with a ``ReplaySource`` at 640×480.

Writes the "qr" section of docs/benchmarks.md (``--no-write`` only prints it).
Run: ``.venv/bin/python bench/qr_corpus_bench.py [--corpus PATH] [--repeats N] [--seconds S]``.
The corpus path defaults to ``$KIOSK_QR_CORPUS`` or the repository's ``tests/data/qr-corpus``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

import report  # bench/report.py: this script's folder is on sys.path
from sensors.cameras import ReplaySource, fit_frame, load_gray
from sensors.decoders import (
    DEFAULT_RETRIES,
    RETRIES,
    RobustDecoder,
    ZBarDecoder,
    ZXingDecoder,
)
from sensors.scanning import Scanner

REPO = Path(__file__).resolve().parent.parent
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
FRAME = (640, 480)
BAR_FRAME_MS = 3.0  # any 640×480 frame, median (DESIGN.md)
BAR_NO_CODE_MS = 1.0  # a 640×480 frame without a code, median (issue 14)
BAR_HEAVY_BLUR = 0.90  # share of the heavy-defocus synthetic cards read (issue 14)
BAR_FPS = 30.0  # scan loop on one core of a Raspberry Pi 4
# The corpus read rate must never drop: the default decoder's figure before issue 14 (run of 2026-11-28)
CORPUS_READ_BEFORE = 130
# How much slower one Cortex-A72 core of a Pi 4 (1.5–1.8 GHz) runs this NumPy/zxing-cpp code than one core
# of the development machine: a conservative factor, see the note the report prints.
PI4_SLOWDOWN = 6.0


def default_corpus() -> Path:
    """``$KIOSK_QR_CORPUS``, else the repository's own ``tests/data/qr-corpus``."""
    return Path(os.environ.get("KIOSK_QR_CORPUS") or REPO / "tests" / "data" / "qr-corpus")


@dataclass(frozen=True)
class Sample:
    """One corpus image, loaded in greyscale, with the text its code holds."""

    name: str
    gray: np.ndarray
    expected: str


def load_corpus(root: Path) -> list[Sample]:
    """Every image of ``root``/*/ with its ``.txt``; raises SystemExit with a clear message if the corpus is missing."""
    if not root.is_dir():
        raise SystemExit(f"QR corpus not found at {root}: pass --corpus PATH or set KIOSK_QR_CORPUS")
    samples = []
    for image in sorted(root.glob("*/*")):
        if image.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        # Bytes, not text mode: the expected texts keep their \r\n, and so do the codes
        expected = image.with_suffix(".txt").read_bytes().decode("utf-8")
        samples.append(Sample(f"{image.parent.name}/{image.name}", load_gray(image), expected))
    if not samples:
        raise SystemExit(f"QR corpus at {root} holds no images")
    return samples


# --- decoders under test --------------------------------------------------------------------


def zxing_default_call() -> Callable[[np.ndarray], list[str]]:
    """The baseline: zxing-cpp's own default call, every format, default text mode."""
    import zxingcpp

    return lambda gray: [barcode.text for barcode in zxingcpp.read_barcodes(gray)]


def pyzbar_default_call() -> Callable[[np.ndarray], list[str]]:
    """pyzbar's own default call, every symbology, data decoded as UTF-8."""
    from pyzbar import pyzbar

    return lambda gray: [symbol.data.decode("utf-8", errors="replace") for symbol in pyzbar.decode(gray)]


def decoders() -> dict[str, Callable[[np.ndarray], list[str]]]:
    """Name → decode function, in the order of the report."""
    return {
        "`zxingcpp.read_barcodes(img)` (baseline)": zxing_default_call(),
        "`pyzbar.decode(img)`": pyzbar_default_call(),
        "`ZXingDecoder` (`zxing-raw`)": ZXingDecoder().decode,
        "`ZBarDecoder` (`zbar`)": ZBarDecoder().decode,
        "**`RobustDecoder` (`zxing`, default)**": RobustDecoder().decode,
    }


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Result:
    """Reads and timings of one decoder over one set of images."""

    read: set[str]
    wrong: set[str]
    ms: list[float]  # per image: median over the timed rounds

    @property
    def median(self) -> float:
        return statistics.median(self.ms)

    @property
    def p95(self) -> float:
        return float(np.percentile(self.ms, 95))


def measure(decode: Callable[[np.ndarray], list[str]], samples: Sequence[Sample], repeats: int) -> Result:
    """Decode every sample once for the answers (also the warm-up), then ``repeats`` timed rounds."""
    read, wrong = set(), set()
    for sample in samples:
        texts = decode(sample.gray)
        if sample.expected in texts:
            read.add(sample.name)
        elif texts:
            wrong.add(sample.name)
    times: list[list[float]] = [[] for _ in samples]
    for _ in range(repeats):
        for index, sample in enumerate(samples):
            started = time.perf_counter()
            decode(sample.gray)
            times[index].append((time.perf_counter() - started) * 1000.0)
    return Result(read, wrong, [statistics.median(t) for t in times])


def time_frame(decode: Callable[[np.ndarray], list[str]], frame: np.ndarray, repeats: int) -> float:
    """Median milliseconds to decode one frame."""
    decode(frame)
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        decode(frame)
        runs.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(runs)


def painted_out(samples: Sequence[Sample]) -> list[Sample]:
    """The corpus photos with their codes covered (no decoder finds a code in them), in 640×480 frames.

    Each symbol zxing-cpp locates (valid or not) is covered by its quadrilateral,
    enlarged by a quarter, in the photo's median grey; photos where something
    is still found are left out.
    """
    import zxingcpp
    from PIL import Image, ImageDraw

    def found(gray):
        return zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode, return_errors=True)

    out = []
    for sample in samples:
        symbols = found(sample.gray)
        if not symbols:
            continue
        gray = sample.gray.copy()
        for symbol in symbols:
            p = symbol.position
            corners = np.array(
                [[c.x, c.y] for c in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)], dtype=np.float64
            )
            centre = corners.mean(axis=0)
            corners = (corners - centre) * 1.25 + centre
            canvas = Image.fromarray(gray)
            ImageDraw.Draw(canvas).polygon([tuple(c) for c in corners.round().tolist()], fill=int(np.median(sample.gray)))
            gray = np.array(canvas)
        if not found(gray):
            out.append(Sample(sample.name, fit_frame(gray, FRAME), ""))
    return out


CARD_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
CARDS_PER_DISTORTION = 40
SYNTHETIC_SEED = 7


@dataclass(frozen=True)
class Distortion:
    """One family of synthetic cards: module size, turn and blur drawn from these ranges."""

    name: str
    module_px: tuple[float, float]
    blur: str  # "none", "gauss", "disc" (defocus) or "motion"
    size: tuple[float, float] = (0.0, 0.0)  # σ, disc radius or streak length, px
    max_ratio: float | None = None  # blur size ≤ this × module size (None: no limit)
    min_ratio: float | None = None  # blur size > this × module size
    turn: tuple[float, float] = (0.0, 30.0)  # |angle| range, degrees
    heavy: bool = False  # counts towards the ≥ 90 % heavy-blur bar


# Heavy defocus is drawn where the blur still leaves the module pattern some contrast (disc radius ≤ 0.85
# module, Gaussian σ ≤ 0.65 module); past that — "defocus beyond" — the blur's transfer function is
# near zero at the module frequency and sensor noise covers what is left.
DISTORTIONS = (
    Distortion("sharp", (2.0, 4.0), "none"),
    Distortion("light blur (Gaussian σ 0.8–1.6)", (2.0, 3.0), "gauss", (0.8, 1.6)),
    Distortion("small (1.5–2 px per module, σ ≤ 0.8)", (1.5, 2.0), "gauss", (0.0, 0.8)),
    Distortion("turned 30–45° (σ 0.8)", (2.5, 3.5), "gauss", (0.8, 0.8), turn=(30.0, 45.0)),
    Distortion("heavy defocus, disc r 2–3", (2.5, 4.0), "disc", (2.0, 3.0), max_ratio=0.85, heavy=True),
    Distortion("heavy defocus, Gaussian σ 1.6–2.3", (2.5, 4.0), "gauss", (1.6, 2.3), max_ratio=0.65, heavy=True),
    Distortion("defocus beyond (disc r 2.5–3 > 0.85 module)", (2.5, 3.5), "disc", (2.5, 3.0), min_ratio=0.85),
    Distortion("motion streak 5–9 px, any angle", (2.5, 4.0), "motion", (5.0, 9.0)),
    Distortion("motion streak 3–5 px, any angle", (2.5, 4.0), "motion", (3.0, 5.0)),
)


def _render_code(dark: np.ndarray, module_px: float, angle: float, centre: tuple[float, float]) -> np.ndarray:
    """A QR matrix (True = dark, quiet zone included) printed grey on grey in a 640×480 float frame.

    Each frame pixel is the mean of 4 × 4 point samples of the turned, scaled
    matrix (area sampling, as a sensor integrates light): dark modules 50, light
    203, the surrounding card/background 90 — paper under a lamp, not black on white.
    """
    width, height = FRAME
    n = dark.shape[0]
    oversample = 4
    reach = n * module_px * 0.75 + 2
    x0, x1 = int(max(0, centre[0] - reach)), int(min(width, centre[0] + reach))
    y0, y1 = int(max(0, centre[1] - reach)), int(min(height, centre[1] + reach))
    xs = (np.arange(x0 * oversample, x1 * oversample) + 0.5) / oversample - centre[0]
    ys = (np.arange(y0 * oversample, y1 * oversample) + 0.5) / oversample - centre[1]
    gx, gy = np.meshgrid(xs, ys)
    cos, sin = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    u = (cos * gx + sin * gy) / module_px + n / 2
    v = (-sin * gx + cos * gy) / module_px + n / 2
    inside = (u >= 0) & (u < n) & (v >= 0) & (v < n)
    modules = dark[np.clip(v.astype(int), 0, n - 1), np.clip(u.astype(int), 0, n - 1)]
    samples = np.where(inside, np.where(modules, 50.0, 203.0), 90.0)
    frame = np.full((height, width), 90.0)
    frame[y0:y1, x0:x1] = samples.reshape(y1 - y0, oversample, x1 - x0, oversample).mean(axis=(1, 3))
    return frame


def convolve(frame: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``frame`` blurred by ``kernel`` (FFT, edges extended), same size."""
    ky, kx = kernel.shape[0] // 2, kernel.shape[1] // 2
    padded = np.pad(frame, ((ky, ky), (kx, kx)), mode="edge")
    spectrum = np.fft.rfft2(padded) * np.fft.rfft2(kernel, s=padded.shape)
    blurred = np.fft.irfft2(spectrum, s=padded.shape)
    return blurred[2 * ky : 2 * ky + frame.shape[0], 2 * kx : 2 * kx + frame.shape[1]]


def _blur_size(rng: np.random.Generator, distortion: Distortion, module_px: float) -> float:
    low, high = distortion.size
    if distortion.max_ratio is not None:
        high = min(high, distortion.max_ratio * module_px)
    if distortion.min_ratio is not None:
        low = max(low, distortion.min_ratio * module_px)
    return float(rng.uniform(low, max(low, high)))


def synthetic_cards(per_distortion: int = CARDS_PER_DISTORTION, seed: int = SYNTHETIC_SEED) -> list[Sample]:
    """Entry-card QR codes as a gate camera might see them, in 640×480 frames, for what the corpus lacks.

    Card-like texts ("GK1:" + 119 QR-alphanumeric characters, error level Q:
    version 7, 45 modules), ``per_distortion`` cards for each of ``DISTORTIONS``:
    module size, blur (Gaussian, defocus disc, motion streak at any angle) and turn
    drawn from its ranges; placed off-centre, printed grey on grey, sensor
    noise σ 6; every third one light-on-dark. NumPy only; fixed seed. The
    sample's name starts with its distortion's name.
    """
    from sensors.cameras import qr_array
    from sensors.image_ops import disc_kernel, gaussian_kernel, motion_kernel

    rng = np.random.default_rng(seed)
    out = []
    for distortion in DISTORTIONS:
        assert "/" not in distortion.name, "the sample name's part before '/' is the distortion"
        for k in range(per_distortion):
            text = "GK1:" + "".join(rng.choice(list(CARD_ALPHABET), 119))
            dark = (qr_array(text, module_px=1) < 128) != (k % 3 == 0)
            module_px = float(rng.uniform(*distortion.module_px))
            angle = float(rng.uniform(*distortion.turn)) * rng.choice((-1, 1))
            centre = (FRAME[0] / 2 + rng.uniform(-120, 120), FRAME[1] / 2 + rng.uniform(-80, 80))
            frame = _render_code(dark, module_px, angle, centre)
            size = _blur_size(rng, distortion, module_px) if distortion.blur != "none" else 0.0
            if distortion.blur == "gauss" and size > 0:
                frame = convolve(frame, gaussian_kernel(size))
            elif distortion.blur == "disc":
                frame = convolve(frame, disc_kernel(size))
            elif distortion.blur == "motion":
                frame = convolve(frame, motion_kernel(size, float(rng.uniform(0, 180))))
            frame = frame + rng.normal(0, 6, frame.shape)
            gray = np.clip(frame, 0, 255).astype(np.uint8)
            out.append(Sample(f"{distortion.name}/{module_px:.2f}px-{distortion.blur}{size:.2f}-{k}", gray, text))
    return out


def scan_loop_fps(frames: Sequence[np.ndarray], seconds: float, cpu: int | None) -> float:
    """Frames/s the Scanner (default decoder) sustains over a looping ReplaySource, pinned to one CPU."""
    source = ReplaySource.from_frames(frames, loop=True)
    scanner = Scanner(source, RobustDecoder(), on_scan=lambda scan: None, repeat_after_s=3.0)
    previous = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if cpu is not None and previous is not None:
        # Threads inherit the affinity of the thread that starts them
        os.sched_setaffinity(0, {cpu})
    try:
        scanner.start()
        time.sleep(0.3)  # warm-up
        first, started = scanner.status.frames, time.perf_counter()
        time.sleep(seconds)
        done, elapsed = scanner.status.frames, time.perf_counter() - started
    finally:
        scanner.close()
        if cpu is not None and previous is not None:
            os.sched_setaffinity(0, previous)
    return (done - first) / elapsed


# --- report -------------------------------------------------------------------------------


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def _pct(count: int, total: int) -> str:
    return f"{count}/{total} ({100.0 * count / total:.1f} %)"


def run(corpus: Path, repeats: int, seconds: float, cpu: int | None) -> str:
    """Measure everything and return the markdown section."""
    started = time.perf_counter()
    samples = load_corpus(corpus)
    total = len(samples)
    frames = [Sample(s.name, fit_frame(s.gray, FRAME), s.expected) for s in samples]
    empty = painted_out(samples)
    blank = np.full((FRAME[1], FRAME[0]), 128, dtype=np.uint8)
    noise = np.random.default_rng(0).integers(0, 256, (FRAME[1], FRAME[0]), dtype=np.uint8)

    lines = []
    per_image: dict[str, Result] = {}
    per_frame: dict[str, tuple[Result, Result, float, float]] = {}
    for name, decode in decoders().items():
        print(f"measuring {name} …", file=sys.stderr)
        per_image[name] = measure(decode, samples, repeats)
        per_frame[name] = (
            measure(decode, frames, max(1, repeats // 2)),
            measure(decode, empty, max(1, repeats // 2)),
            time_frame(decode, blank, 20),
            time_frame(decode, noise, 5),
        )

    baseline_name, zbar_name, raw_name, _, robust_name = per_image
    baseline, zbar_raw, ours_raw, robust = (
        per_image[baseline_name], per_image[zbar_name], per_image[raw_name], per_image[robust_name]
    )

    lines.append("## QR decoding (camera + decoder)")
    lines.append("")
    lines.append(f"Measured {report.today()} on {report.machine_description()}.")
    lines.append(
        f"zxing-cpp {_version('zxing-cpp')}, pyzbar {_version('pyzbar')} (libzbar0), "
        f"numpy {_version('numpy')}, Pillow {_version('pillow')} (no OpenCV in the decoder)."
    )
    lines.append(
        f"Rerun: `.venv/bin/python bench/qr_corpus_bench.py` (about {{elapsed}} s; corpus `{corpus_label(corpus)}`, "
        f"{total} images; {repeats} timed rounds per image, median per image)."
    )
    lines.append("")
    lines.append("### Corpus images (as stored, greyscale)")
    lines.append("")
    lines.append("| decoder | read correctly | wrong text | median ms/image | p95 ms/image |")
    lines.append("|---|---:|---:|---:|---:|")
    for name, result in per_image.items():
        lines.append(
            f"| {name} | {_pct(len(result.read), total)} | {len(result.wrong)} | {result.median:.2f} | {result.p95:.2f} |"
        )
    lines.append("")
    lines.append("### 640×480 frames")
    lines.append("")
    lines.append(
        f"Corpus frames: each image centred in a 640×480 frame (scaled down if larger), bordered with the light of its "
        f"own edge. No-code frames: the same photos with the code painted out ({len(empty)} of them) — what the camera "
        "sees at a gate most of the time. Blank: uniform grey. Noise: uniformly random pixels (worst case)."
    )
    lines.append("")
    lines.append(
        "| decoder | corpus frames read | median ms | p95 ms | no-code frames median ms | blank ms | noise ms |"
    )
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for name, (with_code, without, blank_ms, noise_ms) in per_frame.items():
        lines.append(
            f"| {name} | {_pct(len(with_code.read), total)} | {with_code.median:.2f} | {with_code.p95:.2f} | "
            f"{without.median:.2f} | {blank_ms:.2f} | {noise_ms:.2f} |"
        )

    # What each retry adds: the default chain grown one retry at a time, then the optional zoom
    print("measuring the retries one by one …", file=sys.stderr)
    synthetic = synthetic_cards()
    kinds = [d.name for d in DISTORTIONS]
    heavy_kinds = {d.name for d in DISTORTIONS if d.heavy}
    heavy_total = sum(1 for s in synthetic if s.name.split("/")[0] in heavy_kinds)
    lines.append("")
    lines.append("### RobustDecoder retries, added one at a time")
    lines.append("")
    lines.append(
        "Each retry runs only on a frame where everything before it found nothing. `sharpen` and `deblur` run "
        "only where part of the frame looks like a code (contrast in every 16-px tile of a square), on that crop: "
        "on most frames without a code they cost only that test."
    )
    lines.append("")
    lines.append(
        f"Synthetic cards: {len(synthetic)} generated entry-card codes in 640×480 frames ({CARDS_PER_DISTORTION} "
        f"per distortion, seed {SYNTHETIC_SEED}; see `synthetic_cards` and `DISTORTIONS` in the script) — the gate's "
        "own case, which the corpus photos barely cover. Heavy blur = the two heavy-defocus rows below."
    )
    lines.append("")
    lines.append(
        "| passes | corpus read | rescued by the last pass | corpus frames read | synthetic cards read | "
        "heavy blur read | no-code frames median ms | blank ms | noise ms |"
    )
    lines.append("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    chains = [tuple(DEFAULT_RETRIES[:n]) for n in range(len(DEFAULT_RETRIES) + 1)]
    chains += [tuple(DEFAULT_RETRIES) + tuple(r for r in RETRIES if r not in DEFAULT_RETRIES)]
    previous_read: set[str] = set()
    previous_frames: set[str] = set()
    by_kind: dict[tuple[str, ...], dict[str, int]] = {}
    wrong_cards = 0
    for chain in chains:
        decoder = RobustDecoder(retries=chain)
        images = measure(decoder.decode, samples, 1)
        with_code = measure(decoder.decode, frames, 1)
        cards = measure(decoder.decode, synthetic, 1)
        without = measure(decoder.decode, empty, max(1, repeats // 2))
        by_kind[chain] = {kind: sum(1 for n in cards.read if n.split("/")[0] == kind) for kind in kinds}
        heavy_read = sum(by_kind[chain][k] for k in heavy_kinds)
        rescued = sorted(images.read - previous_read) if chain else []
        rescued_frames = len(with_code.read - previous_frames) if chain else 0
        label = " → ".join(("primary",) + chain)
        if chain == tuple(DEFAULT_RETRIES):
            label = f"**{label}** (default)"
            wrong_cards = len(cards.wrong)
        rescued_text = ", ".join(f"`{n}`" for n in rescued) or "—"
        if chain:
            rescued_text += f"; frames +{rescued_frames}"
        lines.append(
            f"| {label} | {_pct(len(images.read), total)} | {rescued_text} | {_pct(len(with_code.read), total)} | "
            f"{_pct(len(cards.read), len(synthetic))} | {_pct(heavy_read, heavy_total)} | {without.median:.2f} | "
            f"{time_frame(decoder.decode, blank, 20):.2f} | {time_frame(decoder.decode, noise, 5):.2f} |"
        )
        previous_read, previous_frames = images.read, with_code.read

    lines.append("")
    lines.append("### Synthetic cards read, per distortion")
    lines.append("")
    lines.append(
        "Module sizes, blur sizes and turns are drawn uniformly from the ranges named; every card is off-centre, "
        "grey on grey, with sensor noise σ 6, a third of them light-on-dark. Heavy defocus keeps the blur at most "
        "0.85 module (disc radius) or 0.65 module (Gaussian σ); the \"beyond\" row goes past that, where the blur "
        "leaves almost no contrast at the module frequency."
    )
    lines.append("")
    header = ["distortion"] + [" → ".join(("primary",) + c) if c else "primary" for c in chains]
    header = [h.replace("primary → global-histogram → half-scale", "… half-scale") for h in header]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|---|" + "---:|" * len(chains))
    for kind in kinds:
        cells = [_pct(by_kind[c][kind], CARDS_PER_DISTORTION) for c in chains]
        mark = " (heavy blur)" if kind in heavy_kinds else ""
        lines.append(f"| {kind}{mark} | " + " | ".join(cells) + " |")

    # The bar figures, three runs each for their spread
    print("measuring no-code frames and the scan loop, 3 runs …", file=sys.stderr)
    default = RobustDecoder()
    raw = ZXingDecoder()
    no_code_runs = [measure(default.decode, empty, max(1, repeats // 2)).median for _ in range(3)]
    raw_no_code_runs = [measure(raw.decode, empty, max(1, repeats // 2)).median for _ in range(3)]
    cpu = cpu if cpu is not None else _pick_cpu()
    loop_empty_runs = [scan_loop_fps([s.gray for s in empty] + [blank], seconds, cpu) for _ in range(3)]
    loop_empty = statistics.median(loop_empty_runs)
    loop_cards = scan_loop_fps([s.gray for s in frames], seconds, cpu)
    loop_blur = scan_loop_fps([s.gray for s in synthetic], seconds, cpu)
    loop_noise = scan_loop_fps([noise], seconds / 2, cpu)
    lines.append("")
    lines.append("### Scan loop")
    lines.append("")
    lines.append(
        f"`Scanner` + `RobustDecoder` over a looping `ReplaySource` of 640×480 frames (in memory, unpaced), "
        f"process pinned to CPU {cpu}, {seconds:g} s per stream; the Pi 4 column divides by {PI4_SLOWDOWN:g} (see notes):"
    )
    lines.append("")
    lines.append("| stream | frames/s here | Pi 4 estimate |")
    lines.append("|---|---:|---:|")
    lines.append(
        f"| no-code frames + blank (a gate with nobody at it), median of 3 ({_spread(loop_empty_runs, '{:,.0f}')}) | "
        f"{loop_empty:,.0f} | {loop_empty / PI4_SLOWDOWN:,.0f} |"
    )
    lines.append(f"| corpus frames (a card in every frame) | {loop_cards:,.0f} | {loop_cards / PI4_SLOWDOWN:,.0f} |")
    lines.append(
        f"| synthetic cards (every distortion, many unreadable: the costliest realistic case) | "
        f"{loop_blur:,.0f} | {loop_blur / PI4_SLOWDOWN:,.0f} |"
    )
    lines.append(f"| random pixels (worst case) | {loop_noise:,.0f} | {loop_noise / PI4_SLOWDOWN:,.0f} |")

    # Verdicts against the bars of DESIGN.md and issue 14
    robust_frames = per_frame[robust_name]
    zbar_share = len(zbar_raw.read) / total
    worst_median = max(robust_frames[0].median, robust_frames[1].median, robust_frames[2])
    no_code = statistics.median(no_code_runs)
    heavy_read = sum(by_kind[tuple(DEFAULT_RETRIES)][k] for k in heavy_kinds)
    slowest = min(loop_empty, loop_cards, loop_blur) / PI4_SLOWDOWN
    lines.append("")
    lines.append("### Against the bars")
    lines.append("")
    lines.append(
        f"- Reads at least as many as zxing-cpp's default call: {len(robust.read)} vs {len(baseline.read)} — "
        f"**{'meets' if len(robust.read) >= len(baseline.read) else 'MISSES'}**; "
        f"every image the call reads is read too: **{'yes' if baseline.read <= robust.read else 'NO: ' + ', '.join(sorted(baseline.read - robust.read))}**."
    )
    lines.append(
        f"- Corpus read rate never drops: {len(robust.read)} read (before issue 14: {CORPUS_READ_BEFORE}), "
        f"{len(robust.wrong)} wrong texts — **{'meets' if len(robust.read) >= CORPUS_READ_BEFORE and not robust.wrong else 'MISSES'}**."
    )
    lines.append(
        f"- Well above pyzbar ({100 * zbar_share:.1f} %): {100 * len(robust.read) / total:.1f} % — "
        f"**{'meets' if len(robust.read) / total >= zbar_share + 0.1 else 'MISSES'}** (read as ≥ 10 points above)."
    )
    lines.append(
        f"- ≥ {100 * BAR_HEAVY_BLUR:.0f} % of the heavy-blur synthetic cards: {_pct(heavy_read, heavy_total)}, "
        f"{wrong_cards} wrong texts on all synthetic cards — **{'meets' if heavy_read >= BAR_HEAVY_BLUR * heavy_total and not wrong_cards else 'MISSES'}**."
    )
    lines.append(
        f"- ≤ {BAR_NO_CODE_MS:g} ms median per 640×480 frame without a code: {no_code:.2f} ms, median of 3 runs "
        f"({_spread(no_code_runs, '{:.2f}')}; one zxing-cpp pass in the same runs: {statistics.median(raw_no_code_runs):.2f} ms, "
        f"{_spread(raw_no_code_runs, '{:.2f}')}) — **{'meets' if no_code <= BAR_NO_CODE_MS else 'MISSES'}**."
    )
    lines.append(
        f"- ≤ {BAR_FRAME_MS:g} ms median per 640×480 frame: {robust_frames[0].median:.2f} ms with a code, "
        f"{robust_frames[1].median:.2f} ms without, {robust_frames[2]:.2f} ms blank — "
        f"**{'meets' if worst_median <= BAR_FRAME_MS else 'MISSES'}**."
    )
    lines.append(
        f"- Scan loop ≥ {BAR_FPS:g} frames/s on one core of a Pi 4: {slowest:,.0f} frames/s estimated (slowest of the "
        f"realistic streams, {min(loop_empty, loop_cards, loop_blur):,.0f} here ÷ {PI4_SLOWDOWN:g}) — "
        f"**{'meets' if slowest >= BAR_FPS else 'MISSES'}**; even random pixels: {loop_noise / PI4_SLOWDOWN:,.0f} frames/s."
    )

    # Notes computed from the figures, so they stay true when rerun
    text_mode = sorted(ours_raw.read - baseline.read)
    never = sorted({s.name for s in samples} - robust.read)
    lines.append("")
    lines.append("Notes:")
    lines.append(
        f"- `ZXingDecoder` differs from the default call only in asking for QR codes alone and for the text "
        f"exactly as encoded (`TextMode.Plain`); the default call's human-readable text mode rewrites control "
        f"characters and GS1 data, so it fails the exact comparison on: {', '.join(f'`{n}`' for n in text_mode) or 'none'}. "
        "Asking for one format is also what makes it several times faster on frames without a code."
    )
    lines.append(
        f"- pyzbar returns a wrong text for {len(zbar_raw.wrong)} images. zbar converts every code to UTF-8 itself, "
        "guessing the character set of codes without an ECI marker (Shift-JIS half-width kana come out as other "
        "characters, a backslash as `¥`), and of a code nested in another it reads the outer one."
    )
    lines.append(f"- Not read by the default decoder: {', '.join(f'`{n}`' for n in never) or 'none'}.")
    lines.append(
        "- Motion streaks of 5–9 px are mostly not read: a streak as long as two modules erases the module pattern "
        "along its direction, and `destreak` must guess its length and angle from the blurred crop (the cepstrum), "
        "which works for a part of them. At a gate streaks are prevented at the camera: a short exposure (docs/qr.md)."
    )
    lines.append(
        f"- Pi 4 estimate: an assumed factor, not a measurement (there is no Pi here, and no published comparison "
        f"of this code was found): one Cortex-A72 core at 1.5–1.8 GHz, with far less cache and memory bandwidth, is "
        f"taken as 4–6× slower than one core here for NumPy array passes and zxing-cpp; the table divides by "
        f"{PI4_SLOWDOWN:g}, the slow end, so the estimate errs low. Run this script on a Pi to replace it."
    )
    lines.append(
        f"- Figures are from a shared virtual machine (load average {os.getloadavg()[0]:.1f} at the end of the run; "
        "other work on it moves timings by ±20 % between runs)."
    )
    return "\n".join(lines).replace("{elapsed}", f"{time.perf_counter() - started:.0f}")


def _spread(values: Sequence[float], fmt: str) -> str:
    return "spread " + fmt.format(min(values)) + "–" + fmt.format(max(values))


def corpus_label(corpus: Path) -> str:
    """The corpus path as the report shows it: relative to the repository when it can be."""
    try:
        return os.path.relpath(corpus.resolve(), REPO)
    except ValueError:
        return str(corpus)


def _pick_cpu() -> int | None:
    if not hasattr(os, "sched_getaffinity"):
        return None
    return max(os.sched_getaffinity(0))


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=default_corpus(), help="the qr-corpus folder")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds per image (default 5)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per scan-loop stream (default 5)")
    parser.add_argument("--cpu", type=int, default=None, help="CPU to pin the scan loop to (default: the last)")
    parser.add_argument("--no-write", action="store_true", help="print the section, don't write docs/benchmarks.md")
    args = parser.parse_args(argv)
    markdown = run(args.corpus, args.repeats, args.seconds, args.cpu)
    print(markdown)
    if not args.no_write:
        path = report.write_section("qr", markdown)
        print(f"wrote the qr section of {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
