"""Chaos: two gate processes journal while the office process is killed and restarted, and a proxy cuts
connections mid-batch. At the end the office holds exactly every event of both gates: none lost, none twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.gate.journal import JournalReader
from kiosk.office.store import OfficeStore
from tests.office_fixtures import CuttingProxy, free_port, served_office_config

REPO = Path(__file__).resolve().parents[3]
CHILD = Path(__file__).with_name("sync_gate_child.py")
EVENTS = 3000


def _env():
    return {**os.environ, "PYTHONPATH": str(REPO)}


def _office(config: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kiosk.cli", "office", "serve", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env())


@pytest.mark.slow
def test_office_killed_and_connections_cut_yet_every_event_arrives_exactly_once(tmp_path):
    port = free_port()
    config = served_office_config(tmp_path, port)
    store = OfficeStore(tmp_path / "office" / "office.db")
    tokens = {gate: store.add_gate(gate) for gate in ("north", "south")}
    store.close()
    proxy = CuttingProxy(port, cut=0.2)
    office = _office(config)
    gates = {}
    try:
        for gate, token in tokens.items():
            (tmp_path / gate).mkdir()
            gates[gate] = subprocess.Popen(
                [sys.executable, str(CHILD), str(tmp_path / gate / "journal.db"), gate, proxy.url, token, str(EVENTS)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
        kills_while_gates_ran = 0
        for _ in range(4):  # kill the office (like a power cut) and bring it back, several times
            time.sleep(1.0)
            kills_while_gates_ran += all(child.poll() is None for child in gates.values())
            office.send_signal(signal.SIGKILL)
            office.wait()
            time.sleep(0.5)
            office = _office(config)
        results = {gate: child.communicate(timeout=240) for gate, child in gates.items()}
    finally:
        for child in gates.values():
            if child.poll() is None:
                child.kill()
        office.kill()
        office.wait()
        proxy.close()
    for gate, (out, err) in results.items():
        assert out.strip() == "done", f"{gate}: {out} {err[-2000:]}"
    assert proxy.cuts > 0, "the proxy never cut a connection: the test did not test what it says"
    assert kills_while_gates_ran >= 3, "the office was not killed while the gates were sending"
    store = OfficeStore(tmp_path / "office" / "office.db")
    for gate in tokens:
        with JournalReader(tmp_path / gate / "journal.db") as journal:
            sent = [(e.seq, e.id) for e in journal.events_after(0, 100_000)]
        held = [(e["seq"], e["id"]) for e in store.events(gate, 0, 100_000)]
        assert len(sent) >= EVENTS
        assert held == sent  # every event, once, with its own id, seq gap-free
        assert store.high_water(gate) == len(sent)
    assert store._db().execute("PRAGMA integrity_check").fetchone()[0] == "ok"
