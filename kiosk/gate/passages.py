"""The gate at work: passages, vehicles, visitors, shifts and alarms, from a scan or a tap to lights, ledger and screen.

A passage runs on the **passage worker** (one thread): the scanner, the USB
scanner and the local API hand it scans and go on; measuring waits on the
worker, never on them and never under a lock a request needs. A passage that
still needs a temperature (``remeasure``) or a direction (``ask``) stays
*pending*: the worker keeps looking for the person at the thermometer until
the pending time runs out, the volunteer can type a reading or tap 进 / 出,
and the same card seen again continues it. When it times out or another card
comes, it is journaled as abandoned, so a high reading is never lost. A card
seen again within ``same_card_window_s`` of its last sighting after its
passage was decided shows that decision again: one passage per person.
Every change is published for the screen (server-sent events). The devices
are handed in (real, or the simulated bundle); nothing here imports hardware.
"""

from __future__ import annotations

import dataclasses
import queue
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

# What a volunteer can say was done about each kind of alarm: one definition, shared with the office
# (kiosk.alarm_outcomes); the API accepts exactly these codes, the words are in web/gate/messages.py.
from kiosk.alarm_outcomes import ACK_OUTCOMES, ACK_OUTCOMES_ANY, ACK_OUTCOMES_BY_KIND
from kiosk.broadcast import Broadcaster
from kiosk.config.base import Direction, Lane
from kiosk.disk import disk_low
from kiosk.events import Event, EventKind
from kiosk.exc import KioskError, Refusal
from kiosk.gate.checkpoint import Checkpoint, Outcome
from kiosk.gate.direction import DirectionChoice, DirectionSource, Heading, gate_lane
from kiosk.gate.ledger import GateLedger, local_midnight
from kiosk.gate.policy import AlarmKind, Prompt, Verdict, overdue_returns
from kiosk.gate.shifts import ShiftDesk
from kiosk.gate.unstaffed import UnstaffedWatch
from kiosk.gate.vehicle_form import VehicleForm, VehicleFormError
from kiosk.gate.visitor_followup import VisitorFollowUp, follow_up
from kiosk.gate.visitors import VisitorRegistration
from kiosk.measurements import Measurement, MeasurementSource
from kiosk.privacy import mask_name
from kiosk.workers import Worker

# How often the worker looks for a person stepping up to the thermometer.
_PRESENCE_POLL_S = 0.2
# A walk-up's unknown-visitor alarm is closed by the registration that follows it within this long.
_VISITOR_ALARM_WINDOW = timedelta(minutes=30)


def _now() -> datetime:
    return datetime.now(UTC)


class GateError(Refusal):
    """A request the gate cannot carry out as asked (nothing waiting for a reading, a bad plate).

    ``GateError(code, english, **fields)``: the screen's words for ``code`` are in web/gate/errors.py.
    """


@dataclass
class _Pending:
    """A passage that still needs a temperature or a direction (undecided), or a decided one a handheld may settle."""

    text: str | None
    heading: Heading
    readings: list[Measurement]
    outcome: Outcome
    deadline: float  # monotonic: abandoned (undecided) or forgotten (decided) then
    decided: bool = False
    raised: dict[str, Event] = field(default_factory=dict)  # alarm kind → the alarm this passage raised
    passage_seq: int | None = None  # the passage event a handheld reading supersedes
    next_tick: float = 0.0  # monotonic: when the next thermometer reading may start
    started: float = 0.0
    in_flight: bool = False  # a thermometer reading for this passage is being taken now
    answer: Future | None = None  # what a waiting ``scan()`` caller gets: settled, or nobody in front


@dataclass
class _Seen:
    """A decided passage's card, for the window in which seeing it again shows the same decision."""

    outcome: Outcome
    shown: dict
    last_seen: float


class PassageWorker(Worker):
    """The one thread passages run on: jobs from the scanners, the API and the thermometer's readings."""

    def __init__(self, gate: Gate):
        super().__init__("passage-worker", on_fault=lambda worker, exc: gate.report_fault(
            "passage", "error", f"{type(exc).__name__}: {exc}"))
        self.gate = gate
        self.jobs: queue.Queue[tuple[Callable[[], Any], Future] | None] = queue.Queue(maxsize=256)

    def submit(self, job: Callable[[], Any]) -> Future:
        """Queue ``job`` for the worker; the future has its result (when the queue is full, the job is refused)."""
        future: Future = Future()
        try:
            self.jobs.put_nowait((job, future))
        except queue.Full:
            future.set_exception(GateError("busy", "the gate is busy: scan again"))
        return future

    def wake(self) -> None:
        """End the wait for a job at once (a stop, or a new tick to schedule)."""
        super().wake()
        try:
            self.jobs.put_nowait(None)
        except queue.Full:
            pass  # a full queue wakes the worker anyway

    def stop(self, timeout: float | None = 5.0) -> bool:
        """Stop after the job in hand; queued jobs are dropped with the worker."""
        self.stopping.set()
        self.wake()
        return super().stop(timeout)

    def step(self) -> float:
        """Run the next job, or look at the pending passage when its time comes."""
        wait = self.gate.next_tick_in()
        try:
            item = self.jobs.get(timeout=min(wait, 0.5) if wait is not None else 0.5)
        except queue.Empty:
            item = None
        if item is not None:
            job, future = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(job())
                except BaseException as exc:  # the caller sees it; the loop goes on
                    future.set_exception(exc)
        self.gate.tick()
        return 0


class Gate:
    """One gate's passages over its checkpoint and devices; thread-safe.

    ``start()`` runs passages on the passage worker, with thermometer readings
    on a thread of their own, so the worker always takes the next scan, tap or
    typed reading at once. Without ``start()`` (tests, tools) each call runs on
    the caller's thread, readings included, and ``tick()`` is driven by hand.
    """

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
        id_seal_key: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.checkpoint = checkpoint
        self.thermometer = thermometer
        self.signals = signals
        self.sync = sync
        self.clock = clock
        self.max_readings = max_readings
        self.presence_wait_s = presence_wait_s  # after this long with nobody in front, the page offers a typed reading
        self.remeasure_pause_s = remeasure_pause_s
        self.pending_s = pending_s
        self.id_seal_key = id_seal_key  # the office's X25519 public key: visitors' ID numbers are sealed to it
        self._sleep = sleep
        self._monotonic = monotonic
        gate_settings = checkpoint.config.gate
        self.lane: Lane = gate_lane(gate_settings.mode)
        self.same_card_window_s = gate_settings.same_card_window_s
        self.directions = DirectionChoice(gate_settings.direction_hold_s, monotonic)
        self.updates = Broadcaster()
        self.shifts = ShiftDesk(checkpoint.registry, checkpoint.journal, clock)
        self.ledger = GateLedger(checkpoint.journal, checkpoint.registry, gate_settings.timezone)
        self.faults: dict[str, dict] = {}
        self.scanner_status: Callable[[], Any] | None = None
        self._volunteer_id = self.shifts.on_duty()
        # Nobody signed in for alarms.unstaffed_after_s raises the unstaffed-gate alarm (kiosk.gate.unstaffed).
        self.unstaffed = UnstaffedWatch(checkpoint.journal, checkpoint.config.alarms.unstaffed_after_s, clock)
        self.leaf: Any = None  # the gate leaf's watch (kiosk.gate.gate_leaf.GateLeafWatch) when a reed switch is fitted
        self._lock = threading.RLock()
        self._last: dict | None = None
        self._pending: _Pending | None = None
        self._seen: dict[str, _Seen] = {}
        self._latest: Outcome | None = None
        self._published: dict | None = None
        self.worker = PassageWorker(self)
        self._reader: ThreadPoolExecutor | None = None
        self._visitor_followup: VisitorFollowUp | None = None  # a visitor's fever waiting for a handheld reading
        self.vehicle_form = VehicleForm(monotonic)  # while open, person cards are the vehicle's people (vehicle_form.py)

    @property
    def volunteer_id(self) -> str | None:
        """The volunteer on duty (their id goes on every event), or None."""
        return self._volunteer_id

    def start(self) -> Gate:
        """Run passages on the passage worker (and thermometer readings beside it) from now on."""
        if self.thermometer is not None and self._reader is None:
            self._reader = ThreadPoolExecutor(1, thread_name_prefix="thermometer-reading")
        self.worker.start()
        return self

    def close(self) -> None:
        """Stop the passage worker and the reading thread (a reading in progress ends with its window)."""
        self.worker.stop()
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.shutdown(wait=True, cancel_futures=True)

    def _run(self, job: Callable[[], Any], timeout: float | None = None) -> Any:
        """Run ``job`` on the worker and wait for its result (on this thread when the worker is not running)."""
        if not self.worker.running or threading.current_thread() is self.worker._thread:
            with self._lock:
                return job()
        return self.worker.submit(job).result(timeout)

    # -- passages -------------------------------------------------------------

    def submit_scan(self, text: str, lane: Lane = None) -> None:
        """A scanner read ``text``: hand it to the passage worker and return at once (the scanner goes on reading)."""
        if not self.worker.running:
            self.scan(text, lane=lane)
            return
        self.worker.submit(lambda: self._scan(text, None, None, None, lane))

    def scan(self, text: str | None, *, direction: Direction | None = None, manual_c: float | None = None,
             handheld_c: float | None = None, lane: Lane = None) -> Outcome:
        """Decide one passage for a scanned ``text`` (None: someone without a card); returns where it stands now.

        ``direction`` is the volunteer's (the API's); ``lane`` the scanner's. The
        answer comes once the passage is decided, asks for a direction, or finds
        nobody at the thermometer; the worker goes on measuring after that.
        """
        answer = self._run(lambda: self._scan(text, direction, manual_c, handheld_c, lane))
        if isinstance(answer, Future):  # measuring: wait for the reading (on this thread, never the worker's)
            return answer.result(self.pending_s + 5)
        return answer

    def choose_direction(self, direction: Direction | None, source: DirectionSource = "volunteer", *,
                         hold: bool = True) -> dict:
        """The volunteer's 进 / 出 (or a button): a passage asking for it continues with it.

        With ``hold`` (the waiting screen's controls, a button) the choice also
        holds for the next passages; without it (the answer to 进还是出?) it is
        that one person's direction only.
        """
        if hold:
            self.directions.choose(direction, source)
        if direction is not None:
            self._run(lambda: self._answer_direction(Heading(direction, source)))
        self._publish_status()
        return self.directions.to_dict(self.lane)

    def add_reading(self, celsius: float, source: str = "manual") -> Outcome:
        """A temperature the volunteer typed for the waiting passage: manual IR gun, or a handheld contact reading."""
        kind = MeasurementSource.HANDHELD_CONTACT if source == "handheld_contact" else MeasurementSource.MANUAL
        return self._run(lambda: self._add_reading(Measurement(celsius, None, kind, self.clock())))

    def _add_reading(self, reading: Measurement) -> Outcome:
        pending = self._pending
        followup = self._visitor_followup
        if pending is None and followup is not None and followup.deadline > self._monotonic():
            return self._visitor_reading(followup, reading)  # the visitor on the fever screen
        if pending is None:
            raise GateError("nothing_waiting", "no passage is waiting for a temperature: scan the card first")
        if pending.outcome.decision.verdict is Verdict.ASK:
            raise GateError("direction_first", "say first whether the person goes in or out")
        self._advance(pending, [*pending.readings, reading], pending.heading)
        return self._latest  # type: ignore[return-value]

    def _heading(self, direction: Direction | None, lane: Lane) -> Heading:
        """Lane first, then the volunteer's (or the API's) direction, then the held choice; else nothing yet."""
        if lane is not None:
            return Heading(lane, "lane")
        if self.lane is not None:
            return Heading(self.lane, "lane")
        if direction is not None:
            return Heading(direction, "volunteer")
        return self.directions.current(renew=True)

    def _scan(self, text: str | None, direction: Direction | None, manual_c: float | None,
              handheld_c: float | None, lane: Lane) -> Outcome | Future:
        if text is not None and self.vehicle_form.holds_cards:
            occupant = self._occupant(text)  # the vehicle form is open: this card is its driver or a passenger
            if occupant is not None:
                return occupant
        now = self._monotonic()
        typed = [Measurement(c, None, source, self.clock()) for c, source in
                 ((manual_c, MeasurementSource.MANUAL), (handheld_c, MeasurementSource.HANDHELD_CONTACT)) if c is not None]
        pending = self._pending
        if text is not None and pending is not None and pending.text == text:
            # The same card again (held in view, or shown again): it continues its passage, never a new one.
            if not pending.decided:
                pending.deadline = max(pending.deadline, now + self.pending_s)
            self._seen_again(text, now)
            asking = pending.outcome.decision.verdict is Verdict.ASK
            if typed or (direction and asking):
                heading = self._heading(direction, lane) if asking else pending.heading
                self._advance(pending, [*pending.readings, *typed], heading)
                return self._latest  # type: ignore[return-value]
            if not pending.decided:
                self._publish_waiting(pending)
            return pending.outcome
        seen = self._seen.get(text) if text is not None else None
        if seen is not None and now - seen.last_seen < self.same_card_window_s and not typed:
            seen.last_seen = now
            self.updates.publish([{**seen.shown, "repeat": True}])  # the same decision again; nothing new is journaled
            return seen.outcome
        self._drop_pending(abandon=True)
        self._visitor_followup = None  # someone new at the gate: a typed reading is theirs, not the visitor's
        heading = self._heading(direction, lane)
        outcome = self._decide(text, typed, heading)
        pending = self._settle(text, heading, typed, outcome, None)
        if pending is None or pending.decided or not self._wants_reading(pending):
            return outcome
        pending.answer = Future()
        self._measure(pending)
        return pending.answer if not pending.answer.done() else pending.answer.result()

    def _answer_direction(self, heading: Heading) -> None:
        pending = self._pending
        if pending is not None and pending.outcome.decision.verdict is Verdict.ASK:
            self._advance(pending, pending.readings, heading)

    def _advance(self, pending: _Pending, readings: list[Measurement], heading: Heading) -> None:
        """Decide the waiting passage again with what is new (a reading, a direction), then settle it."""
        outcome = self._decide(pending.text, readings, heading, pending)
        settled = self._settle(pending.text, heading, readings, outcome, pending)
        if settled is not None and not settled.decided:
            self._measure(settled)

    def _decide(self, text: str | None, readings: list[Measurement], heading: Heading,
                pending: _Pending | None = None) -> Outcome:
        raised = pending.raised if pending is not None else {}
        supersedes = pending.passage_seq if pending is not None and pending.decided else None
        return self.checkpoint.passage(text, self.clock(), readings, direction=heading.direction,
                                       direction_source=heading.source, volunteer_id=self.volunteer_id,
                                       raised=raised, supersedes_seq=supersedes)

    def _wants_reading(self, pending: _Pending) -> bool:
        return (self.thermometer is not None and not pending.decided
                and pending.outcome.decision.verdict is Verdict.REMEASURE
                and sum(r.source is MeasurementSource.SENSOR for r in pending.readings) < self.max_readings)

    def _measure(self, pending: _Pending) -> None:
        """Start the next thermometer reading for the waiting passage, if it wants one and its time has come.

        With the worker running the reading is taken on the reading thread and
        comes back as a job; without it, readings are taken here, one after the
        other, while someone stands in front.
        """
        while self._pending is pending and self._wants_reading(pending) and not pending.in_flight:
            if pending.next_tick > self._monotonic():
                return
            if self._reader is not None and self.worker.running:
                pending.in_flight = True
                reading = self._reader.submit(self.thermometer.measure, require_presence=True)
                reading.add_done_callback(partial(self._reading_back, pending))
                return
            try:
                reading_now = self.thermometer.measure(require_presence=True)
            except KioskError:
                reading_now = None
            self._reading_taken(pending, reading_now)
            if self._pending is None:
                return
            pending = self._pending

    def _reading_back(self, pending: _Pending, done: Future) -> None:
        """On the reading thread: hand the finished reading to the passage worker (never decide here)."""
        self.worker.submit(lambda: self._reading_taken(pending, done))

    def _reading_taken(self, pending: _Pending, taken: Any) -> None:
        """A thermometer reading came back for ``pending`` (a stale one, for a passage since replaced, is dropped)."""
        pending.in_flight = False
        if isinstance(taken, Future):
            try:
                taken = taken.result()
            except Exception as exc:  # a closed or failed sensor: no number, the monitor reports the fault
                self.report_fault("thermometer", "error", f"{type(exc).__name__}: {exc}")
                taken = None
        if self._pending is not pending or not self._wants_reading(pending):
            return
        if taken is None:  # nobody in front yet: look again shortly, and say so on screen
            pending.next_tick = self._monotonic() + _PRESENCE_POLL_S
            self._publish_waiting(pending)
            _answer(pending, pending.outcome)
            return
        readings = [*pending.readings, taken]
        outcome = self._decide(pending.text, readings, pending.heading, pending)
        settled = self._settle(pending.text, pending.heading, readings, outcome, pending)
        if settled is None or settled.decided or settled.outcome.decision.verdict is not Verdict.REMEASURE:
            _answer(pending, outcome)
            return
        if outcome.decision.prompt is Prompt.REMEASURE_FEVER and self.remeasure_pause_s:
            settled.next_tick = self._monotonic() + self.remeasure_pause_s  # a warm forehead settles, as the prompt says
        if not self._wants_reading(settled):
            _answer(settled, outcome)  # enough readings: now the volunteer types one, or the person leaves
            return
        self._measure(settled)

    def next_tick_in(self) -> float | None:
        """Seconds until the worker should next look at the pending passage (None: nothing to look at)."""
        with self._lock:
            pending = self._pending
            if pending is None:
                return None
            due = pending.deadline
            if self._wants_reading(pending) and not pending.in_flight:
                due = min(due, pending.next_tick)
            return max(0.0, due - self._monotonic())

    def tick(self) -> None:
        """The worker's turn between jobs: expire a pending passage whose time ran out, or start the next reading."""
        with self._lock:
            pending = self._pending
            if pending is None:
                return
            if self._monotonic() >= pending.deadline:
                self._drop_pending(abandon=True)
                return
            self._measure(pending)

    def expire_pending(self) -> None:
        """Journal the waiting passage as abandoned now (as when its pending time runs out)."""
        self._run(lambda: self._drop_pending(abandon=True))

    def _publish_waiting(self, pending: _Pending) -> None:
        decision = pending.outcome.decision
        waited = self._monotonic() - pending.started
        self.updates.publish([{"type": "measuring" if decision.verdict is Verdict.REMEASURE else "asking",
                               "verdict": decision.verdict.value, "prompt": decision.prompt.value,
                               "temperature_c": decision.temperature_c, "offer_typed": waited >= self.presence_wait_s,
                               "expires_in_s": round(max(0.0, pending.deadline - self._monotonic()), 1),
                               **_who(decision)}])

    def _settle(self, text: str | None, heading: Heading, readings: list[Measurement], outcome: Outcome,
                previous: _Pending | None) -> _Pending | None:
        """Keep what the volunteer may still act on, then signal and publish the outcome; returns what is pending."""
        decision = outcome.decision
        now = self._monotonic()
        undecided = decision.undecided
        needs_handheld = decision.prompt in (Prompt.FEVER, Prompt.HANDHELD_CHECK) and not decision.vehicle
        self._pending = None
        self._latest = outcome
        kept = None
        if undecided or needs_handheld:
            raised = dict(previous.raised) if previous is not None else {}
            raised.update({str(e.data.get("kind")): e for e in outcome.events if e.kind is EventKind.ALARM_RAISED})
            passage_seq = next((e.seq for e in outcome.events if e.kind in (EventKind.PASSAGE, EventKind.VEHICLE)),
                               previous.passage_seq if previous is not None else None)
            keep_deadline = previous is not None and not previous.decided and undecided
            kept = _Pending(text, heading, list(readings), outcome,
                            previous.deadline if keep_deadline else now + self.pending_s,  # type: ignore[union-attr]
                            decided=not undecided, raised=raised, passage_seq=passage_seq,
                            started=previous.started if previous is not None else now,
                            next_tick=previous.next_tick if previous is not None else now,
                            answer=previous.answer if previous is not None else None)
            self._pending = kept
        shown = self._act(outcome)
        if not undecided and text is not None:
            self._remember(text, outcome, shown, now)
        if kept is not None and undecided:
            self._publish_waiting(kept)
        elif previous is not None and kept is None:
            _answer(previous, outcome)  # after the outputs: the caller never sees a decision the barrier has not had
        return kept

    def _remember(self, text: str, outcome: Outcome, shown: dict, now: float) -> None:
        self._seen = {t: s for t, s in self._seen.items() if now - s.last_seen < self.same_card_window_s}
        self._seen[text] = _Seen(outcome, shown, now)

    def _seen_again(self, text: str, now: float) -> None:
        seen = self._seen.get(text)
        if seen is not None:
            seen.last_seen = now

    def _drop_pending(self, *, abandon: bool) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        _answer(pending, pending.outcome)
        if abandon and not pending.decided:
            event = self.checkpoint.abandon(pending.outcome, pending.readings, self.volunteer_id)
            self.updates.publish([{"type": "abandoned", "seq": [event.seq], **_who(pending.outcome.decision)}])

    def _act(self, outcome: Outcome, **shown_as: Any) -> dict:
        decision = outcome.decision
        if self.signals is not None and not decision.undecided:
            self.signals.show(decision.verdict.value)
        if self.signals is not None:
            for event in outcome.events:
                if event.kind is EventKind.ALARM_RAISED:
                    self.signals.alarm(event.data.get("kind"))
        if any(e.kind is EventKind.ALARM_RAISED for e in outcome.events) and self.sync is not None:
            self.sync.poke()  # alarms reach the office within seconds, not at the next round
        shown = {**self.screen(outcome), **shown_as}
        self._last = shown
        self.updates.publish([shown])
        if outcome.events:
            self.publish_status_if_changed()  # after the decision: the badge and backlog follow, the screen does not wait
        return shown

    @staticmethod
    def screen(outcome: Outcome, kind: str = "person") -> dict:
        """What the page shows for a decision: no full names, no card numbers beyond the card id."""
        decision = outcome.decision
        return {
            "type": "decision",
            "kind": "vehicle" if decision.vehicle else kind,
            **{k: v for k, v in decision.to_dict().items() if k not in ("alarms",)},
            "alarms": [a.kind.value for a in decision.alarms],
            "alarm_seqs": [e.seq for e in outcome.events if e.kind is EventKind.ALARM_RAISED],
            **_who(decision),
            "seq": [e.seq for e in outcome.events],
        }

    # -- overdue returns ------------------------------------------------------

    def sweep_overdue(self) -> list[Event]:
        """Raise the overdue-return alarm, once, for everyone out longer than the outing rule allows (a timer calls this)."""
        settings = self.checkpoint.config.policy
        if not settings.outing.enabled:
            return []
        journal = self.checkpoint.journal
        now = self.clock()
        limit = timedelta(hours=settings.outing.max_hours_out)
        outside = journal.outside(now - limit, now - limit - timedelta(days=settings.outing.period_days + 7))
        raised = []
        for subject, household, left_at, seq in outside:
            if journal.alarm_raised_since(subject, AlarmKind.OVERDUE_RETURN.value, seq):
                continue
            for alarm in overdue_returns([(subject, left_at)], now, settings):
                raised.append(journal.append(EventKind.ALARM_RAISED, alarm.to_dict(), volunteer_id=self.volunteer_id,
                                             subject=subject, household_id=household))
        if raised:
            if self.signals is not None:
                self.signals.alarm(AlarmKind.OVERDUE_RETURN.value)
            if self.sync is not None:
                self.sync.poke()
            self._publish_status()
        return raised

    def sweep_unstaffed(self) -> list[Event]:
        """Raise the unstaffed-gate alarm once a spell with nobody signed in is long enough, or close it (a timer
        calls this, and every sign-in and sign-out); returns what was journaled."""
        journaled = self.unstaffed.check()
        if journaled:
            if self.signals is not None and any(e.kind is EventKind.ALARM_RAISED for e in journaled):
                self.signals.alarm(AlarmKind.UNSTAFFED_GATE.value)
            if self.sync is not None:
                self.sync.poke()
            self._publish_status()
        return journaled

    # -- vehicles and visitors ------------------------------------------------

    def vehicle(self, *, plate: str | None = None, text: str | None = None, disinfected: bool = False,
                passengers: int = 0, driver: str | None = None, direction: Direction | None = None,
                visitor: VisitorRegistration | None = None, temperatures: list[float] | None = None,
                source: str = "manual", supersedes_seq: int | None = None) -> Outcome:
        """Decide and journal a vehicle from a typed plate or a scanned vehicle card (never waits for a passage).

        Its people are the cards scanned on the open form (``driver`` names the
        driver among them), checked again now by the walking rules, or a driver
        registered as a visitor here (``visitor`` with ``temperatures``). Once
        it passes, the form forgets them. ``supersedes_seq``: the refused save
        this one corrects (ticked disinfected after 请先给车辆消毒).
        """
        if not plate and not text:
            raise GateError("vehicle_needs_plate", "a vehicle needs a plate or a vehicle card")
        if visitor is not None and visitor.id_number and self.id_seal_key is None:
            raise GateError("no_sealing_key", "this gate has no office sealing key: register the visitor without the ID number")
        return self._run(lambda: self._vehicle(plate, text, disinfected, passengers, driver, direction, visitor,
                                               temperatures or [], source, supersedes_seq))

    def _vehicle(self, plate: str | None, text: str | None, disinfected: bool, passengers: int, driver: str | None,
                 direction: Direction | None, visitor: VisitorRegistration | None, temperatures: list[float],
                 source: str, supersedes_seq: int | None) -> Outcome:
        form = self.vehicle_form
        if visitor is not None:  # a visitor drives: every card scanned on the form rides with them
            driver, cards, riding = None, list(form.held.values()), list(form.held)
        else:
            try:
                driver, cards, riding = form.occupants(driver)
            except VehicleFormError as exc:
                raise GateError(exc.code, str(exc)) from None
        extra: dict[str, Any] = {"passengers": max(passengers, len(riding)), "driver": driver}
        if riding:
            extra["passenger_subjects"] = riding
        if supersedes_seq is not None:
            extra["supersedes_seq"] = supersedes_seq
        heading = self._heading(direction, None) if direction is not None or self.lane is not None else Heading()
        now = self.clock()
        kind = MeasurementSource.HANDHELD_CONTACT if source == "handheld_contact" else (
            MeasurementSource.SENSOR if source == "sensor" else MeasurementSource.MANUAL)
        registered = (visitor, [Measurement(c, None, kind, now) for c in temperatures], self.id_seal_key) \
            if visitor is not None else None
        outcome = self.checkpoint.vehicle(now, plate=plate, text=text, disinfected=disinfected,
                                          direction=heading.direction, direction_source=heading.source,
                                          volunteer_id=self.volunteer_id, extra=extra, occupants=cards,
                                          visitor=registered)
        decision = outcome.decision
        if decision.verdict is Verdict.REMEASURE:
            return outcome  # the visitor driving needs another reading: nothing journaled, the form asks for it
        driver_name = mask_name(visitor.name) if visitor is not None else form.names.get(driver or "")
        self._act(outcome, **({"driver_name": driver_name} if driver_name else {}))
        if decision.verdict is Verdict.ADMIT:
            form.close()  # through: the next card is a passage again (the page opens the form afresh)
        return outcome

    def open_vehicle_form(self, is_open: bool, direction: Direction | None = None, *, fresh: bool = False) -> dict:
        """The page opened (renewed, ``fresh``: a new vehicle) or closed the vehicle form; returns the lease."""
        def job() -> dict:
            if is_open:
                self.vehicle_form.open(direction, fresh=fresh)
            else:
                self.vehicle_form.close()
            return {"open": self.vehicle_form.holds_cards, "expires_in_s": self.vehicle_form.expires_in_s(),
                    "held": len(self.vehicle_form.held)}
        return self._run(job)

    def _occupant(self, text: str) -> Outcome | None:
        """A card scanned while the vehicle form is open: check it, hold it, show it on the form; journal nothing.

        A vehicle card is not a person: it goes on as a passage of its own (None).
        """
        form = self.vehicle_form
        outcome, occupant = self.checkpoint.occupant(text, self.clock(), form.direction)
        check = outcome.check
        if check is not None and check.card is not None and check.card.kind.value == "vehicle":
            return None
        decision = outcome.decision
        role = None
        if occupant is not None and decision.holder is not None:
            try:
                role = form.hold(decision.holder.subject, text, mask_name(decision.holder.name) or "")
            except VehicleFormError:
                role = None
        self.updates.publish([{"type": "driver", "role": role, "seq": [],
                               **{k: v for k, v in self.screen(outcome).items() if k not in ("type", "seq")}}])
        return outcome

    def visitor(self, registration: VisitorRegistration, temperatures: list[float], source: str = "manual",
                direction: Direction = "in", alarm_seq: int | None = None) -> Outcome:
        """Register a visitor with the temperatures taken so far; journaled once decided (remeasure asks for one more).

        The registration closes the unknown-visitor alarm the walk-up raised
        (``alarm_seq``, or the newest open one here in the last 30 minutes).
        """
        kind = MeasurementSource.HANDHELD_CONTACT if source == "handheld_contact" else (
            MeasurementSource.SENSOR if source == "sensor" else MeasurementSource.MANUAL)
        readings = [Measurement(c, None, kind, self.clock()) for c in temperatures]
        if registration.id_number and self.id_seal_key is None:
            raise GateError("no_sealing_key", "this gate has no office sealing key: register the visitor without the ID number")
        if direction == "in" and registration.host_household_id is None and self.checkpoint.config.visitors.host_required:
            raise GateError("host_required", "a visitor is registered with the household they visit",
                            field="host_household_id")
        now = self.clock()
        resolves = self.ledger.walk_up_alarm(now, alarm_seq, _VISITOR_ALARM_WINDOW) if direction == "in" else None
        outcome = self.checkpoint.visitor(registration, now, readings, self.id_seal_key, direction=direction,
                                          volunteer_id=self.volunteer_id, resolves=resolves)
        if outcome.decision.verdict is not Verdict.REMEASURE:
            self._visitor_decided(registration, readings, outcome, None)
            if resolves is not None:
                self._publish_status()
        return outcome

    def _visitor_decided(self, registration: VisitorRegistration, readings: list[Measurement], outcome: Outcome,
                         previous: VisitorFollowUp | None) -> None:
        """Show a visitor's decision; keep the registration for a handheld reading when one is wanted (a fever)."""
        followup = follow_up(registration, readings, outcome, self._monotonic() + self.pending_s, previous)
        self._visitor_followup = followup
        if followup is not None and self._pending is not None and self._pending.decided:
            self._run(lambda: self._drop_pending(abandon=False))  # the typed reading is the visitor's now
        self._act(outcome, kind="visitor", name=mask_name(registration.name),
                  household=self.checkpoint.registry.household_label_of(registration.host_household_id))

    def _visitor_reading(self, followup: VisitorFollowUp, reading: Measurement) -> Outcome:
        """A handheld (or typed) reading for the visitor on the fever screen: their registration, decided again."""
        registration, readings = followup.with_reading(reading)
        outcome = self.checkpoint.visitor(registration, self.clock(), readings, self.id_seal_key,
                                          volunteer_id=self.volunteer_id, raised=followup.raised,
                                          supersedes_seq=followup.registration_seq)
        if outcome.decision.verdict is Verdict.REMEASURE:  # an untrusted typed reading: still theirs, type again
            self._visitor_followup = dataclasses.replace(followup, readings=readings)
            self._act(outcome, kind="visitor", name=mask_name(registration.name))
        else:
            self._visitor_decided(registration, readings, outcome, followup)
        return outcome

    def visitor_exit(self, entry_seq: int) -> Event:
        """The volunteer on duty taps 离开 for a visitor inside: journal the exit (raises VisitorExitError)."""
        inside = self.checkpoint.inside
        event = self._run(lambda: inside.record_exit(entry_seq, self.clock(), self.volunteer_id, "list"))
        if self.sync is not None:
            self.sync.poke()
        self._publish_status()  # the home screen's count
        return event

    def measure_once(self) -> Measurement | None:
        """One thermometer reading of whoever is in front (the visitor form's "measure" button)."""
        if self.thermometer is None:
            raise GateError("no_thermometer", "this gate has no thermometer: type the reading")
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
        self.sweep_unstaffed()  # the sign-in closes an unstaffed-gate alarm at once
        return self._publish_status()["volunteer"]

    def sign_out(self) -> None:
        """Sign the volunteer on duty out."""
        self.shifts.sign_out()
        self._volunteer_id = None
        self.sweep_unstaffed()  # an unstaffed spell starts now
        self._publish_status()

    def acknowledge(self, alarm_seq: int, note: str = "", outcome: str | None = None) -> Event:
        """The volunteer on duty has dealt with an alarm: a quick outcome code and/or a note (raises AlarmError)."""
        event = self.ledger.acknowledge(alarm_seq, self.volunteer_id, note, self.clock(), outcome=outcome)
        if self.signals is not None:
            self.signals.show("idle")
        if self.sync is not None:
            self.sync.poke()
        self._publish_status()
        return event

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
            "disk": {"free_bytes": disk_free, "low": disk_low(disk_free)},
            "faults": dict(self.faults),
            # the clock's trust code (kiosk.gate.clock): the page's banner when not trusted; the figures would change
            # every second and push the status each time, so only the code
            "clock": _clock_status(journal, now),
            "volunteer_id": self.volunteer_id,
            "volunteer": self.shifts.duty(local_midnight(now, gate.timezone)),
            # ISO time nobody has been signed in since, once that raised the unstaffed-gate alarm (the page's banner)
            "unstaffed_since": self.unstaffed.unstaffed_since(),
            # the gate leaf's reed switch (None: not fitted): open or shut, for how many minutes, alarm raised
            "gate_leaf": self.leaf.status() if self.leaf is not None else None,
            "open_alarms": self.ledger.open_alarm_count(now),
            "visitors_inside": checkpoint.inside.count(now),
            "waiting_for_temperature": self._pending is not None and not self._pending.decided
            and self._pending.outcome.decision.verdict is Verdict.REMEASURE,
            "direction": self.directions.to_dict(self.lane),
            "passage": self._passage_state(),
            "last_decision": self._last,
        }

    def _passage_state(self) -> dict | None:
        """What the waiting passage needs, for the page: a reading, a direction, or a handheld check."""
        pending = self._pending
        if pending is None:
            return None
        decision = pending.outcome.decision
        state = ("awaiting_handheld" if pending.decided else
                 "asking" if decision.verdict is Verdict.ASK else "measuring")
        return {"state": state, "prompt": decision.prompt.value,
                "expires_in_s": round(max(0.0, pending.deadline - self._monotonic()), 1)}

    def rules(self) -> dict:
        """The rules the page needs (it never re-codes them): quick acknowledgement outcomes, direction hold, thresholds."""
        policy = self.checkpoint.config.policy
        return {"ack_outcomes": list(ACK_OUTCOMES),
                "ack_outcomes_by_kind": {k: list(v) for k, v in ACK_OUTCOMES_BY_KIND.items()},
                "ack_outcomes_any": list(ACK_OUTCOMES_ANY),
                "same_card_window_s": self.same_card_window_s, "direction_hold_s": self.directions.hold_s,
                "fever_threshold_c": policy.fever_threshold_c, "measure_on": list(policy.measure_on),
                "lane": self.lane, "pending_s": self.pending_s, "step_up_wait_s": self.presence_wait_s}


def _answer(pending: _Pending, outcome: Outcome) -> None:
    """Tell a ``scan()`` caller waiting on this passage where it stands (once)."""
    if pending.answer is not None and not pending.answer.done():
        pending.answer.set_result(outcome)


def _clock_status(journal: Any, now: datetime) -> dict | None:
    """``{"trust", "trusted"}`` from the journal's clock (None for a journal without one)."""
    assess = getattr(journal, "clock_trust", None)
    if assess is None:
        return None
    trust = assess(now)
    return {"trust": trust.code.value, "trusted": trust.trusted}


def _top_bar(status: dict) -> dict:
    """What of a status the page's top bar shows: a change here is worth a push (free bytes alone are not)."""
    return {**{k: v for k, v in status.items() if k not in ("last_decision", "disk")}, "disk_low": status["disk"]["low"]}


def _who(decision) -> dict:
    holder = decision.holder
    return {"name": mask_name(holder.name) if holder and holder.name else None,
            "household": holder.household if holder else None}
