"""The loudspeaker: aplay for real on ALSA's null device, volume by scaling the samples, the recording fake."""

from __future__ import annotations

import array
import shutil
import threading
import time
import wave

import pytest

from kiosk.voice.render import VoiceError
from kiosk.voice.tone import write_tone
from sensors.audio import APLAY_HINT, AlsaAudio, FakeAudio, gain, scaled_wav


@pytest.fixture
def tone(tmp_path):
    return write_tone("alarm", tmp_path / "alarm.wav")


def peak(data: bytes) -> int:
    import io

    with wave.open(io.BytesIO(data)) as w:
        samples = array.array("h", w.readframes(w.getnframes()))
    return max(abs(s) for s in samples)


def test_volume_scales_the_samples(tone):
    full = peak(scaled_wav(tone, 100))
    assert peak(scaled_wav(tone, 50)) == pytest.approx(full * gain(50), abs=2)
    assert gain(50) == 0.25 and gain(0) == 0 and gain(100) == 1 and gain(150) == 1
    assert peak(scaled_wav(tone, 0)) == 0


def test_aplay_plays_to_the_null_device(tone):
    assert shutil.which("aplay"), "aplay is in alsa-utils, a system package of make test"
    AlsaAudio("null").play("tone:alarm", tone, 80)  # the real player, ALSA's null device: no error


def fake_aplay(tmp_path, body: str) -> str:
    script = tmp_path / "aplay"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    return str(script)


def test_aplay_gets_the_device_and_the_scaled_wav_on_its_input(tone, tmp_path):
    got = tmp_path / "got.wav"
    aplay = fake_aplay(tmp_path, f'echo "$@" > {tmp_path}/args; cat > {got}')
    AlsaAudio("plughw:1,0", aplay=aplay).play("tone:alarm", tone, 50)
    assert (tmp_path / "args").read_text().split() == ["-q", "-D", "plughw:1,0", "-"]
    assert got.read_bytes() == scaled_wav(tone, 50)


def test_stop_cuts_a_playing_prompt_short(tone, tmp_path):
    audio = AlsaAudio("null", aplay=fake_aplay(tmp_path, "cat > /dev/null; exec sleep 5"))
    threading.Timer(0.3, audio.stop).start()
    started = time.monotonic()
    audio.play("tone:alarm", tone, 80)  # our own stop is not an error
    assert time.monotonic() - started < 2.0


def test_a_hanging_player_is_killed_after_its_timeout(tone, tmp_path):
    audio = AlsaAudio("null", aplay=fake_aplay(tmp_path, "cat > /dev/null; exec sleep 30"), timeout_s=0.5)
    with pytest.raises(VoiceError, match="did not finish within 0.5 s"):
        audio.play("tone:alarm", tone, 80)


def test_a_missing_device_is_a_clear_error(tone):
    with pytest.raises(VoiceError, match="aplay failed on nosuchcard"):
        AlsaAudio("nosuchcard").play("tone:alarm", tone, 80)


def test_no_file_or_no_aplay_says_what_to_install_or_run(tone, tmp_path, monkeypatch):
    with pytest.raises(VoiceError, match="kiosk voice render"):
        AlsaAudio("null").play("fever", None, 80)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(VoiceError) as caught:
        AlsaAudio("null").play("fever", tone, 80)
    assert str(caught.value) == APLAY_HINT and "请安装 alsa-utils" in APLAY_HINT


def test_the_fake_records_name_time_and_volume_unless_muted(tone):
    heard = []
    audio = FakeAudio(on_play=heard.append)
    audio.play("fever", tone, 80)
    audio.muted = True
    audio.play("go_through", tone, 80)
    audio.muted = False
    audio.play("see_volunteer", None, 0)  # volume 0: not played
    [entry] = audio.record()
    assert entry["name"] == "fever" and entry["volume"] == 80 and entry["file"] == "alarm.wav" and entry["at"]
    assert heard == [entry] and audio.names() == ["fever"]
    audio.clear()
    assert audio.record() == []


def test_the_fake_keeps_only_the_last_entries():
    audio = FakeAudio(keep=3)
    for i in range(5):
        audio.play(f"p{i}", None, 50)
    assert audio.names() == ["p2", "p3", "p4"]
