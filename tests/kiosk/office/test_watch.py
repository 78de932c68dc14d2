"""The gate-offline alarm (issue 11): the office raises one when a gate is silent for alarms.offline_after_s, closes
it by itself when the gate is heard again, never two at once, nothing for a revoked gate, and across restarts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from kiosk.events import EventKind
from kiosk.gate.journal import Journal
from kiosk.gate.sync import SyncClient
from kiosk.keys import init_keys
from kiosk.office.event_schemas import data_problem
from kiosk.office.store import OfficeStore
from kiosk.office.watch import (
    AUTO,
    BACK_ONLINE,
    GATE_REVOKED,
    Change,
    GateSilence,
    OfflineWatch,
    offline_changes,
    silences,
)
from kiosk.registry import Registry
from tests.office_fixtures import free_port

T0 = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[3]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# -- the rule ------------------------------------------------------------------

def test_a_gate_silent_long_enough_gets_one_alarm():
    rows = [GateSilence("north", False, at(0)), GateSilence("south", False, at(100))]
    assert offline_changes(rows, at(119.9), 120) == []
    assert offline_changes(rows, at(120), 120) == [Change("raise", "north", at(0))]


def test_an_open_alarm_is_not_raised_again_and_closes_when_the_gate_is_heard_after_it():
    still = GateSilence("north", False, at(0), "office:gate_offline:north:x", at(120))
    assert offline_changes([still], at(5000), 120) == []
    back = GateSilence("north", False, at(130), "office:gate_offline:north:x", at(120))
    assert offline_changes([back], at(131), 120) == [
        Change("close", "north", at(130), "office:gate_offline:north:x", BACK_ONLINE)]


def test_revoked_and_never_heard_gates_raise_nothing_and_a_revoked_gates_alarm_closes():
    assert offline_changes([GateSilence("old", True, at(0)), GateSilence("new", False, None)], at(9999), 120) == []
    revoked = GateSilence("old", True, at(0), "office:gate_offline:old:x", at(120))
    assert offline_changes([revoked], at(9999), 120) == [
        Change("close", "old", at(0), "office:gate_offline:old:x", GATE_REVOKED)]


def test_zero_raises_none_but_still_closes():
    assert offline_changes([GateSilence("north", False, at(0))], at(99999), 0) == []
    back = GateSilence("north", False, at(200), "office:gate_offline:north:x", at(120))
    assert [c.action for c in offline_changes([back], at(201), 0)] == ["close"]


# -- over a real office store, with the office's time injected ---------------------

def beat(store: OfficeStore, gate: str, now: datetime) -> None:
    store.heartbeat(gate, {"gate_clock": now.isoformat(), "software_version": "t", "backlog": 0, "sensors": {}}, now)


def alarm_rows(store: OfficeStore, gate: str = "north") -> list[dict]:
    return list(store.database().query(
        "SELECT event_id, gate_id, seq, kind, raised_at, acknowledged_at, acknowledged_by, note FROM alarms"
        " WHERE gate_id = ? AND kind = 'gate_offline' ORDER BY raised_at", [gate]))


@pytest.fixture
def store(tmp_path):
    made = OfficeStore(tmp_path / "office.db")
    yield made
    made.close()


def test_silent_gate_raises_publishes_and_closes_when_heard_again(store):
    published: list[dict] = []
    store.add_gate("north")
    watch = OfflineWatch(store, 120, publish=published.extend)
    beat(store, "north", at(0))
    assert watch.check(at(119)) == [] and alarm_rows(store) == []
    [raised] = watch.check(at(120))
    [row] = alarm_rows(store)
    assert row["seq"] is None and row["acknowledged_at"] is None and row["raised_at"] == "2026-11-28T01:02:00.000Z"
    assert row["event_id"] == "office:gate_offline:north:2026-11-28T01:02:00.000Z"
    assert raised["kind"] == "alarm_raised" and raised["gate_id"] == "north" and raised["seq"] is None
    assert raised["id"] == row["event_id"] and raised["data"]["kind"] == "gate_offline"
    assert raised["data"]["detail"] == {"last_heard": "2026-11-28T01:00:00.000Z", "offline_after_s": 120}
    assert data_problem("alarm_raised", {**raised["data"], "kind": "fever"}) is None  # shaped as a gate's alarm
    assert [a["kind"] for a in store.open_alarms()] == ["gate_offline"]
    for later in (200, 400, 4000):  # never two open alarms
        assert watch.check(at(later)) == []
    assert len(alarm_rows(store)) == 1
    beat(store, "north", at(4010))
    [closed] = watch.check(at(4011))
    [row] = alarm_rows(store)
    assert (row["acknowledged_by"], row["note"], row["acknowledged_at"]) == (AUTO, BACK_ONLINE, "2026-11-28T02:06:51.000Z")
    assert closed["kind"] == "alarm_acknowledged" and closed["data"]["alarm_event_id"] == row["event_id"]
    assert closed["data"]["outcome"] == BACK_ONLINE and store.open_alarms() == []
    assert published == [raised, closed]
    assert watch.check(at(4100)) == []
    [again] = watch.check(at(4130))  # silent again: a new alarm
    assert again["id"] != raised["id"] and len(alarm_rows(store)) == 2


def test_events_count_as_hearing_from_the_gate(store):
    store.add_gate("north")
    now = datetime.now(UTC)  # ingest stamps events with the office's real time
    watch = OfflineWatch(store, 60)
    beat(store, "north", now - timedelta(seconds=600))
    [raised] = watch.check(now)
    event = {"seq": 1, "id": "e1", "ts": now.isoformat(), "gate_id": "north", "volunteer_id": None,
             "kind": EventKind.SHIFT_SIGN_OUT.value, "subject": None, "household_id": None, "data": {}}
    store.ingest("north", [event])
    [closed] = watch.check(datetime.now(UTC) + timedelta(seconds=1))
    assert closed["data"]["alarm_event_id"] == raised["id"]
    assert watch.check(datetime.now(UTC) + timedelta(seconds=30)) == []  # heard 30 s ago: online


def test_revoked_never_heard_and_many_gates(store):
    for gate in ("north", "south", "east", "spare"):
        store.add_gate(gate)
    for gate in ("north", "south", "east"):
        beat(store, gate, at(0))
    beat(store, "south", at(500))
    watch = OfflineWatch(store, 120)
    store.revoke_gate("east")
    assert sorted(i["gate_id"] for i in watch.check(at(300))) == ["north"]  # not south (heard), east, spare
    store.add_gate("east")  # re-added: a live gate again, long silent
    assert [i["gate_id"] for i in watch.check(at(301))] == ["east"]
    store.revoke_gate("east")
    [closed] = watch.check(at(302))
    assert closed["gate_id"] == "east" and closed["data"]["outcome"] == GATE_REVOKED


def test_an_office_restart_keeps_the_open_alarm_and_raises_no_second(tmp_path):
    first = OfficeStore(tmp_path / "office.db")
    first.add_gate("north")
    beat(first, "north", at(0))
    assert len(OfflineWatch(first, 120).check(at(200))) == 1
    first.close()
    again = OfficeStore(tmp_path / "office.db")
    try:
        watch = OfflineWatch(again, 120)
        assert watch.check(at(900)) == [] and len(alarm_rows(again)) == 1
        beat(again, "north", at(950))
        assert [i["kind"] for i in watch.check(at(951))] == ["alarm_acknowledged"]
    finally:
        again.close()


def test_two_watches_at_once_still_open_one_alarm(store):
    store.add_gate("north")
    beat(store, "north", at(0))
    watches = [OfflineWatch(store, 120) for _ in range(4)]
    threads = [threading.Thread(target=w.check, args=(at(500),)) for w in watches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(alarm_rows(store)) == 1


def test_a_gate_may_not_raise_or_close_the_offices_alarm():
    assert "raised by the office" in str(data_problem("alarm_raised", {"kind": "gate_offline", "reason": "x"}))
    assert "closed by the office" in str(data_problem("alarm_acknowledged", {
        "alarm_event_id": "office:gate_offline:north:x", "outcome": "back_online", "note": ""}))
    assert data_problem("alarm_raised", {"kind": "unstaffed_gate", "reason": "unstaffed", "subject": None,
                                         "detail": {"since": "2026-11-28T01:00:00.000Z", "after_s": 600}}) is None


# -- end to end: `kiosk office serve` and a gate syncing over HTTP -----------------------

def _serve(config: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kiosk.cli", "office", "serve", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(REPO)})


def _wait(what, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s")


def test_a_gate_that_stops_syncing_is_flagged_offline_and_back_online_when_it_syncs_again(tmp_path):
    port = free_port()
    init_keys(tmp_path / "keys")
    config = tmp_path / "office.yaml"
    config.write_text(f"office: {{data_dir: {tmp_path / 'office'}, keys_dir: {tmp_path / 'keys'}}}\n"
                      f"server: {{host: 127.0.0.1, port: {port}}}\n"
                      "alarms: {offline_after_s: 1, check_every_s: 0.1}\n", encoding="utf-8")
    store = OfficeStore(tmp_path / "office" / "office.db")
    token = store.add_gate("north")
    staff = store.add_user("li", "staff", "pw-for-tests")
    url = f"http://127.0.0.1:{port}"
    (tmp_path / "gate").mkdir()
    journal = Journal(tmp_path / "gate" / "journal.db", "north")
    registry = Registry(tmp_path / "gate" / "registry.db")
    office = _serve(config)
    streamed: list[dict] = []
    clients: list[SyncClient] = []

    def syncing() -> SyncClient:
        client = SyncClient(journal, registry, office_url=url, token=token, interval_s=0.1, heartbeat_s=0.1, timeout_s=3)
        clients.append(client)
        return client.start()

    def listen() -> None:
        try:
            with requests.get(url + "/api/v1/stream", headers={"Authorization": f"Bearer {staff}"}, stream=True,
                              timeout=30) as stream:
                for line in stream.iter_lines(decode_unicode=True):
                    if line.startswith("data: "):
                        streamed.append(json.loads(line[len("data: "):]))
        except requests.RequestException:
            pass  # the office stopped at the end of the test

    def open_offline() -> list[dict]:
        answer = requests.get(url + "/api/v1/alarms", headers={"Authorization": f"Bearer {staff}"}, timeout=5)
        return [a for a in answer.json()["alarms"] if a["kind"] == "gate_offline"]

    try:
        _wait(lambda: _healthy(url))
        threading.Thread(target=listen, daemon=True).start()
        gate = syncing()
        journal.append(EventKind.SHIFT_SIGN_IN, {}, volunteer_id="7")
        gate.poke()
        _wait(lambda: store.high_water("north") == 1)
        time.sleep(1.5)  # online, syncing: heard every 0.1 s, so no alarm
        assert open_offline() == []
        gate.close()  # the gate stops syncing (its Wi-Fi is down)
        [alarm] = _wait(open_offline)
        [silence] = silences(store.database())
        assert silence.last_heard is not None and silence.raised_at is not None
        assert silence.raised_at - silence.last_heard >= timedelta(seconds=1)  # not before offline_after_s
        assert alarm["seq"] is None and alarm["gate_id"] == "north"
        assert alarm["event_id"].startswith("office:gate_offline:north:")
        time.sleep(1.0)
        assert len(open_offline()) == 1  # still silent: one alarm, not one per check
        syncing()  # back
        _wait(lambda: not open_offline())
        [row] = alarm_rows(store)
        assert (row["acknowledged_by"], row["note"]) == (AUTO, BACK_ONLINE)
        _wait(lambda: [i for i in streamed if i.get("kind") == "alarm_acknowledged"])
        raised = [i for i in streamed if i.get("kind") == "alarm_raised"]
        closed = [i for i in streamed if i.get("kind") == "alarm_acknowledged"]
        assert [i["data"]["kind"] for i in raised] == ["gate_offline"] and raised[0]["id"] == alarm["event_id"]
        assert closed[0]["data"] == {"alarm_event_id": alarm["event_id"], "alarm_seq": None, "kind": "gate_offline",
                                     "outcome": BACK_ONLINE, "note": "", "by": AUTO}
    finally:
        for client in clients:
            client.close()
        office.terminate()
        try:
            office.wait(timeout=10)
        except subprocess.TimeoutExpired:
            office.kill()
            office.wait()
        journal.close()
        registry.close()
        store.close()


def _healthy(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_the_codes_are_in_the_one_outcome_table():
    from kiosk.alarm_outcomes import GATE_SELF_OUTCOMES, OFFICE_AUTO_OUTCOMES, UNSTAFFED_GATE, office_outcomes
    from kiosk.gate.policy import AlarmKind
    from kiosk.gate.unstaffed import SIGNED_IN_OUTCOME

    assert {AlarmKind.GATE_OFFLINE.value, AlarmKind.UNSTAFFED_GATE.value} == {"gate_offline", UNSTAFFED_GATE}
    assert SIGNED_IN_OUTCOME in GATE_SELF_OUTCOMES and {BACK_ONLINE, GATE_REVOKED} == set(OFFICE_AUTO_OUTCOMES)
    assert BACK_ONLINE in office_outcomes("gate_offline")
