"""The gate at work: one passage from a scanned text to lights, ledger and screen.

``Gate.scan`` runs the checkpoint chain, takes thermometer readings while the
policy says ``remeasure``, then drives the signals, wakes the sync client when
there are alarms, and publishes the decision for the screen. The devices are
handed in (real, or the simulated bundle); nothing here imports hardware.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any, Callable

from kiosk.broadcast import Broadcaster
from kiosk.checkpoint import Checkpoint, Outcome
from kiosk.measurements import Measurement, MeasurementSource
from kiosk.privacy import mask_name
from kiosk.policy import Verdict


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Gate:
    """One gate's passage loop over its checkpoint and devices; thread-safe (one passage at a time)."""

    def __init__(
        self,
        checkpoint: Checkpoint,
        *,
        thermometer: Any = None,
        signals: Any = None,
        sync: Any = None,
        clock: Callable[[], datetime] = _now,
        max_readings: int = 4,
    ):
        self.checkpoint = checkpoint
        self.thermometer = thermometer
        self.signals = signals
        self.sync = sync
        self.clock = clock
        self.max_readings = max_readings
        self.updates = Broadcaster()
        self.volunteer_id: str | None = None
        self._lock = threading.Lock()
        self._last: dict | None = None

    def scan(self, text: str | None, *, direction: str | None = None, manual_c: float | None = None,
             handheld_c: float | None = None) -> Outcome:
        """Decide one passage for a scanned ``text`` (None: someone without a card), measuring as the policy asks."""
        with self._lock:
            readings: list[Measurement] = []
            if manual_c is not None:
                readings.append(Measurement(manual_c, None, MeasurementSource.MANUAL, self.clock()))
            if handheld_c is not None:
                readings.append(Measurement(handheld_c, None, MeasurementSource.HANDHELD_CONTACT, self.clock()))
            outcome = self._decide(text, readings, direction)
            while (outcome.decision.verdict is Verdict.REMEASURE and self.thermometer is not None
                   and len(readings) < self.max_readings):
                reading = self.thermometer.measure(require_presence=True)
                if reading is None:  # nobody in front of the sensor: the screen asks them to step up
                    break
                readings.append(reading)
                outcome = self._decide(text, readings, direction)
            self._act(outcome)
            return outcome

    def _decide(self, text: str | None, readings: list[Measurement], direction: str | None) -> Outcome:
        return self.checkpoint.passage(text, self.clock(), readings, direction=direction, volunteer_id=self.volunteer_id)

    def _act(self, outcome: Outcome) -> None:
        decision = outcome.decision
        if self.signals is not None:
            self.signals.show(decision.verdict.value)
            for alarm in decision.alarms:
                self.signals.alarm(alarm.kind.value)
        if decision.alarms and self.sync is not None:
            self.sync.poke()  # alarms reach the office within seconds, not at the next round
        shown = self.screen(outcome)
        self._last = shown
        self.updates.publish([shown])

    @staticmethod
    def screen(outcome: Outcome) -> dict:
        """What the page shows for a decision: no full names, no card numbers beyond the card id."""
        decision = outcome.decision
        holder = decision.holder
        return {
            "type": "decision",
            **{k: v for k, v in decision.to_dict().items() if k not in ("alarms",)},
            "alarms": [a.kind.value for a in decision.alarms],
            "name": mask_name(holder.name) if holder and holder.name else None,
            "household": holder.household if holder else None,
            "seq": [e.seq for e in outcome.events],
        }

    def status(self) -> dict:
        """The gate's state for the waiting screen and the local API."""
        journal = self.checkpoint.journal
        thermometer = None
        if self.thermometer is not None:
            thermometer = self.thermometer.status.to_dict()
        sync = None
        if self.sync is not None:
            s = self.sync.status
            sync = {"online": s.online, "last_success": s.last_success, "last_error": s.last_error}
        gate = self.checkpoint.config.gate
        return {
            "gate": {"id": gate.id, "name": gate.name},
            "journal": {"last_seq": journal.last_seq, "backlog": journal.backlog()},
            "registry_version": self.checkpoint.registry.version,
            "thermometer": thermometer,
            "office": sync,
            "volunteer_id": self.volunteer_id,
            "last_decision": self._last,
        }
