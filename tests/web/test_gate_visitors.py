"""The visitor form's server side: a returning visitor by phone, the host household rule, errors naming the field
in the page's language, and a visitor's fever settled by a handheld reading (real journal, real Flask app)."""

from __future__ import annotations

import pytest

from kiosk.events import EventKind
from tests.gate_fixtures import make_rig
from web.gate import create_gate_app

BODY = {"name": "孙来访", "phone": "13800138000", "coming_from": "朝阳区", "host_household_id": 2,
        "reason": "visiting_family", "temperatures_c": [36.4]}


@pytest.fixture
def rig(tmp_path):
    rig = make_rig(tmp_path, quarantine=False)
    yield rig
    rig.close()


@pytest.fixture
def http(rig):
    return create_gate_app(rig.gate, simulation=rig.hardware).test_client()


def test_a_returning_visitor_is_found_by_phone_masked_and_registered_with_the_full_name(http, rig):
    assert http.get("/api/v1/visitors/known?phone=13800138000").get_json() == {"visitor": None}  # a first visit
    first = http.post("/api/v1/visitors", json={**BODY, "phone": "138 0013-8000"})  # separators: stored as digits
    assert first.status_code == 200
    known = http.get("/api/v1/visitors/known?phone=13800138000").get_json()["visitor"]
    assert known["name"] == "孙*访" and known["coming_from"] == "朝阳区" and known["reason"] == "visiting_family"
    assert known["host_household_id"] == 2 and known["household"] == rig.registry.household_label_of(2)
    assert set(known) == {"seq", "ts", "name", "coming_from", "host_household_id", "household", "reason"}  # no phone, no ID
    # the page sends the masked name it shows and the earlier registration; the gate registers the full name
    again = http.post("/api/v1/visitors", json={**BODY, "name": "孙*访", "known_seq": known["seq"]})
    assert again.status_code == 200 and again.get_json()["verdict"] == "admit"
    assert rig.journal.latest((EventKind.VISITOR_REGISTRATION,)).data["name"] == "孙来访"
    # another phone cannot borrow that name: the masked form is registered as typed
    other = http.post("/api/v1/visitors", json={**BODY, "phone": "13900139000", "name": "孙*访", "known_seq": known["seq"]})
    assert other.status_code == 200 and rig.journal.latest((EventKind.VISITOR_REGISTRATION,)).data["name"] == "孙*访"
    # the newest registration answers
    assert http.get("/api/v1/visitors/known?phone=13900139000").get_json()["visitor"]["seq"] > known["seq"]


@pytest.mark.parametrize("phone", ["1380013800a", "1" * 16, "+8613800138000", "", "12 3"])
def test_the_known_visitor_query_is_bounded(http, phone):
    answer = http.get("/api/v1/visitors/known", query_string={"phone": phone})
    assert answer.status_code == 400 and answer.get_json()["field"] == "phone"


def test_the_host_household_is_required_and_the_page_is_told(http, rig):
    rules = http.get("/api/v1/rules").get_json()["visitor_form"]
    assert rules == {"host_required": True, "phone": {"min_digits": 5, "max_digits": 15, "mobile_prefix": "1",
                                                      "mobile_digits": 11}}
    no_host = {k: v for k, v in BODY.items() if k != "host_household_id"}
    refused = http.post("/api/v1/visitors", json=no_host)
    assert refused.get_json()["code"] == "host_required" and refused.get_json()["field"] == "host_household_id"
    assert "住户" in refused.get_json()["error"]
    assert rig.journal.count() == 0
    english = http.post("/api/v1/visitors", json=no_host, headers={"Cookie": "lang=en"})
    assert english.status_code == refused.status_code


def test_without_the_rule_a_visitor_needs_no_host(tmp_path):
    rig = make_rig(tmp_path, quarantine=False)
    try:
        from kiosk.config.gate import VisitorSettings

        config = rig.gate.checkpoint.config
        rig.gate.checkpoint.config = config.model_copy(update={"visitors": VisitorSettings(host_required=False)})
        http = create_gate_app(rig.gate).test_client()
        assert http.get("/api/v1/rules").get_json()["visitor_form"]["host_required"] is False
        no_host = {k: v for k, v in BODY.items() if k != "host_household_id"}
        assert http.post("/api/v1/visitors", json=no_host).status_code == 200
    finally:
        rig.close()


@pytest.mark.parametrize("change, field, words", [
    ({"name": ""}, "name", "姓名"),
    ({"name": "   "}, "name", "姓名"),
    ({"phone": ""}, "phone", "手机号"),
    ({"phone": "1380013800"}, "phone", "11"),   # a mobile with 10 digits
    ({"phone": "call me"}, "phone", "11"),
])
def test_an_empty_or_wrong_field_is_named_in_chinese(http, rig, change, field, words):
    answer = http.post("/api/v1/visitors", json={**BODY, **change})
    body = answer.get_json()
    assert answer.status_code == 400 and body["field"] == field and words in body["error"], body
    assert "String should" not in body["error"] and "problem(s)" not in body["error"]
    assert rig.journal.count() == 0


def test_a_landline_is_a_phone(http):
    assert http.post("/api/v1/visitors", json={**BODY, "phone": "010-62345678"}).status_code == 200


def _fever(http):
    first = http.post("/api/v1/visitors", json={**BODY, "temperatures_c": [37.9]}).get_json()
    assert first["verdict"] == "remeasure"
    fever = http.post("/api/v1/visitors", json={**BODY, "temperatures_c": [37.9, 38.1]}).get_json()
    assert fever["verdict"] == "deny" and fever["alarms"] == ["fever"] and fever["kind"] == "visitor"
    return fever


def test_a_visitors_fever_then_a_normal_handheld_reading_admits_and_closes_the_alarm(http, rig):
    fever = _fever(http)
    assert len(http.get("/api/v1/alarms").get_json()) == 1
    handheld = http.post("/api/v1/readings", json={"celsius": 36.8, "source": "handheld_contact"})
    assert handheld.status_code == 200, handheld.get_json()
    answer = handheld.get_json()
    assert answer["verdict"] == "admit" and "handheld_normal" in answer["reasons"] and answer["alarms"] == []
    registration = rig.journal.latest((EventKind.VISITOR_REGISTRATION,))
    assert registration.data["supersedes_seq"] == fever["seq"][0] and registration.data["name"] == "孙来访"
    assert registration.data["temperature_c"] == 36.8
    assert http.get("/api/v1/alarms").get_json() == []  # the handheld reading answered the fever alarm
    ack = rig.journal.latest((EventKind.ALARM_ACKNOWLEDGED,))
    assert ack.data["outcome"] == "handheld_normal" and ack.data["alarm_seq"] == fever["alarm_seqs"][0]
    counts = http.get("/api/v1/today").get_json()["counts"]
    assert counts["visitors"] == 1 and counts["refused"] == 0 and counts["in"] == 1  # once, as the last decision
    assert http.post("/api/v1/readings", json={"celsius": 36.5}).status_code == 409  # settled: nothing waits now


def test_a_visitors_fever_confirmed_by_hand_raises_no_second_alarm_and_is_acknowledged(http, rig):
    fever = _fever(http)
    again = http.post("/api/v1/readings", json={"celsius": 38.4, "source": "handheld_contact"}).get_json()
    assert again["verdict"] == "deny" and again["prompt"] == "fever" and again["alarm_seqs"] == []
    alarms = http.get("/api/v1/alarms").get_json()
    assert [a["seq"] for a in alarms] == fever["alarm_seqs"]  # raised once
    assert http.post(f"/api/v1/alarms/{alarms[0]['seq']}/acknowledge", json={"note": "x"}).status_code == 409  # nobody on duty
    rig.gate.sign_in(7, "2468")
    done = http.post(f"/api/v1/alarms/{alarms[0]['seq']}/acknowledge", json={"outcome": alarms and "doctor_called"})
    if done.status_code != 200:  # the quick outcomes are the shared list: take one the gate offers for a fever
        outcome = http.get("/api/v1/rules").get_json()["ack_outcomes_by_kind"]["fever"][0]
        done = http.post(f"/api/v1/alarms/{alarms[0]['seq']}/acknowledge", json={"outcome": outcome})
    assert done.status_code == 200 and http.get("/api/v1/alarms").get_json() == []


def test_a_new_card_takes_the_typed_reading_from_the_visitor(http, rig):
    from tests.gate_fixtures import card

    _fever(http)
    rig.hardware.thermometer_fault(True)  # the next person's passage wants a handheld reading of its own
    http.post("/api/v1/scans", json={"text": card(), "direction": "in"})
    answer = http.post("/api/v1/readings", json={"celsius": 36.7, "source": "handheld_contact"}).get_json()
    assert answer.get("kind") == "person"
    assert rig.journal.latest((EventKind.VISITOR_REGISTRATION,)).data.get("supersedes_seq") is None


def test_where_visitors_came_from_lately_is_offered_commonest_first(http):
    """GET /visitors/places: the keyboard's one-tap words for 来自何处 — commonest first, ties the most recent,
    spaces tidied, empty places left out, at most six."""
    assert http.get("/api/v1/visitors/places").get_json() == {"places": []}

    def came_from(*places: str) -> list[str]:
        for place in places:
            answer = http.post("/api/v1/visitors", json={**BODY, "coming_from": place})
            assert answer.status_code == 200, answer.get_json()
        return http.get("/api/v1/visitors/places").get_json()["places"]

    assert came_from("顺丰  快递", "通州", " 朝阳区 ", "", "朝阳区", "通州", "朝阳区") == ["朝阳区", "通州", "顺丰 快递"]
    assert came_from("a", "b", "c", "d") == ["朝阳区", "通州", "d", "c", "b", "a"]  # six: the oldest single drops
