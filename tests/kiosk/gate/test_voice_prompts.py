"""The gate's moments → prompts: the pure mapping per verdict and prompt code, the chooser's memory, and a real
gate's passages heard through the fake loudspeaker."""

from __future__ import annotations

import time

import pytest

from kiosk.gate.policy import Prompt, Verdict
from kiosk.gate.voice_prompts import PromptChooser, decision_prompts, measuring_prompts, start_voice
from kiosk.voice.prompts import NAMES
from sensors.audio import FakeAudio
from tests.gate_fixtures import card


def decision(verdict: str, prompt: str, *, kind: str = "person", temperature_c: float | None = None, **more) -> dict:
    return {"type": "decision", "kind": kind, "verdict": verdict, "prompt": prompt, "temperature_c": temperature_c,
            **more}


# Every prompt code the policy has, with the verdict it comes with, and what the gate says for it.
SPOKEN = {
    ("admit", "welcome"): ("go_through",),
    ("admit", "goodbye"): ("go_through",),
    ("admit", "quarantine_return"): ("go_through",),
    ("admit", "welcome_visitor"): ("go_through",),
    ("admit", "goodbye_visitor"): ("go_through",),
    ("admit", "vehicle_admit"): ("go_through",),  # a person's decision never has it; a vehicle's says nothing
    ("deny", "fever"): ("fever",),
    ("refer", "fever"): ("fever",),
    ("refer", "handheld_check"): ("see_volunteer",),
    ("refer", "register_visitor"): ("register_with_volunteer",),
    ("deny", "card_rejected"): ("card_invalid",),
    ("deny", "card_expired"): ("card_invalid",),
    ("refer", "card_not_yet_valid"): ("card_invalid",),
    ("refer", "card_foreign"): ("card_invalid",),
    ("deny", "card_lost"): ("card_invalid",),
    ("deny", "card_replaced"): ("card_invalid",),
    ("deny", "card_revoked"): ("card_invalid",),
    ("deny", "card_moved_out"): ("card_invalid",),
    ("refer", "card_not_in_registry"): ("card_invalid",),
    ("deny", "quarantine"): ("see_volunteer",),
    ("deny", "outing_limit"): ("see_volunteer",),
    ("deny", "visitor_pass_outside_window"): ("see_volunteer",),
    ("refer", "register_vehicle"): (),
    ("deny", "disinfect_vehicle"): (),
    ("ask", "ask_direction"): (),
}


@pytest.mark.parametrize("verdict, prompt", sorted(SPOKEN))
def test_each_decision_says_its_prompt(verdict, prompt):
    assert decision_prompts(decision(verdict, prompt)) == SPOKEN[(verdict, prompt)]


def test_every_prompt_code_of_the_policy_is_mapped_and_maps_to_a_prompt_of_the_table():
    decided = {p for _, p in SPOKEN}
    measuring = {"measure", "remeasure_fever", "remeasure_low", "remeasure_high", "remeasure_ambient", "remeasure_fault"}
    assert {p.value for p in Prompt} <= decided | measuring  # a new policy prompt must be given its words here
    for names in SPOKEN.values():
        assert set(names) <= set(NAMES)
    assert {v.value for v in Verdict} == {v for v, _ in SPOKEN} | {"remeasure"}


def test_an_admit_with_a_reading_says_the_temperature_is_normal():
    assert decision_prompts(decision("admit", "welcome", temperature_c=36.5)) == ("temperature_normal",)
    assert decision_prompts(decision("admit", "welcome", kind="visitor", temperature_c=36.4)) == ("temperature_normal",)


def test_vehicles_are_the_volunteers_the_gate_says_nothing():
    for verdict, prompt in (("admit", "welcome"), ("deny", "fever"), ("deny", "disinfect_vehicle")):
        assert decision_prompts(decision(verdict, prompt, kind="vehicle")) == ()


@pytest.mark.parametrize("prompt, said", [("remeasure_fever", ("measure_again",)), ("remeasure_low", ("measure_again",)),
                                          ("remeasure_high", ("measure_again",)), ("remeasure_ambient", ()),
                                          ("remeasure_fault", ())])
def test_remeasure_prompts(prompt, said):
    assert measuring_prompts({"prompt": prompt}, starting=False, greeted=False) == said


def test_a_passage_start_greets_unless_the_presence_sensor_already_did():
    assert measuring_prompts({"prompt": "measure"}, starting=True, greeted=False) == ("greeting_measure",)
    assert measuring_prompts({"prompt": "measure"}, starting=True, greeted=True) == ("face_thermometer",)
    assert measuring_prompts({"prompt": "measure"}, starting=False, greeted=False) == ()


class Clock:
    t = 0.0

    def __call__(self):
        return self.t


def test_the_chooser_says_each_moment_once():
    clock = Clock()
    chooser = PromptChooser(monotonic=clock)
    measuring = {"type": "measuring", "prompt": "measure"}
    assert chooser.feed(measuring) == ("greeting_measure",)
    assert chooser.feed(measuring) == ()  # repeated while nobody is in front: said once
    assert chooser.feed({"type": "measuring", "prompt": "remeasure_fever"}) == ("measure_again",)
    assert chooser.feed({"type": "measuring", "prompt": "remeasure_fever"}) == ()
    assert chooser.feed(decision("deny", "fever", temperature_c=38.6)) == ("fever",)
    assert chooser.feed({"type": "status"}) == ()
    # The next person: a new passage greets again.
    assert chooser.feed(measuring) == ("greeting_measure",)
    assert chooser.feed(decision("admit", "welcome", temperature_c=36.5)) == ("temperature_normal",)
    # The same card shown again at once shows the same decision: not said twice within repeat_s ...
    assert chooser.feed(decision("admit", "welcome", temperature_c=36.5, repeat=True)) == ()
    clock.t += 10  # ... but said again later
    assert chooser.feed(decision("admit", "welcome", temperature_c=36.5, repeat=True)) == ("temperature_normal",)


def test_an_abandoned_passage_ends_it():
    chooser = PromptChooser()
    assert chooser.feed({"type": "measuring", "prompt": "measure"}) == ("greeting_measure",)
    assert chooser.feed({"type": "abandoned"}) == ()
    assert chooser.feed({"type": "measuring", "prompt": "measure"}) == ("greeting_measure",)


def test_presence_greets_an_idle_gate_once_per_person_and_then_the_passage_only_asks_to_face_the_thermometer():
    chooser = PromptChooser(with_mask=True)
    assert chooser.presence(False) == ()
    assert chooser.presence(True) == ("greeting", "wear_mask")
    assert chooser.presence(True) == ()  # still the same person
    assert chooser.feed({"type": "measuring", "prompt": "measure"}) == ("face_thermometer",)
    assert chooser.presence(False) == () and chooser.presence(True) == ()  # in a passage: no greeting over it
    assert chooser.feed(decision("admit", "welcome", temperature_c=36.5)) == ("temperature_normal",)
    assert chooser.presence(False) == ()
    assert chooser.presence(True) == ("greeting", "wear_mask")  # the next person


# -- a real gate, heard through the fake loudspeaker -----------------------------------------------------------------

def wait_for(condition, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def heard(rig, tmp_path):
    audio = FakeAudio()
    voice = start_voice(rig.gate.checkpoint.config, rig.gate, audio)
    voice.speaker.library = {}  # names only: rendering is tested in tests/kiosk/voice
    voice.speaker._prepare = None
    yield audio
    voice.close()


def test_an_admitted_resident_is_greeted_then_told_to_go_through(rig, heard):
    rig.stand(36.5)
    rig.gate.choose_direction("in")
    outcome = rig.gate.scan(card())
    assert outcome.decision.verdict is Verdict.ADMIT
    wait_for(lambda: "temperature_normal" in heard.names(), what="the admit prompt")
    assert heard.names() in (["greeting_measure", "temperature_normal"], ["temperature_normal"])  # a greeting may go stale


def test_a_fever_is_told_with_the_alarm_tone_and_never_lost(rig, heard):
    rig.stand(38.6)
    rig.gate.choose_direction("in")
    outcome = rig.gate.scan(card())
    wait_for(lambda: rig.alarms("fever"), what="the fever alarm")
    assert outcome.decision.verdict in (Verdict.DENY, Verdict.REFER, Verdict.REMEASURE)
    wait_for(lambda: "fever" in heard.names(), what="the fever prompt")
    names = heard.names()
    assert names[names.index("fever") - 1] == "tone:alarm"


def test_a_forged_card_is_told_to_see_the_volunteer(rig, heard):
    text = card()
    rig.gate.scan(text[:-4] + ("AAAA" if not text.endswith("AAAA") else "BBBB"))
    wait_for(lambda: heard.names(), what="a prompt")
    assert heard.names() == ["card_invalid"]


def test_the_voice_switched_off_in_config_is_not_started(rig):
    config = rig.gate.checkpoint.config.model_copy(update={"voice": rig.gate.checkpoint.config.voice.model_copy(
        update={"enabled": False})})
    assert start_voice(config, rig.gate, FakeAudio()) is None
