"""systemd notifications (kiosk.service_notify): the protocol against a real unix datagram socket, the health rule
with a fake clock, and real `kiosk run --simulate` / `kiosk office serve` processes under a fake systemd —
READY=1 only once they answer, WATCHDOG=1 repeatedly, none once the passage loop hangs, STOPPING=1 on SIGTERM."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from kiosk.gate.journal import Journal
from kiosk.office.store import OfficeStore
from kiosk.service_notify import (
    Keepalive,
    Notifier,
    ServiceNotice,
    gate_health,
    journal_answers,
    problems,
    store_answers,
    watchdog_interval_s,
    worker_turning,
)
from kiosk.workers import Worker
from tests.office_fixtures import free_port, served_office_config

REPO = Path(__file__).resolve().parents[2]


class Listener:
    """A fake systemd: a unix datagram socket that records every notification with when it came."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode("utf-8")))

    def fields(self, after: float = 0.0) -> list[str]:
        """Every KEY=value line received after ``after`` (a monotonic time), in order."""
        return [line for at, text in list(self.messages) if at > after for line in text.split("\n")]

    def wait_for(self, field: str, timeout: float = 30.0) -> float:
        """Block until a datagram with ``field`` arrives; the monotonic time it came."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, text in list(self.messages):
                if field in text.split("\n"):
                    return at
            time.sleep(0.02)
        raise AssertionError(f"no {field} within {timeout} s; got {self.fields()}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        self.sock.close()


@pytest.fixture
def listener(tmp_path):
    found = Listener(str(tmp_path / "notify"))
    yield found
    found.close()


# -- the protocol -------------------------------------------------------------------------

def test_without_notify_socket_everything_is_a_no_op():
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.ready("x") is False and notifier.watchdog() is False and notifier.stopping() is False
    assert watchdog_interval_s({}) is None
    notice = ServiceNotice(lambda: None, lambda interval: [], "serving", environ={}).start()
    notice.close()
    assert notice.keepalive is None and notice._thread is None


def test_fields_reach_a_path_socket(listener, tmp_path):
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify")})
    assert notifier.ready("闸机运行中 / gate serving\nsecond line")
    assert notifier.watchdog() and notifier.stopping()
    listener.wait_for("STOPPING=1")
    assert listener.fields() == ["READY=1", "STATUS=闸机运行中 / gate serving second line", "WATCHDOG=1",
                                 "STOPPING=1", "STATUS=正在停止 / stopping"]
    notifier.close()


def test_the_abstract_namespace_form():
    name = f"kiosk-test-{uuid.uuid4().hex}"
    found = Listener("\0" + name)
    try:
        notifier = Notifier({"NOTIFY_SOCKET": "@" + name})
        assert notifier.watchdog()
        found.wait_for("WATCHDOG=1", timeout=5)
        notifier.close()
    finally:
        found.close()


def test_a_socket_nobody_listens_on_is_a_false_not_an_error(tmp_path):
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "nobody")})
    assert notifier.enabled and notifier.watchdog() is False
    assert not Notifier({"NOTIFY_SOCKET": "relative/path"}).enabled  # not a form systemd gives


def test_watchdog_interval_follows_sd_watchdog_enabled():
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000"}, pid=7) == 30.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"}, pid=7) == 30.0
    # Inherited by a child: the watchdog is its parent's, not its own.
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "8"}, pid=7) is None
    for bad in ("", "0", "-5", "abc", "9" * 30):
        assert watchdog_interval_s({"WATCHDOG_USEC": bad}, pid=7) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "1000", "WATCHDOG_PID": "x"}, pid=7) is None


# -- the health rule ----------------------------------------------------------------------

class FakeWorker:
    name = "passage-worker"
    running = True
    turned_at: float | None = None


def test_a_passage_loop_without_a_recent_turn_fails_the_rule():
    now = [100.0]
    worker = FakeWorker()
    check = worker_turning(worker, 10.0, clock=lambda: now[0])
    assert check() == "passage-worker: no turn for more than 10 s"  # never turned yet
    worker.turned_at = 95.0
    assert check() is None
    now[0] = 105.0
    assert check() is None  # exactly at the bound
    now[0] = 105.5
    assert check() == "passage-worker: no turn for more than 10 s"
    worker.turned_at = 105.4
    assert check() is None
    worker.running = False
    assert check() == "passage-worker: stopped"


def test_the_gates_bounds_follow_the_watchdog_within_limits(tmp_path):
    class Process:
        class gate:  # noqa: N801  # stands in for process.gate
            worker = FakeWorker()

        journal = Journal(tmp_path / "journal.db", "north")

    for interval, stall in ((30.0, "10"), (8.0, "4"), (2.0, "2")):
        passage, journal = gate_health(Process, interval)
        assert passage() == f"passage-worker: no turn for more than {stall} s"
        assert journal() is None
    Process.journal.close()


def test_a_real_worker_turns_while_idle_and_not_while_stuck_in_a_step():
    release = threading.Event()
    turns = []

    def step() -> float:
        turns.append(1)
        if len(turns) == 3:
            release.wait(5)  # stuck inside a step: no further turns
        return 0.01

    worker = Worker("probe", step=step).start()
    try:
        deadline = time.monotonic() + 5
        while len(turns) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        stuck_at = worker.turned_at
        assert stuck_at is not None
        time.sleep(0.3)
        assert worker.turned_at == stuck_at
        assert worker_turning(worker, 0.2)() == "probe: no turn for more than 0.2 s"
        release.set()
        time.sleep(0.1)
        assert worker.turned_at is not None and worker.turned_at > stuck_at
        assert worker_turning(worker, 0.2)() is None
    finally:
        release.set()
        worker.stop()


def test_a_journal_writer_held_in_a_write_fails_the_rule(tmp_path):
    journal = Journal(tmp_path / "journal.db", "north")
    check = journal_answers(journal, 0.2)
    assert check() is None
    held, release = threading.Event(), threading.Event()

    def hang(conn):
        held.set()
        release.wait(5)

    writer = threading.Thread(target=journal._write, args=(hang,))
    writer.start()
    try:
        assert held.wait(5)
        started = time.monotonic()
        assert check() == "journal: a write has held the writer for more than 0.2 s"
        assert time.monotonic() - started < 2  # bounded: the keep-alive thread is never stuck with it
    finally:
        release.set()
        writer.join()
    assert check() is None
    journal.close()
    assert check() == "journal: closed"


def test_the_office_store_answers_or_fails_the_rule(tmp_path):
    store = OfficeStore(tmp_path / "office.db")
    check = store_answers(store, 0.2)
    assert check() is None
    with store._write_lock:
        assert check() == "store: a write has held the database for more than 0.2 s"
    store.close()


def test_a_check_that_raises_is_a_problem():
    def broken() -> str | None:
        raise RuntimeError("boom")

    assert problems([lambda: None, broken, lambda: "x"]) == ["health check failed: RuntimeError: boom", "x"]


def test_keepalive_feeds_the_watchdog_only_while_healthy(listener, tmp_path):
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify")})
    state: list[str | None] = [None]
    keepalive = Keepalive(notifier, 30.0, [lambda: state[0]], "闸机运行中 / gate serving")
    assert keepalive.every_s == 15.0  # half the watchdog timeout
    assert keepalive.round() is True
    state[0] = "passage-worker: no turn for more than 10 s"
    assert keepalive.round() is False and keepalive.round() is False
    state[0] = None
    assert keepalive.round() is True
    time.sleep(0.3)
    assert listener.fields() == [
        "WATCHDOG=1",
        "STATUS=故障，等待重启 / unhealthy, withholding watchdog: passage-worker: no turn for more than 10 s",
        "STATUS=闸机运行中 / gate serving",  # the problem said once, the recovery once
        "WATCHDOG=1"]
    notifier.close()


def test_ready_only_once_the_probe_passes_then_keepalives_then_stopping(listener, tmp_path):
    answers = iter(["http /api/v1/status: ConnectionRefusedError"] * 5)
    asked: list[float] = []

    def probe() -> str | None:
        asked.append(time.monotonic())
        return next(answers, None)

    healthy = threading.Event()
    notice = ServiceNotice(probe, lambda interval: [lambda: None if healthy.is_set() else "not yet"], "serving",
                           environ={"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "400000"})
    assert notice.interval_s == 0.4
    healthy.set()
    notice.start()
    ready_at = listener.wait_for("READY=1", timeout=5)
    assert len(asked) == 6 and ready_at > asked[-1]  # five refusals, then the answer, then READY=1
    time.sleep(0.7)  # a keep-alive every 0.2 s
    assert listener.fields(after=ready_at).count("WATCHDOG=1") >= 2
    notice.close()
    listener.wait_for("STOPPING=1", timeout=2)
    time.sleep(0.5)
    fields = listener.fields()
    assert "WATCHDOG=1" not in fields[fields.index("STOPPING=1"):]  # none after STOPPING=1 (datagrams keep order)
    assert listener.fields()[:2] == ["STATUS=正在启动 / starting", "READY=1"]
    notice.close()  # idempotent


# -- real processes under a fake systemd ----------------------------------------------------

def _gate(tmp_path: Path, port: int, env: dict[str, str]) -> subprocess.Popen:
    data = tmp_path / "data"
    config = tmp_path / "config.yaml"
    config.write_text(f"gate: {{id: north, name: 北门, data_dir: {data}}}\nweb: {{port: {port}}}\n", encoding="utf-8")
    command = shlex.join([sys.executable, "-m", "kiosk.cli", "run", "--simulate", "--config", str(config)])
    # exec keeps the shell's pid, so WATCHDOG_PID=$$ names the gate's own process, as systemd's main pid would.
    return subprocess.Popen(["sh", "-c", f"WATCHDOG_PID=$$ exec {command}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO), **env})


def _stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        raise AssertionError("did not stop within 30 s of SIGTERM: " + err[-3000:]) from None
    return err


def test_kiosk_run_is_ready_only_when_serving_feeds_the_watchdog_and_says_stopping(listener, tmp_path):
    port = free_port()
    process = _gate(tmp_path, port, {"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "2000000"})
    try:
        ready_at = listener.wait_for("READY=1", timeout=60)
        # Told READY, the status URL answers at once.
        assert requests.get(f"http://127.0.0.1:{port}/api/v1/status", timeout=2).status_code == 200
        before = listener.fields()
        assert before[0] == "STATUS=正在启动 / starting" and "READY=1" in before
        assert "STATUS=闸机运行中 / gate serving" in before
        time.sleep(3.5)  # a keep-alive every second (half of WATCHDOG_USEC)
        assert listener.fields(after=ready_at).count("WATCHDOG=1") >= 3
        assert not any(f.startswith("STATUS=故障") for f in listener.fields())
    finally:
        err = _stop(process)
    assert process.returncode == 0, err[-3000:]
    fields = listener.fields()
    assert "STOPPING=1" in fields and fields.index("STOPPING=1") > fields.index("READY=1")


def test_a_gate_whose_passage_loop_hangs_stops_the_keepalives(listener, tmp_path):
    port = free_port()
    process = _gate(tmp_path, port, {"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "4000000",
                                     "KIOSK_TEST_HANG_PASSAGES": "1"})
    try:
        listener.wait_for("READY=1", timeout=60)
        # Within the passage bound (half the 4 s timeout) the keep-alive sees no turn and withholds.
        unhealthy_at = _unhealthy(listener)
        time.sleep(6.0)  # three keep-alive rounds, 1.5 timeouts: systemd would have restarted the gate
        assert "WATCHDOG=1" not in listener.fields(after=unhealthy_at)
        problem = next(f for f in listener.fields() if f.startswith("STATUS=故障"))
        assert "passage-worker: no turn for more than 2 s" in problem
        assert process.poll() is None  # it is systemd that ends a hung gate, not the gate itself
    finally:
        err = _stop(process)
    assert "STOPPING=1" in listener.fields(), err[-3000:]


def _unhealthy(listener: Listener, timeout: float = 15.0) -> float:
    """When the first STATUS= saying the gate is unhealthy came (waits up to ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for at, text in list(listener.messages):
            if text.startswith("STATUS=故障"):
                return at
        time.sleep(0.05)
    raise AssertionError(f"no unhealthy STATUS within {timeout} s; got {listener.fields()}")


def test_kiosk_office_serve_is_ready_when_it_answers_and_feeds_the_watchdog(tmp_path):
    port = free_port()
    config = served_office_config(tmp_path, port)
    name = f"kiosk-office-{uuid.uuid4().hex}"
    found = Listener("\0" + name)  # systemd's abstract-namespace form, end to end
    process = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "office", "serve", "--config", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(REPO), "NOTIFY_SOCKET": "@" + name,
                                    "WATCHDOG_USEC": "2000000"})
    try:
        ready_at = found.wait_for("READY=1", timeout=60)
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json() == {"ok": True}
        assert "STATUS=办公室服务运行中 / office serving" in found.fields()
        time.sleep(3.5)
        assert found.fields(after=ready_at).count("WATCHDOG=1") >= 3
    finally:
        err = _stop(process)
        found.close()
    assert process.returncode == 0, err[-3000:]
    assert "STOPPING=1" in found.fields()
