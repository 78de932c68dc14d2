"""The fever alarm tone, made as a WAV with the standard library (no recording to ship, no licence to check).

Two pitches alternating, like a hi-lo alarm (960 / 770 Hz, 0.15 s each, four
times): unlike any syllable of the voice, so a person hears "something is
wrong" before the words. Each burst fades in and out over 5 ms, so the
speaker never clicks.
"""

from __future__ import annotations

import array
import math
import sys
import wave
from pathlib import Path

RATE = 22050  # espeak-ng's own rate: one format for every file the player reads
TONES: dict[str, tuple[tuple[float, float], ...]] = {
    # name → (frequency Hz, seconds) bursts, in order
    "alarm": ((960.0, 0.15), (770.0, 0.15)) * 4,
}
_FADE_S = 0.005
_AMPLITUDE = 0.6  # of full scale: loud, with room for the volume scaling to work in


def tone_samples(name: str, rate: int = RATE) -> array.array:
    """The tone's 16-bit mono samples."""
    samples = array.array("h")
    fade = int(rate * _FADE_S)
    for frequency, seconds in TONES[name]:
        n = int(rate * seconds)
        for i in range(n):
            envelope = min(1.0, i / fade, (n - 1 - i) / fade) if fade else 1.0
            samples.append(int(32767 * _AMPLITUDE * envelope * math.sin(2 * math.pi * frequency * i / rate)))
    return samples


def write_tone(name: str, path: str | Path, rate: int = RATE) -> Path:
    """Write the tone called ``name`` as a mono 16-bit WAV at ``path``."""
    path = Path(path)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        samples = tone_samples(name, rate)
        if sys.byteorder == "big":
            samples.byteswap()  # WAV samples are little-endian
        out.writeframes(samples.tobytes())
    return path
