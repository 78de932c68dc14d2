"""The office's sync/events route over real HTTP, and its fast path (schemas.batch_events) against EventBatch."""

from __future__ import annotations

import json
import threading

import pytest
import requests
from pydantic import ValidationError

from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore
from web.office import create_app, schemas
from web.office.batch_check import BatchChecker
from web.serving import WebServer


def event(seq, gate="north", kind="passage", **extra) -> dict:
    return {"seq": seq, "id": f"{gate}-{seq}", "ts": "2026-11-28T01:00:00.000Z", "gate_id": gate, "kind": kind,
            "volunteer_id": "7", "subject": "resident:1", "household_id": 1, "data": {"verdict": "admit"}, **extra}


VARIANTS: list[dict] = [
    {}, {"seq": 7.0}, {"seq": 7.5}, {"seq": True}, {"seq": "7"}, {"seq": 0}, {"seq": 2**62}, {"seq": 2**62 + 1},
    {"seq": None}, {"id": ""}, {"id": "x" * 64}, {"id": "x" * 65}, {"id": 5}, {"ts": "2026-11-28T09:00:00+08:00"},
    {"ts": "2026-11-28T01:00:00"}, {"ts": "2026-11-28"}, {"ts": "yesterday"}, {"ts": 1764291600}, {"gate_id": "x" * 33},
    {"gate_id": ""}, {"volunteer_id": None}, {"volunteer_id": "v" * 65}, {"volunteer_id": 7}, {"kind": "party"},
    {"kind": "visitor_exit"}, {"kind": None}, {"subject": None}, {"subject": "s" * 65}, {"household_id": None},
    {"household_id": -1}, {"household_id": 3.0}, {"household_id": 2**70}, {"household_id": False}, {"data": []},
    {"data": None}, {"data": {"nested": {"deep": [1, 2.5, None, "字"]}}}, {"extra": 1},
]
OMITTED = ["volunteer_id", "subject", "household_id", "data", "seq", "id", "ts", "gate_id", "kind"]


def _bodies() -> list[bytes]:
    bodies = [json.dumps({"events": [event(1), {**event(2), **change}]}).encode() for change in VARIANTS]
    bodies += [json.dumps({"events": [{k: v for k, v in event(1).items() if k != key}]}).encode() for key in OMITTED]
    shapes: tuple[object, ...] = ({"events": []}, {"events": [event(i) for i in range(1, 1002)]},
                                  {"events": [event(1)], "more": 1}, {}, [], {"events": "x"})
    bodies += [json.dumps(shape).encode() for shape in shapes]
    bodies += [b"{", b"", b'{"events": [], "events": [' + json.dumps(event(1)).encode() + b"]}", "é".encode("latin-1")]
    return bodies


@pytest.mark.parametrize("body", _bodies())
def test_the_fast_path_accepts_only_what_eventbatch_accepts_with_the_same_events(body):
    try:
        expected = [e.as_event() for e in schemas.EventBatch.model_validate_json(body).events]
    except ValidationError:
        expected = None
    fast = schemas.batch_events(body)
    if expected is None:
        assert fast is None  # refused: EventBatch then answers with the problem
    else:
        assert fast is None or fast == expected  # None: EventBatch decides (an integral 7.0 for a seq)


def test_the_fast_path_takes_an_ordinary_batch():
    body = json.dumps({"events": [event(s) for s in range(1, 1001)]}).encode()
    assert schemas.batch_events(body) == [e.as_event() for e in schemas.EventBatch.model_validate_json(body).events]


class Office:
    """The office app on web.serving in a thread on 127.0.0.1 (``checker``: batches checked in its processes)."""

    def __init__(self, tmp_path, checker: BatchChecker | None = None):
        self.store = OfficeStore(tmp_path / "office.db")
        self.heard: list[tuple[str, list[dict]]] = []
        app = create_app(self.store, RegistryMaster(tmp_path / "registry.db"),
                         on_events=lambda gate, events: self.heard.append((gate, events)), checker=checker)
        self.server = WebServer(app, "127.0.0.1", 0)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.port}/api/v1/sync/events"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self.store.add_gate('north')}"
        self.south = self.store.add_gate("south")

    def send(self, events: list[dict] | bytes, **headers):
        body = events if isinstance(events, bytes) else json.dumps({"events": events}).encode()
        return self.session.post(self.url, data=body, headers={"Content-Type": "application/json", **headers}, timeout=10)

    def close(self) -> None:
        self.session.close()
        self.server.close()
        self.thread.join(timeout=10)
        self.store.close()


@pytest.fixture(scope="module")
def checking(tmp_path_factory):
    """One checking process for the module's offices (these tests need no office keys in its data folder)."""
    checker = BatchChecker(tmp_path_factory.mktemp("checking"), processes=1)
    yield checker
    checker.close()


@pytest.fixture(params=["in the serving thread", "in a checking process"])
def office(request, tmp_path):
    # Every behaviour below holds both ways: kiosk office serve checks in a process, create_app alone in its threads
    checker = request.getfixturevalue("checking") if request.param == "in a checking process" else None
    office = Office(tmp_path, checker)
    yield office
    office.close()
    if checker is not None:
        assert checker.fallbacks == 0  # every batch was checked there, none fell back


def test_a_batch_is_stored_once_and_a_resent_batch_stores_nothing(office):
    batch = [event(s) for s in range(1, 501)]
    assert office.send(batch).json() == {"stored": 500, "high_water": 500}
    assert office.send(batch).json() == {"stored": 0, "high_water": 500}  # the gate missed the answer and sent again
    assert office.send(batch[250:] + [event(501)]).json() == {"stored": 1, "high_water": 501}
    assert office.store.count_events("north") == 501
    assert [len(events) for _, events in office.heard] == [500, 1]  # only what was new is announced
    first = office.heard[0][1][0]
    assert first == {**event(1), "ts": "2026-11-28T01:00:00Z"}  # the announced event: the envelope, its ts normalised


def test_the_announced_events_are_the_batch_as_the_gate_sent_it(office):
    batch = [event(1), event(2, kind="measurement", data={"source": "ir_sensor", "object_c": 36.5}),
             event(3, boot="b-1", mono_ms=5, clock="trusted"), event(4, data={"verdict": 1}),
             event(5, data={"verdict": "admit", "reasons": ["card_valid"], "detail": {"place": "北门"}})]
    body = json.dumps({"events": batch}, ensure_ascii=False).encode()
    assert office.send(body).json() == {"stored": 5, "high_water": 5}
    announced = schemas.batch_events(body) or []
    assert office.heard == [("north", [e for e in announced if e["seq"] != 4])]  # the flagged one is not announced


def test_a_bad_event_refuses_the_batch_naming_its_index_and_stores_nothing(office):
    batch = [event(s) for s in range(1, 6)]
    batch[3] = {**batch[3], "ts": "yesterday"}
    answer = office.send(batch)
    assert answer.status_code == 400 and answer.json()["error"].startswith("events.3.ts: ")
    assert answer.json()["field"] == "events"
    batch[3] = {**event(4), "household_id": 2**70}
    answer = office.send(batch)
    assert answer.status_code == 400 and answer.json()["error"].startswith("events.3.household_id")
    assert office.store.count_events() == 0 and office.heard == []


def test_bad_data_inside_a_good_envelope_is_stored_and_flagged(office):
    answer = office.send([event(1), event(2, data={"verdict": 1}), event(3)])
    assert answer.json() == {"stored": 3, "high_water": 3}
    flags = {e["seq"]: e["flag"] for e in office.store.events("north")}
    assert flags[1] is None and flags[3] is None and flags[2].startswith("data.verdict")
    assert [e["seq"] for e in office.heard[0][1]] == [1, 3]  # a flagged event is not announced to live screens


def test_an_integral_seq_written_as_a_float_is_still_taken(office):
    body = json.dumps({"events": [event(1)]}).replace('"seq": 1,', '"seq": 1.0,').encode()
    assert b'"seq": 1.0' in body
    assert office.send(body).json() == {"stored": 1, "high_water": 1}


def test_another_gates_events_and_conflicts_are_refused_whole(office):
    answer = office.send([event(1), event(2, gate="south")])
    assert answer.status_code == 403 and "seq 2 belongs to gate 'south'" in answer.json()["error"]
    office.send([event(1)])
    answer = office.send([event(2), {**event(1), "id": "another"}])
    assert answer.status_code == 409 and office.store.count_events() == 1
    assert office.send(b"events", **{"Content-Type": "text/plain"}).status_code == 415


def test_a_body_over_4_mib_is_refused_unread(office):
    body = json.dumps({"events": [event(1, data={"verdict": "admit", "note": "x" * (4 * 1024 * 1024)})]}).encode()
    answer = office.send(body)
    assert answer.status_code == 413 and office.store.count_events() == 0
