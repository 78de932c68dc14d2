"""SIGTERM with connections open: the office and the gate stop in order, exit 0 and print no traceback.

A SIGTERM handler that raised KeyboardInterrupt inside the running event loop printed a CancelledError
traceback per open connection into the system log (WebServer.stop_on_signal closes through the loop instead).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.keys import init_keys
from tests.office_fixtures import free_port

REPO = Path(__file__).resolve().parents[2]


def _wait_listening(port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1][-3000:]
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listening on {port} within {timeout} s")


def _open_connections(port: int, path: str) -> list[socket.socket]:
    """Kept-alive connections after a whole request, one half-sent request, and one opened and closed at once."""
    held = []
    for _ in range(4):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        held.append(s)
    half = socket.create_connection(("127.0.0.1", port))
    half.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n".encode())
    held.append(half)
    socket.create_connection(("127.0.0.1", port)).close()
    for s in held[:4]:
        s.settimeout(10)
        assert s.recv(64).startswith(b"HTTP/1.1 200")  # served and kept open
    return held


def _office(tmp_path: Path, port: int) -> list[str]:
    init_keys(tmp_path / "keys")
    config = tmp_path / "office.yaml"
    config.write_text(f"office: {{data_dir: {tmp_path / 'office'}, keys_dir: {tmp_path / 'keys'}}}\n"
                      f"server: {{host: 127.0.0.1, port: {port}}}\n", encoding="utf-8")
    return [sys.executable, "-m", "kiosk.cli", "office", "serve", "--config", str(config)]


def _gate(tmp_path: Path, port: int) -> list[str]:
    config = tmp_path / "config.yaml"
    config.write_text(f"gate: {{id: north, name: 北门, data_dir: {tmp_path / 'data'}}}\nweb: {{port: {port}}}\n",
                      encoding="utf-8")
    return [sys.executable, "-m", "kiosk.cli", "run", "--simulate", "--config", str(config)]


@pytest.mark.parametrize(("command", "path"), [(_office, "/healthz"), (_gate, "/api/v1/status")],
                         ids=["office", "gate"])
def test_sigterm_with_open_connections_stops_in_order_without_a_traceback(tmp_path, command, path):
    port = free_port()
    process = subprocess.Popen(command(tmp_path, port), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    held: list[socket.socket] = []
    try:
        _wait_listening(port, process)
        held = _open_connections(port, path)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        for s in held:
            s.close()
    assert process.returncode == 0, err[-3000:]
    assert "Traceback" not in err and "CancelledError" not in err, err[-3000:]
