"""今日 on the desk follows the gates: a passage at the north gate changes today's figures on an open page without
a reload; another day's page stays as it was."""

from __future__ import annotations

import re
from datetime import date, timedelta

import requests


def _in_out(page) -> tuple[int, int]:
    text = page.locator("#today-totals .card").first.inner_text()
    found = re.search(r"(\d+)\s*/\s*(\d+)", text)
    assert found, text
    first, second = found.groups()
    return int(first), int(second)


def test_todays_figures_follow_a_passage_without_a_reload(desk, demo_office, shoot):
    desk.goto(demo_office.url + "/today")
    desk.wait_for_selector("#today-live[data-live='1']", state="attached")
    desk.wait_for_selector("body[data-live='1']")  # the live stream is open
    before = _in_out(desk)
    # 王丽 comes in with 36.5 °C, the volunteer having tapped 进
    requests.post(demo_office.gate_url + "api/v1/direction", json={"direction": "in"}, timeout=10)
    requests.post(demo_office.gate_url + "api/v1/simulation", json={"person_c": 36.5}, timeout=10)
    requests.post(demo_office.gate_url + "api/v1/simulation", json={"card": "wang-li"}, timeout=10)
    desk.wait_for_function(f"""() => {{
        const m = document.querySelector('#today-totals .card p').textContent.match(/(\\d+)\\s*\\/\\s*(\\d+)/);
        return m && Number(m[1]) > {before[0]};
    }}""", timeout=40000)
    after = _in_out(desk)
    assert after[0] == before[0] + 1 and after[1] == before[1]
    assert int(desk.evaluate("document.body.dataset.todayRefreshed")) >= 1
    shoot(desk, "desk-today-live")


def test_another_days_page_does_not_refresh(desk, demo_office):
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    desk.goto(demo_office.url + f"/today?day={yesterday}")
    desk.wait_for_selector("#today-live[data-live='0']", state="attached")
    desk.goto(demo_office.url + "/today?day=2026-13-45")
    assert "2026-12-01" in desk.locator(".error-box").inner_text()  # a bad date says how to write one
