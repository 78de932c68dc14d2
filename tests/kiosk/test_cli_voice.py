"""``kiosk voice``: list, render (what the installer runs, espeak-ng for real) and say (aplay on ALSA's null device)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from kiosk.cli import main
from kiosk.voice.prompts import NAMES


def invoke(*args):
    return CliRunner().invoke(main, ["voice", *map(str, args)])


def test_list_shows_every_prompt_with_its_pinyin():
    result = invoke("list")
    assert result.exit_code == 0
    assert "体温异常，请稍候" in result.output and "ti3 wen1 yi4 chang2" in result.output and "alarm tone" in result.output
    listed = json.loads(invoke("list", "--json").output)
    assert [p["name"] for p in listed] == list(NAMES)


def test_render_writes_every_prompt_and_the_manifest(tmp_path):
    result = invoke("render", "--out", tmp_path / "voice")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "voice" / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["prompts"]) == set(NAMES) and "alarm" in manifest["tones"]
    assert f"{len(NAMES)} prompts and 1 tone(s)" in result.output
    assert "fever.wav" in result.output


def test_render_one_and_refuse_an_unknown_name(tmp_path):
    assert invoke("render", "--out", tmp_path, "--only", "fever").exit_code == 0
    assert sorted(p.name for p in tmp_path.glob("*.wav")) == ["fever.wav", "tone-alarm.wav"]
    result = invoke("render", "--out", tmp_path, "--only", "nope")
    assert result.exit_code == 2 and "unknown prompt nope (known: greeting" in result.output


def test_render_without_espeak_says_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    result = invoke("render", "--out", tmp_path / "voice")
    assert result.exit_code == 1
    assert "请安装 espeak-ng / install espeak-ng" in result.output and "Traceback" not in result.output


def config(tmp_path, **voice) -> str:
    lines = [f"  {k}: {v}" for k, v in voice.items()]
    path = tmp_path / "config.yaml"
    path.write_text(f"gate:\n  id: t\n  data_dir: {tmp_path / 'data'}\nvoice:\n  device: 'null'\n" + "\n".join(lines) + "\n")
    return str(path)


def test_say_plays_through_the_configured_device(tmp_path):
    path = config(tmp_path)
    assert invoke("render", "--out", tmp_path / "data" / "voice").exit_code == 0
    result = invoke("say", "fever", "--config", path)
    assert result.exit_code == 0, result.output
    assert "played fever (体温异常，请稍候)" in result.output and "on null" in result.output
    assert "at volume 42" in invoke("say", "go_through", "--config", path, "--volume", "42").output


def test_say_without_rendered_files_or_with_an_unknown_name(tmp_path):
    path = config(tmp_path)
    result = invoke("say", "fever", "--config", path)
    assert result.exit_code == 1 and "kiosk voice render --out" in result.output
    result = invoke("say", "nope", "--config", path)
    assert result.exit_code == 2 and "unknown prompt nope" in result.output


def test_say_to_a_missing_device_fails_cleanly(tmp_path):
    path = config(tmp_path)
    invoke("render", "--out", tmp_path / "data" / "voice", "--only", "go_through")
    result = invoke("say", "go_through", "--config", path, "--device", "nosuchcard")
    assert result.exit_code == 1 and "aplay failed on nosuchcard" in result.output and "Traceback" not in result.output


def test_a_bad_voice_setting_is_one_clear_line(tmp_path):
    path = config(tmp_path, volume=120)
    result = invoke("say", "fever", "--config", path)
    assert result.exit_code == 2 and "voice.volume" in result.output
    path = config(tmp_path, night_from='"25:00"')
    assert "voice.night_from: expected a time of day as HH:MM" in invoke("say", "fever", "--config", path).output
    path = config(tmp_path, prompts="[fever, hello]")
    assert "unknown prompt hello" in invoke("say", "fever", "--config", path).output
