"""The gate left open at night (issue 13), at the 800×480 panel: the simulation panel swings the (fake) reed
switch's leaf open, the top bar shows 门开 in amber, the night's short threshold raises the gate-left-open alarm
once (the chip turns red, the badge counts it), and shutting the leaf clears it and the chip goes."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.demo_process import DemoProcess
from tests.office_fixtures import free_port
from tests.ui.conftest import PANEL, DemoGate
from tests.ui.helpers import sign_in


class LeafGate(DemoGate):
    """``kiosk demo --serve`` whose north gate's night covers now, with a 3-second night threshold (``--gate-set``)."""

    def __init__(self, directory):
        from kiosk import demo as demo_lib

        now = datetime.now(ZoneInfo(demo_lib.TIMEZONE))
        night = {"night_from": (now - timedelta(hours=1)).strftime("%H:%M"),
                 "night_until": (now + timedelta(hours=2)).strftime("%H:%M"),
                 "night_open_alarm_after_min": 0.05, "open_alarm_after_min": 600, "settle_s": 0.5}
        sets = [arg for key, value in night.items() for arg in ("--gate-set", f"gate_leaf.{key}={value}")]
        self.port = free_port()
        DemoProcess.__init__(self, directory, ["--gate-port", str(self.port), *sets], "touchscreen:", timeout_s=60)
        self.url = f"http://127.0.0.1:{self.port}/"


@pytest.fixture
def leaf_gate(tmp_path):
    gate = LeafGate(tmp_path / "demo")
    yield gate
    gate.stop()


def _leaf_alarms(gate) -> list[dict]:
    return [a for a in requests.get(gate.url + "api/v1/alarms", timeout=10).json() if a["kind"] == "gate_left_open"]


def _toggle_leaf(page) -> None:
    if page.locator(".sim-body").is_hidden():
        page.click("#sim-toggle")
    page.click("#sim-leaf")
    page.click("#sim-toggle")  # fold the panel away again


def _inside_the_bar(page, selector: str) -> None:
    """The chip is on screen whole, inside the top bar (not wrapped out of sight), and fits the 800×480 panel."""
    box = page.locator(selector).bounding_box()
    bar = page.locator("header.bar").bounding_box()
    assert box is not None and bar is not None
    assert bar["y"] <= box["y"] and box["y"] + box["height"] <= bar["y"] + bar["height"] + 1, (box, bar)
    assert 0 <= box["x"] and box["x"] + box["width"] <= PANEL["width"], box


def test_a_gate_left_open_at_night_raises_its_alarm_once_and_shutting_it_clears_it(browser, leaf_gate, shoot):
    url = leaf_gate.url
    assert requests.delete(url + "api/v1/shift", timeout=10).status_code == 200
    assert _leaf_alarms(leaf_gate) == []
    context = browser.new_context(viewport=PANEL, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(20000)
    try:
        page.goto(url)
        page.wait_for_selector("body[data-live='1']")
        sign_in(page)  # the bar at its fullest: a volunteer signed in
        assert page.locator("#leaf-chip").count() == 0  # shut: nothing shown
        badge = page.inner_text("#alarm-badge") if page.locator("#alarm-badge").is_visible() else "0"
        _toggle_leaf(page)
        page.wait_for_selector("#leaf-chip")
        opened_chip = page.locator("#leaf-chip")
        # amber first, then red once the night's 3 s have passed: the one alarm, counted on the badge
        page.wait_for_selector("#leaf-chip.bad")
        assert "门开" in opened_chip.inner_text()
        deadline = time.monotonic() + 10
        while not (raised := _leaf_alarms(leaf_gate)):
            assert time.monotonic() < deadline, "no gate-left-open alarm"
            time.sleep(0.2)
        assert raised[0]["detail"]["night"] is True and raised[0]["detail"]["after_s"] == 3
        page.wait_for_function(f"document.querySelector('#alarm-badge').textContent == '{int(badge) + 1}'")
        _inside_the_bar(page, "#leaf-chip")
        shoot(page, "gate-leaf")
        time.sleep(2.5)  # more sweeps: still the one alarm for this one opening
        assert len(_leaf_alarms(leaf_gate)) == 1
        status = requests.get(url + "api/v1/status", timeout=10).json()["gate_leaf"]
        assert status["open"] is True and status["alarm"] is True and status["night"] is True

        page.click("#lang-switch")  # the same in English
        page.wait_for_selector("body[data-live='1']")
        page.wait_for_selector("#leaf-chip.bad")
        assert "Gate open" in page.inner_text("#leaf-chip")
        _inside_the_bar(page, "#leaf-chip")
        page.click("#lang-switch")
        page.wait_for_selector("body[data-live='1']")

        _toggle_leaf(page)  # shut it
        page.wait_for_selector("#leaf-chip", state="detached")
        deadline = time.monotonic() + 10
        while _leaf_alarms(leaf_gate):
            assert time.monotonic() < deadline, "the alarm did not clear when the gate shut"
            time.sleep(0.2)
        page.wait_for_function(f"(document.querySelector('#alarm-badge').textContent || '0') == '{badge}'"
                               f" || document.querySelector('#alarm-badge').hidden")
        assert requests.get(url + "api/v1/status", timeout=10).json()["gate_leaf"]["open"] is False
    finally:
        context.close()
