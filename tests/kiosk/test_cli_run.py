"""``kiosk run --simulate`` as a real process: ready, scans over the local API and the camera, clean SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date
from pathlib import Path

import requests
from PIL import Image

from kiosk.cards import CardKind, issue_card
from kiosk.gate.journal import JournalReader
from kiosk.keys import Keyset, SigningKey
from kiosk.registry import Registry
from sensors.cameras import qr_array
from tests.office_fixtures import free_port

REPO = Path(__file__).resolve().parents[2]


def test_gate_process_end_to_end(tmp_path):
    key = SigningKey.generate()
    keyset = Keyset()
    keyset.add(key.public_key)
    data = tmp_path / "data"
    data.mkdir()
    with Registry(data / "registry.db") as registry:
        registry.apply_snapshot({
            "households": [{"id": 1, "building": "1", "unit": "1", "room": "101"}],
            "residents": [{"id": 1, "household_id": 1, "name": "王小山"}],
            "cards": [{"id": 11, "kind": "resident", "subject_id": 1}],
            "keyset": keyset.to_json()["keys"],
        }, version=1)
    # an old ledger: 3 events the office acknowledged 40 days ago (purged at start), 1 it never got (kept)
    from datetime import datetime, timedelta

    from kiosk.events import EventKind
    from kiosk.gate.journal import Journal

    long_ago = datetime.now(UTC) - timedelta(days=40)
    with Journal(data / "journal.db", "north", clock=lambda: long_ago) as old:
        for _ in range(4):
            old.append(EventKind.PASSAGE, {"verdict": "admit", "direction": "in"})
        old.acknowledge(3)
    today = date.today()
    text = issue_card(key, CardKind.RESIDENT, 1, valid_from=date(today.year - 1, 1, 1),
                      valid_until=date(today.year + 1, 12, 31), card_id=11)[1]
    port = free_port()
    config = tmp_path / "config.yaml"
    config.write_text(f"gate: {{id: north, name: 北门, data_dir: {data}, same_card_window_s: 4}}\nweb: {{port: {port}}}\n",
                      encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "run", "--simulate", "--config", str(config)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
    url = f"http://127.0.0.1:{port}"
    try:
        ready = process.stdout.readline()
        assert "ready on" in ready, ready + process.stderr.read()
        answer = requests.post(url + "/api/v1/scans", json={"text": text, "manual_c": 36.5, "direction": "in"},
                               timeout=10).json()
        assert answer["verdict"] == "admit" and answer["name"] == "王*山"
        # The same card again at once only shows that decision again: one passage per person.
        again = requests.post(url + "/api/v1/scans", json={"text": text}, timeout=10).json()
        assert again["seq"] == answer["seq"]
        time.sleep(4.2)  # past gate.same_card_window_s: the next showing is a new passage
        # The volunteer taps 出, then the card is held to the (replay) camera: the scanner hands it to the worker.
        chosen = requests.post(url + "/api/v1/direction", json={"direction": "out"}, timeout=5).json()
        assert chosen["direction"]["chosen"] == "out" and chosen["direction"]["source"] == "volunteer"
        Image.fromarray(qr_array(text)).save(data / "replay" / "card.png")
        deadline = time.monotonic() + 10
        last = None
        while time.monotonic() < deadline:
            last = requests.get(url + "/api/v1/status", timeout=5).json()["last_decision"]
            if last and last["direction"] == "out":
                break
            time.sleep(0.1)
        assert last["subject"] == "resident:1" and last["direction"] == "out" and last["verdict"] == "admit"
        assert last["direction_source"] == "volunteer"
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "journal closed" in out
    with JournalReader(data / "journal.db") as journal:
        assert journal.last_seq == 6 and journal.integrity_check() == "ok"
        assert [e.seq for e in journal.events_after(0)] == [4, 5, 6]  # retention purged only what the office held


def test_real_hardware_missing_is_a_clear_error(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(f"gate: {{id: north, data_dir: {tmp_path / 'data'}}}\nthermometer: {{bus: 29}}\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "kiosk.cli", "run", "--config", str(config)], capture_output=True,
                            text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 2 and "I2C bus 29 not found" in result.stderr and "--simulate" in result.stderr
    assert "Traceback" not in result.stderr
