"""A gate whose clock is hours wrong after a power cut: its events and heartbeat reach a real office over HTTP with
their clock stamp, and kiosk.office.clock_correction dates and orders them by the boot's monotonic clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from pydantic import ValidationError

from kiosk.events import EventKind
from kiosk.gate.clock import FakeClockSource, GateClock, TrustCode
from kiosk.gate.journal import Journal
from kiosk.gate.sync import SyncClient
from kiosk.office.clock_correction import correct, corrected_events, gate_boots
from kiosk.office.store import OfficeStore
from kiosk.registry import Registry
from tests.office_fixtures import OfficeServer
from web.office import schemas


@pytest.fixture
def office(tmp_path):
    server = OfficeServer(tmp_path / "office").start()
    yield server
    server.stop()


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def test_a_gate_three_hours_behind_is_dated_by_its_heartbeat(tmp_path, office):
    token = office.store.add_gate("north")
    (tmp_path / "gate").mkdir()
    # the Pi came back from a power cut with fake-hwclock's time: 3 hours behind, not synchronised
    source = FakeClockSource(datetime.now(UTC) - timedelta(hours=3), mono_s=1000.0, boot="boot-7", synchronised=False)
    journal = Journal(tmp_path / "gate" / "journal.db", "north", clock=source.wall, gate_clock=GateClock(source))
    registry = Registry(tmp_path / "gate" / "registry.db")
    client = SyncClient(journal, registry, office_url=office.url, token=token, timeout_s=3)
    try:
        journal.append(EventKind.PASSAGE, {"verdict": "admit", "direction": "in"}, subject="resident:1")
        source.advance(60)
        journal.append(EventKind.PASSAGE, {"verdict": "admit", "direction": "out"}, subject="resident:1")
        assert client.push_once() == 2
        assert journal.clock_trust().code is TrustCode.UNSYNCHRONISED
        answer = client.heartbeat_once()  # 60 s of monotonic time after the first event
        assert answer["clock_off"] is True and answer["clock_offset_s"] < -3 * 3600 + 60
        assert answer["clock_tolerance_s"] == 120.0
        # the office's answer now judges the clock: far from the office
        assert journal.clock_trust().code is TrustCode.OFF_OFFICE
        source.advance(1)
        assert journal.append(EventKind.MEASUREMENT, {}).clock == "off_office"
        assert client.push_once() == 1
    finally:
        client.close()
        journal.close()
        registry.close()

    stored = office.store.events("north")
    assert [(e["boot"], e["mono_ms"], e["clock"]) for e in stored] == [
        ("boot-7", 1_000_000, "unsynchronised"), ("boot-7", 1_060_000, "unsynchronised"),
        ("boot-7", 1_061_000, "off_office")]
    boots = gate_boots(office.store, "north")
    assert boots["boot-7"]["mono_ms"] == 1_060_000 and boots["boot-7"]["clock_trust"] == "unsynchronised"
    gate = {g["id"]: g for g in office.store.gates()}["north"]
    assert gate["clock_trust"] == "unsynchronised" and gate["clock_off"] is True

    fixed = corrected_events(office.store, "north")
    received = _parse(boots["boot-7"]["received_at"])
    assert [e["time_source"] for e in fixed] == ["heartbeat"] * 3
    assert [e["clock_trusted"] for e in fixed] == [False] * 3
    assert _parse(fixed[0]["ts_corrected"]) == received - timedelta(seconds=60)
    assert _parse(fixed[1]["ts_corrected"]) == received
    assert _parse(fixed[2]["ts_corrected"]) == received + timedelta(seconds=1)
    # the same over the office API, for staff (and refused to a gate's token)
    staff = office.store.add_user("clerk", "staff")
    answer = requests.get(office.url + "/api/v1/gates/north/events", params={"after": 1},
                          headers={"Authorization": f"Bearer {staff}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert [(e["seq"], e["ts_corrected"], e["time_source"], e["clock_trusted"]) for e in answer.json()["events"]] == [
        (e["seq"], e["ts_corrected"], "heartbeat", False) for e in fixed[1:]]
    assert requests.get(office.url + "/api/v1/gates/north/events", headers={"Authorization": f"Bearer {token}"},
                        timeout=10).status_code == 403
    bad = requests.get(office.url + "/api/v1/gates/north/events", params={"since": 1},
                       headers={"Authorization": f"Bearer {staff}"}, timeout=10)
    assert bad.status_code == 400 and "after" in bad.json()["error"]
    nobody = requests.get(office.url + "/api/v1/gates/nobody/events", headers={"Authorization": f"Bearer {staff}"},
                          timeout=10)
    assert nobody.status_code == 200 and nobody.json() == {"events": []}
    # the gate's own ts was 3 h behind when it started (less the minute its fake clock ran ahead of the real one)
    assert abs((_parse(fixed[1]["ts_corrected"]) - _parse(fixed[1]["ts"])).total_seconds() - (3 * 3600 - 60)) < 5


def _ev(seq, ts, boot=None, mono=None, clock=None):
    return {"seq": seq, "ts": ts, "boot": boot, "mono_ms": mono, "clock": clock}


def test_within_a_boot_the_monotonic_clock_orders_and_a_trusted_event_anchors():
    events = [
        # boot a: synchronised, then the clock is stepped back an hour by hand (ts goes backwards)
        _ev(1, "2026-12-01T08:00:00.000Z", "a", 10_000, "trusted"),
        _ev(2, "2026-12-01T07:00:05.000Z", "a", 15_000, "behind_journal"),
        # boot b: no heartbeat ever, NTP synchronised part way through
        _ev(3, "2026-11-30T20:00:00.000Z", "b", 2_000, "behind_journal"),
        _ev(4, "2026-12-01T09:00:00.000Z", "b", 62_000, "trusted"),
        # boot c: no heartbeat and never trusted: cannot be dated
        _ev(5, "2026-11-30T21:00:00.000Z", "c", 1_000, "unsynchronised"),
        # stored before gates sent a stamp
        _ev(6, "2026-12-01T10:00:00.000Z"),
    ]
    out = correct(reversed(events), {})
    assert [e["seq"] for e in out] == [1, 2, 3, 4, 5, 6]
    by_seq = {e["seq"]: e for e in out}
    assert by_seq[1]["ts_corrected"] == "2026-12-01T08:00:00.000Z" and by_seq[1]["time_source"] == "gate"
    assert by_seq[2]["ts_corrected"] == "2026-12-01T08:00:05.000Z" and by_seq[2]["time_source"] == "trusted_event"
    assert by_seq[3]["ts_corrected"] == "2026-12-01T08:59:00.000Z" and by_seq[3]["time_source"] == "trusted_event"
    assert (by_seq[5]["ts_corrected"], by_seq[5]["time_source"], by_seq[5]["clock_trusted"]) == (None, "none", False)
    assert (by_seq[6]["ts_corrected"], by_seq[6]["time_source"], by_seq[6]["clock_trusted"]) == (
        "2026-12-01T10:00:00.000Z", "gate", True)
    # a heartbeat of the boot wins over its trusted event
    beat = {"a": {"received_at": "2026-12-01T08:01:00.000+00:00", "mono_ms": 70_000}}
    assert {e["seq"]: e for e in correct(events, beat)}[2]["ts_corrected"] == "2026-12-01T08:00:05.000Z"
    assert {e["seq"]: e for e in correct(events, beat)}[2]["time_source"] == "heartbeat"


def test_a_boot_is_ordered_by_its_monotonic_clock_not_its_wall_clock():
    events = [_ev(1, "2026-12-01T08:00:00.000Z", "a", 5_000, "unsynchronised"),
              _ev(2, "2026-12-01T07:59:00.000Z", "a", 6_000, "behind_journal")]
    out = correct(events, {"a": {"received_at": "2026-12-01T09:00:00.000Z", "mono_ms": 6_000}})
    assert [(e["seq"], e["ts_corrected"]) for e in out] == [(1, "2026-12-01T08:59:59.000Z"),
                                                            (2, "2026-12-01T09:00:00.000Z")]


def test_a_heartbeat_without_a_stamp_keeps_no_boot(tmp_path):
    store = OfficeStore(tmp_path / "office.db")
    store.add_gate("old")
    store.heartbeat("old", {"gate_clock": datetime.now(UTC).isoformat(), "backlog": 0})
    assert gate_boots(store, "old") == {}
    assert {g["id"]: g for g in store.gates()}["old"]["clock_trust"] is None
    store.close()
    OfficeStore(tmp_path / "office.db").close()  # reopening applies nothing twice


def _event(**extra):
    return {"seq": 1, "id": "e1", "ts": "2026-12-01T08:00:00.000Z", "gate_id": "north", "kind": "passage",
            "data": {}, **extra}


@pytest.mark.parametrize("extra", [
    {}, {"boot": "b" * 64, "mono_ms": 0, "clock": "trusted"}, {"boot": None, "mono_ms": None, "clock": None},
    {"mono_ms": 2**53, "clock": "behind_journal"}, {"clock": "off_office"}, {"clock": "unsynchronised"},
])
def test_the_office_takes_the_stamp_on_both_paths(extra):
    body = json.dumps({"events": [_event(**extra)]}).encode()
    slow = [e.as_event() for e in schemas.EventBatch.model_validate_json(body).events]
    assert schemas.batch_events(body) == slow
    assert {k: slow[0].get(k) for k in ("boot", "mono_ms", "clock")} == {
        "boot": extra.get("boot"), "mono_ms": extra.get("mono_ms"), "clock": extra.get("clock")}


@pytest.mark.parametrize("extra", [
    {"boot": "b" * 65}, {"boot": ""}, {"boot": 7}, {"mono_ms": -1}, {"mono_ms": 2**53 + 1}, {"mono_ms": "5"},
    {"mono_ms": True}, {"clock": "fine"}, {"clock": 1},
])
def test_a_bad_stamp_is_refused_on_both_paths(extra):
    body = json.dumps({"events": [_event(**extra)]}).encode()
    assert schemas.batch_events(body) is None
    with pytest.raises(ValidationError):
        schemas.EventBatch.model_validate_json(body)
    beat = {"software_version": "1", "gate_clock": "2026-12-01T08:00:00Z", "backlog": 0, **extra}
    with pytest.raises(ValidationError):
        schemas.Heartbeat.model_validate_json(json.dumps(beat))
