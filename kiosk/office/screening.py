"""Door-to-door screening (逐户排查): rounds that cover every household, each marked visited, by phone or not reached.

A round is started by name; while it is open it covers every household in the registry as the registry is (a
household added later joins it). Staff mark a household ``visited`` (入户), ``phone`` (电话确认) or ``not_reached``
(未联系上) with who, when, a note and two flags (back from elsewhere, someone unwell); a new mark replaces the
household's state in the round, and every mark is in the audit log. Closing a round freezes the households it
covered (table ``screening_closed_households``), so a later roster change does not rewrite its coverage.

Coverage is counted per compound (小区) and building; the *missing* list is every household not reached yet
(``not_reached`` or not marked at all), in building-unit-room order, so none is missed (确保不遗漏一户).

A household's compound is ``households.compound``; NULL means the office's one compound: the one its gates name
(when they name exactly one), else ``office.name``, else 本社区. Tables: kiosk.office.followup_schema. No Flask
here: the desk (web.office.desk_screening) and the CLI (kiosk.cli.officescreening) call these functions.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kiosk.exc import KioskError
from kiosk.office import audit
from kiosk.office.compounds import DEFAULT_COMPOUND, office_compound
from kiosk.office.queries.common import parse_ts
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore
from kiosk.registry import household_label

OUTCOMES = ("visited", "phone", "not_reached")
"""What a mark says: visited at the door (入户), confirmed by phone (电话确认), not reached (未联系上)."""
UNMARKED = "unmarked"
FLAGS = ("back_from_elsewhere", "unwell")
"""What a mark may note about the household: someone back from elsewhere (外地返回), someone unwell (身体不适)."""
OUTCOME_ZH = {"visited": "已入户", "phone": "电话确认", "not_reached": "未联系上", UNMARKED: "未排查"}
"""Chinese words for the outcome codes, for exports and the CLI (the desk translates through its catalog)."""
FLAG_ZH = {"back_from_elsewhere": "外地返回", "unwell": "身体不适"}
MAX_NAME = 60
MAX_NOTE = 200
MAX_BY = 40
COUNT_KEYS = ("households", "visited", "phone", "not_reached", "unmarked")

ROUND_STARTED = "screening.round_started"
ROUND_CLOSED = "screening.round_closed"
MARKED = "screening.marked"


class ScreeningError(KioskError, ValueError):
    """A screening request refused (no open round, unknown household, bad outcome …): Chinese first, then English."""


class ScreeningConflict(ScreeningError):
    """Refused for the state of the rounds, not the input: a round is still open, none is open, it is closed."""


@dataclass(frozen=True)
class Household:
    """One household a round covers: registry id, address parts, its compound (resolved, never NULL)."""

    id: int
    building: str
    unit: str
    room: str
    compound: str

    @property
    def label(self) -> str:
        """``5-1-101``."""
        return household_label(self.building, self.unit, self.room)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ScreeningError("时间须带时区 / a time must carry its time zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise ScreeningError(f"未知时区 {str(tz)[:60]!r} / unknown time zone") from None


def _text(value: Any, maximum: int, what_zh: str, what: str, *, required: bool = False) -> str:
    text = " ".join(str(value or "").split())  # one line: a note is read on a phone and in one cell
    if required and not text:
        raise ScreeningError(f"{what_zh}不能为空 / {what} must not be empty")
    if len(text) > maximum:
        raise ScreeningError(f"{what_zh}最多 {maximum} 字（收到 {len(text)} 字） / {what} is at most {maximum} characters")
    return text


def natural_key(text: str) -> tuple:
    """Sort key putting building 2 before 10 and 1单元 before 2单元 (numbers by value, then text)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.findall(r"\d+|\D+", text or ""))


def _household_key(house: Household) -> tuple:
    return (natural_key(house.building), natural_key(house.unit), natural_key(house.room), house.id)


# -- the office's compound ---------------------------------------------------------------------------------------


def registry_households(store: OfficeStore, master: RegistryMaster, office_name: str = "") -> list[Household]:
    """Every household in the registry with its compound, in compound then building-unit-room order."""
    default = office_compound(store, office_name)
    rows = master._db().query("SELECT id, building, unit, room, compound FROM households")
    houses = [Household(int(r["id"]), str(r["building"] or ""), str(r["unit"] or ""), str(r["room"] or ""),
                        str(r["compound"] or "").strip() or default) for r in rows]
    return sorted(houses, key=lambda h: (natural_key(h.compound), *_household_key(h)))


# -- rounds ------------------------------------------------------------------------------------------------------


def _round(row: Mapping[str, Any] | None) -> dict | None:
    if row is None:
        return None
    return {**dict(row), "open": not row["closed_at"]}


def open_round(store: OfficeStore) -> dict | None:
    """The round open now (there is at most one), or None."""
    row = store.database().execute_returning_dicts(
        "SELECT * FROM screening_rounds WHERE closed_at IS NULL ORDER BY id DESC LIMIT 1")
    return _round(row[0] if row else None)


def get_round(store: OfficeStore, round_id: int | None = None) -> dict:
    """A round by id, or (None) the open one, else the latest; ScreeningError when there is none."""
    db = store.database()
    if round_id is not None:
        rows = db.execute_returning_dicts("SELECT * FROM screening_rounds WHERE id = ?", [int(round_id)])
        if not rows:
            raise ScreeningError(f"没有第 {round_id} 轮排查 / no screening round {round_id}")
        return _round(rows[0]) or {}
    found = open_round(store) or _round(next(iter(db.execute_returning_dicts(
        "SELECT * FROM screening_rounds ORDER BY id DESC LIMIT 1")), None))
    if found is None:
        raise ScreeningError("还没有排查轮次，请先开始一轮 / no screening round yet: start one")
    return found


def rounds(store: OfficeStore, limit: int = 20) -> list[dict]:
    """The latest rounds, newest first."""
    return [r for r in (_round(row) for row in store.database().execute_returning_dicts(
        "SELECT * FROM screening_rounds ORDER BY id DESC LIMIT ?", [max(1, min(int(limit), 500))])) if r]


def start_round(store: OfficeStore, name: str, *, by: str, tz: str | ZoneInfo, now: datetime | None = None,
                note: str = "", address: str | None = None) -> dict:
    """Start a round named ``name`` (e.g. 第三轮排查); refused while another is open. Audited."""
    name = _text(name, MAX_NAME, "轮次名称", "the round's name", required=True)
    by = _text(by, MAX_BY, "排查人", "who", required=True)
    note = _text(note, MAX_NOTE, "备注", "the note")
    moment = now or _utc_now()
    day = moment.astimezone(_zone(tz)).date().isoformat()
    with store.writing() as db:
        current = db.execute("SELECT id, name FROM screening_rounds WHERE closed_at IS NULL LIMIT 1").fetchone()
        if current:
            raise ScreeningConflict(f"“{current[1]}”还在进行中，请先结束它 / round {current[1]!r} is still open: close it first")
        round_id = int(db.execute(
            "INSERT INTO screening_rounds (name, started_day, started_at, started_by, note) VALUES (?, ?, ?, ?, ?)",
            [name, day, _iso(moment), by, note]).lastrowid or 0)
        audit.record(db, by, ROUND_STARTED, round_id, {"name": name}, address=address, at=moment)
    return get_round(store, round_id)


def _household_of(store: OfficeStore, master: RegistryMaster, household: int | str, office_name: str) -> Household:
    """A household by registry id or any spelling of its address (5-1-101, 5号楼1单元101室 …)."""
    from kiosk.office.addresses import AddressError, match_households

    houses = registry_households(store, master, office_name)
    text = str(household).strip()[:64]
    if isinstance(household, int) or (text.isascii() and text.isdigit() and len(text) <= 9):
        wanted = int(text)
        found = [h for h in houses if h.id == wanted]
        if not found:  # "101" is also a room number: try it as an address below
            found = [h for h in houses if h.label == text]
    else:
        found = [h for h in houses if h.label == "".join(text.split())]
    if not found:
        try:
            ids = {int(row["id"]) for row in match_households(
                [{"id": h.id, "building": h.building, "unit": h.unit, "room": h.room} for h in houses], text)}
        except AddressError:
            ids = set()
        found = [h for h in houses if h.id in ids]
    if not found:
        raise ScreeningError(f"登记册中没有住户 {text!r}（写作 楼-单元-室，如 5-1-101） / no household {text!r} in "
                             "the registry: write it building-unit-room, e.g. 5-1-101")
    if len(found) > 1:
        raise ScreeningError(f"有 {len(found)} 户都写作 {text!r}，请用住户编号 / {len(found)} households are written "
                             f"{text!r}: use the household's id")
    return found[0]


def mark(store: OfficeStore, master: RegistryMaster, household: int | str, outcome: str, *, by: str,
         note: str = "", back_from_elsewhere: bool = False, unwell: bool = False, at: datetime | None = None,
         round_id: int | None = None, office_name: str = "", address: str | None = None) -> dict:
    """Mark a household in the open round (or ``round_id``, which must be open); it replaces the household's earlier
    mark in the round. Returns the visit ``{"round_id", "household_id", "household", "compound", "outcome", "at",
    "by", "note", "back_from_elsewhere", "unwell"}``. Audited with the mark it replaced."""
    if outcome not in OUTCOMES:
        raise ScreeningError(f"排查结果须为 {' / '.join(OUTCOMES)}，收到 {str(outcome)[:30]!r} / the outcome must be "
                             "visited, phone or not_reached")
    by = _text(by, MAX_BY, "排查人", "who", required=True)
    note = _text(note, MAX_NOTE, "备注", "the note")
    moment = at or _utc_now()
    if moment > _utc_now() + timedelta(minutes=5):
        raise ScreeningError("排查时间不能晚于现在 / a visit cannot be in the future")
    the_round = get_round(store, round_id) if round_id is not None else open_round(store)
    if the_round is None:
        raise ScreeningConflict("没有进行中的排查轮次，请先开始一轮 / no screening round is open: start one first")
    if not the_round["open"]:
        raise ScreeningConflict(f"“{the_round['name']}”已结束，不能再登记 / round {the_round['name']!r} is closed")
    house = _household_of(store, master, household, office_name)
    visit = {"round_id": the_round["id"], "household_id": house.id, "outcome": outcome, "at": _iso(moment),
             "by": by, "note": note, "back_from_elsewhere": int(bool(back_from_elsewhere)), "unwell": int(bool(unwell))}
    with store.writing() as db:
        if db.execute("SELECT closed_at FROM screening_rounds WHERE id = ?", [the_round["id"]]).fetchone()[0]:
            raise ScreeningConflict(f"“{the_round['name']}”已结束，不能再登记 / round {the_round['name']!r} is closed")
        before = db.execute("SELECT outcome, at, by FROM screening_visits WHERE round_id = ? AND household_id = ?",
                            [the_round["id"], house.id]).fetchone()
        db["screening_visits"].upsert(visit, pk=("round_id", "household_id"))
        detail = {"round_id": the_round["id"], "outcome": outcome, "note": note,
                  **{flag: True for flag in FLAGS if visit[flag]}}
        if before:
            detail["replaced"] = {"outcome": before[0], "at": before[1], "by": before[2]}
        audit.record(db, by, MARKED, house.label, detail, address=address)
    return _visit_dict(visit, house)


def _visit_dict(visit: Mapping[str, Any], house: Household) -> dict:
    return {"round_id": visit["round_id"], "household_id": house.id, "household": house.label,
            "compound": house.compound, "outcome": visit["outcome"], "at": visit["at"], "by": visit["by"],
            "note": visit["note"] or "", "back_from_elsewhere": bool(visit["back_from_elsewhere"]),
            "unwell": bool(visit["unwell"])}


def close_round(store: OfficeStore, master: RegistryMaster, *, by: str, round_id: int | None = None,
                now: datetime | None = None, office_name: str = "", address: str | None = None) -> dict:
    """Close the open round (or ``round_id``): the households it covers are frozen as they are now. Audited."""
    by = _text(by, MAX_BY, "排查人", "who", required=True)
    the_round = get_round(store, round_id) if round_id is not None else open_round(store)
    if the_round is None or not the_round["open"]:
        raise ScreeningConflict("没有进行中的排查轮次 / no screening round is open")
    moment = now or _utc_now()
    houses = registry_households(store, master, office_name)
    with store.writing() as db:
        closed = db.execute("UPDATE screening_rounds SET closed_at = ?, closed_by = ? WHERE id = ? AND closed_at IS NULL",
                            [_iso(moment), by, the_round["id"]]).rowcount
        if not closed:
            raise ScreeningConflict("这一轮已经结束了 / the round is already closed")
        db["screening_closed_households"].insert_all(
            ({"round_id": the_round["id"], "household_id": h.id, "building": h.building, "unit": h.unit,
              "room": h.room, "compound": h.compound} for h in houses), pk=("round_id", "household_id"), replace=True)
        counts = Counter(row[0] for row in db.execute(
            "SELECT outcome FROM screening_visits WHERE round_id = ?", [the_round["id"]]))
        audit.record(db, by, ROUND_CLOSED, the_round["id"],
                     {"name": the_round["name"], "households": len(houses), **dict(counts)}, address=address, at=moment)
    return get_round(store, the_round["id"])


# -- coverage ----------------------------------------------------------------------------------------------------


def round_households(store: OfficeStore, master: RegistryMaster, the_round: Mapping[str, Any],
                     office_name: str = "") -> list[Household]:
    """The households a round covers: the registry's now while it is open, the frozen ones once it closed."""
    if the_round["open"]:
        return registry_households(store, master, office_name)
    rows = store.database().query(
        "SELECT household_id, building, unit, room, compound FROM screening_closed_households WHERE round_id = ?",
        [the_round["id"]])
    houses = [Household(int(r["household_id"]), r["building"] or "", r["unit"] or "", r["room"] or "",
                        r["compound"] or DEFAULT_COMPOUND) for r in rows]
    return sorted(houses, key=lambda h: (natural_key(h.compound), *_household_key(h)))


def _visits(store: OfficeStore, round_id: int, until: str | None = None) -> dict[int, dict]:
    sql = "SELECT * FROM screening_visits WHERE round_id = ?" + (" AND at < ?" if until else "")
    return {int(r["household_id"]): dict(r) for r in store.database().query(sql, [round_id, *([until] if until else [])])}


def _counts(houses: list[Household], visits: Mapping[int, Mapping[str, Any]]) -> dict:
    counts: dict[str, Any] = dict.fromkeys(COUNT_KEYS, 0)
    for house in houses:
        counts["households"] += 1
        counts[visits[house.id]["outcome"] if house.id in visits else UNMARKED] += 1
    reached = counts["visited"] + counts["phone"]
    counts["percent"] = round(100 * reached / counts["households"], 1) if counts["households"] else 0.0
    return counts


def coverage(store: OfficeStore, master: RegistryMaster, round_id: int | None = None, *, office_name: str = "") -> dict:
    """Coverage of a round (default: the open one, else the latest): ``{"round", "totals", "compounds": [{"compound",
    households, visited, phone, not_reached, unmarked, percent, "buildings": [{"building", …counts}]}]}``.
    ``percent`` is reached (visited + phone) of all households."""
    the_round = get_round(store, round_id)
    houses = round_households(store, master, the_round, office_name)
    visits = _visits(store, the_round["id"])
    compounds: dict[str, dict[str, list[Household]]] = {}
    for house in houses:
        compounds.setdefault(house.compound, {}).setdefault(house.building, []).append(house)
    out = []
    for name, buildings in compounds.items():
        inside = [h for group in buildings.values() for h in group]
        out.append({"compound": name, **_counts(inside, visits),
                    "buildings": [{"building": b, **_counts(group, visits)}
                                  for b, group in sorted(buildings.items(), key=lambda kv: natural_key(kv[0]))]})
    return {"round": the_round, "totals": _counts(houses, visits), "compounds": out}


def households(store: OfficeStore, master: RegistryMaster, round_id: int | None = None, *,
               compound: str | None = None, building: str | None = None, only_missing: bool = False,
               office_name: str = "") -> list[dict]:
    """The round's households (optionally one compound / building), each with its state: ``{"household_id",
    "household", "compound", "building", "unit", "room", "outcome" (a code or "unmarked"), "at", "by", "note",
    "back_from_elsewhere", "unwell"}``, in building-unit-room order. ``only_missing``: not reached or unmarked."""
    the_round = get_round(store, round_id)
    visits = _visits(store, the_round["id"])
    out = []
    for house in round_households(store, master, the_round, office_name):
        if (compound is not None and house.compound != compound) or (building is not None and house.building != building):
            continue
        visit = visits.get(house.id)
        outcome = visit["outcome"] if visit else UNMARKED
        if only_missing and outcome not in ("not_reached", UNMARKED):
            continue
        out.append({"household_id": house.id, "household": house.label, "compound": house.compound,
                    "building": house.building, "unit": house.unit, "room": house.room, "outcome": outcome,
                    "at": visit["at"] if visit else None, "by": visit["by"] if visit else None,
                    "note": (visit["note"] or "") if visit else "",
                    "back_from_elsewhere": bool(visit and visit["back_from_elsewhere"]),
                    "unwell": bool(visit and visit["unwell"])})
    return out


def missing(store: OfficeStore, master: RegistryMaster, round_id: int | None = None, *, compound: str | None = None,
            office_name: str = "") -> list[dict]:
    """Every household of the round not reached yet (``not_reached`` or unmarked), by compound and building-unit-room:
    the list that makes sure no household is missed."""
    return households(store, master, round_id, compound=compound, only_missing=True, office_name=office_name)


# -- for the daily report and the exports ------------------------------------------------------------------------


def _local_day(ts: str | None, zone: ZoneInfo) -> date | None:
    moment = parse_ts(ts)
    return moment.astimezone(zone).date() if moment else None


def _day_bounds(day: date, zone: ZoneInfo) -> tuple[str, str]:
    start = datetime.combine(day, time(), zone)
    return _iso(start), _iso(datetime.combine(day + timedelta(days=1), time(), zone))


def day_summary(store: OfficeStore, master: RegistryMaster, day: date, tz: str, *, office_name: str = "") -> dict | None:
    """The screening figures of ``day`` for the daily report, or None when no round was open that day.

    The round is the latest one started on or before ``day`` and not closed before it. Counts are the households'
    states as marked by the end of that day (a mark made later counts as not marked yet; an earlier mark a later one
    replaced is only in the audit log). ``{"round": {...}, "compounds": [{"compound", "households", "visited",
    "phone", "not_reached", "unmarked"}], "marked_today": int, "back_from_elsewhere": int, "unwell": int}``; the two
    flags count the round's households so marked by the end of the day."""
    zone = _zone(tz)
    start, end = _day_bounds(day, zone)
    the_round = None
    for row in store.database().execute_returning_dicts(
            "SELECT * FROM screening_rounds WHERE started_day <= ? ORDER BY started_day DESC, id DESC LIMIT 20",
            [day.isoformat()]):
        closed = _local_day(row["closed_at"], zone)
        if closed is None or closed >= day:
            the_round = _round(row)
            break
    if the_round is None:
        return None
    houses = round_households(store, master, the_round, office_name)
    covered = {h.id for h in houses}
    visits = {k: v for k, v in _visits(store, the_round["id"], until=end).items() if k in covered}
    by_compound: dict[str, list[Household]] = {}
    for house in houses:
        by_compound.setdefault(house.compound, []).append(house)
    compounds = [{"compound": name, **{k: v for k, v in _counts(group, visits).items() if k != "percent"}}
                 for name, group in by_compound.items()]
    return {"round": the_round, "compounds": compounds,
            "marked_today": sum(1 for v in visits.values() if v["at"] >= start),
            "back_from_elsewhere": sum(1 for v in visits.values() if v["back_from_elsewhere"]),
            "unwell": sum(1 for v in visits.values() if v["unwell"])}


def export_rows(store: OfficeStore, master: RegistryMaster, first: date, last: date, tz: str, *,
                office_name: str = "") -> Iterator[dict]:
    """One row per household of each round started or open between ``first`` and ``last`` (inclusive), oldest round
    first: ``{"round", "round_id", "compound", "household", "outcome" (code, "unmarked" when not marked), "by",
    "at" (local "YYYY-MM-DD HH:MM", "" when not marked), "note", "back_from_elsewhere", "unwell", "flags" (codes)}``."""
    zone = _zone(tz)
    for row in list(store.database().execute_returning_dicts(
            "SELECT * FROM screening_rounds WHERE started_day <= ? ORDER BY id", [last.isoformat()])):
        closed = _local_day(row["closed_at"], zone)
        if closed is not None and closed < first:
            continue
        the_round = _round(row) or {}
        for house in households(store, master, the_round["id"], office_name=office_name):
            moment = parse_ts(house["at"])
            flags = [flag for flag in FLAGS if house[flag]]
            yield {"round": the_round["name"], "round_id": the_round["id"], "compound": house["compound"],
                   "household": house["household"], "outcome": house["outcome"], "by": house["by"] or "",
                   "at": moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "",
                   "note": house["note"], "back_from_elsewhere": house["back_from_elsewhere"],
                   "unwell": house["unwell"], "flags": flags}


def demo_seed(store: OfficeStore, master: RegistryMaster, today: date, tz: str) -> dict:
    """The demo's screening: one open round started this morning with part of the households marked (visited, by
    phone, one not reached, one back from elsewhere), so the desk shows coverage and a missing list."""
    zone = _zone(tz)
    now = _utc_now()
    # this morning, or (a demo started early in the day) an hour and a half ago, never before midnight
    morning = max(datetime.combine(today, time(), zone), min(datetime.combine(today, time(8, 30), zone),
                                                             now - timedelta(minutes=90)))
    started = start_round(store, "第一轮逐户排查", by="demo", tz=zone, now=morning)
    houses = registry_households(store, master)
    plan = [("visited", "", False, False), ("visited", "家中2人，均正常", False, False),
            ("phone", "电话确认，在外地工作", False, False), ("visited", "上周从外地返回", True, False),
            ("not_reached", "敲门无人，明天再来", False, False), ("visited", "老人咳嗽，已告知社区医生", False, True)]
    for i, (house, (outcome, note, back, unwell)) in enumerate(zip(houses, plan, strict=False)):
        at = min(morning + timedelta(minutes=12 * (i + 1)), now)
        mark(store, master, house.id, outcome, by="赵志愿", note=note, back_from_elsewhere=back, unwell=unwell, at=at)
    return started
