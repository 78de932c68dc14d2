"""Door-to-door screening (kiosk.office.screening) on a real office.db and registry.db."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from kiosk.office import audit, screening
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.screening import ScreeningError
from kiosk.office.store import OfficeStore

TZ = "Asia/Shanghai"
# building-unit-room, compound (None: the office's one compound)
HOUSES = [("10", "1", "101", None), ("2", "1", "102", None), ("2", "1", "101", None), ("2", "2", "201", None),
          ("1", "1", "101", "东苑")]


@pytest.fixture
def office(tmp_path):
    store = OfficeStore(tmp_path / "office.db")
    master = RegistryMaster(tmp_path / "registry.db")
    master.change([{"op": "upsert", "table": "households",
                    "row": {"id": i, "building": b, "unit": u, "room": r, "note": "", "compound": c}}
                   for i, (b, u, r, c) in enumerate(HOUSES, 1)])
    yield store, master
    store.close()


def _start(store, name="第一轮", now=None):
    return screening.start_round(store, name, by="li", tz=TZ, now=now)


def test_a_round_covers_every_household_in_building_order(office):
    store, master = office
    started = _start(store)
    assert started["open"] and started["name"] == "第一轮" and started["started_by"] == "li"
    cover = screening.coverage(store, master, office_name="幸福里")
    assert cover["totals"] == {"households": 5, "visited": 0, "phone": 0, "not_reached": 0, "unmarked": 5,
                               "percent": 0.0}
    assert [c["compound"] for c in cover["compounds"]] == ["东苑", "幸福里"]  # NULL = the office's name
    assert [b["building"] for b in cover["compounds"][1]["buildings"]] == ["2", "10"]  # 2 before 10
    assert [h["household"] for h in screening.missing(store, master)] == ["1-1-101", "2-1-101", "2-1-102",
                                                                          "2-2-201", "10-1-101"]


def test_the_gates_compound_names_households_without_one(office):
    store, master = office
    store.add_gate("north", "北门")
    with store.writing() as db:
        db.execute("UPDATE gates SET compound = '阳光小区' WHERE id = 'north'")
    _start(store)
    assert {c["compound"] for c in screening.coverage(store, master, office_name="幸福里")["compounds"]} == {
        "东苑", "阳光小区"}


def test_marks_replace_each_other_and_are_audited(office):
    store, master = office
    _start(store)
    screening.mark(store, master, "2-1-101", "not_reached", by="li", note="敲门无人")
    visit = screening.mark(store, master, "2号楼1单元101室", "visited", by="wang", note="家中 2 人\n正常",
                           back_from_elsewhere=True)
    assert visit["household"] == "2-1-101" and visit["outcome"] == "visited" and visit["back_from_elsewhere"]
    assert visit["note"] == "家中 2 人 正常"  # one line
    screening.mark(store, master, 4, "phone", by="li", unwell=True)
    rows = {h["household"]: h for h in screening.households(store, master)}
    assert rows["2-1-101"]["by"] == "wang" and rows["2-2-201"]["outcome"] == "phone" and rows["2-2-201"]["unwell"]
    cover = screening.coverage(store, master)
    assert cover["totals"] == {"households": 5, "visited": 1, "phone": 1, "not_reached": 0, "unmarked": 3,
                               "percent": 40.0}
    building_2 = cover["compounds"][1]["buildings"][0]
    assert building_2["building"] == "2" and building_2["households"] == 3 and building_2["percent"] == 66.7
    assert "2-1-101" not in [h["household"] for h in screening.missing(store, master)]
    entries = audit.search(store, action="screening.").entries
    assert [e["action"] for e in entries] == ["screening.marked"] * 3 + ["screening.round_started"]
    replaced = next(e for e in entries if e["actor"] == "wang")
    assert replaced["target"] == "2-1-101" and replaced["detail"]["replaced"]["outcome"] == "not_reached"


def test_not_reached_stays_on_the_missing_list(office):
    store, master = office
    _start(store)
    screening.mark(store, master, "1-1-101", "not_reached", by="li")
    missing = screening.missing(store, master)
    assert missing[0]["household"] == "1-1-101" and missing[0]["outcome"] == "not_reached" and len(missing) == 5
    assert [h["household"] for h in screening.missing(store, master, compound="东苑")] == ["1-1-101"]


@pytest.mark.parametrize(("call", "message"), [
    (lambda s, m: screening.mark(s, m, "9-9-909", "visited", by="li"), "no household"),
    (lambda s, m: screening.mark(s, m, "东区", "visited", by="li"), "no household"),
    (lambda s, m: screening.mark(s, m, 1, "maybe", by="li"), "visited, phone or not_reached"),
    (lambda s, m: screening.mark(s, m, 1, "visited", by=""), "who must not be empty"),
    (lambda s, m: screening.mark(s, m, 1, "visited", by="li", note="长" * 201), "at most 200"),
    (lambda s, m: screening.mark(s, m, 1, "visited", by="li", at=datetime.now(UTC) + timedelta(hours=1)), "future"),
    (lambda s, m: screening.start_round(s, "第二轮", by="li", tz=TZ), "still open"),
    (lambda s, m: screening.start_round(s, " ", by="li", tz=TZ), "must not be empty"),
])
def test_bad_requests_are_refused_in_chinese_and_english(office, call, message):
    store, master = office
    _start(store)
    with pytest.raises(ScreeningError, match=message) as caught:
        call(store, master)
    assert " / " in str(caught.value) and any("\u4e00" <= ch <= "\u9fff" for ch in str(caught.value))
    assert len(list(store.database().query("SELECT * FROM screening_visits"))) == 0


def test_no_open_round(office):
    store, master = office
    with pytest.raises(ScreeningError, match="no screening round is open"):
        screening.mark(store, master, 1, "visited", by="li")
    with pytest.raises(ScreeningError, match="no screening round yet"):
        screening.coverage(store, master)
    with pytest.raises(ScreeningError, match="no screening round is open"):
        screening.close_round(store, master, by="li")


def test_later_households_join_the_open_round_and_a_closed_round_is_frozen(office):
    store, master = office
    first = _start(store)
    screening.mark(store, master, 1, "visited", by="li")
    master.upsert("households", {"id": 6, "building": "3", "unit": "1", "room": "301", "note": ""})
    assert screening.coverage(store, master)["totals"]["households"] == 6  # joined the open round
    closed = screening.close_round(store, master, by="wang")
    assert not closed["open"] and closed["closed_by"] == "wang"
    with pytest.raises(ScreeningError, match="no screening round is open"):
        screening.mark(store, master, 2, "visited", by="li")
    master.upsert("households", {"id": 7, "building": "3", "unit": "1", "room": "302", "note": ""})
    master.delete("households", 2)
    frozen = screening.coverage(store, master, first["id"])
    assert frozen["totals"]["households"] == 6 and frozen["totals"]["visited"] == 1  # as it was when it closed
    second = _start(store, "第二轮")
    assert screening.coverage(store, master)["round"]["id"] == second["id"]
    assert screening.coverage(store, master)["totals"]["households"] == 6  # 5 + 2 - 1, live
    assert [r["name"] for r in screening.rounds(store)] == ["第二轮", "第一轮"]
    assert audit.search(store, action="screening.round_closed").entries[0]["detail"]["households"] == 6


def test_day_summary_and_export_rows(office):
    store, master = office
    zone = screening._zone(TZ)
    day = date(2026, 11, 30)
    start = datetime(2026, 11, 30, 8, 0, tzinfo=zone)
    assert screening.day_summary(store, master, day, TZ) is None
    round_ = _start(store, "十一月排查", now=start - timedelta(days=1))
    screening.mark(store, master, 1, "visited", by="li", at=start - timedelta(hours=20), back_from_elsewhere=True)
    screening.mark(store, master, 2, "phone", by="li", at=start + timedelta(hours=2), unwell=True, note="=1+1")
    screening.mark(store, master, 3, "not_reached", by="li", at=start + timedelta(hours=3))
    screening.mark(store, master, 4, "visited", by="li", at=start + timedelta(days=1))  # the next day
    summary = screening.day_summary(store, master, day, TZ, office_name="幸福里")
    assert summary["round"]["id"] == round_["id"] and summary["marked_today"] == 2
    assert summary["back_from_elsewhere"] == 1 and summary["unwell"] == 1
    assert summary["compounds"] == [
        {"compound": "东苑", "households": 1, "visited": 0, "phone": 0, "not_reached": 0, "unmarked": 1},
        {"compound": "幸福里", "households": 4, "visited": 1, "phone": 1, "not_reached": 1, "unmarked": 1}]
    assert screening.day_summary(store, master, day - timedelta(days=5), TZ) is None  # before it started
    screening.close_round(store, master, by="li", now=start + timedelta(days=1, hours=2))
    assert screening.day_summary(store, master, day + timedelta(days=3), TZ) is None  # closed by then
    rows = list(screening.export_rows(store, master, day, day, TZ, office_name="幸福里"))
    assert len(rows) == 5 and {r["round"] for r in rows} == {"十一月排查"}
    by_house = {r["household"]: r for r in rows}
    assert by_house["2-1-102"]["at"] == "2026-11-30 10:00" and by_house["2-1-102"]["flags"] == ["unwell"]
    assert by_house["2-1-102"]["note"] == "=1+1"  # the exporter makes it text-safe
    assert by_house["1-1-101"]["outcome"] == "unmarked" and by_house["1-1-101"]["at"] == ""
    assert list(screening.export_rows(store, master, day + timedelta(days=5), day + timedelta(days=6), TZ)) == []


def test_demo_seed(office):
    store, master = office
    today = datetime.now(screening._zone(TZ)).date()
    started = screening.demo_seed(store, master, today, TZ)
    cover = screening.coverage(store, master)
    assert cover["round"]["id"] == started["id"] and cover["round"]["open"]
    assert cover["totals"]["visited"] + cover["totals"]["phone"] + cover["totals"]["not_reached"] == 5
    assert screening.missing(store, master)  # something left for the desk to show
    assert screening.day_summary(store, master, today, TZ)["marked_today"] == 5
