"""The scan loop's frame choice: does decoding the sharpest recent frame read a moving card sooner, at what cost?

A card held up to a gate camera is in many frames; while the decoder works on one
(a Pi decodes slower than its camera delivers) others arrive, some streaked by the
hand's motion. This replays synthetic clips — a card sliding into view, streaked,
then held by a hand that jitters, then still — and compares what the scan loop
decodes when the decoder is free again:

- ``next``: the next frame to arrive (the loop before the choice: read, decode, read …);
- ``newest``: the newest frame that arrived meanwhile (a grabber thread without scoring);
- ``sharpest``: the sharpest of the last ``choose_from`` frames that arrived meanwhile
  (``SharpestFrames``, what ``Scanner`` does for a live camera).

Time is simulated: frames arrive every 1/30 s, and a decode takes the time it took on
this machine (the real default decoder, on the real frame) multiplied by ``--factor``
(how much slower a Pi 4 core is; 5 and 10 by default). Reported per policy over ``--clips`` clips: how many
clips had the card read before it was held still, and the delay from the card's first
frame to the read (median, p90). Then the cost of the choice: ms per frame to score a
640×480 frame and keep the window, and the CPU time per frame of a ``FrameGrabber``
thread over a paced 30 fps source, against reading the same source directly.

Writes the "frame-choice" section of docs/benchmarks.md (``--no-write`` only prints it).
Run: ``flock /tmp/bench.lock .venv/bin/python bench/frame_choice_bench.py [--clips N] [--factor F …]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

import report  # bench/report.py: this script's folder is on sys.path
from sensors.cameras import ReplaySource, qr_array, streaked
from sensors.decoders import make_decoder
from sensors.image_ops import sharpness
from sensors.scanning import FrameGrabber, SharpestFrames

FPS = 30.0
FRAME = (640, 480)
CHOOSE_FROM = 4
# A clip, in frames at 30 fps: nothing in view, the card sliding in, held by a moving hand, held still
EMPTY, SLIDING, HAND, STILL = 4, 8, 24, 10
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


@dataclass
class Clip:
    """One replayed sequence: its frames, and the index of the first frame with the card and of the still part."""

    frames: list[np.ndarray]
    first_card: int
    still_from: int


def background(rng: np.random.Generator) -> np.ndarray:
    """A gate's backdrop: a lit wall with a door edge and some texture, not a flat grey."""
    height, width = FRAME[1], FRAME[0]
    y, x = np.mgrid[0:height, 0:width]
    wall = 120 + 40 * (x / width) + 15 * np.sin(y / 37.0) + rng.normal(0, 1, (height, width)).cumsum(axis=1) * 0.3
    wall[:, int(width * 0.12) : int(width * 0.15)] = 60  # a door frame
    return wall


def compose(backdrop: np.ndarray, card: np.ndarray, left: int, top: int, streak_px: float,
            rng: np.random.Generator) -> np.ndarray:
    """The backdrop with the card at (left, top), streaked sideways by ``streak_px``, plus sensor noise."""
    frame = backdrop.copy()
    if card is not None:
        h, w = card.shape
        x0, x1 = max(left, 0), min(left + w, frame.shape[1])
        if x1 > x0:
            frame[top : top + h, x0:x1] = card[:, x0 - left : x1 - left] * 0.75 + 40  # paper is not pure white
    frame = np.clip(frame, 0, 255).astype(np.uint8)
    frame = streaked(frame, streak_px)
    noisy = frame + rng.normal(0, 5, frame.shape)  # gain raised for a short exposure: noise
    return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)


def make_clip(seed: int) -> Clip:
    """A card (an entry card's length of text, 3 px per module) sliding in from the right, jittering, then still."""
    rng = np.random.default_rng(seed)
    text = "GK1:" + "".join(rng.choice(list(ALPHABET), 119))
    card = qr_array(text, module_px=3).astype(np.float64)
    backdrop = background(rng)
    h, w = card.shape
    top = (FRAME[1] - h) // 2 + int(rng.integers(-40, 40))
    rest = (FRAME[0] - w) // 2 + int(rng.integers(-60, 60))
    frames = [compose(backdrop, None, 0, 0, 0, rng) for _ in range(EMPTY)]
    start = FRAME[0]
    for i in range(SLIDING):  # fast at first, slowing down: streaks of ~24 px falling to ~8
        left = int(start + (rest - start) * (i + 1) / SLIDING)
        frames.append(compose(backdrop, card, left, top, 24 - 16 * i / (SLIDING - 1) + rng.normal(0, 1), rng))
    for _ in range(HAND):  # a hand holding a card up is never quite still: mostly streaked, now and then sharp
        streak = float(rng.choice([rng.uniform(0, 2.5), rng.uniform(5, 14)], p=[0.2, 0.8]))
        frames.append(compose(backdrop, card, rest + int(rng.integers(-3, 4)), top, streak, rng))
    still_from = len(frames)
    for _ in range(STILL):
        frames.append(compose(backdrop, card, rest, top, rng.uniform(0, 1.2), rng))
    return Clip(frames, EMPTY, still_from)


@dataclass
class Outcome:
    read_at: float | None  # seconds after the clip's start when the first read came back
    read_before_still: bool
    decodes: int


def simulate(clip: Clip, decode_s: list[float], reads: list[bool], scores: list[float], policy: str) -> Outcome:
    """Run the scan loop over ``clip`` in simulated time; frame ``i`` arrives at ``i / FPS``."""
    # ``seen``: the newest frame the loop has had a chance at — a take empties the whole window
    now, seen, decodes = 0.0, -1, 0
    n = len(clip.frames)
    while True:
        arrived = min(int(now * FPS + 1e-9), n - 1)  # the newest frame that has arrived by now
        if policy == "next" or arrived <= seen:
            index = seen + 1 if policy != "next" else max(seen + 1, int(np.ceil(now * FPS - 1e-9)))
            if index >= n:
                return Outcome(None, False, decodes)
            now = max(now, index / FPS)
            seen = index
        elif policy == "newest":
            index = seen = arrived
        else:  # sharpest of the last CHOOSE_FROM frames since the last decode; ties to the newer
            window = range(max(seen + 1, arrived - CHOOSE_FROM + 1), arrived + 1)
            index = max(window, key=lambda i: (scores[i], i))
            seen = arrived
        now += decode_s[index]
        decodes += 1
        if reads[index]:
            return Outcome(now, index < clip.still_from, decodes)


def decode_costs(clip: Clip, decoder, pi_factor: float) -> tuple[list[float], list[bool]]:
    """Each frame's decode time on this machine (best of 3, to keep the busy machine's noise out) × pi_factor."""
    seconds, reads = [], []
    for frame in clip.frames:
        best, found = float("inf"), False
        for _ in range(3):
            started = time.perf_counter()
            found = bool(decoder.decode(frame))
            best = min(best, time.perf_counter() - started)
        seconds.append(best * pi_factor)
        reads.append(found)
    return seconds, reads


def per_frame_choice_ms(frames: Sequence[np.ndarray], rounds: int = 3) -> list[float]:
    """Median ms to score a frame and offer it to the window, per round."""
    results = []
    for _ in range(rounds):
        window = SharpestFrames(CHOOSE_FROM)
        times = []
        for frame in frames:
            started = time.perf_counter()
            window.offer(frame)
            times.append(time.perf_counter() - started)
            if window.offered >= 2:
                window.take()  # the scan loop takes about every other frame on a Pi
        results.append(statistics.median(times) * 1000)
    return results


def thread_cpu_per_frame_ms(frames: Sequence[np.ndarray], seconds: float) -> tuple[float, float, float]:
    """CPU ms per camera frame with a FrameGrabber over a 30 fps replay, reading the replay directly, and the
    median wall ms of the scoring inside the grabber's thread."""

    def run(read: Callable[[], np.ndarray | None], count: Callable[[], int], stop: Callable[[], None]):
        cpu, started = time.process_time(), time.monotonic()
        while time.monotonic() - started < seconds:
            read()
        stop()
        return (time.process_time() - cpu) * 1000 / max(count(), 1)

    plain = ReplaySource.from_frames(frames, loop=True, fps=FPS)
    direct_count = [0]

    def direct_read():
        frame = plain.read()
        direct_count[0] += 1
        return frame

    direct = run(direct_read, lambda: direct_count[0], plain.close)
    source = ReplaySource.from_frames(frames, loop=True, fps=FPS)
    seen = [0]
    original = source.read

    def counted():
        frame = original()
        seen[0] += 1
        return frame

    source.read = counted  # type: ignore[method-assign]
    scoring: list[float] = []

    def timed_sharpness(frame: np.ndarray) -> float:
        started = time.perf_counter()
        value = sharpness(frame)
        scoring.append(time.perf_counter() - started)
        return value

    grabber = FrameGrabber(source, CHOOSE_FROM, wait_s=0.1, score=timed_sharpness)
    grabbed = run(grabber.read, lambda: seen[0], grabber.close)
    return grabbed, direct, statistics.median(scoring) * 1000


def spread(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


POLICIES = ("next", "newest", "sharpest")
NAMES = {"next": "the next frame to arrive (before)", "newest": "the newest frame since the last decode",
         "sharpest": f"**the sharpest of the last {CHOOSE_FROM} since the last decode (now)**"}


def run(clips: int, factors: Sequence[float], rounds: int) -> str:
    decoder = make_decoder()
    made = [make_clip(seed) for seed in range(clips)]
    scores = [[sharpness(frame) for frame in clip.frames] for clip in made]
    # (factor, policy) → per round: (clips read before still, median delay ms, p90 ms, mean decodes)
    table: dict[tuple[float, str], list[tuple[int, float, float, float]]] = {}
    paired: dict[float, list[tuple[int, int, int]]] = {factor: [] for factor in factors}
    decode_ms: list[float] = []
    for _ in range(rounds):
        costs = [decode_costs(clip, decoder, 1.0) for clip in made]
        decode_ms.append(statistics.median(
            s * 1000 for (seconds, _), clip in zip(costs, made, strict=True)
            for s in seconds[clip.first_card : clip.still_from]))
        for factor in factors:
            delays: dict[str, list[float]] = {}
            for policy in POLICIES:
                outcomes = [simulate(clip, [s * factor for s in seconds], reads, score, policy)
                            for clip, (seconds, reads), score in zip(made, costs, scores, strict=True)]
                delays[policy] = [(o.read_at - clip.first_card / FPS) * 1000 if o.read_at is not None else float("inf")
                                  for clip, o in zip(made, outcomes, strict=True)]
                ordered = sorted(delays[policy])
                p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
                table.setdefault((factor, policy), []).append((
                    sum(o.read_before_still for o in outcomes), statistics.median(delays[policy]), p90,
                    statistics.mean(o.decodes for o in outcomes)))
            pairs = list(zip(delays["sharpest"], delays["next"], strict=True))
            paired[factor].append((sum(a < b for a, b in pairs), sum(a == b for a, b in pairs),
                                   sum(a > b for a, b in pairs)))
    sample = [frame for clip in made[:4] for frame in clip.frames]
    choice_ms = per_frame_choice_ms(sample)
    cpu = [thread_cpu_per_frame_ms(sample[:40], 2.0) for _ in range(3)]
    lines = [
        f"Measured {report.today()} on {report.machine_description()}, a shared machine busy with other sessions' "
        f"work (benchmarks took turns on one lock; tests did not). "
        f"`bench/frame_choice_bench.py --clips {clips}`: {clips} synthetic clips "
        f"(640×480 at 30 fps: {EMPTY} empty frames, {SLIDING} of an entry card sliding in with 24→8 px streaks, "
        f"{HAND} held by a jittering hand — 80 % of its frames streaked 5–14 px, 20 % 0–2.5 px — then {STILL} "
        f"still; 3 px per module, sensor noise σ 5). Simulated time: a frame every 1/30 s, each decode costing "
        f"what the default decoder took on that frame here (best of 3) × a factor for a slower machine; the "
        f"decoder spent a median {spread(decode_ms)} ms on a frame of the moving card here. "
        f"Median of {rounds} rounds; the spread of the delays between rounds was a few ms.",
        "",
    ]
    for factor in factors:
        lines += [
            f"Decoding {factor:g}× slower than here (a Pi 4 core is several times slower: "
            f"{statistics.median(decode_ms) * factor:.0f} ms per moving-card frame, "
            f"{statistics.median(decode_ms) * factor * FPS / 1000:.1f} frames arriving per decode):",
            "",
            "| the loop decodes … | clips read before the card is held still | delay from the card's first frame to the read, median ms | p90 ms | decodes until read |",
            "|---|---:|---:|---:|---:|",
        ]
        for policy in POLICIES:
            rows = table[(factor, policy)]
            shown = lambda v: "never" if v == float("inf") else f"{v:.0f}"  # noqa: E731
            lines.append(f"| {NAMES[policy]} | {statistics.median(r[0] for r in rows):.0f} of {clips} | "
                         f"{shown(statistics.median(r[1] for r in rows))} | {shown(statistics.median(r[2] for r in rows))} | "
                         f"{statistics.median(r[3] for r in rows):.1f} |")
        earlier, same, later = (statistics.median(p[i] for p in paired[factor]) for i in range(3))
        lines += ["", f"Clip by clip, sharpest against next: read earlier in {earlier:.0f}, at the same moment in "
                      f"{same:.0f}, later in {later:.0f} of {clips}.", ""]
    overhead = [g - d for g, d, _ in cpu]
    lines += [
        f"Cost of the choice per camera frame: scoring (`sensors.image_ops.sharpness`) and keeping the window "
        f"{spread(choice_ms)} ms in a tight loop; in a `FrameGrabber` thread over a paced 30 fps replay the "
        f"scoring took {spread([c[2] for c in cpu])} ms per frame (a core that idles between frames starts "
        f"cold), and the process used {spread([c[0] for c in cpu])} ms of CPU per frame against "
        f"{spread([c[1] for c in cpu])} ms reading the replay directly: {spread(overhead)} ms more, "
        f"{statistics.median(overhead) * FPS / 10:.1f} % of one core here at 30 fps (× 5 on a Pi 4 core: about "
        f"{statistics.median(overhead) * 5 * FPS / 10:.0f} %, on a thread of its own beside the decoder's; "
        "the Pi 4 has four cores).",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=32, help="synthetic clips (default 32)")
    parser.add_argument("--factor", type=float, action="append", default=None,
                        help="decode time × this, for a slower machine; repeatable (default 5 and 10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, for the median and spread (default 3)")
    parser.add_argument("--no-write", action="store_true", help="print the section, don't write docs/benchmarks.md")
    args = parser.parse_args(argv)
    threading.current_thread().name = "frame-choice-bench"
    markdown = run(args.clips, args.factor or [5.0, 10.0], args.rounds)
    print(markdown)
    if not args.no_write:
        path = report.write_section("frame-choice", markdown)
        print(f"wrote the frame-choice section of {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
