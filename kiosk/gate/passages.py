"""The gate at work: passages, vehicles, visitors, shifts and alarms, from a scan or a tap to lights, ledger and screen.

``Gate.scan`` runs the checkpoint chain and takes thermometer readings while
the policy says ``remeasure`` (waiting a while for the person to step up).
A passage still undecided stays *pending*: the volunteer can type a reading
(the thermometer is down) or the person scans again; when it times out or
another card comes, it is journaled as abandoned, so a high reading is never
lost. Every change is published for the screen (server-sent events). The
devices are handed in (real, or the simulated bundle); nothing here imports
hardware.
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from kiosk.broadcast import Broadcaster
from kiosk.gate.checkpoint import Checkpoint, Outcome
from kiosk.events import EventKind
from kiosk.exc import KioskError
from kiosk.gate.ledger import GateLedger, local_midnight
from kiosk.measurements import Measurement, MeasurementSource
from kiosk.gate.policy import Prompt, Verdict
from kiosk.privacy import mask_name
from kiosk.gate.shifts import ShiftDesk
from kiosk.gate.visitors import VisitorRegistration

# Below this the disk is "nearly full" on screen and in the heartbeat: the journal must never fail to write.
DISK_LOW_BYTES = 200 * 1024 * 1024
# How often the measuring loop looks for a person stepping up.
_PRESENCE_POLL_S = 0.2


def _now() -> datetime:
    return datetime.now(timezone.utc)


class GateError(KioskError, ValueError):
    """A request the gate cannot carry out as asked (nothing waiting for a reading, a bad plate)."""


@dataclass
class _Pending:
    """A passage that still needs a temperature (undecided), or a decided one a handheld reading may settle."""

    text: str | None
    direction: str | None
    readings: list[Measurement]
    outcome: Outcome
    decided: bool = False
    timer: threading.Timer | None = field(default=None, repr=False)


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
        presence_wait_s: float = 0.0,
        remeasure_pause_s: float = 0.0,
        pending_s: float = 120.0,
        id_key: bytes = b"",
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.checkpoint = checkpoint
        self.thermometer = thermometer
        self.signals = signals
        self.sync = sync
        self.clock = clock
        self.max_readings = max_readings
        self.presence_wait_s = presence_wait_s
        self.remeasure_pause_s = remeasure_pause_s
        self.pending_s = pending_s
        self.id_key = id_key
        self._sleep = sleep
        self.updates = Broadcaster()
        self.shifts = ShiftDesk(checkpoint.registry, checkpoint.journal, clock)
        self.ledger = GateLedger(checkpoint.journal, checkpoint.registry, checkpoint.config.gate.timezone)
        self.faults: dict[str, dict] = {}
        self.scanner_status: Callable[[], Any] | None = None
        self._volunteer_id = self.shifts.on_duty()
        self._lock = threading.Lock()
        self._last: dict | None = None
        self._pending: _Pending | None = None
        self._published: dict | None = None

    @property
    def volunteer_id(self) -> str | None:
        """The volunteer on duty (their id goes on every event), or None."""
        return self._volunteer_id

    # -- passages -------------------------------------------------------------

    def scan(self, text: str | None, *, direction: str | None = None, manual_c: float | None = None,
             handheld_c: float | None = None) -> Outcome:
        """Decide one passage for a scanned ``text`` (None: someone without a card), measuring as the policy asks."""
        with self._lock:
            pending = self._pending
            readings: list[Measurement] = []
            if pending is not None and not pending.decided and pending.text == text and text is not None:
                readings = list(pending.readings)  # the same card again: carry on with its readings
            else:
                self._drop_pending(abandon=True)
            if manual_c is not None:
                readings.append(Measurement(manual_c, None, MeasurementSource.MANUAL, self.clock()))
            if handheld_c is not None:
                readings.append(Measurement(handheld_c, None, MeasurementSource.HANDHELD_CONTACT, self.clock()))
            outcome = self._measure(text, readings, direction)
            self._settle(text, direction, readings, outcome)
            return outcome

    def add_reading(self, celsius: float, source: str = "manual") -> Outcome:
        """A temperature the volunteer typed for the waiting passage: manual IR gun, or a handheld contact reading."""
        kind = MeasurementSource.HANDHELD_CONTACT if source == "handheld_contact" else MeasurementSource.MANUAL
        with self._lock:
            pending = self._pending
            if pending is None:
                raise GateError("no passage is waiting for a temperature: scan the card first")
            readings = [*pending.readings, Measurement(celsius, None, kind, self.clock())]
            outcome = self._decide(pending.text, readings, pending.direction)
            self._settle(pending.text, pending.direction, readings, outcome)
            return outcome

    def _decide(self, text: str | None, readings: list[Measurement], direction: str | None) -> Outcome:
        return self.checkpoint.passage(text, self.clock(), readings, direction=direction, volunteer_id=self.volunteer_id)

    def _measure(self, text: str | None, readings: list[Measurement], direction: str | None) -> Outcome:
        """Decide, taking sensor readings while the policy asks for them and someone is (or steps) in front."""
        outcome = self._decide(text, readings, direction)
        deadline = time.monotonic() + self.presence_wait_s
        while (outcome.decision.verdict is Verdict.REMEASURE and self.thermometer is not None
               and sum(r.source is MeasurementSource.SENSOR for r in readings) < self.max_readings):
            self._publish_measuring(outcome)
            if outcome.decision.prompt is Prompt.REMEASURE_FEVER and self.remeasure_pause_s:
                self._sleep(self.remeasure_pause_s)  # a moment for a warm forehead to settle, as the prompt says
            reading = self.thermometer.measure(require_presence=True)
            if reading is None:  # nobody in front of the sensor yet
                if time.monotonic() >= deadline:
                    break
                self._sleep(_PRESENCE_POLL_S)
                continue
            readings.append(reading)
            outcome = self._decide(text, readings, direction)
        return outcome

    def _publish_measuring(self, outcome: Outcome) -> None:
        decision = outcome.decision
        self.updates.publish([{"type": "measuring", "prompt": decision.prompt.value,
                               "temperature_c": decision.temperature_c, **_who(decision)}])

    def _settle(self, text: str | None, direction: str | None, readings: list[Measurement], outcome: Outcome) -> None:
        """Keep what the volunteer may still act on, then signal and publish the outcome."""
        decision = outcome.decision
        self._drop_pending(abandon=False)
        undecided = decision.verdict is Verdict.REMEASURE
        needs_handheld = decision.prompt in (Prompt.FEVER, Prompt.HANDHELD_CHECK) and not decision.vehicle
        if undecided or needs_handheld:
            pending = _Pending(text, direction, list(readings), outcome, decided=not undecided)
            pending.timer = threading.Timer(self.pending_s, self._expire, args=(pending,))
            pending.timer.daemon = True
            pending.timer.start()
            self._pending = pending
        self._act(outcome)

    def _drop_pending(self, *, abandon: bool) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        if pending.timer is not None:
            pending.timer.cancel()
        if abandon and not pending.decided:
            event = self.checkpoint.abandon(pending.outcome, pending.readings, self.volunteer_id)
            self.updates.publish([{"type": "abandoned", "seq": [event.seq], **_who(pending.outcome.decision)}])

    def _expire(self, pending: _Pending) -> None:
        with self._lock:
            if self._pending is pending:
                self._drop_pending(abandon=True)

    def _act(self, outcome: Outcome, **shown_as: Any) -> None:
        decision = outcome.decision
        if self.signals is not None:
            self.signals.show(decision.verdict.value)
            for alarm in decision.alarms:
                self.signals.alarm(alarm.kind.value)
        if decision.alarms and self.sync is not None:
            self.sync.poke()  # alarms reach the office within seconds, not at the next round
        shown = {**self.screen(outcome), **shown_as}
        self._last = shown
        self.updates.publish([shown])
        if outcome.events:
            self.publish_status_if_changed()  # after the decision: the badge and backlog follow, the screen does not wait

    @staticmethod
    def screen(outcome: Outcome, kind: str = "person") -> dict:
        """What the page shows for a decision: no full names, no card numbers beyond the card id."""
        decision = outcome.decision
        return {
            "type": "decision",
            "kind": "vehicle" if decision.vehicle else kind,
            **{k: v for k, v in decision.to_dict().items() if k not in ("alarms",)},
            "alarms": [a.kind.value for a in decision.alarms],
            **_who(decision),
            "seq": [e.seq for e in outcome.events],
        }

    # -- vehicles and visitors ------------------------------------------------

    def vehicle(self, *, plate: str | None = None, text: str | None = None, disinfected: bool = False,
                passengers: int = 0, driver: str | None = None, direction: str | None = None) -> Outcome:
        """Decide and journal a vehicle from a typed plate or a scanned vehicle card."""
        if not plate and not text:
            raise GateError("a vehicle needs a plate or a vehicle card")
        extra = {"passengers": passengers, "driver": driver}
        with self._lock:
            outcome = self.checkpoint.vehicle(self.clock(), plate=plate, text=text, disinfected=disinfected,
                                              direction=direction, volunteer_id=self.volunteer_id, extra=extra)
            self._act(outcome)
            return outcome

    def visitor(self, registration: VisitorRegistration, temperatures: list[float], source: str = "manual",
                direction: str = "in") -> Outcome:
        """Register a visitor with the temperatures taken so far; journaled once decided (remeasure asks for one more)."""
        kind = MeasurementSource.HANDHELD_CONTACT if source == "handheld_contact" else (
            MeasurementSource.SENSOR if source == "sensor" else MeasurementSource.MANUAL)
        readings = [Measurement(c, None, kind, self.clock()) for c in temperatures]
        if registration.id_number and not self.id_key:
            raise GateError("this gate has no ID-number hash key: register the visitor without the ID number")
        with self._lock:
            outcome = self.checkpoint.visitor(registration, self.clock(), readings, self.id_key,
                                              direction=direction, volunteer_id=self.volunteer_id)
            if outcome.decision.verdict is not Verdict.REMEASURE:
                self._act(outcome, kind="visitor", name=mask_name(registration.name),
                          household=self.checkpoint.registry.household_label_of(registration.host_household_id))
            return outcome

    def measure_once(self) -> Measurement | None:
        """One thermometer reading of whoever is in front (the visitor form's "measure" button)."""
        if self.thermometer is None:
            raise GateError("this gate has no thermometer: type the reading")
        deadline = time.monotonic() + max(self.presence_wait_s, 0.0)
        while True:
            reading = self.thermometer.measure(require_presence=True)
            if reading is not None or time.monotonic() >= deadline:
                return reading
            self._sleep(_PRESENCE_POLL_S)

    # -- shifts and alarms ----------------------------------------------------

    def sign_in(self, volunteer_id: int, pin: str) -> dict:
        """Sign a volunteer in by PIN (raises ShiftError); returns who is on duty now."""
        self.shifts.sign_in(volunteer_id, pin)
        self._volunteer_id = str(volunteer_id)
        return self._publish_status()["volunteer"]

    def sign_out(self) -> None:
        """Sign the volunteer on duty out."""
        self.shifts.sign_out()
        self._volunteer_id = None
        self._publish_status()

    def acknowledge(self, alarm_seq: int, note: str) -> None:
        """The volunteer on duty has dealt with an alarm (raises AlarmError)."""
        self.ledger.acknowledge(alarm_seq, self.volunteer_id, note, self.clock())
        if self.signals is not None:
            self.signals.show("idle")
        if self.sync is not None:
            self.sync.poke()
        self._publish_status()

    # -- faults and status ----------------------------------------------------

    def report_fault(self, part: str, fault: str | None, detail: str | None = None) -> None:
        """A part failed (``fault`` set) or recovered (None): journal the change once, show it, tell the office."""
        was = self.faults.get(part)
        if (was or {}).get("fault") == fault:
            return
        if fault is None and was is None:
            return
        if fault is None:
            self.faults.pop(part, None)
        else:
            self.faults[part] = {"fault": fault, "detail": detail, "since": self.clock().isoformat()}
        self.checkpoint.journal.append(EventKind.SENSOR_FAULT, {"part": part, "fault": fault, "detail": detail},
                                       volunteer_id=self.volunteer_id)
        if self.signals is not None:
            self.signals.fault(bool(self.faults))
        if self.sync is not None:
            self.sync.poke()
        self._publish_status()

    def _publish_status(self) -> dict:
        status = self.status()
        self._published = _top_bar(status)
        self.updates.publish([{"type": "status", **status}])
        return status

    def publish_status_if_changed(self) -> None:
        """Push the status to the page when something on its top bar changed (office link, backlog, alarms, faults).

        Called after each journaled decision and by a timer in ``kiosk run``, so the page never has to poll.
        """
        status = self.status()
        shown = _top_bar(status)
        if shown != self._published:
            self._published = shown
            self.updates.publish([{"type": "status", **status}])

    def status(self) -> dict:
        """The gate's state for the waiting screen and the local API."""
        checkpoint = self.checkpoint
        journal = checkpoint.journal
        now = self.clock()
        thermometer = self.thermometer.status.to_dict() if self.thermometer is not None else None
        sync = None
        if self.sync is not None:
            s = self.sync.status
            sync = {"online": s.online, "last_success": s.last_success, "last_error": s.last_error}
        camera = None
        if self.scanner_status is not None:
            scanner = self.scanner_status()
            camera = {"state": scanner.state, "last_error": scanner.last_error}
        disk_free = shutil.disk_usage(journal.path.parent).free
        gate = checkpoint.config.gate
        return {
            "gate": {"id": gate.id, "name": gate.name},
            "journal": {"last_seq": journal.last_seq, "backlog": journal.backlog()},
            "registry_version": checkpoint.registry.version,
            "thermometer": thermometer,
            "camera": camera,
            "office": sync,
            "disk": {"free_bytes": disk_free, "low": disk_free < DISK_LOW_BYTES},
            "faults": dict(self.faults),
            "volunteer_id": self.volunteer_id,
            "volunteer": self.shifts.duty(local_midnight(now, gate.timezone)),
            "open_alarms": len(self.ledger.open_alarms(now)),
            "waiting_for_temperature": self._pending is not None,
            "last_decision": self._last,
        }


def _top_bar(status: dict) -> dict:
    """What of a status the page's top bar shows: a change here is worth a push (free bytes alone are not)."""
    return {**{k: v for k, v in status.items() if k not in ("last_decision", "disk")}, "disk_low": status["disk"]["low"]}


def _who(decision) -> dict:
    holder = decision.holder
    return {"name": mask_name(holder.name) if holder and holder.name else None,
            "household": holder.household if holder else None}
