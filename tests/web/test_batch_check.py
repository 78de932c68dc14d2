"""The office's checking processes (web.office.batch_check): the rows they build are the rows the serving
process builds, a visitor's sealed ID number is hashed there too, and a checking process that dies or hangs
costs no batch. A real `kiosk office serve` checks in a second process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from kiosk.office import personal_data
from kiosk.office.personal_data import ensure_sealing_key
from kiosk.office.roster import load_id_hash_key
from kiosk.office.store import OfficeStore
from kiosk.privacy import id_number_hash, seal_for_office
from tests.office_fixtures import child_pids, free_port, served_office_config
from tests.web.test_office_ingest import event
from web.office import batch_check
from web.office.batch_check import BatchChecker, CheckedBatch, ForeignEvent, check_batch

REPO = Path(__file__).resolve().parents[2]
ID = "11010519491231002X"
RECEIVED = "2026-12-02T03:00:00.000+00:00"


def _visitor(seq: int, public_key) -> dict:
    data = {"verdict": "admit", "name": "孙来访", "phone": "13800138000", "coming_from": "任丘市", "reason": "探亲",
            **seal_for_office(ID, public_key)}
    return event(seq, kind="visitor_registration", data=data)


def _body(events: list[dict]) -> bytes:
    return json.dumps({"events": events}, ensure_ascii=False).encode()


@pytest.fixture
def keyed(tmp_path):
    """A data folder with the office's sealing and ID-hash keys, and a body with a visitor, bad data and passages."""
    key = ensure_sealing_key(tmp_path)
    events = [event(1), _visitor(2, key.public_key()), event(3, data={"verdict": 1}), event(4, kind="alarm_raised",
              data={"kind": "fever", "detail": {"temperature_c": 38.4}}), *[event(s) for s in range(5, 300)]]
    yield tmp_path, _body(events), load_id_hash_key(tmp_path)
    personal_data._cache.clear()  # keys are read once per process: the next test's folder has others


def _pid(checker: BatchChecker) -> int:
    """The checking process's pid (the executor starts its processes when the checker is made)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        processes = list(getattr(checker._pool, "_processes", {}).values())
        if processes and all(p.pid for p in processes):
            return processes[0].pid
        time.sleep(0.05)
    raise AssertionError("no checking process started")


def test_a_checking_process_builds_exactly_the_rows_the_serving_process_builds(keyed):
    folder, body, hash_key = keyed
    here = check_batch("north", body, RECEIVED, str(folder))
    checker = BatchChecker(folder, processes=1)
    try:
        there = checker.check("north", body, RECEIVED)
    finally:
        checker.close()
    assert isinstance(here, CheckedBatch) and there == here and checker.fallbacks == 0
    visitor = json.loads(there.rows[1][9])
    assert visitor["id_hash"] == id_number_hash(ID, hash_key) and ID not in there.rows[1][9]  # hashed there, never clear
    assert "id_hash" not in there.sent_data[2]  # what the live stream shows: the data as the gate sent it
    assert there.rows[2][10].startswith("data.verdict") and there.rows[0][10] is None  # the bad data is flagged


def test_the_rows_are_the_rows_the_store_builds_itself(keyed, tmp_path_factory):
    folder, body, _ = keyed
    checked = check_batch("north", body, RECEIVED, str(folder))
    assert isinstance(checked, CheckedBatch)
    by_rows, by_events = OfficeStore(folder / "a.db"), OfficeStore(folder / "b.db")
    try:
        by_rows.ingest_rows("north", checked.rows)
        from web.office.schemas import batch_events

        by_events.ingest("north", batch_events(body) or [])
        a, b = by_rows.events("north"), by_events.events("north")
        assert len(a) == 299 and [{**e, "received_at": None} for e in a] == [{**e, "received_at": None} for e in b]
    finally:
        by_rows.close()
        by_events.close()


def test_a_bad_body_and_another_gates_event_are_told_apart(tmp_path):
    assert check_batch("north", b'{"events": [{"seq": "one"}]}', RECEIVED, str(tmp_path)) is None
    assert check_batch("north", b"[", RECEIVED, str(tmp_path)) is None
    assert check_batch("north", _body([event(1), event(2, gate="south")]), RECEIVED, str(tmp_path)) == \
        ForeignEvent(2, "south")


def test_a_killed_checking_process_costs_no_batch_and_is_replaced(keyed):
    folder, body, _ = keyed
    checker = BatchChecker(folder, processes=1)
    try:
        first = _pid(checker)
        os.kill(first, signal.SIGKILL)
        checked = checker.check("north", body, RECEIVED)  # the dead process's pool is broken: checked here
        assert checked == check_batch("north", body, RECEIVED, str(folder)) and checker.fallbacks == 1
        assert checker.check("north", body, RECEIVED) == checked and checker.fallbacks == 1  # the new process's
        assert _pid(checker) != first
    finally:
        checker.close()


def test_a_hung_checking_process_is_killed_and_its_batch_checked_here(keyed, monkeypatch):
    folder, body, _ = keyed
    checker = BatchChecker(folder, processes=1)
    try:
        stuck = _pid(checker)
        checker.check("north", body, RECEIVED)  # warmed up: the next answer would come at once
        monkeypatch.setattr(batch_check, "ANSWER_WITHIN_S", 1.0)
        os.kill(stuck, signal.SIGSTOP)
        began = time.monotonic()
        assert isinstance(checker.check("north", body, RECEIVED), CheckedBatch) and checker.fallbacks == 1
        assert time.monotonic() - began < 20
        deadline = time.monotonic() + 10
        while _state(stuck) not in ("gone", "Z") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _state(stuck) in ("gone", "Z")  # killed (a zombie until reaped)
        monkeypatch.setattr(batch_check, "ANSWER_WITHIN_S", 30.0)
        assert isinstance(checker.check("north", body, RECEIVED), CheckedBatch) and checker.fallbacks == 1
    finally:
        checker.close()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return "gone"


def test_a_closed_checker_checks_in_the_calling_thread(keyed):
    folder, body, _ = keyed
    checker = BatchChecker(folder, processes=1)
    checker.close()
    assert isinstance(checker.check("north", body, RECEIVED), CheckedBatch) and checker.fallbacks == 0


def test_kiosk_office_serve_checks_in_a_second_process(tmp_path):
    port = free_port()
    config = served_office_config(tmp_path, port, check_processes=1)
    store = OfficeStore(tmp_path / "office" / "office.db")
    token = store.add_gate("north")
    process = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "office", "serve", "--config", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(url + "/healthz", timeout=1)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline and process.poll() is None, "the office did not start"
                time.sleep(0.1)
        answer = requests.post(url + "/api/v1/sync/events", data=_body([event(s) for s in range(1, 101)]), timeout=30,
                               headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        assert answer.json() == {"stored": 100, "high_water": 100} and store.count_events("north") == 100
        children = [pid for pid in child_pids(process.pid) if "batch_check" in _cmdline(pid) or "spawn" in _cmdline(pid)]
        assert children, "no checking process beside the serving one"
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
        store.close()
    assert process.returncode == 0 and "Traceback" not in err, err
    assert all(_state(pid) in ("gone", "Z") for pid in children)  # stopped with it



def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_closing_kills_a_checking_process_that_hangs(keyed, monkeypatch):
    folder, _, _ = keyed
    monkeypatch.setattr(batch_check, "STOP_WITHIN_S", 1.0)
    checker = BatchChecker(folder, processes=1)
    stuck = _pid(checker)
    os.kill(stuck, signal.SIGSTOP)
    began = time.monotonic()
    checker.close()
    assert time.monotonic() - began < 10
    assert _state(stuck) in ("gone", "Z")


def test_a_system_that_cannot_start_a_process_checks_in_the_serving_threads(keyed, monkeypatch, caplog):
    folder, body, _ = keyed

    def no_processes(*args, **kwargs):
        raise OSError(38, "Function not implemented")  # what sem_open says without a usable /dev/shm

    monkeypatch.setattr(batch_check.concurrent.futures, "ProcessPoolExecutor", no_processes)
    checker = BatchChecker(folder, processes=1)
    assert checker.check("north", body, RECEIVED) == check_batch("north", body, RECEIVED, str(folder))
    assert "cannot start a checking process" in caplog.text
    checker.close()
