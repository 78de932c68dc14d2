"""An overdue return is raised while the person is still out, on the gate's own timer, and shows on the page."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.ui.conftest import PANEL


@pytest.fixture
def outing_gate(tmp_path):
    """The demo community's office and a simulated gate whose outing rule allows 3.6 s out (a 2 h rule, shortened)."""
    from kiosk import demo as demo_lib
    from kiosk.gate.process import GateProcess

    community = demo_lib.seed(tmp_path / "demo", datetime.now(ZoneInfo(demo_lib.TIMEZONE)))
    office, office_url = demo_lib.start_office(community)
    config = demo_lib.gate_config(community, office_url, port=0)
    outing = config.policy.outing.model_copy(update={"enabled": True, "max_hours_out": 0.001, "max_outings": 50})
    config = config.model_copy(update={"policy": config.policy.model_copy(update={"outing": outing})})
    process = GateProcess(config, simulate=True, cards_dir=community.cards_dir)
    process.start()
    threading.Thread(target=process.serve, daemon=True).start()
    deadline = time.monotonic() + 30
    while process.registry.version < 1:  # the replica arrives from the office
        assert time.monotonic() < deadline, "the gate never synced its registry"
        time.sleep(0.1)
    yield process
    process.close()
    office.close()


def test_an_overdue_return_is_raised_while_the_person_is_still_out(browser, outing_gate):
    url = outing_gate.url
    context = browser.new_context(viewport=PANEL, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(20000)
    try:
        page.goto(url)
        page.wait_for_selector("body[data-live='1']")
        page.click("#dir-out")  # the volunteer: 出
        outing_gate.simulation.show_card("wang-xiaoshan")
        page.wait_for_selector("body[data-screen='result'] #result.admit")
        assert page.inner_text("#result-direction") == "出"
        page.click("#result-ok")
        before = len(requests.get(url + "api/v1/alarms", timeout=10).json())
        # Nobody scans anything now: the gate's own sweep finds him out past the rule and raises the alarm, once.
        deadline = time.monotonic() + 15
        while not (overdue := [a for a in requests.get(url + "api/v1/alarms", timeout=10).json()
                               if a["kind"] == "overdue_return"]):
            assert time.monotonic() < deadline, "no overdue-return alarm while he is still out"
            time.sleep(0.2)
        assert len(overdue) == 1 and overdue[0]["name"] == "王*山"
        page.wait_for_function(f"document.querySelector('#alarm-badge').textContent == '{before + 1}'")
        page.click("#go-alarms")
        page.wait_for_selector(f"#alarm-list li[data-seq='{overdue[0]['seq']}']")
        assert "王*山" in page.inner_text(f"#alarm-list li[data-seq='{overdue[0]['seq']}']")
        time.sleep(2.5)  # more sweeps: still one alarm for this one exit
        again = [a for a in requests.get(url + "api/v1/alarms", timeout=10).json() if a["kind"] == "overdue_return"]
        assert len(again) == 1
    finally:
        context.close()
