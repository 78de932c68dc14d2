"""What the gate keeps out of its process (issue 14: ≤ 100 MB RSS), and the sync transport that made room for it.

A running, synced, simulated gate is asked for its loaded modules (``KIOSK_MEMORY_DUMP``, SIGUSR2): no requests,
urllib3 or charset-normalizer (the sync client is on http.client), none of the office's modules, no segno (the gate
reads cards, it never draws them), no numpy.ma (np.percentile's np.unique imports it). Then the transport itself,
against real HTTP servers on 127.0.0.1: its answers are read up to a bound, and its kept connection survives the
office closing it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from kiosk.gate.sync import OfficeLink, SyncError
from tests.office_fixtures import OfficeServer, free_port

REPO = Path(__file__).resolve().parents[2]
KEPT_OUT = ("requests", "urllib3", "charset_normalizer", "segno", "kiosk.office", "kiosk.config.office", "numpy.ma")


def _dump(gate: subprocess.Popen, dumps: Path, n: int, deadline: float) -> dict:
    gate.send_signal(signal.SIGUSR2)
    while not (dumps / f"dump-{n}.json").exists():
        assert time.monotonic() < deadline, "the gate wrote no memory dump"
        time.sleep(0.05)
    return json.loads((dumps / f"dump-{n}.json").read_text(encoding="utf-8"))


def test_a_synced_gate_that_has_shown_a_card_loads_no_http_library_office_module_segno_or_numpy_ma(tmp_path):
    from kiosk.cards import CardKind, issue_card, render_qr
    from kiosk.keys import Keyset, init_keys
    from kiosk.provisioning import write_provisioning

    office = OfficeServer(tmp_path / "office").start()
    try:
        key = init_keys(tmp_path / "keys")
        keyset = Keyset()
        keyset.add(key.public_key)
        office.registry.upsert("households", {"id": 1, "building": "1"})  # version 1: the gate's pull shows it
        provisioning = write_provisioning(tmp_path / "north.json", gate_id="north", office_url=office.url,
                                          token=office.store.add_gate("north"), keyset=keyset)
        cards = tmp_path / "cards"
        cards.mkdir()
        today = date.today()
        text = issue_card(key, CardKind.RESIDENT, 1, valid_from=today - timedelta(days=1),
                          valid_until=today + timedelta(days=30), card_id=11)[1]
        render_qr(text, cards / "one.png")
        port, dumps = free_port(), tmp_path / "dumps"
        config = tmp_path / "config.yaml"
        config.write_text(f"gate: {{id: north, name: 北门, data_dir: {tmp_path / 'data'}}}\nweb: {{port: {port}}}\n"
                          f"sync: {{provisioning_file: {provisioning}, interval_s: 1}}\n", encoding="utf-8")
        gate = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "run", "--simulate", "--config", str(config),
                                 "--cards", str(cards)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), "KIOSK_MEMORY_DUMP": str(dumps)})
        try:
            line = gate.stdout.readline() if gate.stdout is not None else ""
            assert "ready on" in line, gate.communicate(timeout=30)[1]
            api = f"http://127.0.0.1:{port}/api/v1/"
            deadline = time.monotonic() + 120  # seconds here; a loaded CI machine took most of a minute once
            while json.load(urllib.request.urlopen(api + "status", timeout=5))["registry_version"] < 1:
                assert time.monotonic() < deadline, "the gate never pulled the office's registry"
                time.sleep(0.1)
            shown = urllib.request.Request(api + "simulation", data=json.dumps({"card": "one"}).encode(),
                                           headers={"Content-Type": "application/json"}, method="POST")
            assert urllib.request.urlopen(shown, timeout=10).status == 200  # the replay camera fits the image
            facts = _dump(gate, dumps, 1, time.monotonic() + 60)  # its own bound, not what the pull left
        finally:
            gate.send_signal(signal.SIGTERM)
            gate.communicate(timeout=30)
    finally:
        office.stop()
    modules = set(facts["modules"])
    assert {"kiosk.gate.sync", "http.client", "sensors.cameras", "numpy"} <= modules  # it did sync and scan
    loaded = sorted(m for m in modules if any(m == out or m.startswith(out + ".") for out in KEPT_OUT))
    assert loaded == []


def test_the_id_hash_key_file_the_gate_removes_is_the_rosters():
    from kiosk.gate.process import ID_HASH_KEY_FILE
    from kiosk.office import roster

    assert ID_HASH_KEY_FILE == roster.ID_HASH_KEY_FILE


def test_the_replay_cameras_border_tone_is_numpys_90th_percentile():
    from sensors.cameras import _percentile_90

    rng = np.random.default_rng(14)
    for n in [1, 2, 3, 9, 10, 11, 99, 2556]:
        for _ in range(50):
            values = rng.integers(0, 256, n, dtype=np.uint8)
            if rng.random() < 0.3:
                values[:] = rng.integers(240, 256)  # a flat edge: the ends of the interpolation
            assert _percentile_90(values) == int(np.percentile(values, 90))


class _Office(BaseHTTPRequestHandler):
    """Answers ``/big`` (declared too long), ``/chunked`` (too long, no length), ``/ok`` (small, kept alive)."""

    protocol_version = "HTTP/1.1"
    connections: list[int] = []

    def setup(self) -> None:
        super().setup()
        type(self).connections.append(id(self.connection))

    def log_message(self, *args) -> None:
        """No access log on the test's output."""

    def do_GET(self) -> None:
        if self.path == "/big":
            self.send_response(200)
            self.send_header("Content-Length", str(10**9))
            self.end_headers()
            self.wfile.write(b"{" * 1000)
            self.close_connection = True
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(50):
                self.wfile.write(b"400\r\n" + b" " * 1024 + b"\r\n")  # 50 × 1 KiB
            self.wfile.write(b"0\r\n\r\n")
        else:
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)


@pytest.fixture
def plain_office():
    _Office.connections = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Office)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_answers_are_read_up_to_a_bound_declared_or_not(plain_office):
    link = OfficeLink(f"http://127.0.0.1:{plain_office.server_port}", "token", max_bytes=20_000)
    with pytest.raises(SyncError, match=r"office answered 1,000,000,000 bytes to /big: more than the 20,000"):
        link.request("GET", "/big", 5)
    with pytest.raises(SyncError, match=r"more than the 20,000 bytes a gate reads to /chunked"):
        link.request("GET", "/chunked", 5)
    assert link.request("GET", "/ok", 5) == (200, "OK", b'{"ok": true}')  # a new connection after each refusal
    link.close()


def test_the_connection_is_kept_and_a_new_one_opened_when_the_office_closed_it(plain_office):
    link = OfficeLink(f"http://127.0.0.1:{plain_office.server_port}", "token")
    assert link.request("GET", "/ok", 5)[0] == 200 and link.request("GET", "/ok", 5)[0] == 200
    assert len(_Office.connections) == 1  # keep-alive: one TCP connection for both
    assert link._connection is not None and link._connection.sock is not None
    link._connection.sock.shutdown(1)  # as the office's idle timeout would: the kept connection is dead
    time.sleep(0.1)
    assert link.request("GET", "/ok", 5)[0] == 200
    assert len(_Office.connections) == 2
    link.close()
