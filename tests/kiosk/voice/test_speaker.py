"""The speaker worker: never on the caller's thread, a stale prompt replaced, the fever prompt never dropped, night."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from kiosk.voice.settings import VoiceSettings
from kiosk.voice.speaker import MAX_QUEUED, Speaker
from sensors.audio import FakeAudio

DAY = datetime(2024, 1, 15, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
NIGHT = datetime(2024, 1, 15, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai


class Clock:
    def __init__(self, t: float = 100.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def speaker(audio=None, *, now=DAY, monotonic=None, **settings) -> Speaker:
    return Speaker(audio or FakeAudio(), VoiceSettings(**settings), clock=lambda: now,
                   monotonic=monotonic or time.monotonic)


def run_all(s: Speaker) -> None:
    while s.pending():
        s.step()


def test_say_returns_at_once_and_the_worker_plays_it():
    audio = FakeAudio(hold_s=0.5)
    s = speaker(audio).start()
    try:
        started = time.monotonic()
        assert s.say("greeting_measure") is not None
        assert time.monotonic() - started < 0.05  # the passage thread never waits for the speaker
        deadline = time.monotonic() + 3
        while not audio.names() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert audio.names() == ["greeting_measure"]
        assert audio.record()[0]["volume"] == 80
    finally:
        s.close()


def test_a_new_prompt_replaces_the_one_not_yet_said():
    s = speaker(monotonic=Clock())
    s.say("greeting_measure")
    s.say("measure_again")
    s.say("temperature_normal")
    assert s.pending() == [("temperature_normal",)]
    assert s.dropped == 2
    run_all(s)
    assert s.audio.names() == ["temperature_normal"]


def test_a_prompt_that_waited_too_long_is_not_said_late():
    clock = Clock()
    s = speaker(monotonic=clock)
    s.say("face_thermometer")
    clock.t += 5  # the speaker was busy for 5 s: the person has moved on
    s.step()
    assert s.audio.names() == [] and s.dropped == 1


def test_the_fever_prompt_is_never_dropped_and_comes_with_its_tone():
    clock = Clock()
    s = speaker(monotonic=clock)
    s.say("fever")
    s.say("go_through")  # the next person's admit right after: it must not push the fever prompt out
    s.say("temperature_normal")
    assert s.pending() == [("fever",), ("temperature_normal",)]
    clock.t += 60  # even after a long wait
    run_all(s)
    assert s.audio.names() == ["tone:alarm", "fever"]  # the ordinary one went stale; the fever one never does


def test_urgent_prompts_fill_the_queue_but_are_never_dropped():
    s = speaker(monotonic=Clock())
    for _ in range(MAX_QUEUED + 2):
        s.say("fever")
    assert s.say("go_through") is None  # an ordinary prompt gives way
    assert s.pending() == [("fever",)] * (MAX_QUEUED + 2)


def test_the_fever_prompt_cuts_a_playing_ordinary_prompt_short():
    audio = FakeAudio(hold_s=3.0)
    s = speaker(audio).start()
    try:
        s.say("card_invalid")
        deadline = time.monotonic() + 3
        while not audio.names() and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        s.say("fever")
        while audio.names()[-1:] != ["tone:alarm"] and time.monotonic() < deadline + 5:
            time.sleep(0.01)
        assert time.monotonic() - started < 1.0  # not after the 3 s the card prompt would have taken
        assert audio.names() == ["card_invalid", "tone:alarm"]
        assert audio.record()[0]["stopped"] is not False  # cut short
    finally:
        s.close()


def test_an_utterance_says_its_prompts_in_order():
    s = speaker(monotonic=Clock(), prompts=["greeting", "wear_mask"])
    s.say(["greeting", "wear_mask"])
    run_all(s)
    assert s.audio.names() == ["greeting", "wear_mask"]


def test_prompts_left_out_of_the_config_are_not_said():
    s = speaker(monotonic=Clock(), prompts=["fever"])
    assert s.say("greeting_measure") is None
    assert s.say(["greeting", "fever"]).names == ("fever",)


def test_voice_disabled_says_nothing():
    s = speaker(enabled=False)
    assert s.say("fever") is None and s.pending() == []


@pytest.mark.parametrize("now, volume", [(DAY, 80), (NIGHT, 30)])
def test_night_volume_by_the_gates_clock(now, volume):
    s = speaker(now=now, monotonic=Clock())
    s.say("go_through")
    run_all(s)
    assert s.audio.record()[0]["volume"] == volume


def test_silent_at_night_when_the_night_volume_is_zero():
    s = speaker(now=NIGHT, night_volume=0)
    assert s.say("fever") is None
    assert speaker(now=DAY, night_volume=0).say("fever") is not None


def test_night_window_in_the_gates_time_zone():
    settings = VoiceSettings(night_from="22:00", night_until="06:00")
    from datetime import time as clock

    assert settings.is_night(clock(22, 0)) and settings.is_night(clock(3, 0)) and settings.is_night(clock(5, 59))
    assert not settings.is_night(clock(6, 0)) and not settings.is_night(clock(21, 59))
    daytime_quiet = VoiceSettings(night_from="12:00", night_until="14:00")  # a window that does not cross midnight
    assert daytime_quiet.is_night(clock(13, 0)) and not daytime_quiet.is_night(clock(14, 0))
    assert not VoiceSettings(night_from="06:00", night_until="06:00").is_night(clock(3, 0))  # no night
    # The same UTC instant is night in Shanghai and day in London.
    utc = Speaker(FakeAudio(), settings, timezone="Europe/London", clock=lambda: NIGHT)
    assert utc.volume_now() == 80
    assert Speaker(FakeAudio(), settings, clock=lambda: NIGHT).volume_now() == 30


def test_a_failing_player_does_not_stop_the_speaker():
    class Broken(FakeAudio):
        def play(self, name, path, volume):
            if name == "go_through":
                raise OSError("device busy")
            super().play(name, path, volume)

    s = speaker(Broken(), monotonic=Clock())
    s.say("go_through")
    s.step()
    s.say("see_volunteer")
    s.step()
    assert s.audio.names() == ["see_volunteer"]


def test_prepare_runs_once_on_the_speakers_thread():
    threads = []

    def prepare():
        threads.append(threading.current_thread().name)
        return {"fever": "fever.wav"}

    s = Speaker(FakeAudio(), VoiceSettings(), clock=lambda: DAY, prepare=prepare).start()
    try:
        deadline = time.monotonic() + 3
        while not threads and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
        assert threads == ["voice"] and s.library == {"fever": "fever.wav"}
    finally:
        s.close()


def test_muted_fake_records_nothing():
    audio = FakeAudio()
    audio.muted = True
    s = speaker(audio, monotonic=Clock())
    s.say("fever")
    run_all(s)
    assert audio.names() == []
