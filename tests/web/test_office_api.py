"""The office sync API through Flask's test client: exactly-once ingest, auth, and 4xx (never 5xx) for bad bodies."""

from __future__ import annotations

import json

import pytest

from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore
from web.office import create_app


@pytest.fixture
def office(tmp_path):
    store = OfficeStore(tmp_path / "office.db")
    registry = RegistryMaster(tmp_path / "registry.db")
    heard = []
    app = create_app(store, registry, on_events=lambda gate, events: heard.append((gate, len(events))))
    tokens = {"north": store.add_gate("north"), "south": store.add_gate("south"),
              "staff": store.add_user("li", "staff", "correct horse battery staple"), "admin": store.add_user("wang", "admin")}
    return app.test_client(), store, registry, tokens, heard


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def event(seq, gate="north", kind="passage", **extra):
    return {"seq": seq, "id": f"{gate}-{seq}", "ts": "2026-11-28T01:00:00.000Z", "gate_id": gate, "kind": kind,
            "subject": "resident:1", "household_id": 1, "data": {"verdict": "admit"}, **extra}


def send(client, token, events):
    return client.post("/api/v1/sync/events", json={"events": events}, headers=auth(token))


def test_batches_are_stored_exactly_once_with_a_contiguous_high_water(office):
    client, store, _, tokens, heard = office
    assert send(client, tokens["north"], [event(1), event(2)]).json == {"stored": 2, "high_water": 2}
    assert send(client, tokens["north"], [event(1), event(2)]).json == {"stored": 0, "high_water": 2}  # replay
    assert send(client, tokens["north"], [event(4)]).json == {"stored": 1, "high_water": 2}  # gap at 3
    assert send(client, tokens["north"], [event(3), event(4)]).json == {"stored": 1, "high_water": 4}
    assert store.count_events("north") == 4 and [e["seq"] for e in store.events("north")] == [1, 2, 3, 4]
    assert heard == [("north", 2), ("north", 1), ("north", 1)]  # only what was new is announced


def test_gates_have_separate_sequences(office):
    client, store, _, tokens, _ = office
    send(client, tokens["north"], [event(1)])
    assert send(client, tokens["south"], [event(1, "south")]).json == {"stored": 1, "high_water": 1}
    assert store.high_water("north") == 1 and store.high_water("south") == 1


def test_a_different_event_under_a_held_seq_is_a_conflict(office):
    client, store, _, tokens, _ = office
    send(client, tokens["north"], [event(1)])
    answer = send(client, tokens["north"], [event(2), {**event(1), "id": "other"}])
    assert answer.status_code == 409 and "another event" in answer.json["error"]
    assert store.count_events("north") == 1  # the whole batch was refused


def test_alarms_become_open_alarms_for_staff(office):
    client, _, _, tokens, _ = office
    send(client, tokens["north"], [event(1, kind="alarm_raised", data={"kind": "fever", "reason": "fever"})])
    answer = client.get("/api/v1/alarms", headers=auth(tokens["staff"]))
    assert answer.status_code == 200 and answer.json["alarms"][0]["kind"] == "fever"
    send(client, tokens["north"], [event(2, kind="alarm_acknowledged", data={"alarm_event_id": "north-1", "note": "测温复核"})])
    assert client.get("/api/v1/alarms", headers=auth(tokens["staff"])).json["alarms"] == []


def test_heartbeat_records_clock_offset_and_flags_a_wrong_clock(office):
    client, _, _, tokens, _ = office
    beat = {"software_version": "0.1.0", "gate_clock": "2020-01-01T00:00:00+00:00", "backlog": 3,
            "sensors": {"thermometer": "ok"}, "disk_free_bytes": 10**9, "cpu_temp_c": 51.5}
    answer = client.post("/api/v1/sync/heartbeat", json=beat, headers=auth(tokens["north"]))
    assert answer.status_code == 200 and answer.json["clock_off"] is True
    gates = {g["id"]: g for g in client.get("/api/v1/gates", headers=auth(tokens["staff"])).json["gates"]}
    assert gates["north"]["clock_off"] is True and gates["north"]["backlog"] == 3 and gates["south"]["last_heartbeat"] is None


def test_registry_changes_then_snapshot(office):
    client, _, registry, tokens, _ = office
    registry.upsert("households", {"id": 1, "building": "1"})
    registry.upsert("revocations", {"card_id": 9, "reason": "lost"})
    answer = client.get("/api/v1/sync/registry?since=0", headers=auth(tokens["north"])).json
    assert answer["mode"] == "changes" and answer["version"] == 2 and len(answer["changes"]) == 2
    assert client.get("/api/v1/sync/registry?since=2", headers=auth(tokens["north"])).json["changes"] == []
    ahead = client.get("/api/v1/sync/registry?since=99", headers=auth(tokens["north"])).json
    assert ahead["mode"] == "snapshot" and ahead["tables"]["revocations"][0]["card_id"] == 9


# -- security -------------------------------------------------------------------

@pytest.mark.parametrize("route, method", [
    ("/api/v1/sync/events", "post"), ("/api/v1/sync/registry", "get"), ("/api/v1/sync/heartbeat", "post"),
    ("/api/v1/gates", "get"), ("/api/v1/alarms", "get"), ("/api/v1/openapi.json", "get"), ("/api/v1/stream", "get"),
])
@pytest.mark.parametrize("header", [None, "Bearer", "Bearer wrong", "Basic abc", "bearer gate_nope"])
def test_every_route_but_healthz_needs_a_valid_token(office, route, method, header):
    client = office[0]
    headers = {"Authorization": header} if header else {}
    answer = getattr(client, method)(route, headers=headers, json={} if method == "post" else None)
    assert answer.status_code == 401 and "error" in answer.json
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_healthz_is_open(office):
    assert office[0].get("/healthz").json == {"ok": True}


def test_revoked_gate_token_is_refused(office):
    client, store, _, tokens, _ = office
    store.revoke_gate("north")
    assert send(client, tokens["north"], [event(1)]).status_code == 401


def test_a_gate_cannot_send_another_gates_events(office):
    client, store, _, tokens, _ = office
    answer = send(client, tokens["north"], [event(1), event(1, "south")])
    assert answer.status_code == 403 and store.count_events() == 0


@pytest.mark.parametrize("route", ["/api/v1/gates", "/api/v1/alarms"])
def test_staff_routes_refuse_gate_tokens(office, route):
    client, _, _, tokens, _ = office
    assert client.get(route, headers=auth(tokens["north"])).status_code == 403


def test_gate_routes_refuse_staff_tokens(office):
    client, _, _, tokens, _ = office
    assert send(client, tokens["staff"], [event(1)]).status_code == 403


def test_tokens_and_passwords_are_stored_only_as_hashes(office, tmp_path):
    _, store, _, tokens, _ = office
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("office.db*"))
    for token in tokens.values():
        assert token.encode() not in raw
    assert b"correct horse battery staple" not in raw
    assert store.check_password("li", "correct horse battery staple").role == "staff"
    assert store.check_password("li", "wrong") is None


# -- bad bodies: always 4xx with a message -------------------------------------------

@pytest.mark.parametrize("body, status", [
    ("{", 400),
    ("[]", 400),
    ('{"events": "x"}', 400),
    ('{"events": [{"seq": "1"}]}', 400),
    (json.dumps({"events": [{**event(1), "seq": 0}]}), 400),
    (json.dumps({"events": [{**event(1), "seq": True}]}), 400),
    (json.dumps({"events": [{**event(1), "kind": "party"}]}), 400),
    (json.dumps({"events": [{**event(1), "ts": "yesterday"}]}), 400),
    (json.dumps({"events": [{**event(1), "extra": 1}]}), 400),
    (json.dumps({"events": [event(1)], "more": 1}), 400),
    (json.dumps({"events": [event(i) for i in range(1, 1002)]}), 400),
])
def test_malformed_batches_are_4xx(office, body, status):
    client, store, _, tokens, _ = office
    answer = client.post("/api/v1/sync/events", data=body, headers={**auth(tokens["north"]), "Content-Type": "application/json"})
    assert answer.status_code == status and answer.json["error"]
    assert store.count_events() == 0


def test_not_json_and_too_large(office):
    client, _, _, tokens, _ = office
    answer = client.post("/api/v1/sync/events", data="events", headers={**auth(tokens["north"]), "Content-Type": "text/plain"})
    assert answer.status_code == 415
    huge = b'{"events": [' + b" " * (5 * 1024 * 1024) + b"]}"
    answer = client.post("/api/v1/sync/events", data=huge, headers={**auth(tokens["north"]), "Content-Type": "application/json"})
    assert answer.status_code == 413 and answer.json["error"]


@pytest.mark.parametrize("since", ["-1", "x", "1.5", ""])
def test_bad_since(office, since):
    client, _, _, tokens, _ = office
    assert client.get(f"/api/v1/sync/registry?since={since}", headers=auth(tokens["north"])).status_code == 400


def test_unknown_route_and_method_are_json(office):
    client, _, _, tokens, _ = office
    assert client.get("/api/v1/nope", headers=auth(tokens["north"])).status_code == 404
    answer = client.delete("/api/v1/gates", headers=auth(tokens["staff"]))
    assert answer.status_code == 405 and answer.json["error"]


def test_openapi_document_describes_every_route(office):
    client, _, _, tokens, _ = office
    doc = client.get("/api/v1/openapi.json", headers=auth(tokens["staff"])).json
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {"/api/v1/sync/events", "/api/v1/sync/registry", "/api/v1/sync/heartbeat", "/api/v1/gates",
                                 "/api/v1/alarms", "/api/v1/events/flagged", "/api/v1/stream",
                                 "/api/v1/gates/{gate_id}/events"}
    assert doc["components"]["schemas"]["EventIn"]["additionalProperties"] is False


def test_stream_delivers_new_alarms_and_passages_to_staff(tmp_path):
    import requests

    from tests.office_fixtures import OfficeServer

    office = OfficeServer(tmp_path / "office").start()
    try:
        gate, staff = office.store.add_gate("north"), office.store.add_user("li", "staff")
        assert requests.get(office.url + "/api/v1/stream", headers=auth(gate), timeout=5).status_code == 403
        with requests.get(office.url + "/api/v1/stream", headers=auth(staff), stream=True, timeout=10) as stream:
            assert stream.headers["Content-Type"].startswith("text/event-stream")
            lines = stream.iter_lines(decode_unicode=True)
            assert next(lines) == ": connected"
            batch = [event(1, kind="alarm_raised", data={"kind": "fever"}), event(2), event(3, kind="measurement")]
            requests.post(office.url + "/api/v1/sync/events", json={"events": batch}, headers=auth(gate), timeout=5)
            requests.post(office.url + "/api/v1/sync/events", json={"events": batch}, headers=auth(gate), timeout=5)  # a replay
            received = []
            for line in lines:
                if line.startswith("event: "):
                    received.append(line[len("event: "):])
                if len(received) == 2:
                    break
            assert received == ["alarm_raised", "passage"]  # measurements are not streamed; the replay added nothing
    finally:
        office.stop()


# -- authorization: a gate changes only its own things (issue 10) --------------------------------------------

def open_alarm_ids(client, tokens):
    return {a["event_id"] for a in client.get("/api/v1/alarms", headers=auth(tokens["staff"])).json["alarms"]}


def flagged(client, tokens):
    answer = client.get("/api/v1/events/flagged", headers=auth(tokens["staff"]))
    assert answer.status_code == 200
    return {(e["gate_id"], e["seq"]): e["flag"] for e in answer.json["events"]}


def test_a_gate_cannot_acknowledge_another_gates_alarm(office):
    client, store, _, tokens, heard = office
    send(client, tokens["south"], [event(1, "south", kind="alarm_raised", data={"kind": "fever", "reason": "fever"})])
    forged = event(1, kind="alarm_acknowledged", data={"alarm_event_id": "south-1", "note": "不是我的"})
    answer = send(client, tokens["north"], [forged, event(2)])
    assert answer.status_code == 200 and answer.json == {"stored": 2, "high_water": 2}  # kept: the stream goes on
    assert open_alarm_ids(client, tokens) == {"south-1"}  # south's alarm is still open
    assert "another gate" in flagged(client, tokens)[("north", 1)]
    assert store.events("north")[0]["flag"] and store.events("north")[1]["flag"] is None
    # south itself can acknowledge it, and that is not flagged
    own = event(2, "south", kind="alarm_acknowledged", data={"alarm_event_id": "south-1", "note": "复测正常"})
    assert send(client, tokens["south"], [own]).json == {"stored": 1, "high_water": 2}
    assert open_alarm_ids(client, tokens) == set() and ("south", 2) not in flagged(client, tokens)


def test_an_acknowledgement_of_no_alarm_is_flagged_and_changes_nothing(office):
    client, _, _, tokens, _ = office
    send(client, tokens["north"], [event(1, kind="alarm_raised", data={"kind": "fever"})])
    ack = event(2, kind="alarm_acknowledged", data={"alarm_event_id": "nowhere", "note": ""})
    assert send(client, tokens["north"], [ack]).json == {"stored": 1, "high_water": 2}
    assert open_alarm_ids(client, tokens) == {"north-1"}
    assert "never raised" in flagged(client, tokens)[("north", 2)]


def test_a_gate_cannot_take_over_another_gates_alarm_id(office):
    client, _, _, tokens, _ = office
    send(client, tokens["south"], [event(1, "south", kind="alarm_raised", data={"kind": "fever"})])
    # north sends an alarm under south's alarm's event id, then acknowledges "its" alarm
    stolen = {**event(1, kind="alarm_raised", data={"kind": "fever"}), "id": "south-1"}
    ack = event(2, kind="alarm_acknowledged", data={"alarm_event_id": "south-1"})
    assert send(client, tokens["north"], [ack, stolen]).json == {"stored": 2, "high_water": 2}  # any order in a batch
    assert open_alarm_ids(client, tokens) == {"south-1"}
    flags = flagged(client, tokens)
    assert ("north", 1) in flags and ("north", 2) in flags


def test_an_acknowledgement_in_the_same_batch_as_its_alarm_closes_it_in_any_order(office):
    client, _, _, tokens, _ = office
    alarm = event(1, kind="alarm_raised", data={"kind": "fever"})
    ack = event(2, kind="alarm_acknowledged", data={"alarm_event_id": "north-1", "outcome": "handheld_normal"})
    assert send(client, tokens["north"], [ack, alarm]).json == {"stored": 2, "high_water": 2}
    assert open_alarm_ids(client, tokens) == set() and flagged(client, tokens) == {}


def test_a_heartbeat_changes_only_the_sending_gates_state(office):
    client, _, _, tokens, _ = office
    beat = {"software_version": "0.1.0", "gate_clock": "2020-01-01T00:00:00+00:00", "backlog": 7}
    assert client.post("/api/v1/sync/heartbeat", json=beat, headers=auth(tokens["south"])).status_code == 200
    gates = {g["id"]: g for g in client.get("/api/v1/gates", headers=auth(tokens["staff"])).json["gates"]}
    assert gates["south"]["backlog"] == 7 and gates["north"]["last_heartbeat"] is None
    # a heartbeat has no gate field to name another gate with: it is refused, not applied elsewhere
    named = client.post("/api/v1/sync/heartbeat", json={**beat, "gate_id": "north"}, headers=auth(tokens["south"]))
    assert named.status_code == 400
    assert client.post("/api/v1/sync/heartbeat", json=beat, headers=auth(tokens["staff"])).status_code == 403


def test_another_gates_token_changes_none_of_this_gates_events(office):
    client, store, _, tokens, _ = office
    send(client, tokens["north"], [event(1)])
    # south replaying north's seq 1 under its own name is south's event, not north's
    assert send(client, tokens["south"], [event(1, "south")]).json == {"stored": 1, "high_water": 1}
    assert send(client, tokens["south"], [event(2, "north")]).status_code == 403
    assert store.count_events("north") == 1 and store.high_water("north") == 1
    assert store.events("north")[0]["id"] == "north-1"


@pytest.mark.parametrize("route", ["/api/v1/gates", "/api/v1/alarms", "/api/v1/events/flagged", "/api/v1/stream"])
def test_every_staff_route_refuses_every_gate_token(office, route):
    client, _, _, tokens, _ = office
    for gate in ("north", "south"):
        answer = client.get(route, headers=auth(tokens[gate]))
        assert answer.status_code == 403 and "staff" in answer.json["error"]
    assert client.get(route if route != "/api/v1/stream" else "/api/v1/alarms", headers=auth(tokens["admin"])).status_code == 200


@pytest.mark.parametrize("route, method", [("/api/v1/sync/events", "post"), ("/api/v1/sync/heartbeat", "post"),
                                           ("/api/v1/sync/registry", "get")])
def test_every_gate_route_refuses_staff_tokens(office, route, method):
    client, _, _, tokens, _ = office
    for who in ("staff", "admin"):
        answer = getattr(client, method)(route, headers=auth(tokens[who]), json={"events": []} if method == "post" else None)
        assert answer.status_code == 403


# -- input: the five 500s, and bad data that is kept and flagged, never a block (issue 10) -------------------

@pytest.mark.parametrize("since", ["²", "٣", "１", "9" * 20, str(2**63), str(2**70), "+1", " 1"])
def test_since_beyond_ascii_digits_or_int64_is_a_400(office, since):
    client, _, _, tokens, _ = office
    answer = client.get("/api/v1/sync/registry", query_string={"since": since}, headers=auth(tokens["north"]))
    assert answer.status_code == 400 and answer.json["error"].startswith("since")


def test_since_at_the_int64_bound_is_a_snapshot(office):
    client, _, _, tokens, _ = office
    answer = client.get("/api/v1/sync/registry", query_string={"since": str(2**63 - 1)}, headers=auth(tokens["north"]))
    assert answer.status_code == 200 and answer.json["mode"] == "snapshot"


BAD_ALARM_DATA = [
    ("alarm_raised", {"kind": {"a": 1}}),
    ("alarm_raised", {"kind": 2**70}),
    ("alarm_acknowledged", {"alarm_event_id": "north-1", "note": ["a", "list"]}),
    ("alarm_acknowledged", {"alarm_event_id": {"a": 1}}),
    ("alarm_acknowledged", {"alarm_event_id": 2**70}),
    ("passage", {"verdict": "admit", "household_id": 2**70}),
    ("passage", {"verdict": "admit", "readings": [{"source": "sensor", "object_c": "hot"}]}),
    ("visitor_registration", {"name": "x" * 10_000, "phone": "1"}),
    ("sensor_fault", {"part": "thermometer", "fault": None, "detail": None, "extra": 1}),
    ("shift_sign_in", {"volunteer": 2**64}),
]


@pytest.mark.parametrize("kind, data", BAD_ALARM_DATA)
def test_bad_data_is_stored_and_flagged_and_the_stream_goes_on(office, kind, data):
    client, store, _, tokens, heard = office
    send(client, tokens["north"], [event(1, kind="alarm_raised", data={"kind": "fever", "reason": "fever"})])
    answer = send(client, tokens["north"], [event(2, kind=kind, data=data)])
    assert answer.status_code == 200 and answer.json == {"stored": 1, "high_water": 2}  # acknowledged: never a block
    assert answer.status_code != 500
    assert send(client, tokens["north"], [event(3)]).json == {"stored": 1, "high_water": 3}  # a good event follows
    events = store.events("north")
    assert [e["seq"] for e in events] == [1, 2, 3] and events[1]["data"] == json.loads(json.dumps(data))
    flags = flagged(client, tokens)
    assert list(flags) == [("north", 2)] and flags[("north", 2)].startswith("data")
    assert open_alarm_ids(client, tokens) == {"north-1"}  # a flagged event changes no alarm
    assert send(client, tokens["north"], [event(2, kind=kind, data=data)]).json == {"stored": 0, "high_water": 3}  # once
    assert heard == [("north", 1), ("north", 1)]  # the flagged one is not announced to live screens


def test_flagged_events_limit_is_bounded(office):
    client, _, _, tokens, _ = office
    for bad in ("x", "²", "-1", str(2**70), "1001"):
        assert client.get("/api/v1/events/flagged", query_string={"limit": bad}, headers=auth(tokens["staff"])).status_code == 400
    assert client.get("/api/v1/events/flagged?since=1", headers=auth(tokens["staff"])).status_code == 400


@pytest.mark.parametrize("field, value", [("seq", 2**70), ("seq", 2**63), ("household_id", 2**70), ("household_id", -1)])
def test_envelope_integers_beyond_int64_are_a_400(office, field, value):
    client, store, _, tokens, _ = office
    answer = client.post("/api/v1/sync/events", data=json.dumps({"events": [{**event(1), field: value}]}),
                         headers={**auth(tokens["north"]), "Content-Type": "application/json"})
    assert answer.status_code == 400 and store.count_events() == 0


@pytest.mark.parametrize("field, value", [("backlog", 2**70), ("disk_free_bytes", 2**64), ("cpu_temp_c", 2**70),
                                          ("sensors", {"thermometer": {"raw": [2**63]}}), ("sensors", {"a": [[[[[[[[[1]]]]]]]]]}),
                                          ("sensors", {f"k{i}": i for i in range(600)})])
def test_heartbeat_integers_beyond_int64_are_a_400(office, field, value):
    client, _, _, tokens, _ = office
    beat = {"software_version": "0.1.0", "gate_clock": "2026-11-28T01:00:00+00:00", "backlog": 0, field: value}
    answer = client.post("/api/v1/sync/heartbeat", data=json.dumps(beat),
                         headers={**auth(tokens["north"]), "Content-Type": "application/json"})
    assert answer.status_code == 400


def test_read_only_gate_routes_show_another_gate_nothing_of_this_gates(office):
    client, _, registry, tokens, _ = office
    registry.upsert("households", {"id": 1, "building": "1"})
    send(client, tokens["north"], [event(1), event(2)])
    # south's answer carries south's own high-water seq, never north's
    assert send(client, tokens["south"], []).json == {"stored": 0, "high_water": 0}
    pulled = client.get("/api/v1/sync/registry?since=0", headers=auth(tokens["south"])).json
    assert pulled["mode"] == "changes" and pulled["version"] == 1  # the registry: the same for every gate
    assert client.get("/api/v1/openapi.json", headers=auth(tokens["south"])).status_code == 200


def test_a_browser_on_a_wrong_desk_address_gets_a_page_with_the_way_back(tmp_path):
    from kiosk.office.registry_master import RegistryMaster
    from kiosk.office.store import OfficeStore
    from web.office import create_app

    client = create_app(OfficeStore(tmp_path / "o.db"), RegistryMaster(tmp_path / "r.db")).test_client()
    page = client.get("/no-such-screen", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404 and "没有这个页面" in page.text and "href='/'" in page.text
    api = client.get("/api/v1/no-such-route", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.is_json  # the API stays JSON for every caller
