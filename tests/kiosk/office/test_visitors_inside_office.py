"""The office sees who is still inside: a real gate's visitor_exit events ingested unflagged, the query across
gates, its index plan, and the exit time in the 外来人员登记 export."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from kiosk.events import EventKind
from kiosk.gate.visitors import VisitorRegistration
from kiosk.office.event_schemas import data_problem
from kiosk.office.exports import sheets
from kiosk.office.queries.visitors_inside import inside_now
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore
from tests.gate_fixtures import COMMUNITY, make_rig

GOOD_EXIT = {"entry_seq": 3, "entry_id": "a1b2", "entry_gate_id": "north", "entry_kind": "registration",
             "entry_ts": "2026-12-01T01:00:00Z", "name_masked": "孙*访", "host_household_id": 2, "method": "list"}


def test_the_exit_schema_takes_what_the_gate_journals_and_names_what_is_wrong():
    assert data_problem("visitor_exit", GOOD_EXIT) is None
    for change, where in [({"method": "walked"}, "data.method"), ({"entry_seq": -1}, "data.entry_seq"),
                          ({"entry_id": ""}, "data.entry_id"), ({"name_masked": "x" * 65}, "data.name_masked"),
                          ({"entry_ts": "yesterday"}, "data.entry_ts"), ({"full_name": "孙来访"}, "data.full_name"),
                          ({"entry_kind": "vehicle"}, "data.entry_kind")]:
        problem = data_problem("visitor_exit", {**GOOD_EXIT, **change})
        assert problem is not None and problem.startswith(where), problem
    assert data_problem("visitor_exit", {k: v for k, v in GOOD_EXIT.items() if k != "method"}).startswith("data.method")


@pytest.fixture
def office(tmp_path):
    """A gate that registered three visitors (one let out from the list) and an office holding its journal."""
    (tmp_path / "gate").mkdir()
    rig = make_rig(tmp_path / "gate", start=False)
    gate = rig.gate
    seqs = []
    for name in ("孙来访", "钱二", "李三"):
        registration = VisitorRegistration(name, "13800138000", "朝阳区", 2, "visiting_family", 36.5)
        seqs.append(gate.visitor(registration, [36.5]).events[0].seq)
    gate.sign_in(7, "2468")
    gate.visitor_exit(seqs[0])
    store = OfficeStore(tmp_path / "office" / "office.db")
    master = RegistryMaster(tmp_path / "office" / "registry.db")
    master.apply_snapshot({**COMMUNITY, "quarantine_orders": []}, version=1)
    events = [e.to_dict() for e in rig.journal.events_after(0)]
    new, _high = store.ingest("north", events)
    assert len(new) == len(events) and store.flagged_events() == []
    yield store, master, seqs
    rig.hardware.close()
    rig.journal.close()
    rig.registry.close()


def test_the_office_lists_who_is_still_inside_longest_first(office):
    store, master, seqs = office
    now = datetime.now(UTC) + timedelta(minutes=5)
    rows = inside_now(store, master, now, "Asia/Shanghai")
    assert [(r["gate"]["id"], r["entry_seq"], r["name"], r["household"]["label"], r["how"]) for r in rows] == [
        ("north", seqs[1], "钱*", "2-1-201", "registration"), ("north", seqs[2], "李*", "2-1-201", "registration")]
    assert all(r["inside_s"] >= 300 and not r["long"] for r in rows)
    assert inside_now(store, master, now, "Asia/Shanghai", gate_id="south") == []
    assert inside_now(store, master, now + timedelta(days=8), "Asia/Shanghai") == []  # older than the bound
    long_ago = inside_now(store, master, now + timedelta(hours=13), "Asia/Shanghai")
    assert all(r["long"] for r in long_ago) and len(long_ago) == 2


def test_the_query_reads_through_indexes(office):
    store, master, _seqs = office
    db = store.database()
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    inside_now(store, master, datetime.now(UTC), "Asia/Shanghai")
    db.conn.set_trace_callback(None)
    checked = 0
    for sql in statements:
        if sql.lstrip().upper().startswith("SELECT") and re.search(r"\bevents\b", sql):
            plan = [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql).fetchall()]
            assert all("USING" in step for step in plan if "events" in step), (sql, plan)
            checked += 1
    assert checked == 2


def test_the_visitor_ledger_export_gives_the_recorded_exit_time(office):
    store, master, seqs = office
    today = date.today()
    visitors = next(s for s in sheets(store, master, today - timedelta(days=1), today + timedelta(days=1),
                                      "Asia/Shanghai") if s.code == "visitors")
    rows = list(visitors.rows())
    by_name = {row[4]: row for row in rows}
    assert by_name["孙来访"][1] is not None and by_name["孙来访"][1] >= by_name["孙来访"][0]  # 离开时间
    assert by_name["钱二"][1] is None and by_name["李三"][1] is None
    exit_event = next(e for e in store.database().execute("SELECT kind FROM events WHERE kind = ?",
                                                           [EventKind.VISITOR_EXIT.value]))
    assert exit_event == ("visitor_exit",)


def test_the_desk_page_lists_them_over_http(tmp_path):
    """/visitors/inside on web.serving: masked names, long stays."""
    from tests.web.test_desk_auth import Desk

    (tmp_path / "gate").mkdir()
    rig = make_rig(tmp_path / "gate", start=False)
    desk = Desk(tmp_path / "desk")
    try:
        registration = VisitorRegistration("孙来访", "13800138000", "朝阳区", 2, "visiting_family", 36.5)
        rig.gate.visitor(registration, [36.5])
        desk.app.config["REGISTRY"].apply_snapshot({**COMMUNITY, "quarantine_orders": []}, version=1)
        desk.store.add_gate("north", "北门")
        desk.store.ingest("north", [e.to_dict() for e in rig.journal.events_after(0)])
        browser, _token = desk.signed_in("sub")
        page = browser.get(desk.url + "/visitors/inside")
        assert page.status_code == 200
        assert 'id="inside-count">1<' in page.text and "孙*访" in page.text and "孙来访" not in page.text
        assert "2-1-201" in page.text and "北门" in page.text and 'href="/visitors/inside"' in page.text
        assert browser.get(desk.url + "/visitors/inside?gate=south").status_code == 200  # unknown gate: all
        assert browser.get(desk.url + "/visitors/inside?gate=" + "x" * 5000).status_code == 200
        signed_out = desk.browser().get(desk.url + "/visitors/inside", allow_redirects=False)
        assert signed_out.status_code in (302, 303)
    finally:
        desk.close()
        rig.hardware.close()
        rig.journal.close()
        rig.registry.close()
