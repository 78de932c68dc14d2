"""The office's gates screen shows each gate's leaf as the heartbeat carries it (issue 13): 门开着 N 分钟 while the
north gate's (simulated) reed switch says open, 已关 once it is shut; the south gate, without a switch, shows none."""

from __future__ import annotations

import requests


def _swing(demo_office, is_open: bool) -> None:
    response = requests.post(demo_office.gate_url + "api/v1/simulation", json={"gate_open": is_open}, timeout=10)
    assert response.status_code == 200


def test_the_gates_screen_shows_the_north_gate_open_then_shut(desk, demo_office):
    desk.goto(demo_office.url + "/gates")
    north = desk.locator("article[data-gate='north-gate']")
    north.wait_for()
    _swing(demo_office, True)
    # the next heartbeat (every 10 s in the demo) carries it; the screen refreshes every 5 s
    desk.wait_for_selector("article[data-gate='north-gate'] dd[data-leaf='open']", timeout=30000)
    opened = north.locator("dd[data-leaf='open']")
    assert "门开着" in opened.inner_text() and "分钟" in opened.inner_text()
    assert "tag" in (opened.get_attribute("class") or "")
    assert desk.locator("article[data-gate='south-gate'] dd[data-leaf]").count() == 0  # no switch there
    _swing(demo_office, False)
    desk.wait_for_selector("article[data-gate='north-gate'] dd[data-leaf='shut']", timeout=30000)
    assert north.locator("dd[data-leaf='shut']").inner_text() == "已关"
