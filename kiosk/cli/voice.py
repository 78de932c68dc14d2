"""``kiosk voice``: the gate's spoken prompts — list them, render them to WAV files (the installer), play one.

A thin layer over :mod:`kiosk.voice`; the player (``sensors.audio``) is
imported only by ``say``. Exit codes: 0 done, 1 a prompt could not be
rendered or played, 2 usage or configuration error.
"""

from __future__ import annotations

from pathlib import Path

import click

from kiosk.cli.common import EXIT_NEGATIVE, clean_errors, fail, print_json


@click.group()
def voice() -> None:
    """The gate's spoken Mandarin prompts (espeak-ng renders them; aplay plays them)."""


@voice.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
def list_prompts(as_json: bool) -> None:
    """Every prompt: its name, what it says, and the pinyin the voice is fed."""
    from kiosk.voice.prompts import PROMPTS

    if as_json:
        print_json([{"name": p.name, "text": p.text, "pinyin": p.pinyin, "english": p.english, "urgent": p.urgent,
                     "tone": p.tone} for p in PROMPTS])
        return
    for p in PROMPTS:
        click.echo(f"{p.name:<24} {p.text}  ({p.pinyin}){'  [urgent, ' + p.tone + ' tone first]' if p.tone else ''}")


@voice.command()
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the WAV files and manifest.json (the gate reads voice.prompts_dir, or DATA_DIR/voice).")
@click.option("--only", "names", multiple=True, metavar="NAME", help="Render only this prompt (repeatable).")
@click.option("--speed", default=150, show_default=True, type=click.IntRange(80, 260),
              help="Words per minute (espeak-ng -s).")
def render(out_dir: Path, names: tuple[str, ...], speed: int) -> None:
    """Render every prompt with espeak-ng (voice cmn-latn-pinyin) and check each file; writes manifest.json."""
    from kiosk.voice.prompts import NAMES
    from kiosk.voice.render import VoiceError, render_all

    unknown = [n for n in names if n not in NAMES]
    if unknown:
        fail(f"unknown prompt {', '.join(unknown)} (known: {', '.join(NAMES)})")
    with clean_errors():
        try:
            manifest = render_all(out_dir, names or None, speed=speed)
        except VoiceError as exc:
            fail(str(exc), EXIT_NEGATIVE)
        except OSError as exc:
            fail(f"cannot write to {out_dir}: {exc.strerror or exc}")
    for entry in manifest["prompts"].values():
        click.echo(f"{entry['file']:<30} {entry['duration_s']:5.2f} s  {entry['text']}")
    for name, entry in manifest["tones"].items():
        click.echo(f"{entry['file']:<30} {entry['duration_s']:5.2f} s  ({name} tone)")
    click.echo(f"{len(manifest['prompts'])} prompts and {len(manifest['tones'])} tone(s) in {out_dir}/ "
               f"(manifest.json; {manifest['espeak'] or 'espeak-ng'})")


@voice.command()
@click.argument("name")
@click.option("--config", "config_path", default="config.yaml", show_default=True, type=click.Path(dir_okay=False),
              help="The gate's config file: voice.device, voice.volume (night_volume at night), voice.prompts_dir.")
@click.option("--dir", "prompts_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Play from this folder instead of the configured one.")
@click.option("--volume", type=click.IntRange(0, 100), help="Instead of the configured volume for this time of day.")
@click.option("--device", help="Instead of voice.device, e.g. plughw:1,0.")
def say(name: str, config_path: str, prompts_dir: Path | None, volume: int | None, device: str | None) -> None:
    """Play the prompt NAME through the configured output (the fever prompt with its alarm tone first)."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from kiosk.config import load_gate_config
    from kiosk.gate.voice_prompts import prompts_folder
    from kiosk.voice.prompts import BY_NAME, NAMES
    from kiosk.voice.render import VoiceError, library
    from sensors.audio import AlsaAudio

    if name not in BY_NAME:
        fail(f"unknown prompt {name} (known: {', '.join(NAMES)})")
    with clean_errors():
        config = load_gate_config(config_path)
    folder = prompts_dir or prompts_folder(config)
    files = library(folder)
    prompt = BY_NAME[name]
    if name not in files:
        fail(f"{name}: 没有声音文件 / no sound file in {folder}: run  kiosk voice render --out {folder}", EXIT_NEGATIVE)
    settings = config.voice
    loudness = volume if volume is not None else settings.volume_at(datetime.now(UTC).astimezone(ZoneInfo(config.gate.timezone)))
    audio = AlsaAudio(device or settings.device)
    try:
        if prompt.tone is not None:
            audio.play(f"tone:{prompt.tone}", files.get(f"tone:{prompt.tone}"), loudness)
        audio.play(name, files[name], loudness)
    except VoiceError as exc:
        fail(str(exc), EXIT_NEGATIVE)
    click.echo(f"played {name} ({prompt.text}) at volume {loudness} on {audio.device}")
