"""The gate's passage loop and local API, on the simulated hardware."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from kiosk.events import EventKind
from kiosk.privacy import open_id_number
from tests.gate_fixtures import OFFICE_SEAL, card, make_rig
from web.gate import create_gate_app


class Poked:
    """Stands in for the sync client: counts pokes, reports a status."""

    def __init__(self):
        from kiosk.gate.sync import SyncStatus

        self.count = 0
        self.status = SyncStatus()

    def poke(self):
        self.count += 1


@pytest.fixture
def gate(tmp_path):
    sync = Poked()
    rig = make_rig(tmp_path, quarantine=False, sync=sync)
    yield rig.gate, rig.hardware, sync
    rig.close()


def forehead(hardware, celsius):
    hardware.fake_thermometer.set_object(celsius, settle=True)
    hardware.thermometer.measure(require_presence=False)  # the instant step itself reads as a jump: let it pass
    hardware.thermometer.measure(require_presence=False)


def test_scan_measures_admits_and_opens_the_barrier(gate):
    gate, hardware, sync = gate
    forehead(hardware, 36.6)
    outcome = gate.scan(card(), direction="in")
    decision = outcome.decision
    assert decision.verdict.value == "admit" and 36.0 < decision.temperature_c < 37.0
    assert outcome.events and outcome.events[0].data["readings"][0]["source"] == "sensor"
    assert 1 in [s.state for s in hardware.pin_factory.pin(23).states]  # the relay opened
    assert sync.count == 0


def test_fever_is_measured_twice_denied_alarmed_and_poked(gate):
    gate, hardware, sync = gate
    forehead(hardware, 38.2)
    outcome = gate.scan(card(), direction="in")
    assert outcome.decision.verdict.value == "deny" and [a.kind.value for a in outcome.decision.alarms] == ["fever"]
    assert len(outcome.events[0].data["readings"]) == 2
    assert sync.count == 1
    assert 1 not in [s.state for s in hardware.pin_factory.pin(23).states]  # never opened


def test_nobody_in_front_leaves_it_undecided(gate):
    gate, hardware, _ = gate
    hardware.fake_thermometer.set_object(None, settle=True)  # an empty scene: object at ambient
    outcome = gate.scan(card(), direction="in")
    assert outcome.decision.verdict.value == "remeasure" and outcome.events == ()


def test_local_api_and_stream(gate):
    gate, hardware, _ = gate
    from web.serving import WebServer as Server

    server = Server(create_gate_app(gate, heartbeat_s=1), "127.0.0.1", 0)
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{server.port}"
    try:
        status = requests.get(url + "/api/v1/status", timeout=5).json()
        assert status["gate"] == {"id": "north", "name": "北门"} and status["journal"]["last_seq"] == 0
        with requests.get(url + "/api/v1/stream", stream=True, timeout=10) as stream:
            lines = stream.iter_lines(decode_unicode=True)
            assert next(lines) == ": connected"
            answer = requests.post(url + "/api/v1/scans", json={"text": card(), "manual_c": 36.4, "direction": "in"}, timeout=10).json()
            assert answer["verdict"] == "admit" and answer["name"] == "王*山" and answer["household"] == "1-1-101"
            event = next(line for line in lines if line.startswith("event: "))
            data = next(line for line in lines if line.startswith("data: "))
            assert event == "event: decision" and '"verdict": "admit"' in data
        stranger = requests.post(url + "/api/v1/scans", json={"text": None}, timeout=10).json()
        assert stranger["verdict"] == "refer" and stranger["prompt"] == "register_visitor"
        for bad in ([], {"text": 5}, {"text": "x", "direction": "up"}, {"text": "x", "manual_c": 99}, {"txt": "x"}):
            answer = requests.post(url + "/api/v1/scans", json=bad, timeout=5)
            assert answer.status_code == 400 and answer.json()["error"]
        assert requests.get(url + "/api/v1/status", timeout=5).json()["last_decision"]["verdict"] == "refer"
    finally:
        server.close()


@pytest.fixture
def client(gate):
    gate, hardware, sync = gate
    app = create_gate_app(gate, simulation=hardware)
    return app.test_client(), gate, hardware


def test_a_typed_reading_decides_the_waiting_passage(client):
    http, gate, hardware = client
    assert http.post("/api/v1/readings", json={"celsius": 36.5}).status_code == 409  # nothing is waiting
    hardware.thermometer_fault(True)  # the cable is out: three faulty readings, then the volunteer measures
    first = http.post("/api/v1/scans", json={"text": card(), "direction": "in"}).get_json()
    assert first["verdict"] == "refer" and first["prompt"] == "handheld_check" and first["seq"]
    answer = http.post("/api/v1/readings", json={"celsius": 36.7, "source": "handheld_contact"}).get_json()
    assert answer["verdict"] == "admit" and "handheld_normal" in answer["reasons"]
    assert http.post("/api/v1/readings", json={"celsius": 36.5}).status_code == 409  # settled: nothing waits now
    for bad in ({"celsius": 60}, {"celsius": "36"}, {"celsius": 36.5, "source": "guess"}, {}):
        assert http.post("/api/v1/readings", json=bad).status_code == 400


def test_a_passage_left_undecided_is_journaled_as_abandoned(gate):
    gate, hardware, _ = gate
    hardware.stand(38.6)
    gate.max_readings = 1  # one high reading, then the person walks off before the second
    first = gate.scan(card(), direction="in")
    assert first.decision.verdict.value == "remeasure" and first.events == ()
    gate.scan(None)  # the next person: the first passage is given up, with its high reading on record
    abandoned = gate.checkpoint.journal.latest((EventKind.PASSAGE_ABANDONED,))
    assert abandoned is not None and abandoned.subject == "resident:1"
    assert abandoned.data["readings"][0]["object_c"] > 38


def test_a_pending_passage_expires_into_the_journal(gate):
    gate, hardware, _ = gate
    hardware.stand(None)
    gate.pending_s = 0.05
    gate.scan(card(), direction="in")
    deadline = time.monotonic() + 5
    while gate.checkpoint.journal.latest((EventKind.PASSAGE_ABANDONED,)) is None:
        assert time.monotonic() < deadline, "the pending passage never expired"
        time.sleep(0.02)
    assert gate.status()["waiting_for_temperature"] is False


def test_shift_sign_in_lockout_and_sign_out(client):
    http, gate, _ = client
    assert http.get("/api/v1/volunteers").get_json() == [{"id": 7, "name": "赵志愿"}]
    for left in (4, 3, 2, 1):
        answer = http.post("/api/v1/shift", json={"volunteer_id": 7, "pin": "1111"})
        assert answer.status_code == 401 and answer.get_json()["tries_left"] == left
    locked = http.post("/api/v1/shift", json={"volunteer_id": 7, "pin": "1111"})
    assert locked.status_code == 423 and locked.get_json()["locked_until"]
    assert http.post("/api/v1/shift", json={"volunteer_id": 7, "pin": "2468"}).status_code == 423
    later = datetime.now(UTC) + timedelta(minutes=5, seconds=1)
    gate.shifts.clock = lambda: later  # the five-minute lockout has run out
    on_duty = http.post("/api/v1/shift", json={"volunteer_id": 7, "pin": "2468"})
    assert on_duty.status_code == 200 and on_duty.get_json()["name"] == "赵志愿"
    assert gate.volunteer_id == "7" and gate.status()["volunteer"]["hours"] >= 0
    assert http.post("/api/v1/shift", json={"volunteer_id": 99, "pin": "2468"}).status_code == 404
    for bad in ({"volunteer_id": 7, "pin": "12"}, {"volunteer_id": "x", "pin": "2468"}, {"pin": "2468"}):
        assert http.post("/api/v1/shift", json=bad).status_code == 400
    assert http.delete("/api/v1/shift").status_code == 200 and gate.volunteer_id is None
    kinds = [e.kind for e in gate.checkpoint.journal.events_after(0)]
    assert kinds == [EventKind.SHIFT_SIGN_IN, EventKind.SHIFT_SIGN_OUT]


def test_alarms_are_acknowledged_by_the_volunteer_on_duty(client):
    http, gate, hardware = client
    http.post("/api/v1/scans", json={"text": None})  # a walk-up without a card: unknown-visitor alarm
    alarms = http.get("/api/v1/alarms").get_json()
    assert [a["kind"] for a in alarms] == ["unknown_visitor"]
    seq = alarms[0]["seq"]
    refused = http.post(f"/api/v1/alarms/{seq}/acknowledge", json={"note": "已登记"})
    assert refused.status_code == 409 and refused.get_json()["code"] == "not_signed_in"
    assert refused.get_json()["error"] == "请先签到：只有值班志愿者可以操作。"  # the page's language (zh-CN by default)
    gate.sign_in(7, "2468")
    assert http.post(f"/api/v1/alarms/{seq}/acknowledge", json={"note": "已登记"}).status_code == 200
    assert http.get("/api/v1/alarms").get_json() == []
    assert http.post(f"/api/v1/alarms/{seq}/acknowledge", json={}).status_code == 409  # already done
    assert http.post("/api/v1/alarms/999/acknowledge", json={}).status_code == 409
    ack = gate.checkpoint.journal.latest((EventKind.ALARM_ACKNOWLEDGED,))
    assert ack.volunteer_id == "7" and ack.data["note"] == "已登记" and ack.data["alarm_seq"] == seq


def test_visitor_registration_protects_the_id_number(client):
    http, gate, _ = client
    body = {"name": "孙来访", "phone": "13800138000", "id_number": "11010519491231002X", "coming_from": "朝阳区",
            "host_household_id": 2, "reason": "visiting_family", "temperatures_c": [36.4]}
    answer = http.post("/api/v1/visitors", json=body).get_json()
    assert answer["verdict"] == "admit" and answer["kind"] == "visitor"
    event = gate.checkpoint.journal.latest((EventKind.VISITOR_REGISTRATION,))
    assert event.data["reason"] == "visiting_family"  # the ledger keeps the code; the screens word it
    assert event.household_id == 2 and event.data["id_masked"] == "110***********002X"
    assert "11010519491231002X" not in str(event.data) and event.data["phone_masked"] == "138****8000"
    assert "id_hash" not in event.data and open_id_number(event.data["id_sealed"], OFFICE_SEAL) == "11010519491231002X"
    assert http.get("/api/v1/today").get_json()["counts"]["visitors"] == 1
    typo = http.post("/api/v1/visitors", json={**body, "id_number": "110105194912310021"})
    assert typo.status_code == 400 and typo.get_json()["code"] == "id_check_digit"
    assert "check digit" in typo.get_json()["detail"] and "身份证号" in typo.get_json()["error"]
    assert http.post("/api/v1/visitors", json={**body, "host_household_id": 99}).status_code == 400
    assert http.post("/api/v1/visitors", json={**body, "phone": "call me"}).status_code == 400
    first_high = http.post("/api/v1/visitors", json={**body, "temperatures_c": [37.9]}).get_json()
    assert first_high["verdict"] == "remeasure"  # one high reading is not yet a fever
    fever = http.post("/api/v1/visitors", json={**body, "temperatures_c": [37.9, 38.1]}).get_json()
    assert fever["verdict"] == "deny" and fever["alarms"] == ["fever"]
    assert gate.checkpoint.journal.count() == 3  # two registrations and the fever alarm; the typos stored nothing


def test_a_visitor_reason_is_a_code_and_an_unknown_one_a_400(client):
    http, gate, _ = client
    codes = http.get("/api/v1/rules").get_json()["visitor_reasons"]
    assert codes == ["visiting_family", "delivery", "repairs", "other"]
    body = {"name": "孙来访", "phone": "13800138000", "host_household_id": 2, "temperatures_c": [36.4]}
    for code in codes:
        assert http.post("/api/v1/visitors", json={**body, "reason": code}).status_code == 200
        assert gate.checkpoint.journal.latest((EventKind.VISITOR_REGISTRATION,)).data["reason"] == code
    before = gate.checkpoint.journal.count()
    for words in ("探亲", "Visiting family", "anything", 3):
        refused = http.post("/api/v1/visitors", json={**body, "reason": words})
        assert refused.status_code == 400 and refused.get_json()["field"] == "reason", words
        assert refused.get_json()["code"] in ("choice", "type"), words
    assert gate.checkpoint.journal.count() == before  # nothing stored for a refused reason
    assert http.post("/api/v1/visitors", json=body).status_code == 200  # no reason given: stored as none
    assert gate.checkpoint.journal.latest((EventKind.VISITOR_REGISTRATION,)).data["reason"] == ""


def test_old_rows_worded_reasons_read_as_codes():
    """Rows from before the codes hold the button's words (either language); the journal is never rewritten, so
    readers go through reason_code."""
    from kiosk.gate.visitors import reason_code

    assert [reason_code(s) for s in ("探亲", "Visiting family", "送货", "Delivery", "维修", "Repairs", "其他", "Other")] == \
        ["visiting_family", "visiting_family", "delivery", "delivery", "repairs", "repairs", "other", "other"]
    assert reason_code("repairs") == "repairs" and reason_code(" delivery ") == "delivery"
    assert reason_code("") is None and reason_code(None) is None and reason_code("来看朋友") is None


def test_the_office_accepts_a_coded_visitor_registration(client):
    from kiosk.office.event_schemas import data_problem

    http, gate, _ = client
    body = {"name": "孙来访", "phone": "13800138000", "id_number": "11010519491231002X", "host_household_id": 2,
            "reason": "delivery", "temperatures_c": [36.4]}
    assert http.post("/api/v1/visitors", json=body).status_code == 200
    event = gate.checkpoint.journal.latest((EventKind.VISITOR_REGISTRATION,))
    assert event.data["reason"] == "delivery" and data_problem("visitor_registration", event.data) is None


def test_vehicle_by_plate(client):
    http, gate, _ = client
    answer = http.post("/api/v1/vehicles", json={"plate": "京A12345", "disinfected": True, "passengers": 2, "direction": "in"}).get_json()
    assert answer["verdict"] == "admit" and answer["kind"] == "vehicle" and answer["plate"] == "京A12345"
    event = gate.checkpoint.journal.latest((EventKind.VEHICLE,))
    assert event.data["passengers"] == 2 and event.data["disinfected"] is True
    unknown = http.post("/api/v1/vehicles", json={"plate": "津B99999", "disinfected": True}).get_json()
    assert unknown["verdict"] == "refer" and unknown["prompt"] == "register_vehicle"
    assert http.post("/api/v1/vehicles", json={"disinfected": True}).status_code == 409
    assert http.post("/api/v1/vehicles", json={"plate": "京A12345", "passengers": -1}).status_code == 400


def test_sensor_faults_are_journaled_once_each_way(client):
    http, gate, _ = client
    gate.report_fault("thermometer", "bus_error", "ENXIO")
    gate.report_fault("thermometer", "bus_error", "ENXIO")  # still the same fault: no second event
    assert http.get("/api/v1/status").get_json()["faults"]["thermometer"]["fault"] == "bus_error"
    gate.report_fault("thermometer", None)
    gate.report_fault("camera", None)  # never failed: nothing to record
    events = [e.data for e in gate.checkpoint.journal.events_after(0)]
    assert events == [{"part": "thermometer", "fault": "bus_error", "detail": "ENXIO"},
                      {"part": "thermometer", "fault": None, "detail": None}]


def test_simulation_panel_and_page(client, tmp_path):
    http, gate, hardware = client
    assert http.get("/api/v1/simulation").get_json() == {"cards": []}
    assert http.post("/api/v1/simulation", json={"card": "nobody"}).status_code == 404
    assert http.post("/api/v1/simulation", json={"person_c": 36.6}).status_code == 200
    assert 36 < hardware.thermometer.measure().object_c < 37.5
    page = http.get("/")
    assert page.status_code == 200 and "请出示出入证" in page.get_data(as_text=True)
    english = http.get("/lang/en")
    assert english.status_code == 302
    assert "Show your entry card" in http.get("/").get_data(as_text=True)
    assert http.get("/static/gate/main.js").status_code == 200


def test_every_script_the_page_loads_is_served_by_the_gate(client):
    """The page and each module it imports, followed import by import: all from this app (none from outside), each
    with a header comment saying its job; the gate's copies of the shared modules are gone."""
    import re

    http, _, _ = client
    page = http.get("/").get_data(as_text=True)
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from outside the app
    assert re.search(r'<script type="module" src="/static/gate/main.js">', page)
    seen, todo = set(), ["/static/gate/main.js"]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        answer = http.get(path)
        assert answer.status_code == 200, path
        text = answer.get_data(as_text=True)
        assert text.startswith("// "), f"{path} has no header comment"
        for target in re.findall(r'^import (?:[^"]+ from )?"([^"]+)";', text, flags=re.M):
            assert not target.startswith(("http:", "https:", "//")), target
            todo.append(target if target.startswith("/") else path.rsplit("/", 1)[0] + "/" + target.removeprefix("./"))
    assert {"/static/common/api.js", "/static/common/catalog.js", "/static/common/format.js",
            "/static/common/stream.js"} <= seen
    assert len([p for p in seen if p.startswith("/static/gate/")]) >= 12  # one module per screen or concern
    for gone in ("api.js", "catalog.js", "format.js", "stream.js", "gate.js"):
        assert http.get(f"/static/gate/{gone}").status_code == 404, gone


def test_a_real_gate_has_no_simulation_routes(gate):
    gate, _, _ = gate
    http = create_gate_app(gate).test_client()
    assert http.post("/api/v1/simulation", json={"person_c": 36.6}).status_code == 404
    assert "sim-panel" not in http.get("/").get_data(as_text=True)


def test_the_page_hears_of_new_alarms_after_the_decision(gate):
    gate, _, _ = gate
    updates = gate.updates.subscribe()
    gate.scan(None)  # a walk-up without a card raises the unknown-visitor alarm
    published = [updates.get(timeout=5) for _ in range(2)]
    assert [p["type"] for p in published] == ["decision", "status"]  # the decision first: the screen never waits
    assert published[1]["open_alarms"] == 1 and published[1]["journal"]["backlog"] == 2
    gate.publish_status_if_changed()
    assert updates.empty()  # nothing changed: nothing sent


# -- integers a client sends are bounded: a 400 or 404, never a 500 (issue 10) -------------------------


@pytest.mark.parametrize("huge", [2**53 + 1, 2**63, 2**70])
def test_a_huge_alarm_seq_is_no_alarm(client, huge):
    http, gate, _ = client
    gate.sign_in(7, "2468")
    answer = http.post(f"/api/v1/alarms/{huge}/acknowledge", json={"note": "x"})
    assert answer.status_code in (400, 404) and "error" in answer.get_json()


@pytest.mark.parametrize("huge", [2**53 + 1, 2**63, 2**70, -(2**70)])
def test_a_huge_host_household_id_is_a_400(client, huge):
    http, gate, _ = client
    body = {"name": "孙来访", "phone": "13800138000", "host_household_id": huge, "temperatures_c": [36.4]}
    answer = http.post("/api/v1/visitors", json=body)
    assert answer.status_code == 400 and answer.get_json()["field"] == "host_household_id"
    assert gate.checkpoint.journal.count() == 0


@pytest.mark.parametrize("huge", [2**53 + 1, 2**63, 2**70, -(2**70)])
def test_a_huge_volunteer_id_is_a_400(client, huge):
    http, gate, _ = client
    answer = http.post("/api/v1/shift", json={"volunteer_id": huge, "pin": "2468"})
    assert answer.status_code == 400 and answer.get_json()["field"] == "volunteer_id"
    assert gate.volunteer_id is None


@pytest.mark.parametrize("route, body", [
    ("/api/v1/scans", {"text": None, "manual_c": 2**70}),
    ("/api/v1/readings", {"celsius": 2**70}),
    ("/api/v1/vehicles", {"plate": "京A12345", "passengers": 2**70}),
    ("/api/v1/visitors", {"name": "孙", "phone": "13800138000", "alarm_seq": 2**70}),
    ("/api/v1/visitors", {"name": "孙", "phone": "13800138000", "temperatures_c": [2**70]}),
    ("/api/v1/simulation", {"person_c": 2**70}),
    ("/api/v1/scans", {"text": None, "manual_c": 1e400}),
])
def test_every_number_in_a_gate_body_is_bounded(client, route, body):
    http, gate, _ = client
    answer = http.post(route, json=body) if "e400" not in str(body) else http.post(
        route, data='{"text": null, "manual_c": 1e400}', content_type="application/json")
    assert answer.status_code == 400, (route, body, answer.get_json())
    assert gate.checkpoint.journal.count() == 0
