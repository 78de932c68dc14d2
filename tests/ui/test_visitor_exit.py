"""A visitor's exit at 800×480: registered, seen on the inside list (from home and from the visitor screen), 离开
tapped (signing in first), gone from the list, and the office sees the exit once the gate has synced."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.ui.conftest import REPO
from tests.ui.helpers import post, sign_in

pytestmark = pytest.mark.timeout(240)
VISITOR = {"name": "孙来访", "phone": "13800138000", "coming_from": "朝阳区", "host_household_id": 2,
           "reason": "visiting_family", "temperatures_c": [36.4]}


def _fits(page, buttons: str = "#screen-inside button:visible") -> None:
    """Nothing scrolls sideways or off the panel, and every button on the screen is big enough for gloves."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 800
    for box in page.locator(buttons).all():
        b = box.bounding_box()
        assert b is not None and b["height"] >= 48 and b["y"] + b["height"] <= 480, b


def test_a_visitor_is_listed_inside_and_let_out(page, demo_gate):
    status, answer = post(demo_gate, "visitors", VISITOR)
    assert status == 200 and answer["verdict"] == "admit", answer
    entry = answer["seq"][0]
    page.wait_for_function("document.querySelector('#inside-badge') && !document.querySelector('#inside-badge').hidden")
    page.evaluate("show('home')")  # the registration's decision was on screen: back home, as its timer does
    _fits(page, "#go-inside")
    page.click("#go-inside")
    row = page.locator(f"#inside-list li[data-entry='{entry}']")
    row.wait_for()
    assert "孙*访" in row.inner_text() and "孙来访" not in page.locator("#inside-list").inner_text()
    _fits(page)
    Path(REPO / "docs" / "screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(REPO / "docs" / "screenshots" / "gate-inside.png"))
    row.locator("button[data-leave]").click()  # nobody signed in yet: the page says so and offers to sign in
    page.wait_for_selector("#inside-error:has-text('请先签到')")
    sign_in(page)
    page.wait_for_selector("body[data-screen='inside']")  # back where the volunteer was
    page.click("#screen-inside .inside-register")  # to the visitor form, and one tap back from there
    page.wait_for_selector("body[data-screen='visitor']")
    page.click("#v-inside")
    row.locator("button[data-leave]").click()
    page.wait_for_selector(f"#inside-list li[data-entry='{entry}']", state="detached")
    page.wait_for_selector("#toast:has-text('已登记离开')")
    status, again = post(demo_gate, f"visitors/inside/{entry}/exit", {})
    assert status == 409 and again["code"] == "already_out"

    page.goto(demo_gate.url + "lang/en")
    page.wait_for_selector("body[data-live='1']")
    page.click("#go-inside")
    page.wait_for_selector("#screen-inside h2:has-text('Visitors inside')")
    _fits(page)

    from kiosk.office.queries.visitors_inside import inside_now
    from kiosk.office.registry_master import RegistryMaster
    from kiosk.office.store import OfficeStore

    office = demo_gate.directory / "office"
    store, master = OfficeStore(office / "office.db"), RegistryMaster(office / "registry.db")
    deadline = time.monotonic() + 60
    exits: list = []
    while time.monotonic() < deadline and not exits:
        exits = store.database().execute("SELECT data FROM events WHERE kind = 'visitor_exit'").fetchall()
        time.sleep(0.5)
    assert exits, "the office never received the exit"
    inside = inside_now(store, master, datetime.now(UTC), "Asia/Shanghai")
    assert all(r["entry_seq"] != entry or r["gate"]["id"] != "north" for r in inside)
