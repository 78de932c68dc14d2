"""The unstaffed-gate alarm (issue 11): nobody signed in for alarms.unstaffed_after_s raises it once per spell,
the next sign-in closes it, a restart raises no second one, and the office accepts both events."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from kiosk.config import GateConfig
from kiosk.events import EventKind
from kiosk.gate.checkpoint import Checkpoint
from kiosk.gate.journal import Journal, format_ts
from kiosk.gate.passages import Gate
from kiosk.gate.unstaffed import SIGNED_IN_OUTCOME, unstaffed_action
from kiosk.keys import Keyset
from kiosk.office.event_schemas import data_problem
from kiosk.office.store import OfficeStore
from kiosk.registry import Registry
from tests.gate_fixtures import COMMUNITY, KEY, PIN

T0 = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)


# -- the rule ------------------------------------------------------------------

@pytest.mark.parametrize("on_duty, since_s, alarm_open, after_s, expected", [
    (None, 599.9, False, 600, None),  # not long enough yet
    (None, 600, False, 600, "raise"),
    (None, 5000, True, 600, None),  # raised once per spell
    (None, 5000, False, 0, None),  # 0: never
    ("7", 5000, True, 600, "close"),  # someone signed in: the alarm closes
    ("7", 5000, False, 600, None),
    ("7", 5000, True, 0, "close"),  # closed even when the setting was turned off since
])
def test_the_rule(on_duty, since_s, alarm_open, after_s, expected):
    now = T0 + timedelta(seconds=since_s)
    assert unstaffed_action(on_duty, T0, alarm_open, now, after_s) == expected


def test_no_spell_known_raises_nothing():
    assert unstaffed_action(None, None, False, T0, 600) is None


# -- a gate on a simulated clock -------------------------------------------------

class Clock:
    """The gate's and the journal's time, moved by the test."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def station(tmp_path, clock):
    """Build (and rebuild, as a restart does) a gate whose journal and clock share the simulated time."""
    keyset = Keyset()
    keyset.add(KEY.public_key)
    registry = Registry(tmp_path / "registry.db")
    registry.apply_snapshot({**COMMUNITY, "quarantine_orders": [], "keyset": keyset.to_json()["keys"]}, version=1)
    opened: list[tuple[Gate, Journal]] = []

    def build(after_s: float = 600) -> Gate:
        journal = Journal(tmp_path / "journal.db", "north", clock=clock)
        config = GateConfig.model_validate({"gate": {"id": "north", "name": "北门"},
                                            "alarms": {"unstaffed_after_s": after_s}})
        gate = Gate(Checkpoint(config, registry, journal, keyset), clock=clock)
        opened.append((gate, journal))
        return gate

    def restart(gate: Gate, after_s: float = 600) -> Gate:
        gate.close()
        gate.checkpoint.journal.close()
        return build(after_s)

    build.restart = restart  # type: ignore[attr-defined]
    yield build
    for gate, journal in opened:
        gate.close()
        journal.close()
    registry.close()


def _alarms(gate: Gate, kind: EventKind = EventKind.ALARM_RAISED) -> list:
    return [e for e in gate.checkpoint.journal.events_after(0) if e.kind is kind and e.data.get("kind") == "unstaffed_gate"]


def test_a_gate_nobody_signed_in_at_raises_once_and_shows_since_when(station, clock):
    gate = station()
    assert gate.sweep_unstaffed() == [] and gate.status()["unstaffed_since"] is None
    clock.advance(599)
    assert gate.sweep_unstaffed() == []
    clock.advance(1)
    [raised] = gate.sweep_unstaffed()
    assert raised.kind is EventKind.ALARM_RAISED and raised.volunteer_id is None
    assert raised.data == {"kind": "unstaffed_gate", "reason": "unstaffed", "subject": None,
                           "detail": {"since": format_ts(T0), "after_s": 600}}
    status = gate.status()
    assert status["unstaffed_since"] == format_ts(T0) and status["open_alarms"] == 1
    clock.advance(3600)
    assert gate.sweep_unstaffed() == [] and len(_alarms(gate)) == 1  # once per spell
    assert [a["kind"] for a in gate.ledger.open_alarms(clock())] == ["unstaffed_gate"]


def test_signing_in_closes_it_for_that_volunteer_and_signing_out_starts_a_new_spell(station, clock):
    gate = station()
    clock.advance(601)
    [raised] = gate.sweep_unstaffed()
    clock.advance(30)
    gate.sign_in(7, PIN)
    [closed] = _alarms(gate, EventKind.ALARM_ACKNOWLEDGED)
    assert closed.volunteer_id == "7"
    assert closed.data == {"alarm_event_id": raised.id, "alarm_seq": raised.seq, "kind": "unstaffed_gate",
                           "outcome": SIGNED_IN_OUTCOME, "note": "", "by": "gate"}
    status = gate.status()
    assert status["unstaffed_since"] is None and status["open_alarms"] == 0
    clock.advance(5000)
    assert gate.sweep_unstaffed() == []  # on duty: no spell
    gate.sign_out()
    signed_out = clock()
    clock.advance(599)
    assert gate.sweep_unstaffed() == [] and gate.status()["unstaffed_since"] is None
    clock.advance(1)
    [again] = gate.sweep_unstaffed()
    assert again.data["detail"]["since"] == format_ts(signed_out)
    assert gate.status()["unstaffed_since"] == format_ts(signed_out)
    assert len(_alarms(gate)) == 2


def test_a_restart_raises_no_second_alarm_for_the_same_spell(station, clock):
    gate = station()
    gate.sign_in(7, PIN)
    gate.sign_out()
    signed_out = clock()
    clock.advance(700)
    assert len(gate.sweep_unstaffed()) == 1
    clock.advance(60)
    gate = station.restart(gate)
    assert gate.status()["unstaffed_since"] == format_ts(signed_out)  # the banner is back at once
    clock.advance(60)
    assert gate.sweep_unstaffed() == [] and len(_alarms(gate)) == 1
    gate.sign_in(7, PIN)
    assert len(_alarms(gate, EventKind.ALARM_ACKNOWLEDGED)) == 1 and gate.status()["unstaffed_since"] is None


def test_a_never_staffed_gate_keeps_its_spell_across_a_restart(station, clock):
    gate = station()
    clock.advance(600)
    assert len(gate.sweep_unstaffed()) == 1
    clock.advance(3600)
    gate = station.restart(gate)
    clock.advance(3600)
    assert gate.sweep_unstaffed() == [] and len(_alarms(gate)) == 1
    assert gate.status()["unstaffed_since"] == format_ts(T0)


def test_a_sign_in_whose_closing_a_crash_cut_off_is_closed_after_the_restart(station, clock):
    gate = station()
    clock.advance(600)
    [raised] = gate.sweep_unstaffed()
    clock.advance(10)
    gate.shifts.sign_in(7, PIN)  # journaled; the process dies before the alarm is closed
    clock.advance(10)
    gate = station.restart(gate)
    [closed] = gate.sweep_unstaffed()
    assert closed.data["alarm_event_id"] == raised.id and closed.volunteer_id == "7"
    assert gate.sweep_unstaffed() == []


def test_a_sign_in_and_out_between_two_checks_closes_the_old_alarm_and_a_new_spell_follows(station, clock):
    gate = station()
    clock.advance(600)
    [first] = gate.sweep_unstaffed()
    clock.advance(5)
    gate.shifts.sign_in(7, PIN)
    clock.advance(5)
    gate.shifts.sign_out()
    out_at = clock()
    clock.advance(600)
    closed, raised = gate.sweep_unstaffed()
    assert closed.kind is EventKind.ALARM_ACKNOWLEDGED and closed.volunteer_id == "7"
    assert closed.data["alarm_event_id"] == first.id
    assert raised.kind is EventKind.ALARM_RAISED and raised.data["detail"]["since"] == format_ts(out_at)


def test_zero_never_raises(station, clock):
    gate = station(after_s=0)
    clock.advance(30 * 86400)
    assert gate.sweep_unstaffed() == [] and gate.status()["unstaffed_since"] is None


def test_both_events_reach_the_office_as_an_alarm_opened_and_closed(station, clock, tmp_path):
    gate = station()
    clock.advance(600)
    [raised] = gate.sweep_unstaffed()
    gate.sign_in(7, PIN)
    events = [e.to_dict() for e in gate.checkpoint.journal.events_after(0)]
    assert [data_problem(e["kind"], e["data"]) for e in events] == [None] * len(events)
    store = OfficeStore(tmp_path / "office" / "office.db")
    store.add_gate("north")
    store.ingest("north", events[:1])
    assert [(a["kind"], a["seq"]) for a in store.open_alarms()] == [("unstaffed_gate", raised.seq)]
    store.ingest("north", events[1:])
    assert store.open_alarms() == [] and store.flagged_events() == []
    row = store.database().execute("SELECT acknowledged_by, acknowledged_at FROM alarms WHERE event_id = ?",
                                   [raised.id]).fetchone()
    assert row[0] == "7" and row[1] is not None


def test_the_gate_process_raises_it_on_its_own_timer(tmp_path):
    from kiosk.gate.process import GateProcess

    config = GateConfig.model_validate({
        "gate": {"id": "north", "data_dir": str(tmp_path / "data")}, "alarms": {"unstaffed_after_s": 1},
        "camera": {"source": "none"}, "thermometer": {"driver": "none"}, "web": {"port": 0}})
    process = GateProcess(config, simulate=True).start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and process.gate.status()["unstaffed_since"] is None:
            time.sleep(0.1)
        assert process.gate.status()["unstaffed_since"] is not None
        assert len(_alarms(process.gate)) == 1
    finally:
        process.close()
