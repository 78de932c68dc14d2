"""The gate's moments → what it says: a pure mapping from the page's stream items to prompt names, and the
listener that feeds the speaker from ``Gate.updates`` (the broadcaster the touchscreen's stream reads).

The mapping sees the same items the page does (``measuring``, ``decision``,
``abandoned``, ``status``…) and never the passage's internals, so the gate's
decision code has no idea it speaks. A passage's first ``measuring`` item is
its start: with no presence sensor the greeting is said then (您好，请面向测温仪);
with one, the greeting (您好，请出示出入证) is said when someone steps up to an
idle gate, and a passage's start asks only to face the thermometer. The
measuring items repeat while nobody is in front; a prompt is said once per
change, and a repeated decision (the same card again) only after
``repeat_s``. Vehicles are dealt with by the volunteer at the car window: the
gate says nothing for them.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.workers import Worker

# A card prompt for every way a card can be refused (the screen says which; the voice says: see the volunteer).
_CARD_PROMPTS = frozenset({"card_rejected", "card_expired", "card_not_yet_valid", "card_foreign", "card_lost",
                           "card_replaced", "card_revoked", "card_moved_out", "card_not_in_registry"})
# Refusals and referrals where the person should turn to the volunteer.
_SEE_VOLUNTEER = frozenset({"handheld_check", "quarantine", "outing_limit", "visitor_pass_outside_window"})
# Re-measure prompts the person can act on (closer, hold still); the thermometer's own troubles are the volunteer's.
_MEASURE_AGAIN = frozenset({"remeasure_fever", "remeasure_low", "remeasure_high"})
_GREETINGS = ("greeting", "greeting_measure")
REPEAT_S = 6.0


def decision_prompts(item: dict) -> tuple[str, ...]:
    """What to say for a decision the page is shown (``type: decision``); () for nothing."""
    if item.get("kind") == "vehicle":
        return ()
    verdict, prompt = item.get("verdict"), item.get("prompt")
    if prompt == "fever":
        return ("fever",)
    if verdict == "admit":
        return ("temperature_normal",) if item.get("temperature_c") is not None else ("go_through",)
    if prompt in _CARD_PROMPTS or str(prompt).startswith("card_"):
        return ("card_invalid",)
    if prompt == "register_visitor":
        return ("register_with_volunteer",)
    if prompt in _SEE_VOLUNTEER or verdict in ("deny", "refer"):
        return ("see_volunteer",) if prompt not in ("register_vehicle", "disinfect_vehicle") else ()
    return ()


def measuring_prompts(item: dict, *, starting: bool, greeted: bool) -> tuple[str, ...]:
    """What to say for a ``measuring`` item: the passage's start (greeting unless the presence sensor greeted)
    or a re-measure the person can act on."""
    prompt = item.get("prompt")
    if prompt in _MEASURE_AGAIN:
        return ("measure_again",)
    if prompt == "measure" and starting:
        return ("face_thermometer",) if greeted else ("greeting_measure",)
    return ()


class PromptChooser:
    """The state the mapping needs between items: is a passage under way, what was said last and when.

    ``feed(item)`` returns the names to say for it (already deduplicated);
    ``presence(now_present)`` the greeting for someone stepping up. Pure
    apart from ``monotonic``; no threads.
    """

    def __init__(self, *, with_mask: bool = False, monotonic: Callable[[], float] = time.monotonic,
                 repeat_s: float = REPEAT_S):
        self.with_mask = with_mask
        self.monotonic = monotonic
        self.repeat_s = repeat_s
        self.in_passage = False
        self.greeted = False  # the presence sensor's greeting was said for the person now in front
        self._present = False
        self._last: tuple[tuple[str, ...], float] | None = None
        self._measuring_prompt: str | None = None

    def feed(self, item: dict) -> tuple[str, ...]:
        """The prompts for one stream item."""
        kind = item.get("type")
        if kind == "measuring":
            starting = not self.in_passage
            self.in_passage = True
            if not starting and item.get("prompt") == self._measuring_prompt:
                return ()  # the same prompt again while nobody is in front yet
            self._measuring_prompt = item.get("prompt")
            names = measuring_prompts(item, starting=starting, greeted=self.greeted)
            return self._said(self._masked(names))
        if kind == "decision":
            names = decision_prompts(item)
            if item.get("verdict") not in ("remeasure", "ask"):
                self._end()
            if item.get("repeat") and self._last is not None and self._last[0] == names \
                    and self.monotonic() - self._last[1] < self.repeat_s:
                return ()
            return self._said(names)
        if kind == "abandoned":
            self._end()
        return ()

    def presence(self, present: bool) -> tuple[str, ...]:
        """Someone stepped up (``present`` went true) at an idle gate: the greeting; else nothing."""
        rising = present and not self._present
        self._present = present
        if not present:
            self.greeted = False
        if rising and not self.in_passage:
            self.greeted = True
            return self._said(self._masked(("greeting",)))
        return ()

    def _masked(self, names: tuple[str, ...]) -> tuple[str, ...]:
        if self.with_mask and names and names[0] in _GREETINGS:
            return (*names, "wear_mask")
        return names

    def _end(self) -> None:
        self.in_passage = False
        self._measuring_prompt = None
        self.greeted = False if not self._present else self.greeted

    def _said(self, names: tuple[str, ...]) -> tuple[str, ...]:
        if names:
            self._last = (names, self.monotonic())
        return names


class VoicePrompts(Worker):
    """Listens to the gate's updates and asks the speaker to say what the chooser picks; polls presence if given."""

    def __init__(self, updates: Any, speaker: Any, chooser: PromptChooser, *,
                 presence: Callable[[], bool] | None = None, poll_s: float = 0.2):
        super().__init__("voice-prompts")
        self.updates = updates
        self.speaker = speaker
        self.chooser = chooser
        self.presence = presence
        self.poll_s = poll_s
        self._queue: queue.Queue | None = updates.subscribe()

    def step(self) -> float:
        """Take the items published since the last turn (waiting up to ``poll_s``), then look at presence."""
        if self._queue is None:
            self._queue = self.updates.subscribe()
        try:
            item = self._queue.get(timeout=self.poll_s)
        except queue.Empty:
            item = False
        while item is not False:
            if item is None:  # dropped by the broadcaster (we fell behind): listen again from now
                self._queue = self.updates.subscribe()
                break
            self._speak(self.chooser.feed(item))
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                item = False
        if self.presence is not None:
            self._speak(self.chooser.presence(bool(self.presence())))
        return 0

    def _speak(self, names: tuple[str, ...]) -> None:
        if names:
            self.speaker.say(names)

    def close(self) -> bool:
        """Stop listening."""
        stopped = self.stop()
        if self._queue is not None:
            self.updates.unsubscribe(self._queue)
            self._queue = None
        return stopped


class GateVoice:
    """The voice of one gate process: the speaker and the listener, started and closed together."""

    def __init__(self, speaker: Any, listener: VoicePrompts, audio: Any):
        self.speaker, self.listener, self.audio = speaker, listener, audio

    def start(self) -> GateVoice:
        """Start both workers."""
        self.speaker.start()
        self.listener.start()
        return self

    def close(self) -> None:
        """Stop listening first, then the speaker (a prompt playing is cut short)."""
        self.listener.close()
        self.speaker.close()


def caption(played: dict) -> dict:
    """A stream item for the simulated page: what the gate just said (its Chinese words and the English gloss)."""
    from kiosk.voice.prompts import BY_NAME

    prompt = BY_NAME.get(played["name"])
    return {"type": "voice", "name": played["name"], "volume": played["volume"],
            "text": prompt.text if prompt else None, "english": prompt.english if prompt else None}


def prompts_folder(config: Any) -> Path:
    """Where the gate keeps its rendered prompts: ``voice.prompts_dir`` or DATA_DIR/voice."""
    return Path(config.voice.prompts_dir) if config.voice.prompts_dir else Path(config.gate.data_dir) / "voice"


def prepare_prompts(folder: Path) -> dict[str, Path]:
    """Render the prompts into ``folder`` if they are missing or out of date and espeak-ng is here (the tone is
    made either way); returns what can be played."""
    from kiosk.voice.render import espeak_path, library, render_all, up_to_date
    from kiosk.voice.tone import TONES, write_tone

    if not up_to_date(folder):
        if espeak_path() is not None:
            render_all(folder)
        else:
            folder.mkdir(parents=True, exist_ok=True)
            found = library(folder)
            for name in TONES:
                found[f"tone:{name}"] = write_tone(name, folder / f"tone-{name}.wav")
            return found
    return library(folder)


def start_voice(config: Any, gate: Any, audio: Any = None) -> GateVoice | None:
    """The gate's voice as configured (None when ``voice.enabled`` is false); ``audio`` a fake in simulation,
    else ALSA on ``voice.device``. Prompts missing or out of date are rendered on the speaker's thread."""
    settings = config.voice
    if not settings.enabled:
        return None
    from kiosk.voice.speaker import Speaker

    if audio is None:
        from sensors.audio import AlsaAudio

        audio = AlsaAudio(settings.device)
    else:
        audio.on_play = lambda played: gate.updates.publish([caption(played)])  # the simulated page's caption
    folder = prompts_folder(config)
    speaker = Speaker(audio, settings, timezone=config.gate.timezone, clock=gate.clock,
                      prepare=lambda: prepare_prompts(folder))
    signals = gate.signals
    presence = None
    if signals is not None and config.signals.presence is not None and hasattr(signals, "presence"):
        presence = signals.presence
    chooser = PromptChooser(with_mask="wear_mask" in settings.prompts)
    return GateVoice(speaker, VoicePrompts(gate.updates, speaker, chooser, presence=presence), audio).start()
