"""The speaker worker: prompts are played on a thread of their own, never on the passage thread.

``say(names)`` queues one utterance (a few prompts said one after the other)
and returns at once. The queue is short on purpose: what the gate has to say
now replaces what it had not yet said (a "please face the thermometer" still
waiting when the decision comes is dropped, not said late), and an utterance
that waited longer than ``stale_s`` is dropped too. An urgent utterance (the
fever prompt with its alarm tone) is never dropped or replaced, and cuts a
playing ordinary prompt short. The volume is the day or night one at the
moment it plays, by the gate's clock in its time zone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.voice.prompts import BY_NAME
from kiosk.voice.settings import VoiceSettings
from kiosk.workers import Worker

log = logging.getLogger(__name__)

MAX_QUEUED = 3  # utterances waiting (urgent ones beyond this still wait: they are never dropped)
STALE_S = 4.0  # an ordinary utterance not begun within this long is no longer about what is happening


@dataclass
class Utterance:
    """Prompts to say one after the other, as one unit of the queue."""

    names: tuple[str, ...]
    urgent: bool
    queued_at: float
    dropped: list[str] = field(default_factory=list)


class Speaker(Worker):
    """Plays utterances through ``audio`` (AlsaAudio or FakeAudio) from files in ``library`` (name → WAV path).

    ``enabled`` names the prompts that may play (config ``voice.prompts``);
    anything else asked for is left out silently. ``prepare`` runs once on the
    speaker's thread before the first prompt (rendering missing files), so a
    gate starts without waiting for it.
    """

    def __init__(self, audio: Any, settings: VoiceSettings, *, library: dict[str, Path] | None = None,
                 timezone: str = "Asia/Shanghai", clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 monotonic: Callable[[], float] = time.monotonic, stale_s: float = STALE_S,
                 prepare: Callable[[], dict[str, Path] | None] | None = None):
        super().__init__("voice")
        self.audio = audio
        self.settings = settings
        self.library = dict(library or {})
        self.enabled = set(settings.prompts)
        self.tz = ZoneInfo(timezone)
        self.clock = clock
        self.monotonic = monotonic
        self.stale_s = stale_s
        self.dropped = 0  # utterances replaced or gone stale (for tests and a look from the console)
        self._prepare = prepare
        self._queue: list[Utterance] = []
        self._warned: set[str] = set()
        self._playing: Utterance | None = None
        self._lock = threading.Lock()

    # -- asking -------------------------------------------------------------------------------------------------------

    def say(self, names: Sequence[str] | str) -> Utterance | None:
        """Queue ``names`` as one utterance (returns it), or None when none of them is enabled or the gate is silent."""
        wanted = tuple(n for n in ([names] if isinstance(names, str) else names) if n in self.enabled and n in BY_NAME)
        if not wanted or not self.settings.enabled or self.volume_now() <= 0:
            return None
        utterance = Utterance(wanted, any(BY_NAME[n].urgent for n in wanted), self.monotonic())
        interrupt = False
        with self._lock:
            # What was not said yet is stale now: the new utterance replaces it (urgent ones stay, in order).
            replaced = [u for u in self._queue if not u.urgent]
            self.dropped += len(replaced)
            self._queue = [u for u in self._queue if u.urgent]
            if not utterance.urgent and len(self._queue) >= MAX_QUEUED:
                self.dropped += 1
                return None  # urgent ones fill the queue: an ordinary prompt waits for none of them
            self._queue.append(utterance)
            playing = self._playing
            interrupt = utterance.urgent and playing is not None and not playing.urgent
        if interrupt:
            self.audio.stop()
        self.wake()
        return utterance

    def pending(self) -> list[tuple[str, ...]]:
        """What waits to be said, in order."""
        with self._lock:
            return [u.names for u in self._queue]

    def volume_now(self) -> int:
        """Day or night volume now, by the gate's clock in its time zone."""
        return self.settings.volume_at(self.clock().astimezone(self.tz))

    # -- the worker ---------------------------------------------------------------------------------------------------

    def step(self) -> float:
        """Prepare once, then say the next utterance; wait to be woken when there is none."""
        if self._prepare is not None:
            prepare, self._prepare = self._prepare, None
            try:
                made = prepare()
            except Exception as exc:  # no espeak-ng, a full disk: the gate goes on, silent for the missing prompts
                log.warning("voice: the prompts could not be rendered: %s", exc)
                made = None
            if made:
                self.library.update(made)
        with self._lock:
            utterance = self._next()
            self._playing = utterance
        if utterance is None:
            return 1.0
        try:
            self._say(utterance)
        finally:
            with self._lock:
                self._playing = None
        return 0

    def _next(self) -> Utterance | None:
        now = self.monotonic()
        while self._queue:
            utterance = self._queue.pop(0)
            if utterance.urgent or now - utterance.queued_at <= self.stale_s:
                return utterance
            self.dropped += 1
        return None

    def _say(self, utterance: Utterance) -> None:
        for name in utterance.names:
            if self.stopping.is_set():
                return
            with self._lock:
                cut = not utterance.urgent and any(u.urgent for u in self._queue)
            if cut:
                return  # an urgent one is waiting: the rest of this one is not said
            volume = self.volume_now()
            if volume <= 0:
                return
            prompt = BY_NAME[name]
            try:
                if prompt.tone is not None:
                    self.audio.play(f"tone:{prompt.tone}", self.library.get(f"tone:{prompt.tone}"), volume)
                self.audio.play(name, self.library.get(name), volume)
            except Exception as exc:  # a missing file or a busy device: say so in the log (once a name), go on
                if name not in self._warned:
                    self._warned.add(name)
                    log.warning("voice: %s not played: %s", name, exc)

    def close(self) -> bool:
        """Stop the prompt playing now and the worker."""
        self.stopping.set()
        self.audio.stop()
        stopped = self.stop()
        self.audio.close()
        return stopped

