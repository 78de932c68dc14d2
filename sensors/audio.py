"""The gate's loudspeaker: an ALSA player (``aplay`` from alsa-utils) and a fake that records what was played.

Why ``aplay`` as a subprocess: it is ALSA's own player, on every Raspberry Pi
OS and Debian image with alsa-utils, plays to any device ``-D`` names, and
needs no Python binding to build on a Pi; a prompt that hangs is killed with
its process. Why the volume is applied by scaling the samples rather than
with ``amixer``: mixer control names differ from one sound card to the next
(PCM, Speaker, Master, none at all on some USB speakers), a mixer change
outlives the process and would also change other sounds, and night and day
volume are then just a number per prompt. The scaled WAV goes to ``aplay -``
on its standard input; nothing is written to disk.

The same three calls on both: ``play(name, path, volume)`` (blocks until
done or stopped), ``stop()`` (from another thread: cut the playing prompt
short), ``close()``.
"""

from __future__ import annotations

import array
import collections
import io
import shutil
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.voice.render import VoiceError

APLAY_HINT = "请安装 alsa-utils / install alsa-utils (sudo apt-get install alsa-utils)"


def gain(volume: int) -> float:
    """Amplitude factor for a 0-100 volume: a square law, so 50 sounds about half as loud as 100, not nearly as loud."""
    v = min(max(volume, 0), 100) / 100
    return v * v


def scaled_wav(path: Path, volume: int) -> bytes:
    """The WAV at ``path`` with its 16-bit samples scaled to ``volume`` (0-100), as WAV bytes."""
    try:
        with wave.open(str(path), "rb") as source:
            params = source.getparams()
            frames = source.readframes(params.nframes)
    except (wave.Error, EOFError, OSError) as exc:
        raise VoiceError(f"{path.name}: 不是有效的声音文件 / not a readable WAV file ({exc})") from None
    if params.sampwidth != 2:
        raise VoiceError(f"{path.name}: expected 16-bit samples")
    samples = array.array("h")
    samples.frombytes(frames[: len(frames) // 2 * 2])
    if sys.byteorder == "big":
        samples.byteswap()
    factor = gain(volume)
    if factor < 1.0:
        samples = array.array("h", (int(s * factor) for s in samples))
    if sys.byteorder == "big":
        samples.byteswap()
    out = io.BytesIO()
    with wave.open(out, "wb") as target:
        target.setnchannels(params.nchannels)
        target.setsampwidth(2)
        target.setframerate(params.framerate)
        target.writeframes(samples.tobytes())
    return out.getvalue()


class AlsaAudio:
    """Plays WAV files through ALSA with ``aplay -q -D DEVICE -`` (one prompt at a time)."""

    def __init__(self, device: str = "default", *, aplay: str | None = None, timeout_s: float = 15.0):
        self.device = device
        self.aplay = aplay or shutil.which("aplay")
        self.timeout_s = timeout_s
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def play(self, name: str, path: Path | None, volume: int) -> None:
        """Play ``path`` at ``volume`` and wait until it ends (or ``stop()``); VoiceError if it cannot."""
        if path is None:
            raise VoiceError(f"{name}: 没有声音文件，请运行 kiosk voice render / no sound file: run kiosk voice render")
        if self.aplay is None:
            raise VoiceError(APLAY_HINT)
        if volume <= 0:
            return
        data = scaled_wav(path, volume)
        try:
            process = subprocess.Popen([self.aplay, "-q", "-D", self.device, "-"], stdin=subprocess.PIPE,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except FileNotFoundError:
            raise VoiceError(APLAY_HINT) from None
        with self._lock:
            self._process = process
        try:
            _, err = process.communicate(data, timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise VoiceError(f"{name}: aplay 超时 / aplay did not finish within {self.timeout_s:g} s") from None
        finally:
            with self._lock:
                self._process = None
        # A negative code is our own stop(); anything else is the device's trouble (busy, missing, no card).
        if process.returncode is not None and process.returncode > 0:
            detail = (err or b"").decode("utf-8", "replace").strip().splitlines()
            raise VoiceError(f"{name}: 无法播放 / aplay failed on {self.device}: {detail[-1] if detail else process.returncode}")

    def stop(self) -> None:
        """Cut the prompt playing now short (an urgent one comes next)."""
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()

    def close(self) -> None:
        """Stop whatever plays."""
        self.stop()


class FakeAudio:
    """Records what would have been played: name, time, volume (the simulation, the demo and tests read it).

    ``muted`` (the simulation panel's toggle) plays and records nothing.
    ``hold_s`` makes each play take that long (stoppable), as a real prompt
    does, for tests of the queue. ``on_play`` hears of each played prompt (the
    simulated page's caption). Keeps the last ``keep`` entries only.
    """

    def __init__(self, *, hold_s: float = 0.0, keep: int = 200, clock: Callable[[], datetime] | None = None,
                 on_play: Callable[[dict], None] | None = None):
        self.hold_s = hold_s
        self.muted = False
        self.on_play = on_play
        self.played: collections.deque[dict] = collections.deque(maxlen=keep)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._stopped = threading.Event()
        self._lock = threading.Lock()

    def play(self, name: str, path: Path | None, volume: int) -> None:
        """Note ``name`` as played at ``volume`` (unless muted or at volume 0), then hold for ``hold_s``."""
        if self.muted or volume <= 0:
            return
        entry: dict[str, Any] = {"name": name, "at": self._clock().isoformat(), "volume": volume,
                                 "file": path.name if path is not None else None, "stopped": False}
        with self._lock:
            self.played.append(entry)
        if self.on_play is not None:
            self.on_play(dict(entry))
        if self.hold_s > 0:
            self._stopped.clear()
            started = time.monotonic()
            if self._stopped.wait(self.hold_s):
                entry["stopped"] = round(time.monotonic() - started, 3)

    def names(self) -> list[str]:
        """The names played so far, oldest first."""
        with self._lock:
            return [e["name"] for e in self.played]

    def record(self) -> list[dict]:
        """A copy of what was played, oldest first."""
        with self._lock:
            return [dict(e) for e in self.played]

    def clear(self) -> None:
        """Forget what was played."""
        with self._lock:
            self.played.clear()

    def stop(self) -> None:
        """End a hold early (as a real player cuts a prompt short)."""
        self._stopped.set()

    def close(self) -> None:
        """Nothing to release."""
        self.stop()
