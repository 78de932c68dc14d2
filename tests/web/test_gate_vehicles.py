"""The vehicle form over the gate's API: the driver's card held (not journaled), refusals fixed in one save,
an unknown vehicle's driver registered as a visitor with the plate, and the policy's vehicle rules."""

from __future__ import annotations

import queue as queue_module

import pytest

from kiosk.events import EventKind
from kiosk.office.event_schemas import data_problem
from tests.gate_fixtures import card, make_rig
from web.gate import create_gate_app


@pytest.fixture
def rig(tmp_path):
    rig = make_rig(tmp_path, quarantine=True)  # resident 2 (household 2) is under a home-quarantine order
    yield rig
    rig.close()


@pytest.fixture
def http(rig):
    app = create_gate_app(rig.gate, simulation=rig.hardware)
    return app.test_client()


def events(rig, *kinds: EventKind) -> list:
    return [e for e in rig.journal.events_after(0) if e.kind in kinds]


@pytest.fixture
def stream(rig):
    """The gate's stream as the page hears it (a subscriber queue)."""
    queue = rig.gate.updates.subscribe()
    heard: list[dict] = []

    def drain() -> list[dict]:
        while True:
            try:
                batch = queue.get_nowait()
            except queue_module.Empty:
                return heard
            if batch is not None:
                heard.append(batch)

    yield drain
    rig.gate.updates.unsubscribe(queue)


def test_the_drivers_card_on_the_open_form_is_held_not_journaled(rig, http, stream):
    before = rig.journal.last_seq
    assert http.post("/api/v1/vehicle/form", json={"open": True, "direction": "in", "fresh": True}).get_json()["open"]
    answer = http.post("/api/v1/scans", json={"text": card()}).get_json()
    assert answer["verdict"] == "admit" and answer["seq"] == []
    assert rig.journal.last_seq == before  # nothing journaled for the driver's card
    driver = [e for e in stream() if e["type"] == "driver"][-1]
    assert driver["role"] == "driver" and driver["subject"] == "resident:1" and driver["name"] == "王*山"
    saved = http.post("/api/v1/vehicles", json={"plate": "京A12345", "disinfected": True, "direction": "in",
                                                "driver": "resident:1", "passengers": 1}).get_json()
    assert saved["verdict"] == "admit" and saved["vehicle_seq"]
    journaled = [e for e in rig.journal.events_after(before)]
    assert [e.kind for e in journaled] == [EventKind.VEHICLE]  # the vehicle's event is the only record
    data = journaled[0].data
    assert data["driver"] == "resident:1" and data["passengers"] == 1 and "driver_checked" in data["reasons"]
    assert data_problem("vehicle", data) is None
    # Through: the form is closed by the gate, so the next card is a passage again.
    assert http.post("/api/v1/vehicles", json={"plate": "京A12345", "disinfected": True, "direction": "in",
                                               "driver": "resident:1"}).get_json()["code"] == "driver_not_scanned"


def test_a_card_after_the_lease_lapses_is_a_passage_again(rig, http):
    form = rig.gate.vehicle_form
    http.post("/api/v1/vehicle/form", json={"open": True, "direction": "out"})
    form.until = 0.0  # the page went away and stopped renewing
    answer = http.post("/api/v1/scans", json={"text": card(), "direction": "out"}).get_json()
    assert answer["seq"]  # journaled as the person's passage
    assert http.post("/api/v1/vehicle/form", json={"open": False}).get_json() == {"open": False, "expires_in_s": 0.0,
                                                                                   "held": 0}


def test_a_quarantined_driver_going_out_is_refused_like_walking(rig, http, stream):
    http.post("/api/v1/vehicle/form", json={"open": True, "direction": "out", "fresh": True})
    http.post("/api/v1/scans", json={"text": card(12, 2)})
    shown = [e for e in stream() if e["type"] == "driver"][-1]
    assert shown["verdict"] == "deny" and shown["prompt"] == "quarantine" and shown["seq"] == []
    assert not events(rig, EventKind.ALARM_RAISED)  # nothing until the vehicle is saved
    answer = http.post("/api/v1/vehicles", json={"plate": "京A12345", "direction": "out",
                                                 "driver": "resident:2"}).get_json()
    assert answer["verdict"] == "deny" and answer["prompt"] == "quarantine" and answer["kind"] == "vehicle"
    vehicle = rig.journal.latest((EventKind.VEHICLE,))
    assert "occupant_refused" in vehicle.data["reasons"] and data_problem("vehicle", vehicle.data) is None
    alarm = rig.journal.latest((EventKind.ALARM_RAISED,))
    assert alarm.data["kind"] == "quarantine_breach" and alarm.subject == "resident:2"
    assert not [e for e in events(rig, EventKind.PASSAGE)]


def test_a_forged_driver_card_is_shown_and_not_held(rig, http, stream):
    http.post("/api/v1/vehicle/form", json={"open": True, "direction": "in", "fresh": True})
    http.post("/api/v1/scans", json={"text": "not a card at all"})
    shown = [e for e in stream() if e["type"] == "driver"][-1]
    assert shown["role"] is None and shown["prompt"] == "register_visitor"
    assert rig.gate.vehicle_form.held == {} and not events(rig, EventKind.ALARM_RAISED, EventKind.PASSAGE)


def test_refused_for_disinfection_then_fixed_in_one_save(rig, http, stream):
    http.post("/api/v1/vehicle/form", json={"open": True, "direction": "in", "fresh": True})
    http.post("/api/v1/scans", json={"text": card()})
    body = {"plate": "京A12345", "direction": "in", "driver": "resident:1", "passengers": 2}
    refused = http.post("/api/v1/vehicles", json=body).get_json()
    assert refused["verdict"] == "refer" and refused["prompt"] == "disinfect_vehicle" and refused["vehicle_seq"]
    # The form keeps the driver: the same body with disinfected and the refusal it corrects.
    fixed = http.post("/api/v1/vehicles", json={**body, "disinfected": True,
                                                "supersedes_seq": refused["vehicle_seq"]}).get_json()
    assert fixed["verdict"] == "admit"
    event = rig.journal.latest((EventKind.VEHICLE,))
    assert event.data["supersedes_seq"] == refused["vehicle_seq"] and event.data["driver"] == "resident:1"
    assert data_problem("vehicle", event.data) is None
    counts = http.get("/api/v1/today").get_json()["counts"]
    assert counts["vehicles"] == 1 and counts["refused"] == 0  # one vehicle, once: the refusal was corrected


def test_unknown_vehicle_with_a_visitor_driver_in_one_save(rig, http):
    body = {"plate": "津B99999", "direction": "in", "disinfected": True, "visitor_name": "孙来访",
            "visitor_phone": "13800138000", "visitor_host_household_id": 1, "visitor_reason": "delivery"}
    again = http.post("/api/v1/vehicles", json=body).get_json()
    assert again["verdict"] == "remeasure" and again["vehicle_seq"] is None  # a visitor coming in is measured
    assert not events(rig, EventKind.VEHICLE, EventKind.VISITOR_REGISTRATION)
    answer = http.post("/api/v1/vehicles", json={**body, "temperatures_c": [36.5]}).get_json()
    assert answer["verdict"] == "admit" and answer["kind"] == "vehicle" and answer["plate"] == "津B99999"
    registration, vehicle = events(rig, EventKind.VISITOR_REGISTRATION, EventKind.VEHICLE)
    assert registration.data["visit_ref"] == vehicle.data["visit_ref"] == answer["visit_ref"]
    assert registration.data["plate"] == "津B99999" and registration.data["host_household_id"] == 1
    assert "driver_visitor" in vehicle.data["reasons"] and "vehicle_unknown" in vehicle.data["reasons"]
    assert data_problem("vehicle", vehicle.data) is None
    assert data_problem("visitor_registration", registration.data) is None
    today = http.get("/api/v1/today").get_json()
    assert today["counts"]["vehicles"] == 1 and today["counts"]["visitors"] == 1


def test_a_visitor_driver_with_a_fever_is_refused_and_alarmed_once(rig, http):
    body = {"plate": "津B99999", "direction": "in", "disinfected": True, "visitor_name": "孙来访",
            "visitor_phone": "13800138000", "visitor_host_household_id": 1, "temperatures_c": [38.4, 38.5]}
    answer = http.post("/api/v1/vehicles", json=body).get_json()
    assert answer["verdict"] == "deny" and answer["prompt"] == "fever"
    assert [e.data["kind"] for e in events(rig, EventKind.ALARM_RAISED)] == ["fever"]
    assert len(events(rig, EventKind.VISITOR_REGISTRATION)) == 1


def test_a_visitor_driver_needs_phone_and_host(rig, http):
    body = {"plate": "津B99999", "direction": "in", "disinfected": True, "visitor_name": "孙来访",
            "temperatures_c": [36.5]}
    missing = http.post("/api/v1/vehicles", json=body)
    assert missing.status_code == 400 and missing.get_json()["code"] == "driver_phone_missing"
    no_host = http.post("/api/v1/vehicles", json={**body, "visitor_phone": "13800138000"})
    assert no_host.status_code == 400 and no_host.get_json()["field"] == "visitor_host_household_id"
    bad = http.post("/api/v1/vehicles", json={**body, "visitor_phone": "12ab"}, headers={"Accept-Language": "zh-CN"})
    assert bad.status_code == 400 and bad.get_json()["field"] == "visitor_phone"
    assert not events(rig, EventKind.VEHICLE, EventKind.VISITOR_REGISTRATION)


def test_a_driver_not_held_is_asked_for_again_and_bodies_are_bounded(rig, http):
    http.post("/api/v1/vehicle/form", json={"open": True, "fresh": True})
    answer = http.post("/api/v1/vehicles", json={"plate": "京A12345", "disinfected": True, "direction": "in",
                                                 "driver": "resident:9"})
    assert answer.status_code == 409 and answer.get_json()["code"] == "driver_not_scanned"
    assert http.post("/api/v1/vehicle/form", json={"open": "yes"}).status_code == 400
    assert http.post("/api/v1/vehicles", json={"plate": "京A12345", "supersedes_seq": 0}).status_code == 400
    assert http.post("/api/v1/vehicles", json={"plate": "京A12345", "visitor_name": "x" * 41}).status_code == 400


def test_passengers_scanned_after_the_driver_ride_with_the_vehicle(rig, http, stream):
    from kiosk.gate.vehicle_form import MAX_OCCUPANTS, VehicleForm, VehicleFormError

    http.post("/api/v1/vehicle/form", json={"open": True, "direction": "in", "fresh": True})
    http.post("/api/v1/scans", json={"text": card()})
    http.post("/api/v1/scans", json={"text": card(12, 2)})  # quarantined, but coming home: let in, office told
    roles = [(e["subject"], e["role"]) for e in stream() if e["type"] == "driver"]
    assert roles == [("resident:1", "driver"), ("resident:2", "passenger")]
    answer = http.post("/api/v1/vehicles", json={"plate": "京A12345", "direction": "in", "disinfected": True,
                                                 "driver": "resident:1"}).get_json()
    assert answer["verdict"] == "admit" and answer["prompt"] == "quarantine_return"
    vehicle = rig.journal.latest((EventKind.VEHICLE,))
    assert vehicle.data["passenger_subjects"] == ["resident:2"] and vehicle.data["passengers"] == 1
    assert rig.journal.latest((EventKind.ALARM_RAISED,)).subject == "resident:2"
    form = VehicleForm(lambda: 0.0)
    for n in range(MAX_OCCUPANTS):
        form.hold(f"resident:{n}", "text")
    with pytest.raises(VehicleFormError):
        form.hold("resident:99", "text")
