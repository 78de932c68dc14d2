"""Server messages in the page's language: a bad body names the field, a refusal has a code and its words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask_babel import force_locale

from tests.gate_fixtures import make_rig
from web.gate import create_gate_app, schemas
from web.gate.errors import ERRORS

ROOT = Path(__file__).resolve().parents[2]
VISITOR = {"name": "孙来访", "phone": "13800138000", "host_household_id": 2, "temperatures_c": [36.4]}


@pytest.fixture
def gate(tmp_path):
    rig = make_rig(tmp_path, start=False)
    app = create_gate_app(rig.gate, simulation=rig.hardware)
    yield rig, app
    rig.close()


def client(app, language):
    http = app.test_client()
    http.set_cookie("lang", language)
    return http


@pytest.mark.parametrize("language, words", [("zh-CN", "请填写姓名。"), ("en", "Name is missing.")])
def test_an_empty_visitor_form_names_the_field_in_the_pages_language(gate, language, words):
    rig, app = gate
    answer = client(app, language).post("/api/v1/visitors", json={"name": "", "phone": "", "temperatures_c": []})
    body = answer.get_json()
    assert answer.status_code == 400 and body["error"] == words
    assert body["field"] == "name" and body["code"] == "missing"
    assert [p["field"] for p in body["problems"]] == ["name", "phone"]
    assert rig.journal.count() == 0


@pytest.mark.parametrize("language, words", [
    ("zh-CN", "手机号格式不对：请只填数字，手机号为11位。"),
    ("en", "The phone number is not valid: type digits only (a mobile number has 11)."),
])
def test_a_bad_phone_number_says_what_a_phone_number_is(gate, language, words):
    _, app = gate
    answer = client(app, language).post("/api/v1/visitors", json={**VISITOR, "phone": "call me"})
    body = answer.get_json()
    assert answer.status_code == 400 and (body["error"], body["field"]) == (words, "phone")
    assert body["code"].startswith("phone_")  # the schema's own check names what is wrong (web/gate/schemas.py)


@pytest.mark.parametrize("body, field, code, zh", [
    ({**VISITOR, "name": "孙" * 41}, "name", "too_long", "姓名太长，最多40个字。"),
    ({**VISITOR, "temperatures_c": [50]}, "temperatures_c", "too_large", "体温应在25至45 °C之间，请复测。"),
    ({**VISITOR, "reason": "探亲"}, "reason", "choice", "请从选项中选择事由。"),
    ({**VISITOR, "mood": "fine"}, "mood", "unknown_field", "页面发送了无法识别的内容（mood），请刷新页面。"),
])
def test_each_kind_of_problem_has_its_sentence(gate, body, field, code, zh):
    _, app = gate
    answer = client(app, "zh-CN").post("/api/v1/visitors", json=body)
    assert answer.status_code == 400 and (answer.get_json()["field"], answer.get_json()["code"]) == (field, code)
    assert answer.get_json()["error"] == zh


def test_a_body_that_is_not_json_is_answered_in_words(gate):
    _, app = gate
    http = client(app, "zh-CN")
    assert http.post("/api/v1/visitors", data="name=x").get_json() == {"error": "请求无法识别，请重试。", "code": "not_json"}
    broken = http.post("/api/v1/visitors", data="{", content_type="application/json")
    assert broken.status_code == 400 and broken.get_json()["code"] == "invalid_json"


@pytest.mark.parametrize("language, words", [("zh-CN", "请先扫出入证"), ("en", "Scan the card first")])
def test_a_refusal_from_the_gate_has_a_code_its_words_and_english_for_the_log(gate, language, words):
    _, app = gate
    answer = client(app, language).post("/api/v1/readings", json={"celsius": 36.5})
    assert answer.status_code == 409 and answer.get_json() == {
        "error": words, "code": "nothing_waiting",
        "detail": "no passage is waiting for a temperature: scan the card first"}


def test_sign_in_refusals_say_how_many_tries_are_left_and_who_is_unknown(gate):
    _, app = gate
    http = client(app, "zh-CN")
    wrong = http.post("/api/v1/shift", json={"volunteer_id": 7, "pin": "0000"})
    assert wrong.status_code == 401 and wrong.get_json()["code"] == "wrong_pin"
    assert wrong.get_json()["tries_left"] == 4 and "4" in wrong.get_json()["error"]
    unknown = client(app, "en").post("/api/v1/shift", json={"volunteer_id": 999, "pin": "1234"})
    assert unknown.status_code == 404 and unknown.get_json()["code"] == "unknown"
    assert unknown.get_json()["error"] == "This volunteer is not on this gate's list: call the office."


def test_an_unknown_route_and_an_unknown_household_are_words_too(gate):
    _, app = gate
    http = client(app, "zh-CN")
    missing = http.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.get_json()["error"] == "本卡口找不到该内容，请刷新页面。"
    nobody = http.post("/api/v1/visitors", json={**VISITOR, "host_household_id": 99})
    assert nobody.get_json()["code"] == "no_household" and nobody.get_json()["field"] == "host_household_id"
    assert "住户" in nobody.get_json()["error"]


def test_every_code_raised_at_the_gate_has_words_in_both_languages(gate):
    _, app = gate
    raised = set()
    for path in (ROOT / "kiosk" / "gate").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        raised |= set(re.findall(r'(?:GateError|AlarmError|ShiftError|PersonalDataError|NotSignedIn)\(\s*"(\w+)"', source))
    visitors = (ROOT / "kiosk" / "gate" / "visitors.py").read_text(encoding="utf-8")
    assert "id_check_digit" in raised and "busy" in raised and "id_check_digit" in visitors
    assert raised - set(ERRORS) == set(), "add these codes to web/gate/errors.py ERRORS"
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        chinese = {code: str(words) for code, words in ERRORS.items()}
    for code, words in chinese.items():
        assert re.search(r"[\u4e00-\u9fff]", words), f"{code}: no Chinese for {words!r}"
        assert not re.search(r"[\u4e00-\u9fff][:()]|[:()][\u4e00-\u9fff]", words), f"{code}: ASCII punctuation in {words!r}"


def test_every_field_a_volunteer_fills_in_has_a_label_in_chinese(gate):
    from web.common.problems import label

    _, app = gate
    internal = {"source", "alarm_seq", "hold", "known_seq", "supersedes_seq"}  # set by the page, never typed
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        for model in (schemas.VisitorIn, schemas.VehicleIn, schemas.ReadingIn, schemas.SignInIn, schemas.AcknowledgeIn,
                      schemas.ScanIn, schemas.DirectionIn):
            for field in set(model.model_fields) - internal:
                words = label(model, field)
                assert re.search(r"[\u4e00-\u9fff]", words), f"{model.__name__}.{field}: no label ({words!r})"


@pytest.mark.parametrize("language, words", [("zh-CN", "请先选择处理结果"), ("en", "Choose what was done first")])
def test_the_desk_answers_an_alarm_handling_without_an_outcome_in_the_desks_language(tmp_path, language, words):
    from tests.web.test_desk_auth import Desk

    desk = Desk(tmp_path)
    try:
        browser, token = desk.signed_in("li")
        browser.cookies.set("lang", language)
        answer = browser.post(desk.url + "/desk/api/alarms/north-1/handle", json={"note": "x"},
                              headers={"X-CSRF-Token": token})
        assert answer.status_code == 400 and answer.json() == {"error": words, "code": "outcome_missing"}
        long = browser.get(desk.url + "/desk/api/alarms", params={"kind": "k" * 41})
        assert long.status_code == 400 and "kind" in long.json()["error"]
        assert ("请刷新页面" if language == "zh-CN" else "reload the page") in long.json()["error"]
    finally:
        desk.close()
