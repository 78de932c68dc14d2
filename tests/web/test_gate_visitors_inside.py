"""GET /api/v1/visitors/inside and POST …/<entry>/exit over real HTTP (web.serving on 127.0.0.1): the list, the
exit by the volunteer on duty, 409 with a code and words in the page's language (twice, unknown, signed out)."""

from __future__ import annotations

import threading

import pytest
import requests

from tests.gate_fixtures import make_rig
from web.gate import create_gate_app
from web.serving import WebServer

pytestmark = pytest.mark.timeout(120)
VISITOR = {"name": "孙来访", "phone": "13800138000", "coming_from": "朝阳区", "host_household_id": 2,
           "reason": "visiting_family", "temperatures_c": [36.5]}


@pytest.fixture
def served(tmp_path):
    rig = make_rig(tmp_path, quarantine=False)
    server = WebServer(create_gate_app(rig.gate), "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    http = requests.Session()
    http.trust_env = False
    yield f"http://127.0.0.1:{server.port}/api/v1/", http, rig
    server.close()
    thread.join(timeout=10)
    rig.close()


def test_the_list_the_exit_and_refusals_in_words(served):
    url, http, rig = served
    assert http.get(url + "visitors/inside").json() == {"visitors": [], "count": 0, "long_stay_h": 12.0,
                                                         "signed_in": False}
    entry = http.post(url + "visitors", json=VISITOR).json()["seq"][0]
    listed = http.get(url + "visitors/inside").json()
    assert listed["count"] == 1 and listed["visitors"][0]["entry_seq"] == entry
    assert listed["visitors"][0]["name"] == "孙*访" and listed["visitors"][0]["household"] == "2-1-201"
    assert http.get(url + "status").json()["visitors_inside"] == 1

    signed_out = http.post(url + f"visitors/inside/{entry}/exit", json={})
    assert signed_out.status_code == 409 and signed_out.json()["code"] == "not_signed_in"
    assert signed_out.json()["error"].startswith("请先签到：访客离开由")  # the page's language (zh-CN first)
    assert http.post(url + "shift", json={"volunteer_id": 7, "pin": "2468"}).status_code == 200
    done = http.post(url + f"visitors/inside/{entry}/exit", json={})
    assert done.status_code == 201 and done.json()["count"] == 0
    again = http.post(url + f"visitors/inside/{entry}/exit", json={})
    assert again.status_code == 409 and again.json()["code"] == "already_out"
    assert again.json()["error"] == "此访客的离开已登记过。"
    http.cookies.set("lang", "en")
    english = http.post(url + f"visitors/inside/{entry}/exit", json={})
    assert english.status_code == 409 and english.json()["error"] == "This visitor's exit is already recorded."
    for bad in (entry + 1000, 2**60):
        unknown = http.post(url + f"visitors/inside/{bad}/exit", json={})
        assert unknown.status_code == 409 and unknown.json()["code"] == "unknown"
    assert http.post(url + "visitors/inside/-1/exit", json={}).status_code == 404
    assert http.get(url + "visitors/inside").json()["visitors"] == []
    exits = [e for e in rig.journal.events_after(0) if e.kind.value == "visitor_exit"]
    assert len(exits) == 1 and exits[0].volunteer_id == "7"
