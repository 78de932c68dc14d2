"""A few days of history for the demo office, at both demo gates, through each gate's real decision chain.

Each gate's journal runs on a clock set to the moment each thing happened; its
``Checkpoint`` decides every passage over the registry replica it pulled from
the office, its ``ShiftDesk`` signs the volunteer in and out by PIN, its
``GateLedger`` acknowledges alarms, and its ``SyncClient`` sends the lot to
the office, as a gate that was online those days would have. So every event
has the shape the gates journal, and its ``ts`` is when it happened (always in
the past).

The people's days are made up, the same on every run (a seeded random per
person and day): most residents go out between 7 and 9 and come home between
17 and 19, the retired go to the market mid-morning and for a walk in the
afternoon. A few things happen on purpose so that every desk screen has
something: a fever two days ago that the south gate's volunteer dealt with, a
lost card refused yesterday at the north gate, a visitor registered at the
south gate yesterday, two cars coming and going, a shift at each gate every
day (today's still open).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from kiosk.demo import (
    GATES,
    NORTH,
    RESIDENTS,
    SOUTH,
    TIMEZONE,
    VOLUNTEER_PIN,
    DemoCommunity,
    DemoGate,
    checkpoint_config,
)
from kiosk.gate.checkpoint import Checkpoint, Outcome
from kiosk.gate.journal import Journal, JournalReader
from kiosk.gate.ledger import GateLedger
from kiosk.gate.policy import Verdict
from kiosk.gate.shifts import ShiftDesk
from kiosk.gate.sync import SyncClient
from kiosk.gate.visitors import VisitorRegistration
from kiosk.keys import Keyset
from kiosk.measurements import Measurement, MeasurementSource
from kiosk.registry import Registry

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

DAYS_BACK = 3  # the last three days, and today up to a few minutes ago
SETTLE = timedelta(minutes=10)  # today's history stops this long before now: the script's passages come after
SHIFT_START, SHIFT_END = time(6, 30), time(21, 0)

# Who is who in the made-up days (resident ids of kiosk.demo.RESIDENTS).
RETIRED = frozenset({6, 15, 17})
PUPILS = frozenset({13, 19})
LEFT_OUT = frozenset({3})  # 李建国: his household is in home quarantine, nobody of it passes
FEVER_RESIDENT, FEVER_DAY = 5, -2  # 刘洋: a fever at the south gate, then home observation
LOST_CARD_RESIDENT, LOST_CARD_DAY = 4, -1  # 张伟: shows his lost (revoked) card, then his new one
VISITOR_DAY = -1
VISITOR = VisitorRegistration(name="孙来访", phone="13600001111", coming_from="北京市朝阳区", host_household_id=4,
                              reason="visiting_family", temperature_c=36.6, id_number="11010519491231002X")
WECHAT_QR = "https://u.wechat.com/EXAMPLE"  # what a visitor without a card shows the camera


@dataclass(order=True)
class _Step:
    """One thing that happens at one gate at one moment (steps run in time order)."""

    at: datetime
    order: int
    gate: DemoGate = field(compare=False)
    action: str = field(compare=False)
    args: dict = field(compare=False, default_factory=dict)


class HistoryError(RuntimeError):
    """A made-up passage came out other than planned: the demo's data and the policy disagree."""


class _GateRun:
    """One gate during the history: its replica, journal (on the history's clock), decision chain and sync client."""

    def __init__(self, demo: DemoCommunity, gate: DemoGate, office_url: str):
        self.gate = gate
        self.at = datetime.now(ZoneInfo(TIMEZONE))  # the history sets it before each step
        gate_dir = demo.gate_dir(gate)
        self.registry = Registry(gate_dir / "registry.db")
        self.journal = Journal(gate_dir / "journal.db", gate.id, clock=lambda: self.at)
        self.client = SyncClient(self.journal, self.registry, office_url=office_url, token=demo.gate_tokens[gate.id])
        self.client.pull_registry_once()  # the registry replica arrives from the office
        self.checkpoint = Checkpoint(checkpoint_config(demo, gate), self.registry, self.journal,
                                     Keyset.from_json(self.registry.keyset_json()))
        self.shifts = ShiftDesk(self.registry, self.journal, clock=lambda: self.at)
        self.ledger = GateLedger(self.journal, self.registry, TIMEZONE)
        self.on_duty: str | None = None

    def close(self) -> None:
        self.client.close()
        self.journal.close()
        self.registry.close()


def _reading(rng: random.Random, at: datetime, celsius: float | None = None) -> Measurement:
    """A forehead reading by the gate's infrared thermometer on a winter day."""
    value = celsius if celsius is not None else round(rng.uniform(36.1, 36.8), 1)
    return Measurement(value, round(rng.uniform(3.0, 12.0), 1), MeasurementSource.SENSOR, at)


def _trips(rng: random.Random, resident_id: int) -> list[tuple[int, int]]:
    """One resident's outings on one day: (minute out, minute back), in order, never overlapping."""
    def between(start: float, end: float) -> int:
        return rng.randint(int(start * 60), int(end * 60) - 1)

    trips = []
    if resident_id in RETIRED:
        if rng.random() < 0.8:  # the market
            out = between(8.5, 10)
            trips.append((out, out + rng.randint(50, 140)))
        if rng.random() < 0.5:  # a walk
            out = between(15, 16)
            trips.append((out, out + rng.randint(40, 90)))
    elif resident_id in PUPILS:
        if rng.random() < 0.9:
            trips.append((between(6.9, 7.6), between(16.5, 17.7)))
    elif rng.random() < 0.85:  # to work
        trips.append((between(7, 9), between(17, 19)))
        if rng.random() < 0.15:
            out = between(19.5, 20.2)
            trips.append((out, out + rng.randint(20, 45)))
    elif rng.random() < 0.6:  # working from home: out for lunch
        out = between(11.5, 12.5)
        trips.append((out, out + rng.randint(30, 70)))
    return trips


def _local(day: date, minute: int, second: int = 0) -> datetime:
    return datetime.combine(day, time(), ZoneInfo(TIMEZONE)) + timedelta(minutes=minute, seconds=second)


def _hm(hours: int, minutes: int) -> int:
    return hours * 60 + minutes


class _Plan:
    """Steps being planned, numbered in the order they were added (a tie in time keeps that order)."""

    def __init__(self) -> None:
        self.steps: list[_Step] = []

    def at(self, gate: DemoGate, moment: datetime, action: str, **args: object) -> None:
        self.steps.append(_Step(moment, len(self.steps), gate, action, dict(args)))


def _other(gate: DemoGate) -> DemoGate:
    return SOUTH if gate is NORTH else NORTH


def _resident_day(steps: _Plan, demo: DemoCommunity, resident: dict, day: date, offset: int) -> None:
    """One resident's passages on one day (nothing for someone who has to stay at home)."""
    rid = resident["id"]
    person = random.Random(f"kiosk-demo {offset} {rid}")
    home_gate = NORTH if resident["household_id"] % 2 else SOUTH  # the nearer gate, used four times in five
    card = demo.resident_cards[rid]
    if rid in LEFT_OUT or (rid == FEVER_RESIDENT and offset > FEVER_DAY):
        return  # in home quarantine, or in home observation after the fever
    if rid == FEVER_RESIDENT and offset == FEVER_DAY:
        steps.at(SOUTH, _local(day, _hm(7, 42), 15), "passage", card=card, direction="out")
        fever = _local(day, _hm(18, 12), 40)
        steps.at(SOUTH, fever, "fever", card=card, readings=(37.7, 37.6))
        steps.at(SOUTH, fever + timedelta(minutes=5), "acknowledge", alarm="fever", outcome="escorted_home",
                 note="手持体温计复测 37.5 ℃，社区医生已上门，居家观察")
        return
    if rid == LOST_CARD_RESIDENT and offset == LOST_CARD_DAY:
        steps.at(NORTH, _local(day, _hm(8, 5), 30), "passage", card=card, direction="out")
        home = _local(day, _hm(19, 5), 10)
        steps.at(NORTH, home, "refused", card=demo.cards["zhang-wei-old"], direction="in")
        steps.at(NORTH, home + timedelta(seconds=50), "passage", card=card, direction="in")
        steps.at(NORTH, home + timedelta(minutes=2), "acknowledge", alarm="invalid_card", outcome="card_kept",
                 note="旧卡已挂失，收回交社区办公室")
        return
    for out, back in _trips(person, rid):
        for minute, direction in ((out, "out"), (back, "in")):
            gate = home_gate if person.random() < 0.8 else _other(home_gate)
            steps.at(gate, _local(day, minute, person.randint(0, 59)), "passage", card=card, direction=direction)


def plan(demo: DemoCommunity, now: datetime) -> list[_Step]:
    """Everything that happens at both gates from three days ago until shortly before ``now``, in time order."""
    now = now.astimezone(ZoneInfo(TIMEZONE))
    cutoff = now - SETTLE
    today = now.date()
    steps = _Plan()
    for offset in range(-DAYS_BACK, 1):
        day = today + timedelta(days=offset)
        rng = random.Random(f"kiosk-demo {offset}")  # the same days on every run of the same date
        for gate in GATES:
            start = _local(day, _hm(SHIFT_START.hour, SHIFT_START.minute))
            if offset == 0 and start > cutoff:
                start = cutoff - timedelta(minutes=1)  # an early-morning demo: the night shift signed in just now
            steps.at(gate, start, "sign_in", volunteer=gate.volunteer_id)
            if offset < 0:
                steps.at(gate, _local(day, _hm(SHIFT_END.hour, SHIFT_END.minute)), "sign_out")
        for resident in RESIDENTS:
            _resident_day(steps, demo, resident, day, offset)
        # Two cars of the community, most days.
        for gate, plate, out, back, text in (
                (SOUTH, "京A12345", _hm(7, 50), _hm(18, 25), demo.cards["vehicle-jing-a12345"]),
                (NORTH, "京B67890", _hm(8, 20), _hm(17, 40), None)):
            if rng.random() < 0.9:
                for minute, direction in ((out + rng.randint(-15, 15), "out"), (back + rng.randint(-20, 20), "in")):
                    steps.at(gate, _local(day, minute, rng.randint(0, 59)), "vehicle", plate=plate, text=text,
                             direction=direction)
        if offset == VISITOR_DAY:
            walk_up = _local(day, _hm(10, 20), 5)
            steps.at(SOUTH, walk_up, "walk_up")
            steps.at(SOUTH, walk_up + timedelta(minutes=3), "visitor", direction="in", readings=(36.6,))
            steps.at(SOUTH, _local(day, _hm(11, 48), 20), "visitor", direction="out", readings=())
    return sorted(s for s in steps.steps if s.at <= cutoff)


def _expect(step: _Step, outcome: Outcome, verdict: Verdict) -> Outcome:
    if outcome.decision.verdict is not verdict:
        raise HistoryError(f"demo history: {step.action} at {step.gate.name} {step.at:%Y-%m-%d %H:%M} was "
                           f"{outcome.decision.verdict.value} ({', '.join(r.value for r in outcome.decision.reasons)}),"
                           f" expected {verdict.value}")
    return outcome


def _run_step(run: _GateRun, step: _Step, raised: dict[str, int], seal_key: X25519PublicKey) -> None:
    """Do one step at its gate, through the gate's own code, and check it came out as planned."""
    a = step.args
    chain = run.checkpoint
    rng = random.Random(f"kiosk-demo reading {step.at.isoformat()}")
    volunteer = run.on_duty
    if step.action == "sign_in":
        run.shifts.sign_in(a["volunteer"], VOLUNTEER_PIN)
        run.on_duty = str(a["volunteer"])
    elif step.action == "sign_out":
        run.shifts.sign_out()
        run.on_duty = None
    elif step.action in ("passage", "refused"):
        readings = [_reading(rng, step.at)] if a["direction"] == "in" else []
        outcome = chain.passage(a["card"], step.at, readings, direction=a["direction"], direction_source="volunteer",
                                volunteer_id=volunteer)
        _expect(step, outcome, Verdict.ADMIT if step.action == "passage" else Verdict.DENY)
        raised.update({e.data["kind"]: e.seq for e in outcome.events if e.kind.value == "alarm_raised"})
    elif step.action == "fever":
        readings = [_reading(rng, step.at, c) for c in a["readings"]]
        outcome = _expect(step, chain.passage(a["card"], step.at, readings, direction="in",
                                              direction_source="volunteer", volunteer_id=volunteer), Verdict.DENY)
        raised.update({e.data["kind"]: e.seq for e in outcome.events if e.kind.value == "alarm_raised"})
    elif step.action == "acknowledge":
        run.ledger.acknowledge(raised.pop(a["alarm"]), volunteer, a["note"], step.at, outcome=a["outcome"])
    elif step.action == "vehicle":
        if a["text"] is not None:
            outcome = chain.vehicle(step.at, text=a["text"], disinfected=True, direction=a["direction"],
                                    direction_source="volunteer", volunteer_id=volunteer)
        else:
            outcome = chain.vehicle(step.at, plate=a["plate"], disinfected=True, direction=a["direction"],
                                    direction_source="volunteer", volunteer_id=volunteer)
        _expect(step, outcome, Verdict.ADMIT)
    elif step.action == "walk_up":
        outcome = _expect(step, chain.passage(WECHAT_QR, step.at, direction="in", direction_source="volunteer",
                                              volunteer_id=volunteer), Verdict.REFER)
        raised.update({e.data["kind"]: e.seq for e in outcome.events if e.kind.value == "alarm_raised"})
    elif step.action == "visitor":
        readings = [Measurement(c, None, MeasurementSource.MANUAL, step.at) for c in a["readings"]]
        resolves = run.journal.get(raised.pop("unknown_visitor")) if a["direction"] == "in" else None
        _expect(step, chain.visitor(VISITOR, step.at, readings, seal_key, direction=a["direction"],
                                    volunteer_id=volunteer, resolves=resolves), Verdict.ADMIT)
    else:  # pragma: no cover - plan() makes only the actions above
        raise HistoryError(f"demo history: unknown step {step.action!r}")


def _already_seeded(demo: DemoCommunity) -> bool:
    for gate in GATES:
        path = demo.gate_dir(gate) / "journal.db"
        if path.exists():
            with JournalReader(path) as journal:
                if journal.last_seq:
                    return True
    return False


def seed_history(demo: DemoCommunity, now: datetime, office_url: str) -> dict[str, int]:
    """Journal the last days at both gates and sync them to the office; returns how many events each gate sent.

    Runs before the demo's script (a journal's events go forward in time), and
    only once: a gate whose journal already holds events is left as it is, and
    the answer is then empty. ``now`` must be aware.
    """
    if _already_seeded(demo):
        return {}
    from kiosk.office.personal_data import sealing_public_text
    from kiosk.privacy import load_sealing_public_key

    seal_key = load_sealing_public_key(sealing_public_text(demo.office_dir))
    runs = {gate.id: _GateRun(demo, gate, office_url) for gate in GATES}
    try:
        raised: dict[str, dict[str, int]] = {gate.id: {} for gate in GATES}
        for step in plan(demo, now):
            run = runs[step.gate.id]
            run.at = step.at
            _run_step(run, step, raised[step.gate.id], seal_key)
        sent = {}
        for gate_id, run in runs.items():
            run.client.push_once()  # the ledger goes to the office
            run.client.heartbeat_once()
            sent[gate_id] = run.journal.last_seq
        return sent
    finally:
        for run in runs.values():
            run.close()
