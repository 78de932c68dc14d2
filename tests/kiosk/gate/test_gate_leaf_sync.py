"""The gate leaf reaches the office (issue 13): the heartbeat carries its state to a real office server, the gates
overview shows how long it has been open, the gate-left-open alarm arrives like any alarm and its clearing closes it,
and nothing the watch journals is flagged."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from kiosk.config import GateConfig
from kiosk.gate.checkpoint import Checkpoint
from kiosk.gate.gate_leaf import GateLeafWatch, sweep
from kiosk.gate.journal import Journal
from kiosk.gate.passages import Gate
from kiosk.gate.process import GateProcess
from kiosk.gate.sync import SyncClient
from kiosk.keys import Keyset
from kiosk.office.queries.gates import overview
from kiosk.registry import Registry
from tests.office_fixtures import OfficeServer


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def office(tmp_path):
    server = OfficeServer(tmp_path / "office").start()
    yield server
    server.stop()


@pytest.fixture
def station(tmp_path, office):
    """A gate with a leaf watch on a simulated clock and a sync client whose heartbeat is the gate process's."""
    clock = Clock()
    token = office.store.add_gate("north")
    (tmp_path / "gate").mkdir()
    journal = Journal(tmp_path / "gate" / "journal.db", "north", clock=clock)
    registry = Registry(tmp_path / "gate" / "registry.db")
    config = GateConfig.model_validate({"gate": {"id": "north", "data_dir": str(tmp_path / "gate")},
                                        "gate_leaf": {"pin": 5, "open_alarm_after_min": 10,
                                                      "night_from": "00:00", "night_until": "00:00"}})
    gate = Gate(Checkpoint(config, registry, journal, Keyset()), clock=clock)
    gate.leaf = GateLeafWatch(journal, config.gate_leaf, config.gate.timezone, clock)
    # the heartbeat's sensors exactly as `kiosk run` sends them
    sensors = lambda: GateProcess._sensor_states(SimpleNamespace(gate=gate))  # noqa: E731
    client = SyncClient(journal, registry, office_url=office.url, token=token, timeout_s=3, sensors=sensors)
    yield SimpleNamespace(gate=gate, client=client, clock=clock)
    client.close()
    gate.close()
    journal.close()
    registry.close()


def _north(office, now: datetime) -> dict:
    return {g["id"]: g for g in overview(office.store, now=now)}["north"]


def test_the_leaf_and_its_alarm_reach_the_office(station, office):
    gate, client, clock = station.gate, station.client, station.clock
    gate.leaf.observe(False)
    clock.advance(3)
    sweep(gate)
    client.heartbeat_once()
    assert _north(office, clock())["gate_leaf"] == {"open": False, "minutes": 0, "alarm": False}

    gate.leaf.observe(True)
    for _ in range(10 * 60 + 2):
        clock.advance(1)
        sweep(gate)
    client.push_once()
    client.heartbeat_once()
    [alarm] = office.store.open_alarms()
    assert alarm["kind"] == "gate_left_open" and alarm["gate_id"] == "north"
    row = {g["id"]: g for g in office.store.gates()}["north"]
    assert row["sensors"]["gate_leaf"]["open"] is True and row["sensors"]["gate_leaf"]["alarm"] is True
    seen = _north(office, datetime.now(UTC))
    assert seen["gate_leaf"] == {"open": True, "minutes": 10, "alarm": True}
    # between heartbeats the office goes on counting by its own clock
    assert _north(office, datetime.now(UTC) + timedelta(minutes=5))["gate_leaf"]["minutes"] == 15

    gate.leaf.observe(False)
    clock.advance(3)
    assert [e.kind.value for e in sweep(gate)] == ["gate_leaf", "alarm_acknowledged"]
    client.push_once()
    client.heartbeat_once()
    assert office.store.open_alarms() == []
    assert _north(office, datetime.now(UTC))["gate_leaf"] == {"open": False, "minutes": 0, "alarm": False}
    assert office.store.flagged_events() == []
    kinds = [e["kind"] for e in office.store.events("north")]
    assert kinds == ["gate_leaf", "gate_leaf", "alarm_raised", "gate_leaf", "alarm_acknowledged"]


def test_a_gate_without_a_switch_sends_none_and_the_office_shows_nothing(station, office):
    station.gate.leaf = None
    station.client.heartbeat_once()
    assert station.gate.status()["gate_leaf"] is None
    assert _north(office, datetime.now(UTC))["gate_leaf"] is None


def test_the_office_ignores_a_malformed_leaf_in_a_heartbeat(office):
    office.store.add_gate("odd")
    opened = {"open": True, "minutes": 0, "alarm": False}
    for leaf, expected in (({"open": "yes"}, None), ("open", None), ({"open": True, "minutes": -3}, opened),
                           ({"open": True, "minutes": True, "alarm": "yes"}, opened)):
        office.store.heartbeat("odd", {"gate_clock": datetime.now(UTC).isoformat(), "sensors": {"gate_leaf": leaf}})
        assert {g["id"]: g for g in overview(office.store, now=datetime.now(UTC))}["odd"]["gate_leaf"] == expected


def test_the_alarm_sounds_on_the_gates_buzzer_once(station):
    from kiosk.config.hardware import SignalSettings
    from sensors.signals import simulated_signals

    gate, clock = station.gate, station.clock
    gate.signals = simulated_signals(SignalSettings())
    try:
        buzzer = gate.signals.buzzer.pin
        gate.leaf.observe(True)
        clock.advance(3)
        sweep(gate)  # the opening: journaled, no sound
        quiet = len(buzzer.states)
        clock.advance(10 * 60)
        assert [e.kind.value for e in sweep(gate)] == ["alarm_raised"]
        time.sleep(2.8)  # the general alarm pattern: four beeps of 0.3 s, 0.3 s apart
        sounded = len(buzzer.states)
        assert sounded >= quiet + 8
        clock.advance(60)
        assert sweep(gate) == []
        time.sleep(0.7)
        assert len(buzzer.states) == sounded  # once: the next sweeps sound nothing
    finally:
        gate.signals.close()
