"""The gate's sync client against a real office over HTTP on loopback."""

from __future__ import annotations

import random
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.events import EventKind
from kiosk.gate.journal import EventDraft, Journal
from kiosk.gate.sync import SyncClient, SyncError, check_office_url
from kiosk.registry import Registry
from kiosk.workers import Backoff
from tests.office_fixtures import CuttingProxy, OfficeServer


@pytest.fixture
def office(tmp_path):
    server = OfficeServer(tmp_path / "office").start()
    yield server
    server.stop()


@pytest.fixture
def gate(tmp_path, office):
    token = office.store.add_gate("north")
    (tmp_path / "gate").mkdir()
    journal = Journal(tmp_path / "gate" / "journal.db", "north")
    registry = Registry(tmp_path / "gate" / "registry.db")
    client = SyncClient(journal, registry, office_url=office.url, token=token, interval_s=0.2, timeout_s=3)
    yield client
    client.close()
    journal.close()


def fill(journal, n, kind=EventKind.PASSAGE):
    journal.append_many(EventDraft(kind, {"i": i}) for i in range(n))


def test_push_delivers_everything_once_in_batches(gate, office):
    fill(gate.journal, 2500)
    assert gate.push_once() == 2500
    assert gate.journal.acked_seq == 2500 and gate.journal.backlog() == 0
    assert office.store.count_events("north") == 2500 and office.store.high_water("north") == 2500
    assert gate.push_once() == 0


def test_office_down_then_back(gate, office):
    fill(gate.journal, 10)
    office.stop()
    with pytest.raises(SyncError, match="unreachable"):
        gate.round()
    assert gate.status.online is False and gate.status.failures == 1 and gate.journal.acked_seq == 0
    office.start()
    gate.round()
    assert gate.status.online is True and office.store.count_events("north") == 10


def test_revoked_token_is_an_error_not_a_crash(gate, office):
    office.store.revoke_gate("north")
    fill(gate.journal, 1)
    with pytest.raises(SyncError, match="401"):
        gate.push_once()
    assert gate.journal.acked_seq == 0


def test_registry_pull_changes_then_snapshot(gate, office):
    office.registry.upsert("households", {"id": 1, "building": "1"})
    office.registry.upsert("revocations", {"card_id": 7, "reason": "lost"})
    assert gate.pull_registry_once() == 2 and gate.registry.is_revoked(7)
    gate.registry.apply_changes([], from_version=2, to_version=50)  # a replica from the future (restored backup)
    assert gate.pull_registry_once() == 2 and gate.registry.household(1) is not None and gate.registry.version == 2


def _gate_with_one_resident(tmp_path, office):
    """A gate synced with an office that knows one resident and their card; returns (client, checkpoint, card text)."""
    from kiosk.cards import CardKind, issue_card
    from kiosk.config import GateConfig
    from kiosk.gate.checkpoint import Checkpoint
    from kiosk.keys import Keyset, init_keys

    key = init_keys(tmp_path / "keys")
    keyset = Keyset()
    keyset.add(key.public_key)
    office.registry.change([
        {"op": "upsert", "table": "keyset", "row": keyset.to_json()["keys"][0]},
        {"op": "upsert", "table": "households", "row": {"id": 1, "building": "1", "unit": "1", "room": "101"}},
        {"op": "upsert", "table": "residents", "row": {"id": 1, "household_id": 1, "name": "王小山"}},
        {"op": "upsert", "table": "cards", "row": {"id": 11, "kind": "resident", "subject_id": 1}},
    ])
    (tmp_path / "gate").mkdir()
    journal, registry = Journal(tmp_path / "gate" / "j.db", "north"), Registry(tmp_path / "gate" / "r.db")
    client = SyncClient(journal, registry, office_url=office.url, token=office.store.add_gate("north"), interval_s=0.2)
    client.pull_registry_once()
    checkpoint = Checkpoint(GateConfig.model_validate({"gate": {"id": "north"}}), registry, journal,
                            Keyset.from_json(registry.keyset_json()))
    text = issue_card(key, CardKind.RESIDENT, 1, valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31), card_id=11)[1]
    return client, checkpoint, text


NOW = datetime(2026, 11, 28, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.mark.parametrize("change, direction, reason", [
    ({"table": "revocations", "row": {"card_id": 11, "reason": "挂失"}}, "in", "card_revoked"),
    ({"table": "quarantine_orders", "row": {"id": 1, "household_id": 1, "starts_on": "2026-11-28", "ends_on": "2026-12-11"}},
     "out", "quarantine"),
])
def test_an_office_change_reaches_a_running_gate_within_one_sync_interval(tmp_path, office, change, direction, reason):
    from kiosk.gate.policy import Verdict
    from kiosk.measurements import Measurement

    client, checkpoint, text = _gate_with_one_resident(tmp_path, office)
    before = checkpoint.passage(text, NOW, [Measurement(36.5, 10.0)], direction=direction)
    assert before.decision.verdict is Verdict.ADMIT
    client.start()
    version = office.registry.upsert(change["table"], change["row"])
    deadline = time.monotonic() + 5 * client.interval_s + 2
    while checkpoint.registry.version < version and time.monotonic() < deadline:
        time.sleep(0.02)
    after = checkpoint.passage(text, NOW + timedelta(minutes=1), [Measurement(36.5, 10.0)], direction=direction)
    assert after.decision.verdict is Verdict.DENY and reason in [r.value for r in after.decision.reasons]
    client.close()
    checkpoint.journal.close()


def test_heartbeat_reaches_the_office(gate, office):
    fill(gate.journal, 3)
    answer = gate.heartbeat_once()
    assert answer["clock_off"] is False and abs(answer["clock_offset_s"]) < 60
    row = {g["id"]: g for g in office.store.gates()}["north"]
    assert row["backlog"] == 3 and row["software_version"]


def test_a_new_alarm_reaches_the_office_within_two_seconds(gate, office):
    gate.interval_s = 60  # only the poke can make it fast
    gate.start()
    deadline = time.monotonic() + 5
    while gate.status.last_success is None and time.monotonic() < deadline:
        time.sleep(0.02)
    gate.journal.append(EventKind.ALARM_RAISED, {"kind": "fever"})
    started = time.monotonic()
    gate.poke()
    while not office.store.open_alarms() and time.monotonic() - started < 5:
        time.sleep(0.02)
    assert office.store.open_alarms(), "the alarm did not reach the office"
    assert time.monotonic() - started < 2.0


def test_connections_cut_mid_batch_lose_nothing_and_store_nothing_twice(gate, office):
    proxy = CuttingProxy(office.port, cut=0.5)
    try:
        gate.url = proxy.url
        gate.batch = 200
        fill(gate.journal, 3000)
        for _ in range(200):
            try:
                gate.push_once()
            except SyncError:
                continue
            if gate.journal.backlog() == 0:
                break
        assert proxy.cuts > 0
        assert gate.journal.acked_seq == 3000
        assert office.store.count_events("north") == 3000
        assert [e["seq"] for e in office.store.events("north", 0, 5000)] == list(range(1, 3001))
    finally:
        proxy.close()


@pytest.mark.parametrize("url, ok", [
    ("http://127.0.0.1:8443", True), ("http://localhost:1", True), ("https://office.local", True),
    ("http://192.168.1.10:8443", False), ("ftp://x", False), ("office", False),
])
def test_plain_http_only_to_localhost(url, ok):
    if ok:
        check_office_url(url)
    else:
        with pytest.raises(SyncError):
            check_office_url(url)
    check_office_url("http://192.168.1.10:8443", allow_plain_http=True)


def test_backoff_grows_with_jitter_and_a_cap(gate):
    assert (gate.backoff.first_s, gate.backoff.cap_s, gate.backoff.jitter) == (1.0, 60.0, True)
    backoff = Backoff(gate.backoff.first_s, gate.backoff.cap_s, rng=random.Random(1))
    delays = [backoff.next() for _ in range(12)]
    assert all(0 <= d <= 60 for d in delays)
    assert max(backoff.delay(2) for _ in range(200)) <= 2.0
    assert max(backoff.delay(11) for _ in range(200)) > 30


def test_the_loop_backs_off_while_the_office_is_down_and_a_poke_cuts_the_wait(gate, office):
    fill(gate.journal, 5)
    office.stop()
    gate.backoff = Backoff(30.0, 30.0, jitter=False)  # without the poke the retry would be 30 s away
    gate.start()
    deadline = time.monotonic() + 5
    while gate.retry_in_s is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert gate.running and gate.retry_in_s == 30.0
    assert gate.status.online is False and "unreachable" in gate.status.last_error
    office.start()
    started = time.monotonic()
    gate.poke()
    while gate.status.last_success is None and time.monotonic() - started < 5:
        time.sleep(0.02)
    assert gate.status.online is True and office.store.count_events("north") == 5
    assert time.monotonic() - started < 2.0
    assert gate.close() is True and not gate.running
    assert gate.close() is True  # idempotent


def test_client_from_a_provisioning_file(tmp_path, office):
    from kiosk.config.gate import SyncSettings
    from kiosk.keys import Keyset, SigningKey
    from kiosk.provisioning import write_provisioning

    keyset = Keyset()
    keyset.add(SigningKey.generate().public_key)
    path = write_provisioning(tmp_path / "north.provision.json", gate_id="north", office_url=office.url,
                              token=office.store.add_gate("north"), keyset=keyset)
    (tmp_path / "gate").mkdir()
    journal, registry = Journal(tmp_path / "gate" / "j.db", "north"), Registry(tmp_path / "gate" / "r.db")
    client = SyncClient.from_provisioning(path, journal, registry, SyncSettings(interval_s=5))
    fill(journal, 5)
    assert client.push_once() == 5 and client.interval_s == 5
    other = Journal(tmp_path / "gate" / "other.db", "south")
    with pytest.raises(SyncError, match="is for gate 'north'"):
        SyncClient.from_provisioning(path, other, registry, SyncSettings())
    client.close()
    journal.close()
    other.close()
