"""The office's strict schema for each event kind's data: what real gates journal fits; anything else is kept and
flagged, never a block on the gate's stream (issue 10)."""

from __future__ import annotations

import pytest

from kiosk.events import EventKind
from kiosk.office.event_schemas import MAX_PROBLEM_CHARS, SCHEMAS, data_problem
from kiosk.office.store import OfficeStore
from tests.gate_fixtures import card, make_rig
from web.gate import create_gate_app


def test_every_event_kind_has_a_schema():
    assert set(SCHEMAS) == {k.value for k in EventKind}


@pytest.fixture
def journaled(tmp_path):
    """Every kind of event a real gate journals, driven through its local API (simulated hardware)."""
    rig = make_rig(tmp_path, quarantine=True)
    gate, hardware = rig.gate, rig.hardware
    http = create_gate_app(gate, simulation=hardware).test_client()
    try:
        hardware.stand(38.6)
        max_readings, gate.max_readings = gate.max_readings, 1
        gate.scan(card(), direction="in")
        gate.scan(None)  # the first passage is given up (passage_abandoned); a walk-up alarm
        gate.max_readings = max_readings
        hardware.stand(None)
        assert http.post("/api/v1/shift", json={"volunteer_id": 7, "pin": "2468"}).status_code == 200
        http.post("/api/v1/scans", json={"text": card(), "direction": "in", "manual_c": 36.6})  # admitted
        http.post("/api/v1/scans", json={"text": card(12, 2), "direction": "out", "manual_c": 36.6})  # quarantine
        http.post("/api/v1/scans", json={"text": "GK1:NOTACARD"})  # invalid card alarm
        http.post("/api/v1/scans", json={"text": card(), "direction": "in", "manual_c": 38.5})
        http.post("/api/v1/scans", json={"text": card(), "direction": "in", "manual_c": 38.6})  # fever
        http.post("/api/v1/readings", json={"celsius": 36.7, "source": "handheld_contact"})
        http.post("/api/v1/scans", json={"text": None})  # a walk-up: unknown visitor alarm
        alarm_seq = http.get("/api/v1/alarms").get_json()[0]["seq"]
        http.post("/api/v1/visitors", json={"name": "孙来访", "phone": "13800138000", "id_number": "11010519491231002X",
                                            "coming_from": "朝阳区", "host_household_id": 1, "reason": "visiting_family",
                                            "temperatures_c": [36.4], "alarm_seq": alarm_seq})
        http.post("/api/v1/vehicles", json={"plate": "京A12345", "disinfected": True, "passengers": 2, "direction": "in"})
        http.post("/api/v1/disinfection", json={"area": "stairwells", "agent": "chlorine", "note": "3号楼"})
        open_alarms = http.get("/api/v1/alarms").get_json()
        if open_alarms:
            http.post(f"/api/v1/alarms/{open_alarms[0]['seq']}/acknowledge", json={"note": "已处理", "outcome": None})
        gate.report_fault("thermometer", "bus_error", "ENXIO")
        gate.report_fault("thermometer", None)
        http.post("/api/v1/shift", json={"volunteer_id": 8, "pin": "2468"})  # a hand-over signs 7 out
        http.delete("/api/v1/shift")
        yield [e.to_dict() for e in rig.journal.events_after(0)]
    finally:
        gate.close()
        hardware.close()
        rig.journal.close()
        rig.registry.close()


def test_what_a_real_gate_journals_fits_the_office_schema(journaled):
    kinds = {e["kind"] for e in journaled}
    assert {"passage", "alarm_raised", "alarm_acknowledged", "visitor_registration", "vehicle", "sensor_fault",
            "passage_abandoned", "shift_sign_in", "shift_sign_out", "disinfection"} <= kinds
    problems = [(e["seq"], e["kind"], data_problem(e["kind"], e["data"])) for e in journaled]
    assert [p for p in problems if p[2] is not None] == []


def test_a_real_gates_journal_is_ingested_without_a_flag(journaled, tmp_path):
    store = OfficeStore(tmp_path / "office" / "office.db")
    new, high = store.ingest("north", journaled)
    assert len(new) == len(journaled) and high == len(journaled)
    assert store.flagged_events() == []


GOOD = {
    "passage": {"verdict": "admit", "direction": "in", "direction_source": "volunteer", "detail": {}, "prompt": "welcome",
                "reasons": ["card_valid"], "alarms": [], "subject": "resident:1", "household_id": 1,
                "temperature_c": 36.5, "vehicle": False, "plate": None, "disinfected": None,
                "card": {"version": 1, "kind": "resident", "card_id": 11, "subject_id": 1, "valid_from": "2025-01-01",
                         "valid_until": "2027-12-31", "kid": "3FA2"},
                "readings": [{"object_c": 36.5, "ambient_c": 22, "source": "sensor", "taken_at": "2026-11-28T01:00:00+00:00",
                              "fault": None, "raw": [36.4, 36.5]}]},
    "alarm_raised": {"kind": "fever", "reason": "fever", "subject": "resident:1", "detail": {"temperature_c": 38.2}},
    "alarm_acknowledged": {"alarm_event_id": "a1b2", "alarm_seq": 3, "kind": "fever", "outcome": "handheld_normal",
                           "note": "复测正常"},
    "sensor_fault": {"part": "thermometer", "fault": "bus_error", "detail": "ENXIO"},
    "shift_sign_in": {},
    "shift_sign_out": {"handed_over_to": "8"},
}


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_good_data_passes(kind):
    assert data_problem(kind, GOOD[kind]) is None


@pytest.mark.parametrize("kind, change, where", [
    ("passage", {"verdict": {"a": 1}}, "data.verdict"),
    ("passage", {"verdict": "Admit now"}, "data.verdict"),
    ("passage", {"household_id": 2**63}, "data.household_id"),
    ("passage", {"household_id": True}, "data.household_id"),
    ("passage", {"temperature_c": "36.5"}, "data.temperature_c"),
    ("passage", {"direction": "up"}, "data.direction"),
    ("passage", {"reasons": ["card_valid"] * 33}, "data.reasons"),
    ("passage", {"detail": {"x": {"nested": 1}}}, "data.detail.x"),
    ("passage", {"detail": {"x": 2**64}}, "data.detail.x"),
    ("passage", {"readings": [{"source": "sensor", "raw": [1e309]}]}, "data.readings.0.raw.0"),
    ("passage", {"card": {"version": 1}}, "data.card"),
    ("passage", {"surprise": 1}, "data.surprise"),
    ("alarm_raised", {"kind": 2**70}, "data.kind"),
    ("alarm_raised", {"kind": {"x": 1}}, "data.kind"),
    ("alarm_acknowledged", {"note": ["a"]}, "data.note"),
    ("alarm_acknowledged", {"alarm_event_id": {"x": 1}}, "data.alarm_event_id"),
    ("alarm_acknowledged", {"alarm_seq": -1}, "data.alarm_seq"),
    ("alarm_acknowledged", {"note": "x" * 501}, "data.note"),
    ("sensor_fault", {"part": None}, "data.part"),
    ("shift_sign_in", {"pin": "2468"}, "data.pin"),
])
def test_bad_data_is_named(kind, change, where):
    problem = data_problem(kind, {**GOOD[kind], **change})
    assert problem is not None and problem.startswith(where), problem
    assert len(problem) <= MAX_PROBLEM_CHARS


@pytest.mark.parametrize("data", [None, [], "text", 7, 2**70, [{"kind": "fever"}]])
def test_data_that_is_not_a_mapping_is_a_problem(data):
    assert data_problem("alarm_raised", data) is not None


def test_int64_bounds():
    assert data_problem("passage", {**GOOD["passage"], "detail": {"n": 2**63 - 1}}) is None
    assert data_problem("passage", {**GOOD["passage"], "detail": {"n": -(2**63)}}) is None
    assert data_problem("passage", {**GOOD["passage"], "detail": {"n": 2**63}}) is not None


def test_a_visitor_keeps_its_protected_id_fields_but_nothing_unbounded():
    visitor = {"name": "孙来访", "phone": "13800138000", "phone_masked": "138****8000", "coming_from": "朝阳区",
               "host_household_id": 2, "reason": "探亲", "temperature_c": 36.4, "id_masked": "110***********002X",
               "id_sealed": "AAAA" * 30, "id_seal_kid": "9c1e", "verdict": "admit", "readings": []}
    assert data_problem("visitor_registration", visitor) is None
    assert data_problem("visitor_registration", {**visitor, "id_sealed": {"x": 1}}) is not None
    assert data_problem("visitor_registration", {**visitor, "id_sealed": "A" * 5000}) is not None
    many = {**visitor, **{f"extra{i}": "x" for i in range(5)}}
    assert "at most 4" in (data_problem("visitor_registration", many) or "")


def test_a_problem_counts_the_rest():
    problem = data_problem("passage", {"verdict": 1, "prompt": 2, "reasons": 3})
    assert problem is not None and problem.endswith("(and 2 more)")


def test_bad_data_in_the_store_is_kept_flagged_and_the_stream_goes_on(tmp_path):
    store = OfficeStore(tmp_path / "office.db")
    envelope = {"ts": "2026-11-28T01:00:00.000Z", "gate_id": "north", "volunteer_id": "7", "subject": None,
                "household_id": None}
    batch = [{**envelope, "seq": 1, "id": "e1", "kind": "alarm_raised", "data": {"kind": 2**70}},
             {**envelope, "seq": 2, "id": "e2", "kind": "alarm_acknowledged", "data": {"alarm_event_id": {"x": 1}}},
             {**envelope, "seq": 3, "id": "e3", "kind": "alarm_raised", "data": GOOD["alarm_raised"]}]
    new, high = store.ingest("north", batch)
    assert high == 3 and [e.get("flag") is not None for e in new] == [True, True, False]
    assert [(e["seq"], e["flag"] is not None) for e in store.events("north")] == [(1, True), (2, True), (3, False)]
    assert [a["event_id"] for a in store.open_alarms()] == ["e3"]  # the flagged alarm opened nothing
    assert store.ingest("north", batch) == ([], 3)  # exactly once, flags and all
    assert {e["seq"] for e in store.flagged_events()} == {1, 2}
