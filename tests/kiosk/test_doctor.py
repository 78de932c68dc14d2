"""``kiosk doctor``: the checks that need no hardware, and the whole command against the simulated hardware."""

from __future__ import annotations

import http.server
import json
import threading
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from kiosk.cli import main
from kiosk.doctor import Status, check_clock, check_data_dir, check_office, exit_code, fail, guarded, ok


def test_data_dir_ok_missing_and_unwritable(tmp_path):
    assert check_data_dir(tmp_path).status is Status.OK
    missing = check_data_dir(tmp_path / "new" / "data")
    assert missing.status is Status.WARN and not (tmp_path / "new").exists()  # doctor changes nothing
    a_file = tmp_path / "file"
    a_file.write_text("x")
    broken = check_data_dir(a_file / "data")
    assert broken.status is Status.FAIL and "sudo install -d" in broken.hint


def test_data_dir_that_is_a_file(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert check_data_dir(a_file).status is Status.FAIL


@pytest.mark.parametrize("year, synced, status", [(2026, True, Status.OK), (2026, False, Status.WARN), (2026, None, Status.WARN), (1970, True, Status.FAIL)])
def test_clock(year, synced, status):
    check = check_clock(datetime(year, 1, 2, tzinfo=UTC), lambda: synced)
    assert check.status is status
    if status is not Status.OK:
        assert check.hint


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server API
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def office():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_office_link(office):
    assert check_office(None).status is Status.OK
    assert check_office(office).status is Status.OK
    assert check_office(office + "/wrong").status is Status.WARN
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    down = check_office(f"http://127.0.0.1:{closed_port}", timeout_s=1)
    assert down.status is Status.WARN and "offline" in down.hint


def test_guarded_turns_a_crash_into_a_failing_line():
    def boom():
        raise RuntimeError("unexpected")

    assert guarded("x", boom).status is Status.FAIL
    assert exit_code([ok("a", ""), fail("b", "")]) == 1 and exit_code([ok("a", "")]) == 0


def _config(tmp_path, extra=""):
    path = tmp_path / "config.yaml"
    path.write_text(f"gate: {{id: g, data_dir: {tmp_path / 'data'}}}\n{extra}", encoding="utf-8")
    return path


def test_doctor_command_simulated_passes(tmp_path):
    result = CliRunner().invoke(main, ["doctor", "--simulate", "--config", str(_config(tmp_path)), "--json"])
    report = json.loads(result.output)
    names = [c["name"] for c in report["checks"]]
    assert names == ["thermometer", "camera", "decoder zxing", "decoder zbar", "GPIO pins", "data folder", "clock", "office link"]
    assert result.exit_code == 0 and report["ok"] is True
    assert not any(c["status"] == "fail" for c in report["checks"])


def test_doctor_command_fails_on_real_hardware_absent(tmp_path):
    result = CliRunner().invoke(main, ["doctor", "--config", str(_config(tmp_path, "thermometer: {bus: 7}\n"))])
    assert result.exit_code == 1
    assert "FAIL  thermometer" in result.output and "raspi-config" in result.output
    assert "Traceback" not in result.output


def test_doctor_bad_config_is_a_usage_error(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("gate: {id: g}\nthermometer: {address: 0x99}\n")
    result = CliRunner().invoke(main, ["doctor", "--config", str(path)])
    assert result.exit_code == 2 and "expected an I2C address" in result.output
