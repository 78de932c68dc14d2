"""The gate's passage loop and local API, on the simulated hardware."""

from __future__ import annotations

import threading
from datetime import date

import pytest
import requests

from kiosk.cards import CardKind, issue_card
from kiosk.checkpoint import Checkpoint
from kiosk.config import GateConfig
from kiosk.gate import Gate
from kiosk.journal import Journal
from kiosk.keys import Keyset, SigningKey
from kiosk.registry import Registry
from sensors.simulated import simulated_hardware
from web.gate import create_gate_app

KEY = SigningKey.generate()


class Poked:
    """Stands in for the sync client: counts pokes, reports a status."""

    def __init__(self):
        from kiosk.sync import SyncStatus

        self.count = 0
        self.status = SyncStatus()

    def poke(self):
        self.count += 1


@pytest.fixture
def gate(tmp_path):
    keyset = Keyset()
    keyset.add(KEY.public_key)
    registry = Registry(tmp_path / "registry.db")
    registry.apply_snapshot({
        "households": [{"id": 1, "building": "1", "unit": "1", "room": "101"}],
        "residents": [{"id": 1, "household_id": 1, "name": "王小山"}],
        "cards": [{"id": 11, "kind": "resident", "subject_id": 1}],
        "keyset": keyset.to_json()["keys"],
    }, version=1)
    journal = Journal(tmp_path / "journal.db", "north")
    config = GateConfig.model_validate({"gate": {"id": "north", "name": "北门"}, "signals": {"relay": 23, "relay_open_s": 0.1}})
    hardware = simulated_hardware(config, tmp_path / "replay")
    sync = Poked()
    gate = Gate(Checkpoint(config, registry, journal, keyset), thermometer=hardware.thermometer,
                signals=hardware.signals, sync=sync)
    yield gate, hardware, sync
    hardware.close()
    journal.close()


def card():
    today = date.today()
    return issue_card(KEY, CardKind.RESIDENT, 1, valid_from=date(today.year - 1, 1, 1),
                      valid_until=date(today.year + 1, 12, 31), card_id=11)[1]


def forehead(hardware, celsius):
    hardware.fake_thermometer.set_object(celsius, settle=True)
    hardware.thermometer.measure(require_presence=False)  # the instant step itself reads as a jump: let it pass
    hardware.thermometer.measure(require_presence=False)


def test_scan_measures_admits_and_opens_the_barrier(gate):
    gate, hardware, sync = gate
    forehead(hardware, 36.6)
    outcome = gate.scan(card())
    decision = outcome.decision
    assert decision.verdict.value == "admit" and 36.0 < decision.temperature_c < 37.0
    assert outcome.events and outcome.events[0].data["readings"][0]["source"] == "sensor"
    assert 1 in [s.state for s in hardware.pin_factory.pin(23).states]  # the relay opened
    assert sync.count == 0


def test_fever_is_measured_twice_denied_alarmed_and_poked(gate):
    gate, hardware, sync = gate
    forehead(hardware, 38.2)
    outcome = gate.scan(card())
    assert outcome.decision.verdict.value == "deny" and [a.kind.value for a in outcome.decision.alarms] == ["fever"]
    assert len(outcome.events[0].data["readings"]) == 2
    assert sync.count == 1
    assert 1 not in [s.state for s in hardware.pin_factory.pin(23).states]  # never opened


def test_nobody_in_front_leaves_it_undecided(gate):
    gate, hardware, _ = gate
    hardware.fake_thermometer.set_object(None, settle=True)  # an empty scene: object at ambient
    outcome = gate.scan(card())
    assert outcome.decision.verdict.value == "remeasure" and outcome.events == ()


def test_local_api_and_stream(gate):
    gate, hardware, _ = gate
    from web.serving import WebServer as Server

    server = Server(create_gate_app(gate, heartbeat_s=1), "127.0.0.1", 0)
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{server.port}"
    try:
        status = requests.get(url + "/api/v1/status", timeout=5).json()
        assert status["gate"] == {"id": "north", "name": "北门"} and status["journal"]["last_seq"] == 0
        with requests.get(url + "/api/v1/stream", stream=True, timeout=10) as stream:
            lines = stream.iter_lines(decode_unicode=True)
            assert next(lines) == ": connected"
            answer = requests.post(url + "/api/v1/scans", json={"text": card(), "manual_c": 36.4}, timeout=10).json()
            assert answer["verdict"] == "admit" and answer["name"] == "王*山" and answer["household"] == "1-1-101"
            event = next(line for line in lines if line.startswith("event: "))
            data = next(line for line in lines if line.startswith("data: "))
            assert event == "event: decision" and '"verdict": "admit"' in data
        stranger = requests.post(url + "/api/v1/scans", json={"text": None}, timeout=10).json()
        assert stranger["verdict"] == "refer" and stranger["prompt"] == "register_visitor"
        for bad in ([], {"text": 5}, {"text": "x", "direction": "up"}, {"text": "x", "manual_c": 99}, {"txt": "x"}):
            answer = requests.post(url + "/api/v1/scans", json=bad, timeout=5)
            assert answer.status_code == 400 and answer.json()["error"]
        assert requests.get(url + "/api/v1/status", timeout=5).json()["last_decision"]["verdict"] == "refer"
    finally:
        server.close()
