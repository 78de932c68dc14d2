"""Rendering for real with espeak-ng: every prompt, its duration, the checks on a WAV, the alarm tone, the manifest."""

from __future__ import annotations

import array
import json
import stat
import wave

import pytest

from kiosk.voice.prompts import BY_NAME, NAMES
from kiosk.voice.render import (
    DURATION_S,
    INSTALL_HINT,
    VoiceError,
    check_wav,
    library,
    read_manifest,
    render_all,
    render_prompt,
    up_to_date,
)
from kiosk.voice.tone import RATE, TONES, tone_samples, write_tone


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("voice")
    return folder, render_all(folder)


def test_every_prompt_renders_within_sane_durations(rendered):
    folder, manifest = rendered
    assert set(manifest["prompts"]) == set(NAMES)
    for name, entry in manifest["prompts"].items():
        checked = check_wav(folder / entry["file"])
        assert DURATION_S[0] <= checked.duration_s <= DURATION_S[1]
        assert checked.duration_s == entry["duration_s"] and checked.rate == 22050
        assert entry["text"] == BY_NAME[name].text and entry["pinyin"] == BY_NAME[name].pinyin
    # Longer sentences last longer: the file is the sentence, not a fixed blip.
    durations = {n: e["duration_s"] for n, e in manifest["prompts"].items()}
    assert durations["go_through"] < durations["temperature_normal"]
    assert durations["see_volunteer"] < durations["card_invalid"]


def test_manifest_and_library(rendered):
    folder, manifest = rendered
    assert read_manifest(folder) == manifest
    assert manifest["voice"] == "cmn-latn-pinyin" and manifest["espeak"].startswith("eSpeak NG")
    assert up_to_date(folder)
    found = library(folder)
    assert set(found) == set(NAMES) | {"tone:alarm"}
    assert not list(folder.glob(".*.part"))  # nothing half-written left behind


def test_a_changed_prompt_table_makes_the_folder_out_of_date(tmp_path):
    render_all(tmp_path, ["go_through"])
    assert not up_to_date(tmp_path)  # only one prompt there
    render_all(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    manifest["prompts"]["fever"]["text"] = "旧的说法"
    (tmp_path / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    assert not up_to_date(tmp_path)
    assert "fever" not in library(tmp_path)  # an old file is not played for the new words


def write_samples(path, samples, rate=RATE):
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(array.array("h", samples).tobytes())
    return path


def test_check_refuses_silence_a_blip_a_runaway_and_a_non_wav(tmp_path):
    with pytest.raises(VoiceError, match="silent"):
        check_wav(write_samples(tmp_path / "quiet.wav", [3] * RATE))
    with pytest.raises(VoiceError, match="lasts 0.10 s"):
        check_wav(write_samples(tmp_path / "blip.wav", [20000, -20000] * (RATE // 20)))
    with pytest.raises(VoiceError, match="lasts 7.00 s"):
        check_wav(write_samples(tmp_path / "long.wav", [20000, -20000] * (RATE * 7 // 2)))
    (tmp_path / "text.wav").write_text("not a wav")
    with pytest.raises(VoiceError, match="not a readable WAV"):
        check_wav(tmp_path / "text.wav")


def zero_crossing_hz(samples, rate=RATE) -> float:
    crossings = sum(1 for a, b in zip(samples, samples[1:], strict=False) if (a < 0) != (b < 0))
    return crossings / 2 / (len(samples) / rate)


def test_alarm_tone_alternates_two_pitches(tmp_path):
    path = write_tone("alarm", tmp_path / "alarm.wav")
    checked = check_wav(path)
    assert checked.duration_s == pytest.approx(sum(s for _, s in TONES["alarm"]), abs=0.01)
    samples = tone_samples("alarm")
    at = 0
    for frequency, seconds in TONES["alarm"]:
        n = int(RATE * seconds)
        assert zero_crossing_hz(samples[at:at + n]) == pytest.approx(frequency, rel=0.03)
        at += n
    assert max(abs(s) for s in samples[:20]) < 5000  # fades in: no click
    pitches = {f for f, _ in TONES["alarm"]}
    assert len(pitches) == 2 and max(pitches) - min(pitches) > 150  # a hi-lo alarm: no syllable sounds like it


def test_espeak_missing_says_so_in_chinese_and_english(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(VoiceError) as caught:
        render_all(tmp_path / "out")
    assert str(caught.value) == INSTALL_HINT and "请安装 espeak-ng" in INSTALL_HINT and "install espeak-ng" in INSTALL_HINT
    with pytest.raises(VoiceError, match="请安装 espeak-ng"):
        render_prompt(BY_NAME["fever"], tmp_path / "f.wav", espeak=str(tmp_path / "espeak-ng"))


def fake_espeak(tmp_path, body: str) -> str:
    script = tmp_path / "espeak-ng"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_a_hanging_or_failing_espeak_is_a_clear_error_and_leaves_no_file(tmp_path):
    hanging = fake_espeak(tmp_path, "sleep 30")
    with pytest.raises(VoiceError, match="did not finish within 1 s"):
        render_prompt(BY_NAME["fever"], tmp_path / "fever.wav", espeak=hanging, timeout_s=1)
    failing = fake_espeak(tmp_path, "echo 'no voice cmn-latn-pinyin' >&2; exit 1")
    with pytest.raises(VoiceError, match="exit 1.*no voice"):
        render_prompt(BY_NAME["fever"], tmp_path / "fever.wav", espeak=failing)
    assert not list(tmp_path.glob("*.wav")) and not list(tmp_path.glob(".*.part"))
