"""The desk's read queries against a real office store and master registry, filled through ingest with events
shaped as gates journal them (tests/kiosk/office/test_event_schemas.py keeps those shapes honest: none is flagged)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from kiosk.alarm_outcomes import ACK_OUTCOMES_BY_KIND, office_outcomes
from kiosk.office.personal_data import ensure_sealing_key
from kiosk.office.queries import alarms, gates, ledger, people, today, trace
from kiosk.office.queries.common import QueryError
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.roster import load_id_hash_key
from kiosk.office.store import OfficeStore, OfficeStoreError
from kiosk.privacy import seal_for_office

ID_NUMBER = "11010519491231002X"
# 2026-11-28 00:30 in Asia/Shanghai is 2026-11-27 16:30 UTC: the day boundary the tests straddle
DAY = date(2026, 11, 28)


def ts(hour: int, minute: int = 0, day: int = 27) -> str:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def card(card_id: int, subject_id: int, kind: str = "resident") -> dict:
    return {"version": 1, "kind": kind, "card_id": card_id, "subject_id": subject_id, "valid_from": "2026-01-01",
            "valid_until": "2026-12-31", "kid": "3FA2"}


def passage(subject_id: int, direction: str, *, verdict: str = "admit", temp: float = 36.5, alarms_: list | None = None,
            card_id: int | None = None) -> dict:
    reasons = ["card_valid", "temperature_normal" if temp < 37.3 else "fever"]
    return {"verdict": verdict, "direction": direction, "direction_source": "lane", "prompt": "welcome",
            "reasons": reasons, "alarms": alarms_ or [], "subject": f"resident:{subject_id}", "household_id": None,
            "temperature_c": temp, "card": card(card_id or 1000 + subject_id, subject_id),
            "readings": [{"object_c": temp, "ambient_c": 12.0, "source": "infrared"}]}


class Gate:
    """Appends events as one gate's journal does (gap-free seq) and ingests them at the office."""

    def __init__(self, store: OfficeStore, gate_id: str):
        self.store, self.gate_id, self.seq = store, gate_id, 0

    def send(self, kind: str, data: dict, at: str, *, subject: str | None = None, household: int | None = None,
             volunteer: str | None = "1") -> dict:
        self.seq += 1
        event = {"seq": self.seq, "id": f"{self.gate_id}-{self.seq}", "ts": at, "gate_id": self.gate_id,
                 "volunteer_id": volunteer, "kind": kind, "subject": subject, "household_id": household, "data": data}
        new, _ = self.store.ingest(self.gate_id, [event])
        assert new and "flag" not in new[0], new
        return event


@pytest.fixture
def office(tmp_path):
    store = OfficeStore(tmp_path / "office.db")
    master = RegistryMaster(tmp_path / "registry.db")
    master.change([{"op": "upsert", "table": t, "row": r} for t, r in [
        ("households", {"id": 1, "building": "5", "unit": "1", "room": "101"}),
        ("households", {"id": 2, "building": "5", "unit": "2", "room": "302"}),
        ("residents", {"id": 1, "household_id": 1, "name": "王小山", "phone_masked": "138****5678"}),
        ("residents", {"id": 2, "household_id": 1, "name": "李梅", "phone_masked": "139****0001",
                       "phone": "13900000001"}),
        ("residents", {"id": 3, "household_id": 2, "name": "张伟", "phone_masked": "137****2222"}),
        ("cards", {"id": 1001, "kind": "resident", "subject_id": 1, "valid_from": "2026-01-01", "valid_until": "2026-12-31"}),
        ("cards", {"id": 1002, "kind": "resident", "subject_id": 2, "valid_from": "2025-01-01", "valid_until": "2025-12-31"}),
        ("cards", {"id": 1003, "kind": "resident", "subject_id": 3, "valid_from": "2026-01-01", "valid_until": "2026-12-31"}),
        ("revocations", {"card_id": 1003, "revoked_at": "2026-11-01", "reason": "lost"}),
        ("vehicles", {"id": 1, "plate": "京A12345", "household_id": 1, "owner_resident_id": 1}),
        ("quarantine_orders", {"id": 1, "resident_id": None, "household_id": 2, "starts_on": "2026-11-20",
                               "ends_on": "2026-12-03"}),
        ("volunteers", {"id": 1, "name": "赵志愿", "pin_hash": "x", "resident_id": None}),
    ]])
    for gate_id, name in (("north", "北门"), ("south", "南门")):
        store.add_gate(gate_id, name)
    gates.set_gate_compound(store, "north", "幸福小区")
    gates.set_gate_compound(store, "south", "幸福小区")
    yield store, master, tmp_path
    store.close()
    master.close()


def seed(store: OfficeStore, tmp_path) -> dict:
    """A day at two gates: sign-in, passages either side of Shanghai's midnight, a fever, a visitor, a vehicle, a fault."""
    north, south = Gate(store, "north"), Gate(store, "south")
    north.send("shift_sign_in", {}, ts(15, 0))
    north.send("passage", passage(1, "out"), ts(15, 59), subject="resident:1", household=1)  # 27th in Shanghai
    north.send("passage", passage(1, "in"), ts(16, 30), subject="resident:1", household=1)  # 28th, 00:30
    north.send("passage", passage(2, "out"), ts(17, 5), subject="resident:2", household=1)
    fever_alarm = {"kind": "fever", "reason": "fever", "subject": "resident:3", "detail": {"temperature_c": 38.4}}
    north.send("passage", passage(3, "in", verdict="deny", temp=38.4, alarms_=[fever_alarm], card_id=1003),
               ts(18, 0), subject="resident:3", household=2)
    raised = north.send("alarm_raised", fever_alarm, ts(18, 0), subject="resident:3", household=2)
    south.send("shift_sign_in", {}, ts(16, 0), volunteer="1")
    south.send("shift_sign_out", {"handed_over_to": None}, ts(20, 0), volunteer="1")
    south.send("vehicle", {**passage(1, "out"), "vehicle": True, "plate": "京A12345", "passengers": 1},
               ts(19, 0), subject="resident:1", household=1)
    ensure_sealing_key(tmp_path)
    load_id_hash_key(tmp_path)
    from kiosk.office.personal_data import load_sealing_key

    sealed = seal_for_office(ID_NUMBER, load_sealing_key(tmp_path).public_key())
    visitor = {"name": "刘访客", "phone": "13900001111", "phone_masked": "139****1111", "coming_from": "朝阳区",
               "host_household_id": 2, "reason": "family", "readings": [], "verdict": "admit", "direction": "in",
               "prompt": "welcome", "reasons": ["visitor_registered"], **sealed}
    south.send("visitor_registration", visitor, ts(19, 30), household=2)
    unknown = {"kind": "unknown_visitor", "reason": "no_card", "subject": None, "detail": {}}
    south.send("alarm_raised", unknown, ts(19, 40))
    south.send("sensor_fault", {"part": "thermometer", "fault": "no_reading", "detail": "i2c timeout"}, ts(19, 50))
    south.send("sensor_fault", {"part": "camera", "fault": "gone", "detail": None}, ts(19, 51))
    south.send("sensor_fault", {"part": "camera", "fault": None, "detail": None}, ts(19, 52))
    return {"fever": raised["id"], "unknown": f"south-{south.seq - 3}", "north": north, "south": south}


def test_an_empty_office_answers_every_query(office):
    store, master, _ = office
    now = datetime(2026, 11, 28, 4, tzinfo=UTC)
    assert alarms.list_alarms(store, master) == {"alarms": [], "next_before": None}
    assert [g["online"] for g in gates.overview(store, now=now)] == [False, False]
    assert all(g["silent_s"] is None and g["on_duty"] is None for g in gates.overview(store, now=now))
    summary = today.summary(store, master, day=DAY, tz="Asia/Shanghai")
    assert summary["totals"] == dict.fromkeys(today.COUNTS, 0) and len(summary["by_hour"]) == 24
    assert summary["quarantine"] == {"orders": 1, "households": 1, "people": 1}
    assert ledger.search(store, master, day=DAY) == {"rows": [], "next_cursor": None, "truncated": False}
    assert trace.between(store, master, "north", ts(0), ts(23))["rows"] == []


def test_alarms_show_who_where_readings_and_what_the_gate_did(office):
    store, master, tmp = office
    ids = seed(store, tmp)
    listed = alarms.list_alarms(store, master)["alarms"]
    assert [a["kind"] for a in listed] == ["unknown_visitor", "fever"]
    fever = listed[1]
    assert fever["gate"] == {"id": "north", "name": "北门", "compound": "幸福小区"}
    assert fever["who"]["name_masked"] == "张*" and fever["who"]["household"]["label"] == "5-2-302"
    assert fever["readings"]["temperature_c"] == 38.4 and fever["readings"]["readings"][0]["object_c"] == 38.4
    assert fever["gate_action"]["verdict"] == "deny" and fever["gate_action"]["event_kind"] == "passage"
    assert listed[0]["gate_action"] is None  # an alarm raised with no passage of its kind before it
    assert alarms.list_alarms(store, master, kinds=["fever"], gate="north")["alarms"][0]["event_id"] == ids["fever"]

    # the gate's volunteer acknowledges the fever: it leaves the open list, with the gate's outcome
    ids["north"].send("alarm_acknowledged", {"alarm_event_id": ids["fever"], "alarm_seq": 5, "kind": "fever",
                                             "outcome": "sent_to_clinic", "note": "120 已到"}, ts(18, 10))
    assert [a["kind"] for a in alarms.list_alarms(store, master)["alarms"]] == ["unknown_visitor"]
    handled = alarms.list_alarms(store, master, status="handled")["alarms"][0]
    assert handled["acknowledgement"] == {"by_kind": "gate", "by": "1", "outcome": "sent_to_clinic", "note": "120 已到",
                                          "at": ts(18, 10), "by_passage": False}

    # staff handle the unknown visitor at the office
    ack = alarms.handle_alarm(store, ids["unknown"], user="网格员小李", outcome="false_alarm", note="亲属来访",
                              now=datetime(2026, 11, 27, 20, tzinfo=UTC))
    assert ack["by_kind"] == "office" and ack["outcome"] == "false_alarm"
    assert alarms.list_alarms(store, master)["alarms"] == []
    detail = alarms.alarm_detail(store, master, ids["unknown"])
    assert detail["status"] == "handled" and detail["acknowledgements"][0]["by"] == "网格员小李"
    with pytest.raises(OfficeStoreError, match="已由"):
        alarms.handle_alarm(store, ids["unknown"], user="x", outcome="false_alarm")
    with pytest.raises(OfficeStoreError, match="处理结果"):
        alarms.handle_alarm(store, ids["fever"], user="x", outcome="card_kept")
    with pytest.raises(OfficeStoreError, match="没有此警报"):
        alarms.handle_alarm(store, "nope", user="x", outcome="false_alarm")
    with pytest.raises(QueryError):
        alarms.list_alarms(store, master, status="closed")
    page = alarms.list_alarms(store, master, status="all", limit=1)
    assert len(page["alarms"]) == 1 and page["next_before"]
    rest = alarms.list_alarms(store, master, status="all", limit=1, before=page["next_before"])
    assert rest["alarms"][0]["event_id"] != page["alarms"][0]["event_id"]


def test_outcomes_are_one_definition_with_the_gate():
    from kiosk.gate import passages

    assert passages.ACK_OUTCOMES_BY_KIND is ACK_OUTCOMES_BY_KIND
    assert {"remeasured_normal", "sent_to_clinic", "home_observation", "false_alarm"} <= set(office_outcomes("fever"))
    assert "false_alarm" in office_outcomes("a_kind_from_a_newer_gate")


def test_gates_overview_online_silent_faults_duty_and_today(office):
    store, master, tmp = office
    seed(store, tmp)
    now = datetime.now(UTC) + timedelta(seconds=30)  # events were received (office clock) just now
    store.heartbeat("north", {"gate_clock": (now + timedelta(seconds=3)).isoformat(), "backlog": 4, "sensors": {}},
                    now=now - timedelta(seconds=60))
    by_id = {g["id"]: g for g in gates.overview(store, now=now, master=master)}
    north, south = by_id["north"], by_id["south"]
    assert north["online"] and 25 <= north["silent_s"] <= 31 and north["backlog"] == 4 and north["clock_offset_s"] == 63.0
    assert north["on_duty"] == {"volunteer_id": "1", "name": "赵志愿", "since": ts(15, 0)}
    that_day = {g["id"]: g for g in gates.overview(store, now=datetime(2026, 11, 27, 20, 1, tzinfo=UTC))}
    assert that_day["north"]["today"] == {"in": 1, "out": 1}  # 15:59 UTC was the 27th in Shanghai; the fever was refused
    # south: no heartbeat ever; its last event (ingested just now, wall clock) decides how long it has been silent
    assert south["last_heartbeat"] is None and south["on_duty"] is None and south["last_shift"]["kind"] == "shift_sign_out"
    assert [f["part"] for f in south["faults"]] == ["thermometer"]  # the camera recovered
    later = gates.overview(store, now=datetime.now(UTC) + timedelta(minutes=5), offline_after_s=120)
    assert not any(g["online"] for g in later) and all(g["silent_s"] >= 299 for g in later)
    with pytest.raises(OfficeStoreError, match="没有门岗"):
        gates.set_gate_compound(store, "west", "幸福小区")


def test_today_counts_per_compound_gate_and_hour_across_shanghai_midnight(office):
    store, master, tmp = office
    seed(store, tmp)
    day = today.summary(store, master, day=DAY, tz="Asia/Shanghai")
    assert day["totals"] == {"in": 2, "out": 1, "visitors": 1, "vehicles": 1, "fevers": 1, "refused": 1}
    assert day["by_hour"][0]["in"] == 1 and day["by_hour"][1]["out"] == 1  # 16:30Z is 00:30, 17:05Z is 01:05
    assert day["by_hour"][2] == {"in": 0, "out": 0, "visitors": 0, "vehicles": 0, "fevers": 1, "refused": 1}
    (compound,) = day["compounds"]
    assert compound["compound"] == "幸福小区" and [g["gate"]["id"] for g in compound["gates"]] == ["north", "south"]
    assert day["quarantine"] == {"orders": 1, "households": 1, "people": 1}
    before = today.summary(store, master, day=DAY - timedelta(days=1), tz="Asia/Shanghai")
    assert before["totals"]["out"] == 1 and before["by_hour"][23]["out"] == 1  # 15:59Z is 23:59 the day before
    assert today.summary(store, master, day=DAY - timedelta(days=1), tz="UTC")["totals"]["out"] == 2


def test_a_vehicle_saved_again_once_disinfected_counts_once_and_no_refusal(office):
    """The gate's one-tap fix journals the vehicle again naming its refusal (supersedes_seq): the office counts one."""
    store, master, _ = office
    gate = Gate(store, "north")
    refused = {**passage(1, "out", verdict="deny"), "vehicle": True, "plate": "京A12345", "passengers": 0,
               "prompt": "disinfect_vehicle", "reasons": ["not_disinfected"]}
    first = gate.send("vehicle", refused, ts(17, 0), subject="resident:1", household=1)
    gate.send("vehicle", {**passage(1, "out"), "vehicle": True, "plate": "京A12345", "passengers": 0,
                          "supersedes_seq": first["seq"]}, ts(17, 1), subject="resident:1", household=1)
    totals = today.summary(store, master, day=DAY, tz="Asia/Shanghai")["totals"]
    assert totals["vehicles"] == 1 and totals["refused"] == 0


def test_ledger_filters_and_pages_with_a_cursor_that_cannot_be_forged(office):
    store, master, tmp = office
    seed(store, tmp)
    everything = ledger.search(store, master, start=ts(0), end=ts(23, 59))
    assert [r["ts"] for r in everything["rows"]] == sorted((r["ts"] for r in everything["rows"]), reverse=True)
    assert len(everything["rows"]) == 6
    seen, cursor = [], None
    while True:
        page = ledger.search(store, master, start=ts(0), end=ts(23, 59), limit=2, cursor=cursor)
        seen += [(r["gate"]["id"], r["seq"]) for r in page["rows"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [(r["gate"]["id"], r["seq"]) for r in everything["rows"]]
    first = ledger.search(store, master, start=ts(0), end=ts(23, 59), limit=2)["next_cursor"]
    with pytest.raises(QueryError, match="翻页参数无效"):
        ledger.search(store, master, start=ts(0), end=ts(23, 59), cursor=first[:-3] + "AAA")
    with pytest.raises(QueryError, match="另一次查询"):
        ledger.search(store, master, day=DAY, cursor=first)

    assert [(r["gate"]["id"], r["seq"]) for r in ledger.search(store, master, name="王小")["rows"]] == \
        [("south", 3), ("north", 3), ("north", 2)]
    assert all(r["who"]["name_masked"] == "王*山" for r in ledger.search(store, master, name="王小")["rows"])
    assert [r["kind"] for r in ledger.search(store, master, plate="京a·12345")["rows"]] == ["vehicle"]
    assert [r["seq"] for r in ledger.search(store, master, household=1, gate="north")["rows"]] == [4, 3, 2]
    assert [r["seq"] for r in ledger.search(store, master, card=1003)["rows"]] == [5]
    found = ledger.search(store, master, id_number=ID_NUMBER.lower())["rows"]
    assert [r["visitor"]["name_masked"] for r in found] == ["刘*客"] and found[0]["who"]["household"]["id"] == 2
    assert ledger.search(store, master, name="刘访")["rows"][0]["kind"] == "visitor_registration"
    with pytest.raises(QueryError, match="身份证号"):
        ledger.search(store, master, id_number="110105194912310021")
    fevers = ledger.search(store, master, kinds=["temperature_exception"], compound="幸福小区")["rows"]
    assert [(r["seq"], r["temperature_exception"]) for r in fevers] == [(5, True)]
    assert [r["category"] for r in ledger.search(store, master, kinds=["vehicle", "visitor"], day=DAY)["rows"]] == \
        ["visitor", "vehicle"]
    with pytest.raises(QueryError, match="未知台账类别"):
        ledger.search(store, master, kinds=["sensor_fault"])
    with pytest.raises(QueryError, match="没有门岗"):
        ledger.search(store, master, compound="别的小区")


def test_contact_trace_and_its_csv(office):
    store, master, tmp = office
    seed(store, tmp)
    around = trace.around(store, master, "north", 5, minutes=60)  # the fever case at 18:00
    assert around["case"]["name_masked"] == "张*"
    assert [r["seq"] for r in around["rows"]] == [4, 5]
    assert around["rows"][0]["phone_masked"] == "139****0001" and around["rows"][0]["household"]["label"] == "5-1-101"
    assert around["rows"][0]["phone"] == "13900000001"  # a resident's full number, office-only, for staff to call
    visitor = trace.between(store, master, "south", ts(19), ts(20))["rows"]
    assert [(r["kind"], r["phone"]) for r in visitor] == [("vehicle", ""), ("visitor_registration", "13900001111")]
    data = trace.to_csv(around["rows"])
    assert data.startswith(b"\xef\xbb\xbf") and "时间 Time" in data.decode("utf-8-sig")
    assert "2026-11-28 01:05:00" in data.decode("utf-8-sig") and "5-1-101" in data.decode("utf-8-sig")
    with pytest.raises(QueryError):
        trace.around(store, master, "north", 999)
    with pytest.raises(QueryError):
        trace.between(store, master, "north", ts(20), ts(19))


def test_people_browse_with_card_states_and_pages(office):
    _store, master, _ = office
    first = people.residents(master, limit=2)
    assert [r["name_masked"] for r in first["rows"]] == ["王*山", "李*"] and first["next_after"] == 2
    assert [r["id"] for r in people.residents(master, after=first["next_after"])["rows"]] == [3]
    states = {r["id"]: r["state"] for r in people.cards(master, today=DAY)["rows"]}
    assert states == {1001: "valid", 1002: "expired", 1003: "revoked"}
    assert people.households(master, building="5", unit="2")["rows"][0]["label"] == "5-2-302"
    assert people.vehicles(master, plate="京A 12345")["rows"][0]["household"]["id"] == 1
    assert people.volunteers(master, name="赵")["rows"] == [{"id": 1, "name": "赵志愿", "resident_id": None}]


def test_every_main_query_reads_through_an_index(office):
    """EXPLAIN QUERY PLAN of every statement the query functions run on events or alarms: never a full scan."""
    store, master, tmp = office
    ids = seed(store, tmp)
    statements: list[str] = []
    db = store.database()
    db.conn.set_trace_callback(statements.append)
    now = datetime(2026, 11, 27, 20, tzinfo=UTC)
    alarms.list_alarms(store, master)
    alarms.list_alarms(store, master, status="handled", kinds=["fever"])
    alarms.alarm_detail(store, master, ids["fever"])
    gates.overview(store, now=now)
    today.summary(store, master, day=DAY, tz="Asia/Shanghai")
    for filters in ({"day": DAY}, {"gate": "north", "day": DAY}, {"compound": "幸福小区"}, {"name": "王"},
                    {"household": 1}, {"plate": "京A12345"}, {"card": 1001}, {"id_number": ID_NUMBER},
                    {"kinds": ["temperature_exception"]}):
        ledger.search(store, master, **filters)
    trace.around(store, master, "north", 5)
    db.conn.set_trace_callback(None)
    checked = 0
    for sql in statements:
        if not sql.lstrip().upper().startswith("SELECT") or not re.search(r"\b(events|alarms)\b", sql):
            continue
        plan = [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql).fetchall()]
        for step in plan:
            if re.search(r"\b(events|alarms)\b", step):
                assert "USING" in step, (sql, plan)
        checked += 1
    assert checked > 20


def test_an_alarm_the_office_raised_itself_is_listed_without_a_gate_event(tmp_path):
    from datetime import UTC, datetime, timedelta

    from kiosk.office.queries.alarms import count_alarms, list_alarms
    from kiosk.office.registry_master import RegistryMaster
    from kiosk.office.store import OfficeStore
    from kiosk.office.watch import OfflineWatch

    store, master = OfficeStore(tmp_path / "office.db"), RegistryMaster(tmp_path / "registry.db")
    store.add_gate("east", "东门")
    now = datetime.now(UTC)
    store.heartbeat("east", {"gate_clock": now.isoformat()}, now=now - timedelta(minutes=5))
    OfflineWatch(store, 60).check(now)
    [alarm] = list_alarms(store, master, status="all")["alarms"]
    assert alarm["kind"] == "gate_offline" and alarm["gate"]["name"] == "东门" and alarm["gate_action"] is None
    assert count_alarms(store, status="open") == 1


def _indexes_used(store: OfficeStore, call) -> list[str]:
    """The index names in the query plans of every statement on events or alarms that ``call()`` runs."""
    statements: list[str] = []
    db = store.database()
    db.conn.set_trace_callback(statements.append)
    try:
        call()
    finally:
        db.conn.set_trace_callback(None)
    used: list[str] = []
    for sql in statements:
        if sql.lstrip().upper().startswith("SELECT") and re.search(r"\b(events|alarms)\b", sql):
            for row in db.execute("EXPLAIN QUERY PLAN " + sql).fetchall():
                used += re.findall(r"USING (?:COVERING )?INDEX (\w+)", row[3])
    return used


def test_each_main_query_uses_the_index_meant_for_it(office):
    """The index each query is written for (kiosk/office/queries/schema.py) is the one SQLite picks. Without
    ANALYZE the plan does not depend on the table's size, so this small database plans as the 2,000,000-event
    one in bench/office_desk_bench.py does."""
    store, master, tmp = office
    ids = seed(store, tmp)
    now = datetime(2026, 11, 27, 20, tzinfo=UTC)
    expected = {
        "open alarms": (lambda: alarms.list_alarms(store, master), {"alarms_open"}),
        "handled alarms": (lambda: alarms.list_alarms(store, master, status="handled"), {"alarms_raised_at"}),
        "an alarm and its person's history": (lambda: alarms.alarm_detail(store, master, ids["fever"]),
                                               {"alarms_subject_raised_at"}),
        "gates: shifts and faults, today's in/out": (lambda: gates.overview(store, now=now),
                                                     {"events_gate_kind_ts", "events_gate_fault_part", "events_kind_ts"}),
        "today: counts (covering), fevers": (lambda: today.summary(store, master, day=DAY),
                                             {"events_kind_ts", "alarms_raised_at"}),
        "ledger by day": (lambda: ledger.search(store, master, day=DAY), {"events_kind_ts"}),
        "ledger by gate and day": (lambda: ledger.search(store, master, day=DAY, gate="north"), {"events_gate_kind_ts"}),
        "ledger by name": (lambda: ledger.search(store, master, name="王"), {"events_subject_ts", "events_kind_ts"}),
        "ledger by card": (lambda: ledger.search(store, master, card=1001), {"events_subject_ts"}),
        "ledger by household": (lambda: ledger.search(store, master, household=2), {"events_subject_ts", "events_kind_ts"}),
        "ledger by plate": (lambda: ledger.search(store, master, plate="京A12345"), {"events_vehicle_plate"}),
        "ledger by ID number": (lambda: ledger.search(store, master, id_number=ID_NUMBER), {"events_visitor_id_hash"}),
        "contact trace": (lambda: trace.around(store, master, "north", 5), {"events_gate_kind_ts"}),
    }
    for what, (call, indexes) in expected.items():
        used = _indexes_used(store, call)
        assert indexes <= set(used), (what, used)
    # a plate or an ID number never walks every vehicle or visitor of the month in time order
    for call in (expected["ledger by plate"][0], expected["ledger by ID number"][0]):
        assert "events_kind_ts" not in _indexes_used(store, call)


def test_ledger_name_search_pages_residents_and_visitors_newest_first(office):
    """A name matching many residents (one stream each) and visitors by their typed name, merged and paged."""
    store, master, tmp = office
    master.change([{"op": "upsert", "table": "residents",
                    "row": {"id": 100 + i, "household_id": 1, "name": f"王{'一二三四五六七八九十'[i]}"}} for i in range(10)])
    gate = Gate(store, "north")
    for minute in range(40):
        subject = 100 + minute % 10
        gate.send("passage", passage(subject, "in"), ts(8, minute), subject=f"resident:{subject}", household=1)
    for minute, name in ((5, "王访客"), (25, "王访客"), (30, "李访客")):
        gate.send("visitor_registration", {"name": name, "phone": "13900001111", "phone_masked": "139****1111",
                                           "host_household_id": 2, "reason": "family", "readings": [],
                                           "verdict": "admit", "direction": "in", "prompt": "welcome",
                                           "reasons": ["visitor_registered"]}, ts(9, minute), household=2)
    seen, cursor = [], None
    while True:
        page = ledger.search(store, master, name="王", limit=7, cursor=cursor)
        seen += [(r["ts"], r["kind"]) for r in page["rows"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 42 and seen == sorted(seen, reverse=True)
    assert seen[:2] == [(ts(9, 25), "visitor_registration"), (ts(9, 5), "visitor_registration")]
    assert [r["kind"] for r in ledger.search(store, master, name="王访", kinds=["visitor"])["rows"]] == \
        ["visitor_registration"] * 2
    assert ledger.search(store, master, name="王访", kinds=["passage"])["rows"] == []
    assert len(ledger.search(store, master, name="王一")["rows"]) == 4
    # a household's visitors come only under the categories asked for
    assert ledger.search(store, master, household=2, kinds=["temperature_exception"])["rows"] == []
    assert len(ledger.search(store, master, household=2, kinds=["visitor"])["rows"]) == 3


@pytest.mark.parametrize(("tz", "day", "hours"), [
    ("Asia/Shanghai", date(2026, 11, 28), 24),
    ("America/New_York", date(2026, 11, 1), 25),  # clocks go back: 01:00 comes twice
    ("America/New_York", date(2026, 3, 8), 23),  # clocks go forward: no 02:00
    ("Asia/Kolkata", date(2026, 11, 28), 24),  # half an hour off UTC: its hours start at :30 UTC
])
def test_today_by_hour_matches_a_plain_count_of_the_events(office, tz, day, hours):
    """Counted an hour at a time, the day's figures are what counting every event by its local hour gives."""
    from zoneinfo import ZoneInfo

    store, master, _ = office
    zone = ZoneInfo(tz)
    start = datetime.combine(day, datetime.min.time(), zone).astimezone(UTC) - timedelta(hours=2)
    gate = Gate(store, "south")
    expected = [0] * 24
    moments = [start + timedelta(minutes=17 * i) for i in range(((hours + 4) * 60) // 17)]
    for i, moment in enumerate(moments):
        stamp = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        gate.send("passage", passage(1 + i % 3, "in"), stamp, subject=f"resident:{1 + i % 3}", household=1)
        local = moment.astimezone(zone)
        if local.date() == day:
            expected[local.hour] += 1
    assert len(today.hours_of(day, zone)) == hours
    result = today.summary(store, master, day=day, tz=tz)
    assert [h["in"] for h in result["by_hour"]] == expected
    assert result["totals"]["in"] == sum(expected) > 0


def test_an_office_db_from_before_fault_part_gets_it_filled(tmp_path):
    """m002: an office.db whose m001 ran before the fault_part column existed gets it, filled from the events held."""
    store = OfficeStore(tmp_path / "office.db")
    store.add_gate("south", "南门")
    Gate(store, "south").send("sensor_fault", {"part": "thermometer", "fault": "no_reading", "detail": None}, ts(9))
    db = store.database()
    db.execute("DROP INDEX events_gate_fault_part")
    db.execute("ALTER TABLE events DROP COLUMN fault_part")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm002_fault_part'")
    db.conn.commit()
    store.close()
    again = OfficeStore(tmp_path / "office.db")
    faults = gates.overview(again, now=datetime(2026, 11, 27, 9, 1, tzinfo=UTC))[0]["faults"]
    assert [(f["part"], f["fault"]) for f in faults] == [("thermometer", "no_reading")]
    again.close()
