"""Home-quarantine follow-up (kiosk.office.quarantine) over a real office store and master registry."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.config.office import FollowupSettings
from kiosk.config.policy import PolicySettings
from kiosk.office import audit
from kiosk.office import quarantine as q
from kiosk.office.queries.alarms import alarm_detail, list_alarms
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 3, 5)
SETTINGS = FollowupSettings()


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


@pytest.fixture
def office(tmp_path):
    master = RegistryMaster(tmp_path / "registry.db")
    master.change([
        {"op": "upsert", "table": "households", "row": {"id": 1, "building": "3", "unit": "2", "room": "501"}},
        {"op": "upsert", "table": "households", "row": {"id": 2, "building": "5", "unit": "1", "room": "101"}},
        {"op": "upsert", "table": "residents", "row": {"id": 1, "household_id": 1, "name": "王小山",
                                                       "phone_masked": "138****5678", "phone": "13812345678"}},
        {"op": "upsert", "table": "residents", "row": {"id": 2, "household_id": 1, "name": "李红",
                                                       "phone_masked": "139****0000"}},
        {"op": "upsert", "table": "residents", "row": {"id": 3, "household_id": 2, "name": "张伟",
                                                       "phone_masked": "137****1111"}},
    ])
    store = OfficeStore(tmp_path / "office.db")
    yield store, master
    store.close()
    master.close()


def add(store, master, **kwargs):
    kwargs.setdefault("starts_on", DAY - timedelta(days=2))
    return q.add_order(store, master, by="li", tz=TZ, now=at(8, 0, kwargs["starts_on"]), **kwargs)


def check(store, master, order_id, resident_id, temperature, when, **kwargs):
    kwargs.setdefault("method", "phone")
    return q.record_check(store, master, order_id=order_id, resident_id=resident_id, temperature=temperature,
                          taken_by=kwargs.pop("taken_by", "李社工"), recorded_by="li", tz=TZ, settings=SETTINGS,
                          taken_at=when, now=kwargs.pop("now", when + timedelta(minutes=1)), **kwargs)


def test_the_fever_threshold_is_the_gates_one():
    assert q.FEVER_THRESHOLD_C == PolicySettings().fever_threshold_c


def test_slots_follow_the_deadlines():
    assert q.slot_of(at(9, 0), TZ, SETTINGS) == (DAY, 0)
    assert q.slot_of(at(12, 0), TZ, SETTINGS) == (DAY, 0)
    assert q.slot_of(at(12, 1), TZ, SETTINGS) == (DAY, 1)
    assert q.slot_of(at(21, 30), TZ, SETTINGS) == (DAY, 1)  # after the last deadline: that slot's, late
    three = FollowupSettings(quarantine_check_deadlines=["08:00", "14:00", "20:00"])
    assert q.slot_of(at(13, 0), TZ, three) == (DAY, 1)
    # a UTC time lands on the community's local day
    assert q.slot_of(datetime(2026, 3, 4, 17, 0, tzinfo=ZoneInfo("UTC")), TZ, SETTINGS) == (DAY, 0)


def test_the_day_list_for_a_household_order(office):
    store, master = office
    order, version = add(store, master, household_id=1)
    people = q.day_list(store, master, DAY, TZ, SETTINGS, now=at(10, 0))
    assert [(p["name"], p["household"], p["day_n"], p["length"], p["ends_on"]) for p in people] == [
        ("李红", "3-2-501", 3, 14, "2026-03-16"), ("王小山", "3-2-501", 3, 14, "2026-03-16")]
    phones = {p["name"]: (p["phone"], p["phone_full"]) for p in people}
    assert phones == {"王小山": ("13812345678", True), "李红": ("139****0000", False)}  # full, else masked
    assert [s["status"] for s in people[0]["slots"]] == ["due", "due"]
    assert [h["action"] for h in q.history(store, order["id"])] == ["added"]
    assert master.version == version


def test_checks_done_late_and_overdue(office):
    store, master = office
    order, _ = add(store, master, resident_id=1)
    check(store, master, order["id"], 1, "36.5", at(9, 30))
    people = q.day_list(store, master, DAY, TZ, SETTINGS, now=at(20, 30))
    slots = people[0]["slots"]
    assert [s["status"] for s in slots] == ["done", "overdue"] and people[0]["overdue"] == 1
    assert slots[0]["checks"][0]["temperature_c"] == 36.5 and slots[0]["checks"][0]["taken_local"] == "09:30"
    due = q.due_now(store, master, TZ, SETTINGS, now=at(20, 30))
    assert [(d["name"], d["slot"], d["status"]) for d in due] == [("王小山", 1, "overdue")]
    check(store, master, order["id"], 1, 36.6, at(21, 0), method="door")
    assert [s["status"] for s in q.day_list(store, master, DAY, TZ, SETTINGS, now=at(21, 5))[0]["slots"]] == [
        "done", "late"]
    assert q.due_now(store, master, TZ, SETTINGS, now=at(21, 5)) == []
    # before the first deadline, the next slot is due (not overdue) and the later one is not listed yet
    assert [(d["slot"], d["status"]) for d in q.due_now(store, master, TZ, SETTINGS,
                                                        now=at(8, 0, DAY + timedelta(days=1)))] == [(0, "due")]


def test_slots_before_the_order_was_added_are_not_required(office):
    store, master = office
    order, _ = q.add_order(store, master, by="li", tz=TZ, starts_on=DAY, resident_id=3, now=at(15, 0))
    slots = q.day_list(store, master, DAY, TZ, SETTINGS, now=at(16, 0))[0]["slots"]
    assert [s["status"] for s in slots] == ["not_required", "due"]
    summary = q.day_summary(store, master, DAY, TZ, SETTINGS, now=at(23, 0))
    assert summary == {"total": 1, "new": 1, "lifted": 0, "checks_due": 1, "checks_done": 0, "checks_missed": 1,
                       "fevers": 0}


def test_a_fever_raises_one_office_alarm_per_check(office):
    store, master = office
    order, _ = add(store, master, household_id=1)
    heard: list[list[dict]] = []
    normal = check(store, master, order["id"], 1, 37.2, at(9, 0), publish=heard.append)
    assert normal["alarm_event_id"] is None and heard == []
    fever = check(store, master, order["id"], 1, "37.3", at(9, 10), publish=heard.append)
    assert fever["alarm_event_id"] == f"office:fever:quarantine-check:{fever['id']}"
    [[item]] = heard
    assert item["kind"] == "alarm_raised" and item["data"]["kind"] == "fever" and item["seq"] is None
    assert item["gate_name"] == "居家隔离 3-2-501" and item["subject"] == "resident:1"
    again = check(store, master, order["id"], 1, 38.0, at(9, 20), publish=heard.append)
    assert len(heard) == 2 and again["alarm_event_id"] != fever["alarm_event_id"]
    alarms = list_alarms(store, master, status="open", kinds=["fever"])["alarms"]
    assert len(alarms) == 2  # one per fever check, none for the normal one
    detail = alarm_detail(store, master, fever["alarm_event_id"])
    assert detail["gate"]["id"] == "居家隔离 3-2-501" and detail["who"]["household"]["label"] == "3-2-501"
    assert detail["who"]["name_masked"] and detail["status"] == "open"
    assert detail["readings"]["temperature_c"] == 37.3 and detail["reason"] == "quarantine_check"
    assert detail["detail"]["check_id"] == fever["id"] and detail["detail"]["method"] == "phone"
    count = store.database().execute("SELECT COUNT(*) FROM alarms WHERE kind = 'fever'").fetchone()[0]
    assert count == 2
    summary = q.day_summary(store, master, DAY, TZ, SETTINGS, now=at(23, 0))
    assert summary["fevers"] == 2 and summary["checks_done"] == 1 and summary["checks_missed"] == 3
    entries = audit.search(store, action="quarantine.check").entries
    assert len(entries) == 3 and entries[0]["detail"]["alarm"] == again["alarm_event_id"]


@pytest.mark.parametrize(("field", "kwargs", "message"), [
    ("temperature", {"temperature": "3.66"}, "体温须在"),
    ("temperature", {"temperature": "abc"}, "体温须为数字"),
    ("temperature", {"temperature": ""}, "体温不能为空"),
    ("method", {"method": "email"}, "测温方式"),
    ("taken by", {"taken_by": "  "}, "测温人不能为空"),
    ("note", {"note": "x" * 501}, "备注不能超过"),
    ("time", {"when": at(9, 0, DAY + timedelta(days=20))}, "不在隔离期"),
    ("time", {"when": at(9, 0), "now": at(8, 0)}, "晚于现在"),
    ("person", {"resident_id": 3}, "不在隔离单"),
    ("person", {"resident_id": 99}, "没有编号为 99 的居民"),
    ("order", {"order_id": 42}, "没有隔离单 42"),
])
def test_bad_input_stores_nothing(office, field, kwargs, message):
    store, master = office
    order, _ = add(store, master, household_id=1)
    args = {"order_id": order["id"], "resident_id": 1, "temperature": 36.5, "when": at(9, 0)}
    args.update(kwargs)
    with pytest.raises(q.QuarantineError) as refused:
        check(store, master, args.pop("order_id"), args.pop("resident_id"), args.pop("temperature"), args.pop("when"),
              **args)
    assert message in str(refused.value) and field in str(refused.value)
    assert store.database().execute("SELECT COUNT(*) FROM quarantine_checks").fetchone()[0] == 0
    assert store.database().execute("SELECT COUNT(*) FROM alarms").fetchone()[0] == 0


def test_extend_reaches_the_registry_change_log(office):
    store, master = office
    order, _ = add(store, master, resident_id=3)
    before = master.version
    done = q.extend_order(store, master, order["id"], until="2026-03-20", by="li", tz=TZ, note="密接复查",
                          now=at(10, 0))
    assert done["version"] == before + 1 and done["ends_on_before"] == "2026-03-16"
    [change] = master.gate_changes_since(before)
    assert change["table"] == "quarantine_orders" and change["row"]["ends_on"] == "2026-03-20"
    assert master.quarantine_orders(resident_id=3, household_id=2, on=date(2026, 3, 20))
    [_, extended] = q.history(store, order["id"])
    assert (extended["action"], extended["ends_on_before"], extended["ends_on"], extended["note"]) == (
        "extended", "2026-03-16", "2026-03-20", "密接复查")
    assert audit.search(store, action="quarantine.extend").entries[0]["target"] == f"order:{order['id']}"
    for until, message in (("2026-03-19", "须晚于"), ("2026-13-01", "2026-12-01"), ("2027-12-01", "不能超过")):
        with pytest.raises(q.QuarantineError, match=message):
            q.extend_order(store, master, order["id"], until=until, by="li", tz=TZ, now=at(10, 0))
    assert master.version == before + 1


def test_lift_on_the_end_date(office):
    store, master = office
    order, _ = add(store, master, resident_id=3, days=3)  # 3 to 5 March
    with pytest.raises(q.QuarantineError, match="解除日期不能早于结束日期"):
        q.lift_order(store, master, order["id"], note="x", by="li", tz=TZ, on=DAY - timedelta(days=1),
                     now=at(10, 0))
    with pytest.raises(q.QuarantineError, match="解除说明不能为空"):
        q.lift_order(store, master, order["id"], note=" ", by="li", tz=TZ, now=at(10, 0))
    before = master.version
    lifted = q.lift_order(store, master, order["id"], note="社区卫生服务中心解除隔离通知", by="li", tz=TZ, now=at(10, 0))
    assert lifted["lifted_on"] == "2026-03-05" and lifted["version"] == before + 1
    [change] = master.gate_changes_since(before)
    assert change["row"]["ends_on"] == "2026-03-04"  # out from today
    assert not master.quarantine_orders(resident_id=3, household_id=2, on=DAY)
    assert q.history(store, order["id"])[-1]["action"] == "lifted"
    assert q.lifted_on(store, order["id"]) == DAY
    assert q.day_summary(store, master, DAY, TZ, SETTINGS, now=at(23, 0))["lifted"] == 1
    with pytest.raises(q.QuarantineError, match="已解除"):
        q.lift_order(store, master, order["id"], note="again", by="li", tz=TZ, now=at(10, 0))
    with pytest.raises(q.QuarantineError, match="已解除"):
        q.extend_order(store, master, order["id"], until="2026-03-30", by="li", tz=TZ, now=at(10, 0))
    assert audit.search(store, action="quarantine.lift").entries[0]["detail"]["note"] == "社区卫生服务中心解除隔离通知"


def test_lift_after_the_end_changes_no_registry(office):
    store, master = office
    order, _ = add(store, master, resident_id=3, days=2)  # 3 and 4 March
    before = master.version
    lifted = q.lift_order(store, master, order["id"], note="期满", by="li", tz=TZ, now=at(10, 0))
    assert lifted["version"] is None and master.version == before
    with pytest.raises(q.QuarantineError, match="晚于今天"):
        order2, _ = add(store, master, resident_id=1, days=1, starts_on=DAY)
        q.lift_order(store, master, order2["id"], note="x", by="li", tz=TZ, on=DAY + timedelta(days=1), now=at(10, 0))


def test_export_rows(office):
    store, master = office
    order, _ = add(store, master, household_id=1)
    other, _ = add(store, master, resident_id=3)
    check(store, master, order["id"], 1, 36.5, at(9, 0))
    check(store, master, order["id"], 1, 37.5, at(19, 0), method="door", note="复测")
    check(store, master, order["id"], 2, 36.4, at(9, 0, DAY - timedelta(days=1)))
    rows = list(q.export_rows(store, master, DAY, DAY, TZ))
    assert [(r["person"], r["slot_day"], r["slot"], r["taken_at"], r["temperature_c"], r["fever"]) for r in rows] == [
        ("王小山", "2026-03-05", 0, "2026-03-05 09:00", 36.5, False),
        ("王小山", "2026-03-05", 1, "2026-03-05 19:00", 37.5, True),
        ("李红", None, None, None, None, None),  # her check was the day before
        ("张伟", None, None, None, None, None)]
    assert all(set(r) == set(q.EXPORT_FIELDS) for r in rows)
    assert rows[1]["household"] == "3-2-501" and rows[1]["note"] == "复测" and rows[1]["order_id"] == order["id"]
    assert rows[3]["order_id"] == other["id"] and rows[3]["starts_on"] == "2026-03-03"


def test_demo_seed(office):
    store, master = office
    master.change([{"op": "upsert", "table": "residents", "row": {"id": 5, "household_id": 2, "name": "刘洋"}},
                   {"op": "upsert", "table": "quarantine_orders",
                    "row": {"id": 1, "resident_id": None, "household_id": 1, "starts_on": "2026-03-01",
                            "ends_on": "2026-03-14", "note": ""}}])
    today = datetime.now(TZ).date()
    master.change([{"op": "upsert", "table": "quarantine_orders",
                    "row": {"id": 1, "resident_id": None, "household_id": 1,
                            "starts_on": (today - timedelta(days=3)).isoformat(),
                            "ends_on": (today + timedelta(days=10)).isoformat(), "note": ""}}])
    q.demo_seed(store, master, today, TZ)
    people = q.day_list(store, master, today - timedelta(days=1), TZ, SETTINGS)
    liu = next(p for p in people if p["name"] == "刘洋")
    assert [s["status"] for s in liu["slots"]] == ["done", "overdue"]
    wang = next(p for p in people if p["name"] == "王小山")
    assert [s["status"] for s in wang["slots"]] == ["done", "done"]
    assert store.database().execute("SELECT COUNT(*) FROM alarms").fetchone()[0] == 0


def test_a_quarantine_fever_is_in_the_exports_fever_ledger_with_its_reading(office, tmp_path):
    import openpyxl

    from kiosk.office import exports

    store, master = office
    order, _ = add(store, master, household_id=1)
    check(store, master, order["id"], 1, 38.4, at(9, 10))
    [out] = exports.export(store, master, DAY, DAY, tmp_path / "day.xlsx", tz=TZ)
    sheet = openpyxl.load_workbook(out, read_only=True)["体温异常"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    header, [row] = rows[0], rows[1:]
    assert row[header.index("体温(°C)")] == 38.4 and row[header.index("门岗")] == "居家隔离 3-2-501"
    assert row[header.index("户")] == "3-2-501"
