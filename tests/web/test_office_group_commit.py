"""Several gates posting batches at once over real HTTP: one gate's conflict is its own 409, the others' 200."""

from __future__ import annotations

import json
import threading

import requests

from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore
from web.office import create_app
from web.serving import WebServer


def event(gate: str, seq: int, event_id: str | None = None) -> dict:
    return {"seq": seq, "id": event_id or f"{gate}-{seq}", "ts": "2026-11-28T01:00:00.000Z", "gate_id": gate,
            "kind": "passage", "volunteer_id": "7", "subject": "resident:1", "household_id": 1,
            "data": {"verdict": "admit"}}


def test_concurrent_gates_are_answered_each_for_its_own_batch(tmp_path):
    store = OfficeStore(tmp_path / "office.db")
    gates = [f"gate-{i}" for i in range(6)]
    tokens = {gate: store.add_gate(gate) for gate in gates}
    store.ingest("gate-2", [event("gate-2", s) for s in range(1, 4)])
    heard: list[str] = []
    server = WebServer(create_app(store, RegistryMaster(tmp_path / "registry.db"),
                                  on_events=lambda gate, events: heard.append(gate)), "127.0.0.1", 0, threads=6)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.port}/api/v1/sync/events"
    bodies = {gate: [event(gate, s) for s in range(1, 401)] for gate in gates}
    bodies["gate-2"][1] = event("gate-2", 2, "a-replaced-journal")  # seq 2 held under another id
    answers: dict[str, requests.Response] = {}
    start = threading.Barrier(len(gates))

    def post(gate: str) -> None:
        start.wait()
        answers[gate] = requests.post(url, data=json.dumps({"events": bodies[gate]}),
                                      headers={"Authorization": f"Bearer {tokens[gate]}",
                                               "Content-Type": "application/json"}, timeout=30)

    try:
        posters = [threading.Thread(target=post, args=(gate,)) for gate in gates]
        for t in posters:
            t.start()
        for t in posters:
            t.join(timeout=60)
        assert answers["gate-2"].status_code == 409
        assert "gate gate-2 seq 2: the office holds another event" in answers["gate-2"].json()["error"]
        assert store.count_events("gate-2") == 3 and store.high_water("gate-2") == 3
        for gate in gates:
            if gate != "gate-2":
                assert answers[gate].status_code == 200 and answers[gate].json() == {"stored": 400, "high_water": 400}
                assert store.count_events(gate) == 400
        assert sorted(heard) == sorted(g for g in gates if g != "gate-2")  # announced once, the refused one never
    finally:
        server.close()
        thread.join(timeout=10)
        store.close()
