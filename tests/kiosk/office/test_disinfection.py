"""The disinfection log (消杀) at the office: rounds from the desk and from gates' journals, per compound and day,
against the rounds due; compounds from households and gates; what is refused; export rows; the demo's seed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.office import disinfection as dis
from kiosk.office.compounds import office_compound
from kiosk.office.queries.gates import set_gate_compound
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore

TZ = "Asia/Shanghai"
Z = ZoneInfo(TZ)
DAY = date(2026, 12, 1)
NOON = datetime(2026, 12, 1, 12, 0, tzinfo=Z)


def utc(local: datetime) -> str:
    return local.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@pytest.fixture
def office(tmp_path):
    store, master = OfficeStore(tmp_path / "office.db"), RegistryMaster(tmp_path / "registry.db")
    master.change([{"op": "upsert", "table": "households", "row": r} for r in [
        {"id": 1, "building": "5", "unit": "1", "room": "101", "compound": "东苑"},
        {"id": 2, "building": "6", "unit": "1", "room": "201", "compound": "西苑"},
        {"id": 3, "building": "7", "unit": "1", "room": "301"},  # no compound: the office's one compound
    ]])
    master.upsert("volunteers", {"id": 7, "name": "赵志愿", "pin_hash": "x"})
    store.add_gate("north", "北门")
    store.add_gate("south", "南门")
    set_gate_compound(store, "north", "东苑")
    yield store, master
    store.close()


def gate_round(store, gate_id: str, seq: int, at: datetime, data: dict, volunteer: str | None = "7") -> None:
    store.ingest(gate_id, [{"seq": seq, "id": f"{gate_id}-{seq}", "ts": utc(at), "gate_id": gate_id,
                            "volunteer_id": volunteer, "kind": "disinfection", "subject": None,
                            "household_id": None, "data": data}])


def add(store, master, compound: str, at: datetime, **kw) -> dict:
    values = {"area": "stairwells", "agent": "chlorine", "done_by": "保洁 张师傅", "recorded_by": "staff1"} | kw
    return dis.add_round(store, master, compound=compound, tz=TZ, done_at=at, now=NOON, office_name="昆吾社区", **values)


def test_compounds_are_the_households_and_the_gates_with_the_ones_with_none_in_the_offices(office):
    store, master = office
    # the south gate has no compound and household 3 none: both are in the office's one compound; the gates name
    # exactly one compound (东苑), so that is its name
    assert office_compound(store, "昆吾社区") == "东苑"
    assert dis.compounds(store, master, "昆吾社区") == ["东苑", "西苑"]
    set_gate_compound(store, "south", "南苑")  # two compounds named by gates: the office's own name for the rest
    assert office_compound(store, "昆吾社区") == "昆吾社区"
    assert dis.compounds(store, master, "昆吾社区") == ["东苑", "南苑", "昆吾社区", "西苑"]
    assert office_compound(store) == "本社区"


def test_a_day_counts_desk_and_gate_rounds_per_compound_and_flags_a_missing_one(office):
    store, master = office
    add(store, master, "东苑", NOON.replace(hour=8, minute=30), area="public_areas", note="含电梯厅")
    gate_round(store, "north", 1, NOON.replace(hour=9, minute=5), {"area": "gate", "agent": "alcohol", "note": ""})
    add(store, master, "西苑", NOON.replace(hour=10), agent="3号消毒片")  # the community's own words
    gate_round(store, "north", 2, NOON - timedelta(days=1), {"area": "lifts", "agent": "chlorine", "note": ""})  # yesterday
    status = {c["compound"]: c for c in dis.day_status(store, master, DAY, TZ, 2, office_name="昆吾社区")}
    assert list(status) == ["东苑", "西苑"]
    east, west = status["东苑"], status["西苑"]
    assert (east["rounds"], east["required"], east["done"], east["missing"]) == (2, 2, True, 0)
    assert [(e["at"], e["area"], e["agent"], e["by"], e["source"], e["gate"]) for e in east["entries"]] == [
        ("2026-12-01 08:30", "public_areas", "chlorine", "保洁 张师傅", "office", None),
        ("2026-12-01 09:05", "gate", "alcohol", "赵志愿", "gate", "北门")]
    assert east["entries"][0]["note"] == "含电梯厅"
    assert (west["rounds"], west["done"], west["missing"]) == (1, False, 1)
    assert west["entries"][0]["agent"] == "3号消毒片"
    # one round a day required: both done
    assert all(c["done"] for c in dis.day_status(store, master, DAY, TZ, 1, office_name="昆吾社区"))
    # the day before: only the gate's round in 东苑
    before = {c["compound"]: c["rounds"] for c in dis.day_status(store, master, DAY - timedelta(days=1), TZ, 2)}
    assert before == {"东苑": 1, "西苑": 0}


def test_the_local_day_decides_not_the_utc_one(office):
    store, master = office
    # 00:30 in Shanghai is 16:30 UTC the day before: it belongs to the local day
    gate_round(store, "north", 1, datetime(2026, 12, 1, 0, 30, tzinfo=Z), {"area": "gate", "agent": "alcohol", "note": ""})
    assert {c["compound"]: c["rounds"] for c in dis.day_status(store, master, DAY, TZ, 2)}["东苑"] == 1
    assert {c["compound"]: c["rounds"] for c in dis.day_status(store, master, DAY - timedelta(days=1), TZ, 2)}["东苑"] == 0


def test_a_gate_round_takes_the_gates_compound_and_a_gate_in_none_the_offices(office):
    store, master = office
    set_gate_compound(store, "south", "南苑")
    gate_round(store, "south", 1, NOON, {"area": "bins", "agent": "chlorine", "note": ""})
    status = {c["compound"]: c["rounds"] for c in dis.day_status(store, master, DAY, TZ, 2, office_name="昆吾社区")}
    assert status["南苑"] == 1 and status["昆吾社区"] == 0
    set_gate_compound(store, "south", None)  # out of any compound: the one compound the gates name (东苑)
    assert {c["compound"]: c["rounds"] for c in dis.day_status(store, master, DAY, TZ, 2)}["东苑"] == 1


def test_a_malformed_gate_event_is_kept_flagged_and_not_counted(office):
    store, master = office
    gate_round(store, "north", 1, NOON, {"area": "", "agent": "chlorine"})  # empty area
    gate_round(store, "north", 2, NOON, {"area": "gate", "agent": "alcohol", "note": "", "volume_l": 3})  # unknown key
    gate_round(store, "north", 3, NOON, {"area": "x" * 65, "agent": "alcohol"})  # too long
    gate_round(store, "north", 4, NOON, {"area": "gate", "agent": "alcohol"})  # fine (note is optional)
    flagged = {e["seq"]: e["flag"] for e in store.flagged_events()}
    assert sorted(flagged) == [1, 2, 3] and "data.area" in flagged[1] and "volume_l" in flagged[2]
    east = {c["compound"]: c for c in dis.day_status(store, master, DAY, TZ, 2)}["东苑"]
    assert east["rounds"] == 1 and east["entries"][0]["id"] == "gate:north:4"


@pytest.mark.parametrize("change, field, words", [
    ({"compound": "北苑"}, "compound", "没有小区"),
    ({"area": "  "}, "area", "消杀区域不能为空"),
    ({"agent": "x" * 65}, "agent", "消毒剂最多 64 字"),
    ({"done_by": ""}, "done_by", "消杀人不能为空"),
    ({"note": "n" * 501}, "note", "备注最多 500 字"),
    ({"done_at": NOON + timedelta(hours=1)}, "done_at", "不能晚于现在"),
    ({"done_at": NOON - timedelta(days=40)}, "done_at", "31 天前"),
    ({"done_at": datetime(2026, 12, 1, 8, 0)}, "done_at", "时区"),
])
def test_a_bad_round_is_refused_naming_its_field_and_nothing_is_stored(office, change, field, words):
    store, master = office
    values = {"compound": "东苑", "area": "stairwells", "agent": "chlorine", "done_by": "张师傅",
              "done_at": NOON.replace(hour=9)} | change
    with pytest.raises(dis.DisinfectionError) as refused:
        dis.add_round(store, master, recorded_by="staff1", tz=TZ, now=NOON, **values)
    assert refused.value.field == field and words in str(refused.value) and " / " in str(refused.value)
    assert store.database().execute("SELECT COUNT(*) FROM disinfection_rounds").fetchone()[0] == 0
    assert store.database().execute("SELECT COUNT(*) FROM audit_log").fetchone()[0] == 0


def test_a_round_is_stored_with_its_local_day_and_audited(office):
    store, master = office
    row = add(store, master, "东苑", datetime(2026, 12, 1, 0, 20, tzinfo=Z), note="  两遍  ")
    db = store.database()
    stored = dict(zip(["compound", "done_at", "day", "note", "recorded_by"], db.execute(
        "SELECT compound, done_at, day, note, recorded_by FROM disinfection_rounds WHERE id = ?", [row["id"]]).fetchone(),
        strict=True))
    assert stored == {"compound": "东苑", "done_at": "2026-11-30T16:20:00Z", "day": "2026-12-01", "note": "两遍",
                      "recorded_by": "staff1"}
    actor, action, target = db.execute("SELECT actor, action, target FROM audit_log").fetchone()
    assert (actor, action, target) == ("staff1", "disinfection.recorded", "东苑")


@pytest.mark.parametrize("text, expected", [
    ("08:30", datetime(2026, 12, 1, 8, 30, tzinfo=Z)),
    ("8:05", datetime(2026, 12, 1, 8, 5, tzinfo=Z)),
    ("2026-11-30 17:45", datetime(2026, 11, 30, 17, 45, tzinfo=Z)),
    ("2026-11-30T09:45:00Z", datetime(2026, 11, 30, 9, 45, tzinfo=UTC)),
])
def test_times_as_staff_type_them(text, expected):
    assert dis.parse_at(text, TZ, now=NOON) == expected


@pytest.mark.parametrize("text", ["25:00", "yesterday", "", "2026-13-01 08:00"])
def test_a_time_that_is_not_one_is_refused(text):
    with pytest.raises(dis.DisinfectionError, match="08:30"):
        dis.parse_at(text, TZ, now=NOON)


def test_export_rows_cover_the_range_in_order_with_chinese_words(office):
    store, master = office
    add(store, master, "西苑", NOON - timedelta(days=1), agent="alcohol")
    gate_round(store, "north", 1, NOON.replace(hour=9), {"area": "3号楼楼道", "agent": "chlorine", "note": "补做"})
    add(store, master, "东苑", NOON - timedelta(days=5))  # outside the range
    rows = list(dis.export_rows(store, master, DAY - timedelta(days=1), DAY, TZ))
    assert [(r["day"], r["compound"], r["area_text"], r["agent_text"], r["source_text"], r["gate"]) for r in rows] == [
        ("2026-11-30", "西苑", "楼道", "75%酒精", "办公室登记", ""),
        ("2026-12-01", "东苑", "3号楼楼道", "含氯消毒液", "门岗登记", "北门")]
    assert rows[1]["by"] == "赵志愿" and rows[1]["note"] == "补做" and rows[0]["recorded_by"] == "staff1"


def test_the_days_read_uses_the_kind_and_time_index(office):
    store, _ = office
    lo, hi = "2026-11-30T16:00:00", "2026-12-01T16:00:00"
    plan = " ".join(str(r[-1]) for r in store.database().execute(
        "EXPLAIN QUERY PLAN " + dis.GATE_ROUNDS_SQL, [lo, hi]).fetchall())
    assert "SEARCH events USING" in plan and "events_kind_ts" in plan and "SCAN" not in plan
    plan = " ".join(str(r[-1]) for r in store.database().execute(
        "EXPLAIN QUERY PLAN " + dis.OFFICE_ROUNDS_SQL, ["2026-12-01", "2026-12-01"]).fetchall())
    assert "SEARCH disinfection_rounds USING" in plan and "SCAN disinfection_rounds" not in plan


def test_demo_seed_leaves_todays_second_round_to_do_and_runs_once(office):
    store, master = office
    today = datetime.now(Z).date()
    added = dis.demo_seed(store, master, today, TZ)
    assert added >= 2 * 2 and dis.demo_seed(store, master, today, TZ) == 0
    status = dis.day_status(store, master, today, TZ, 2)
    assert all(not c["done"] for c in status)  # at most this morning's round: the desk flags the second
    yesterday = dis.day_status(store, master, today - timedelta(days=1), TZ, 2)
    assert all(c["done"] for c in yesterday)
