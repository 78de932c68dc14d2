"""Render the prompts to WAV files with espeak-ng, check each file, and write a manifest beside them.

``kiosk voice render --out DIR`` (the installer runs it) calls this; so does
the gate at start when its prompts are missing or out of date and espeak-ng
is installed. Each prompt is one ``espeak-ng -v cmn-latn-pinyin -w FILE``
run with a timeout; each file is parsed back (RIFF/WAVE through the ``wave``
module) and must last a sensible time and not be silent. The manifest says
what each file says, so a gate can tell files made from an older table.
"""

from __future__ import annotations

import array
import hashlib
import json
import os
import shutil
import subprocess
import sys
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kiosk.exc import KioskError
from kiosk.voice.prompts import BY_NAME, PROMPTS, Prompt
from kiosk.voice.tone import TONES, write_tone

VOICE = "cmn-latn-pinyin"
MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
DURATION_S = (0.4, 6.0)  # a prompt shorter or longer than this is not the prompt (an error, a runaway)
SILENT_PEAK = 1000  # of 32767: a file whose loudest sample is below this is silence
SPEED_WPM = 150  # espeak-ng's default 175 is hurried for Mandarin syllables heard through a gate's noise
TIMEOUT_S = 20.0
INSTALL_HINT = "请安装 espeak-ng / install espeak-ng (sudo apt-get install espeak-ng)"


class VoiceError(KioskError, RuntimeError):
    """The prompts cannot be rendered or played (espeak-ng or aplay missing, a bad file, an unknown prompt)."""


@dataclass(frozen=True)
class WavCheck:
    """What a WAV file holds, as read back."""

    duration_s: float
    peak: int
    rate: int


def espeak_path() -> str | None:
    """Where espeak-ng is, or None."""
    return shutil.which("espeak-ng")


def check_wav(path: Path, bounds: tuple[float, float] = DURATION_S) -> WavCheck:
    """Parse ``path`` as a mono or stereo 16-bit WAV; VoiceError unless it lasts within ``bounds`` and is not silent."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2:
                raise VoiceError(f"{path.name}: 声音文件格式不对 / expected 16-bit samples, got {8 * wav.getsampwidth()}-bit")
            rate, frames = wav.getframerate(), wav.getnframes()
            data = wav.readframes(frames)
    except (wave.Error, EOFError, OSError) as exc:
        raise VoiceError(f"{path.name}: 不是有效的声音文件 / not a readable WAV file ({exc})") from None
    samples = array.array("h")
    samples.frombytes(data[: len(data) // 2 * 2])
    if sys.byteorder == "big":
        samples.byteswap()
    duration = frames / rate if rate else 0.0
    peak = max((abs(s) for s in samples), default=0)
    low, high = bounds
    if not low <= duration <= high:
        raise VoiceError(f"{path.name}: 时长 {duration:.2f} 秒不合理 / lasts {duration:.2f} s, expected {low}–{high} s")
    if peak < SILENT_PEAK:
        raise VoiceError(f"{path.name}: 没有声音 / silent (loudest sample {peak} of 32767)")
    return WavCheck(round(duration, 3), peak, rate)


def espeak_command(prompt: Prompt, out: Path, *, speed: int = SPEED_WPM, espeak: str = "espeak-ng") -> list[str]:
    """The espeak-ng command line that renders ``prompt`` to ``out`` (``--`` keeps the pinyin from being an option)."""
    return [espeak, "-v", VOICE, "-s", str(speed), "-w", str(out), "--", prompt.pinyin]


def render_prompt(prompt: Prompt, out: Path, *, speed: int = SPEED_WPM, espeak: str | None = None,
                  timeout_s: float = TIMEOUT_S) -> WavCheck:
    """Render one prompt to ``out`` (written beside it and moved in: never a half-written file) and check it."""
    program = espeak or espeak_path()
    if program is None:
        raise VoiceError(INSTALL_HINT)
    staged = out.with_name(f".{out.name}.part")
    try:
        result = subprocess.run(espeak_command(prompt, staged, speed=speed, espeak=program), capture_output=True,
                                timeout=timeout_s, check=False)
    except FileNotFoundError:
        raise VoiceError(INSTALL_HINT) from None
    except subprocess.TimeoutExpired:
        staged.unlink(missing_ok=True)
        raise VoiceError(f"{prompt.name}: espeak-ng 超时 / espeak-ng did not finish within {timeout_s:g} s") from None
    if result.returncode != 0:
        staged.unlink(missing_ok=True)
        detail = result.stderr.decode("utf-8", "replace").strip()[-300:]
        raise VoiceError(f"{prompt.name}: espeak-ng 出错 / espeak-ng failed (exit {result.returncode}): {detail}")
    try:
        checked = check_wav(staged)
    except VoiceError:
        staged.unlink(missing_ok=True)
        raise
    os.replace(staged, out)
    return checked


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def espeak_version(espeak: str | None = None) -> str:
    """espeak-ng's version line (for the manifest), or '' when it cannot be asked."""
    program = espeak or espeak_path()
    if program is None:
        return ""
    try:
        result = subprocess.run([program, "--version"], capture_output=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout.decode("utf-8", "replace").split("  Data at")[0].strip()[:200]


def render_all(out_dir: str | Path, names: Iterable[str] | None = None, *, speed: int = SPEED_WPM,
               espeak: str | None = None, timeout_s: float = TIMEOUT_S) -> dict:
    """Render the prompts (all, or ``names``) and the tones into ``out_dir``; returns the manifest it wrote."""
    program = espeak or espeak_path()
    if program is None:
        raise VoiceError(INSTALL_HINT)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    chosen = [BY_NAME[n] for n in names] if names is not None else list(PROMPTS)
    prompts: dict[str, dict] = {}
    for item in chosen:
        file = folder / f"{item.name}.wav"
        checked = render_prompt(item, file, speed=speed, espeak=program, timeout_s=timeout_s)
        prompts[item.name] = {"file": file.name, "text": item.text, "pinyin": item.pinyin,
                              "duration_s": checked.duration_s, "sha256": _sha256(file)}
    tones: dict[str, dict] = {}
    for name in TONES:
        file = write_tone(name, folder / f"tone-{name}.wav")
        checked = check_wav(file)
        tones[name] = {"file": file.name, "duration_s": checked.duration_s, "sha256": _sha256(file)}
    manifest = {"version": MANIFEST_VERSION, "voice": VOICE, "speed_wpm": speed, "espeak": espeak_version(program),
                "prompts": prompts, "tones": tones}
    staged = folder / f".{MANIFEST}.part"
    staged.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(staged, folder / MANIFEST)
    return manifest


def read_manifest(folder: str | Path) -> dict | None:
    """The manifest in ``folder``, or None when there is none (or it cannot be read)."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("version") == MANIFEST_VERSION else None


def up_to_date(folder: str | Path) -> bool:
    """True when ``folder`` holds every prompt of the table as it is now (same text and pinyin) and every tone."""
    manifest = read_manifest(folder)
    if manifest is None:
        return False
    prompts, tones = manifest.get("prompts") or {}, manifest.get("tones") or {}
    for item in PROMPTS:
        entry = prompts.get(item.name)
        if not entry or entry.get("text") != item.text or entry.get("pinyin") != item.pinyin:
            return False
        if not (Path(folder) / str(entry.get("file"))).is_file():
            return False
    return all(name in tones and (Path(folder) / str(tones[name].get("file"))).is_file() for name in TONES)


def library(folder: str | Path) -> dict[str, Path]:
    """What can be played from ``folder``: prompt name (and ``tone:NAME``) → file, for entries still on disk."""
    manifest = read_manifest(folder) or {}
    found: dict[str, Path] = {}
    for name, entry in (manifest.get("prompts") or {}).items():
        path = Path(folder) / str(entry.get("file"))
        current = BY_NAME.get(name)
        if current is not None and entry.get("text") == current.text and path.is_file():
            found[name] = path
    for name, entry in (manifest.get("tones") or {}).items():
        path = Path(folder) / str(entry.get("file"))
        if path.is_file():
            found[f"tone:{name}"] = path
    return found
