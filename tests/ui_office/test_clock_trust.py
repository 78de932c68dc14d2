"""The office's gates screen says when a gate's own clock is not trusted (kiosk.gate.clock's code at its heartbeat)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kiosk.office.store import OfficeStore


def test_the_gates_screen_shows_a_gate_whose_clock_is_not_trusted(desk, demo_office):
    store = OfficeStore(demo_office.office_dir / "office.db")
    store.add_gate("west-gate", "西门")
    store.add_gate("south-gate", "南门")
    behind = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    store.heartbeat("west-gate", {"gate_clock": behind, "backlog": 0, "boot": "b-1", "mono_ms": 5000,
                                  "clock": "behind_journal"})
    store.heartbeat("south-gate", {"gate_clock": datetime.now(UTC).isoformat(), "backlog": 0, "boot": "b-2",
                                   "mono_ms": 9000, "clock": "trusted"})
    store.close()
    desk.goto(demo_office.url + "/gates")
    west = desk.wait_for_selector("article[data-gate='west-gate'] dd[data-clock-trust='behind_journal']")
    text = west.inner_text()
    assert "时钟不可信" in text and "比台账最后一条记录还早" in text, text
    assert "tag bad" in (west.get_attribute("class") or "")
    south = desk.wait_for_selector("article[data-gate='south-gate'] dd[data-clock-trust='trusted']")
    assert "不可信" not in south.inner_text() and "bad" not in (south.get_attribute("class") or "")
