"""The gate's disinfection round (消杀) over its local API: only the volunteer on duty records one, as one journal
event of kind ``disinfection`` that the office's schema takes; bad bodies are a 400 naming the field."""

from __future__ import annotations

import pytest

from kiosk.office.event_schemas import data_problem
from kiosk.office.store import OfficeStore
from tests.gate_fixtures import make_rig
from web.gate import create_gate_app


@pytest.fixture
def gate(tmp_path):
    rig = make_rig(tmp_path, start=False)
    http = create_gate_app(rig.gate, simulation=rig.hardware).test_client()
    yield rig, http
    rig.close()


def test_nobody_signed_in_records_nothing(gate):
    rig, http = gate
    answer = http.post("/api/v1/disinfection", json={"area": "stairwells", "agent": "chlorine"})
    assert answer.status_code == 409 and answer.get_json()["code"] == "not_signed_in"
    assert "请先签到" in answer.get_json()["error"]
    assert rig.journal.last_seq == 0
    assert http.get("/api/v1/disinfection").get_json()["signed_in"] is False


def test_the_volunteer_on_duty_records_a_round_the_office_takes(gate, tmp_path):
    rig, http = gate
    offered = http.get("/api/v1/disinfection").get_json()
    assert offered["areas"][:2] == ["gate", "stairwells"] and "chlorine" in offered["agents"] and offered["today"] == []
    assert http.post("/api/v1/shift", json={"volunteer_id": 7, "pin": "2468"}).status_code == 200
    answer = http.post("/api/v1/disinfection", json={"area": " 3号楼  楼道 ", "agent": "chlorine", "note": "两遍"})
    assert answer.status_code == 201
    body = answer.get_json()
    event = rig.journal.get(body["seq"])
    assert event.kind.value == "disinfection" and event.volunteer_id == "7"
    assert event.data == {"area": "3号楼 楼道", "agent": "chlorine", "note": "两遍"}
    assert [(r["area"], r["agent"], r["volunteer_id"]) for r in body["today"]] == [("3号楼 楼道", "chlorine", "7")]
    assert http.get("/api/v1/disinfection").get_json()["today"][0]["seq"] == body["seq"]
    assert data_problem("disinfection", event.data) is None
    store = OfficeStore(tmp_path / "office.db")
    store.ingest("north", [event.to_dict()])
    assert store.flagged_events() == []
    kind, data = store.database().execute("SELECT kind, data FROM events").fetchone()
    assert kind == "disinfection" and "3号楼" in data


@pytest.mark.parametrize("body, field", [
    ({"agent": "chlorine"}, "area"),
    ({"area": "", "agent": "chlorine"}, "area"),
    ({"area": "   ", "agent": "chlorine"}, "area"),
    ({"area": "gate", "agent": "x" * 65}, "agent"),
    ({"area": "gate", "agent": "alcohol", "note": "n" * 501}, "note"),
    ({"area": "gate", "agent": "alcohol", "volume": 3}, "volume"),
    ({"area": 5, "agent": "alcohol"}, "area"),
])
def test_a_bad_body_is_a_400_naming_the_field(gate, body, field):
    rig, http = gate
    http.post("/api/v1/shift", json={"volunteer_id": 7, "pin": "2468"})
    seq = rig.journal.last_seq
    answer = http.post("/api/v1/disinfection", json=body)
    assert answer.status_code == 400 and answer.get_json()["field"] == field and answer.get_json()["error"]
    assert rig.journal.last_seq == seq


def test_the_touchscreen_offers_the_configured_buttons(tmp_path):
    rig = make_rig(tmp_path, start=False)
    rig.gate.checkpoint.config.disinfection.areas[:] = ["gate", "5号楼大堂"]
    try:
        html = create_gate_app(rig.gate).test_client().get("/", headers={"Cookie": "lang=en"}).get_data(as_text=True)
        assert 'id="screen-disinfection"' in html and 'data-value="5号楼大堂">5号楼大堂<' in html
        assert 'data-value="gate">' in html and 'data-go="disinfection"' in html
    finally:
        rig.close()
