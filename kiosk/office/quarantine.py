"""Home-quarantine follow-up (居家隔离): who is under an order on a day, their twice-daily temperature checks, the
checks due and overdue, the fever alarm a high reading raises, and extending and lifting orders.

The orders are the registry's ``quarantine_orders`` (what gates enforce); what staff record about them is in
office.db (kiosk.office.followup_schema): ``quarantine_checks`` (one temperature check of one person) and
``quarantine_history`` (an order added, extended, lifted). Every change is also an audit-log entry.

A day has one check *slot* per deadline of ``followup.quarantine_check_deadlines`` (``["12:00", "20:00"]``: slot 0
is due by 12:00, slot 1 by 20:00, local time). A check belongs to the slot of the first deadline at or after the
time it was taken (a check taken after the last deadline is that slot's, late). A slot is ``done`` (a check by its
deadline), ``late`` (only after it), ``overdue`` (none, and its deadline has passed: flagged on the desk), ``due``
(none yet, deadline still ahead) or ``not_required`` (the order was added after that deadline on its first day).

A reading at or above the fever threshold (kiosk.config.policy ``fever_threshold_c``'s default, the one
definition the gates use) raises an office ``fever`` alarm (seq NULL, like the gate-offline alarm of
kiosk.office.watch) with ``gate_id`` "居家隔离 <household>" — what the desk's alarm list and banner show where a
gate's name would be — and subject ``resident:<id>`` (the list names the person from it). Each check raises at
most one alarm (its event id is the check's). Orders live in the registry and checks in office.db: a change writes
the registry first, then its history and audit rows (a crash between leaves the registry right and the history
short, never a history row for a change that did not happen).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.alarm_outcomes import FEVER
from kiosk.config.office import FollowupSettings
from kiosk.config.policy import PolicySettings
from kiosk.events import subject_key
from kiosk.exc import KioskError
from kiosk.office import audit
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore
from kiosk.privacy import mask_name
from kiosk.registry import household_label

FEVER_THRESHOLD_C: float = PolicySettings.model_fields["fever_threshold_c"].default
"""At or above this a check's reading is a fever: the gates' own threshold (kiosk.config.policy), one definition."""
METHODS = ("phone", "door")  # by phone (the person reads their thermometer), or at the door by staff
STATUSES = ("done", "late", "overdue", "due", "not_required")
MIN_C, MAX_C = 34.0, 43.0  # a reading outside is a typing error (36.6 typed 3.66 or 366), never stored
MAX_NAME = 64
MAX_NOTE = 500
MAX_ORDER_DAYS = 366
FUTURE_SLACK = timedelta(minutes=5)  # a check "taken" later than now by more than a clock's drift is a typo
ALARM_PLACE = "居家隔离"  # where a quarantine fever alarm was raised, as the desk shows it in place of a gate's name
ALARM_REASON = "quarantine_check"
ALARM_PREFIX = f"office:{FEVER}:quarantine-check:"  # + the check's id: the alarm's event id

ADDED, EXTENDED, LIFTED = "added", "extended", "lifted"
# audit action codes
AUDIT_CHECK = "quarantine.check"
AUDIT_ADD = "quarantine.add"
AUDIT_EXTEND = "quarantine.extend"
AUDIT_LIFT = "quarantine.lift"


class QuarantineError(KioskError, ValueError):
    """A follow-up action refused (unknown order, a person not under it, a reading or time that cannot be right …);
    the message is zh-CN first, then English, and names the field."""


# -- time and slots ------------------------------------------------------------------------------------------------


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(str(tz))
    except (KeyError, ValueError) as exc:
        raise QuarantineError(f"未知时区 {str(tz)[:60]!r} / unknown time zone") from exc


def _utc_text(moment: datetime) -> str:
    """UTC with milliseconds and ``Z``, as gates stamp their events (kiosk.office.watch.format_time)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_utc(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def deadlines(settings: FollowupSettings) -> list[time]:
    """The day's check deadlines as times, in order (slot 0 first)."""
    return [time.fromisoformat(text) for text in settings.quarantine_check_deadlines]


def slot_of(moment: datetime, tz: str | ZoneInfo, settings: FollowupSettings) -> tuple[date, int]:
    """The (local day, slot) a check taken at ``moment`` (aware) belongs to."""
    local = moment.astimezone(_zone(tz))
    clock = local.time().replace(tzinfo=None)
    times = deadlines(settings)
    for index, deadline in enumerate(times):
        if clock <= deadline.replace(second=59, microsecond=999999):  # 12:00:30 is still "by 12:00"
            return local.date(), index
    return local.date(), len(times) - 1


def slot_deadline(day: date, slot: int, tz: str | ZoneInfo, settings: FollowupSettings) -> datetime:
    """When slot ``slot`` of ``day`` is due, as an aware local time (the end of its deadline's minute)."""
    clock = deadlines(settings)[slot]
    return datetime.combine(day, clock, _zone(tz)) + timedelta(seconds=59)


def fever_threshold_c() -> float:
    """The fever threshold checks are judged by (°C)."""
    return FEVER_THRESHOLD_C


# -- who is under an order ----------------------------------------------------------------------------------------


def find_order(master: RegistryMaster, order_id: int) -> dict:
    """The registry row of quarantine order ``order_id``; QuarantineError when there is none."""
    if not isinstance(order_id, int) or isinstance(order_id, bool) or not 0 < order_id < 2**63:
        raise QuarantineError(f"隔离单号须为正整数 / order: expected a positive whole number, got {str(order_id)[:20]!r}")
    rows = list(master._db().query("SELECT * FROM quarantine_orders WHERE id = ?", [order_id]))
    if not rows:
        raise QuarantineError(f"没有隔离单 {order_id} / order: no quarantine order {order_id} "
                              "(see: kiosk office quarantine list --all)")
    return dict(rows[0])


def _household_row(master: RegistryMaster, household_id: int | None) -> dict | None:
    return master.household(household_id) if household_id is not None else None


def _label(house: dict | None) -> str:
    return household_label(house.get("building"), house.get("unit"), house.get("room")) if house else ""


def people_of(master: RegistryMaster, order: dict) -> list[dict]:
    """The residents an order covers (one, or everyone of the household)."""
    if order.get("resident_id") is not None:
        row = master.resident(order["resident_id"])
        return [row] if row else []
    if order.get("household_id") is not None:
        return master.residents_of(order["household_id"])
    return []


def _person(order: dict, resident: dict, house: dict | None, day: date) -> dict:
    starts, ends = date.fromisoformat(order["starts_on"]), date.fromisoformat(order["ends_on"])
    phone = resident.get("phone") or ""
    return {
        "order_id": order["id"], "resident_id": resident["id"], "name": resident.get("name") or "",
        "name_masked": mask_name(resident["name"]) if resident.get("name") else "",
        "household_id": resident.get("household_id"), "household": _label(house),
        "compound": house.get("compound") if house else None,
        "whole_household": order.get("resident_id") is None, "starts_on": order["starts_on"],
        "ends_on": order["ends_on"], "day_n": (day - starts).days + 1, "length": (ends - starts).days + 1,
        "phone": phone or resident.get("phone_masked") or "", "phone_full": bool(phone),
        "phone_masked": resident.get("phone_masked") or "", "order_note": order.get("note") or "",
    }


def people_on(master: RegistryMaster, day: date) -> list[dict]:
    """Everyone under an order on ``day``, one row per person (a resident under two orders is listed once, under
    the earlier order), by household then name.

    ``{"order_id", "resident_id", "name", "name_masked", "household_id", "household" (3-2-501), "compound",
    "whole_household", "starts_on", "ends_on", "day_n", "length", "phone" (full from residents.phone, else the
    masked one), "phone_full", "phone_masked", "order_note"}``.
    """
    iso = day.isoformat()
    orders = [dict(r) for r in master._db().query(
        "SELECT * FROM quarantine_orders WHERE starts_on <= ? AND ends_on >= ? ORDER BY id", [iso, iso])]
    seen: set[int] = set()
    houses: dict[int | None, dict | None] = {}
    out = []
    for order in orders:
        for resident in people_of(master, order):
            if resident["id"] in seen:
                continue
            seen.add(resident["id"])
            hid = resident.get("household_id")
            if hid not in houses:
                houses[hid] = _household_row(master, hid)
            out.append(_person(order, resident, houses[hid], day))
    out.sort(key=lambda p: (p["household"], p["name"], p["resident_id"]))
    return out


# -- the day's checks ---------------------------------------------------------------------------------------------


def _checks_of_day(store: OfficeStore, day: date) -> dict[int, list[dict]]:
    rows = store.database().query(
        "SELECT * FROM quarantine_checks WHERE slot_day = ? ORDER BY taken_at, id", [day.isoformat()])
    by_person: dict[int, list[dict]] = {}
    for row in rows:
        by_person.setdefault(row["resident_id"], []).append(dict(row))
    return by_person


def _added_at(store: OfficeStore, order_ids: list[int]) -> dict[int, datetime]:
    """When each order was added through this module (orders added otherwise have no such row)."""
    if not order_ids:
        return {}
    marks = ", ".join("?" for _ in order_ids)
    rows = store.database().execute(
        f"SELECT order_id, MIN(at) FROM quarantine_history WHERE action = ? AND order_id IN ({marks}) GROUP BY order_id",
        [ADDED, *order_ids]).fetchall()
    return {order_id: moment for order_id, at in rows if (moment := _parse_utc(at)) is not None}


def _check_view(row: dict, tz: ZoneInfo) -> dict:
    taken = _parse_utc(row["taken_at"])
    return {"id": row["id"], "order_id": row["order_id"], "taken_at": row["taken_at"],
            "taken_local": taken.astimezone(tz).strftime("%H:%M") if taken else "",
            "temperature_c": row["temperature_c"], "method": row["method"], "taken_by": row["taken_by"],
            "note": row["note"] or "", "fever": row["temperature_c"] >= FEVER_THRESHOLD_C,
            "alarm_event_id": row["alarm_event_id"]}


def day_list(store: OfficeStore, master: RegistryMaster, day: date, tz: str | ZoneInfo, settings: FollowupSettings,
             *, now: datetime | None = None) -> list[dict]:
    """Everyone under an order on ``day`` (as :func:`people_on`) with that day's check slots.

    Each person gains ``"slots": [{"slot", "deadline" (HH:MM), "deadline_at" (UTC), "status" (one of STATUSES),
    "checks": [{id, taken_at, taken_local, temperature_c, method, taken_by, note, fever, alarm_event_id}]}]`` and
    ``"overdue"`` (how many of their slots are overdue) and ``"fever"`` (a fever reading that day).
    """
    zone = _zone(tz)
    now = (now or datetime.now(UTC)).astimezone(zone)
    people = people_on(master, day)
    checks = _checks_of_day(store, day)
    added = _added_at(store, sorted({p["order_id"] for p in people}))
    times = settings.quarantine_check_deadlines
    for person in people:
        mine = checks.get(person["resident_id"], [])
        slots: list[dict[str, Any]] = []
        for index, clock in enumerate(times):
            deadline = slot_deadline(day, index, zone, settings)
            in_slot = [_check_view(c, zone) for c in mine if c["slot"] == index]
            on_time = any((_parse_utc(c["taken_at"]) or deadline) <= deadline for c in in_slot)
            first_day = person["starts_on"] == day.isoformat()
            started = added.get(person["order_id"])
            if on_time:
                status = "done"
            elif in_slot:
                status = "late"
            elif first_day and started is not None and started > deadline:
                status = "not_required"
            elif now > deadline:
                status = "overdue"
            else:
                status = "due"
            slots.append({"slot": index, "deadline": clock, "deadline_at": _utc_text(deadline), "status": status,
                          "checks": in_slot})
        person["slots"] = slots
        person["overdue"] = sum(1 for s in slots if s["status"] == "overdue")
        person["fever"] = any(c["fever"] for s in slots for c in s["checks"])
    return people


def due_now(store: OfficeStore, master: RegistryMaster, tz: str | ZoneInfo, settings: FollowupSettings, *,
            now: datetime | None = None) -> list[dict]:
    """Today's checks still to do: every overdue slot, and each person's next slot not yet due (soonest first).

    ``{"order_id", "resident_id", "name", "household", "phone", "slot", "deadline", "deadline_at", "status"
    (overdue|due)}``, overdue first.
    """
    zone = _zone(tz)
    now = (now or datetime.now(UTC)).astimezone(zone)
    out = []
    for person in day_list(store, master, now.date(), zone, settings, now=now):
        upcoming_taken = False
        slots: list[dict] = person["slots"]
        for slot in slots:
            if slot["status"] == "overdue" or (slot["status"] == "due" and not upcoming_taken):
                upcoming_taken = upcoming_taken or slot["status"] == "due"
                out.append({"order_id": person["order_id"], "resident_id": person["resident_id"],
                            "name": person["name"], "household": person["household"], "phone": person["phone"],
                            "slot": slot["slot"], "deadline": slot["deadline"], "deadline_at": slot["deadline_at"],
                            "status": slot["status"]})
    out.sort(key=lambda d: (d["status"] != "overdue", d["deadline_at"], d["household"], d["name"]))
    return out


# -- recording a check --------------------------------------------------------------------------------------------


def _text(value: Any, field: str, zh: str, maximum: int, *, required: bool) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise QuarantineError(f"{zh}不能为空 / {field}: required")
    if len(text) > maximum:
        raise QuarantineError(f"{zh}不能超过 {maximum} 字 / {field}: longer than {maximum} characters")
    return text


def parse_temperature(value: Any) -> float:
    """A temperature typed as 36.6, ``36,6`` or ``36.6℃``; QuarantineError when it is not a plausible reading."""
    if isinstance(value, bool):
        value = str(value)
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value or "").strip().replace(",", ".").replace("，", ".").replace("。", ".")
        text = text.removesuffix("℃").removesuffix("°C").removesuffix("°").strip()
        if not text:
            raise QuarantineError("体温不能为空 / temperature: required, e.g. 36.6")
        try:
            number = float(text[:10])
        except ValueError:
            raise QuarantineError(f"体温须为数字，如 36.6 / temperature: expected a number such as 36.6, "
                                  f"got {str(value)[:20]!r}") from None
    if not MIN_C <= number <= MAX_C:
        raise QuarantineError(f"体温须在 {MIN_C:g}–{MAX_C:g} °C 之间 / temperature: expected {MIN_C:g} to {MAX_C:g} °C, "
                              f"got {number:g}")
    return round(number, 1)


def _covered(master: RegistryMaster, order: dict, resident_id: int) -> dict:
    if not isinstance(resident_id, int) or isinstance(resident_id, bool):
        raise QuarantineError("居民编号须为整数 / person: expected a resident id")
    resident = master.resident(resident_id)
    if resident is None:
        raise QuarantineError(f"没有编号为 {resident_id} 的居民 / person: no resident {resident_id} in the registry")
    if order.get("resident_id") is not None:
        ok = order["resident_id"] == resident_id
    else:
        ok = order.get("household_id") == resident.get("household_id")
    if not ok:
        raise QuarantineError(f"{resident.get('name') or resident_id} 不在隔离单 {order['id']} 内 / person: resident "
                              f"{resident_id} is not under quarantine order {order['id']}")
    return resident


def _fever_item(event_id: str, place: str, at: str, subject: str, household_id: int | None, check: dict) -> dict:
    """The live-stream item for a quarantine fever alarm, shaped like a gate's alarm_raised (``seq`` None)."""
    return {"kind": "alarm_raised", "gate_id": place, "gate_name": place, "seq": None, "id": event_id, "ts": at,
            "volunteer_id": None, "subject": subject, "household_id": household_id, "by": "office",
            "data": {"kind": FEVER, "reason": ALARM_REASON, "subject": subject,
                     "detail": {"temperature_c": check["temperature_c"], "order_id": check["order_id"],
                                "check_id": check["id"], "method": check["method"]}}}


def record_check(store: OfficeStore, master: RegistryMaster, *, order_id: int, resident_id: int,
                 temperature: Any, method: str, taken_by: str, recorded_by: str, tz: str | ZoneInfo,
                 settings: FollowupSettings, taken_at: datetime | None = None, note: str = "",
                 now: datetime | None = None, address: str | None = None,
                 publish: Callable[[list[dict]], None] | None = None) -> dict:
    """Record one temperature check of ``resident_id`` under order ``order_id``; returns the stored check.

    ``taken_at`` (aware; default now) must fall on a day of the order and not in the future; ``method`` is
    ``phone`` or ``door``; ``taken_by`` is who took it (a desk user or a name). A reading at or above
    :data:`FEVER_THRESHOLD_C` raises one fever alarm (the check's ``alarm_event_id``), published through
    ``publish`` (the desk's broadcaster) so every desk page shows the banner. The check, its alarm and the audit
    entry are one transaction. Nothing is stored on bad input (QuarantineError names the field).
    """
    zone = _zone(tz)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    order = find_order(master, order_id)
    resident = _covered(master, order, resident_id)
    reading = parse_temperature(temperature)
    if method not in METHODS:
        raise QuarantineError(f"测温方式须为电话(phone)或上门(door) / method: expected one of {', '.join(METHODS)}, "
                              f"got {str(method)[:20]!r}")
    by = _text(taken_by, "taken by", "测温人", MAX_NAME, required=True)
    recorder = _text(recorded_by, "recorded by", "记录人", MAX_NAME, required=True)
    note = _text(note, "note", "备注", MAX_NOTE, required=False)
    taken = taken_at or now
    if taken.tzinfo is None:
        taken = taken.replace(tzinfo=zone)  # a clock time as the office writes it: community time
    if taken > now + FUTURE_SLACK:
        raise QuarantineError(f"测温时间 {taken.astimezone(zone):%m-%d %H:%M} 晚于现在 / time: "
                              "the check's time is in the future")
    day, slot = slot_of(taken, zone, settings)
    if not order["starts_on"] <= day.isoformat() <= order["ends_on"]:
        raise QuarantineError(f"测温日期 {day} 不在隔离期 {order['starts_on']} 至 {order['ends_on']} 内 / time: {day} is "
                              f"not a day of quarantine order {order_id}")
    house = _household_row(master, resident.get("household_id"))
    place = f"{ALARM_PLACE} {_label(house)}".strip()
    subject = subject_key("resident", resident_id)
    at = _utc_text(now)
    item = None
    with store.writing() as db:
        check_id = int(db.execute(
            "INSERT INTO quarantine_checks (order_id, resident_id, slot_day, slot, taken_at, temperature_c, method,"
            " taken_by, note, recorded_at, recorded_by, alarm_event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            [order_id, resident_id, day.isoformat(), slot, _utc_text(taken), reading, method, by, note, at,
             recorder]).lastrowid or 0)
        check = {"id": check_id, "order_id": order_id, "resident_id": resident_id, "slot_day": day.isoformat(),
                 "slot": slot, "taken_at": _utc_text(taken), "temperature_c": reading, "method": method,
                 "taken_by": by, "note": note, "recorded_at": at, "recorded_by": recorder, "alarm_event_id": None}
        if reading >= FEVER_THRESHOLD_C:
            event_id = f"{ALARM_PREFIX}{check_id}"
            inserted = db.execute(
                "INSERT OR IGNORE INTO alarms (event_id, gate_id, seq, kind, subject, raised_at)"
                " VALUES (?, ?, NULL, ?, ?, ?)", [event_id, place, FEVER, subject, at]).rowcount
            if inserted:
                db.execute("UPDATE quarantine_checks SET alarm_event_id = ? WHERE id = ?", [event_id, check_id])
                check["alarm_event_id"] = event_id
                item = _fever_item(event_id, place, at, subject, resident.get("household_id"), check)
        audit.record(db, recorder, AUDIT_CHECK, f"order:{order_id}",
                     {"check_id": check_id, "resident_id": resident_id, "slot_day": check["slot_day"], "slot": slot,
                      "temperature_c": reading, "method": method, "taken_by": by,
                      "alarm": check["alarm_event_id"]}, address=address, at=now)
    if item is not None and publish is not None:
        publish([item])
    return check


def alarm_data(store: OfficeStore, event_id: str) -> dict | None:
    """What a quarantine fever alarm is about, shaped like a gate alarm event's data (``kind``, ``reason``,
    ``detail`` {temperature_c, order_id, check_id, method, taken_at, taken_by}), for the desk's alarm list; None for
    any other alarm. Office-raised alarms have no gate event: this is where their reading is."""
    if not isinstance(event_id, str) or not event_id.startswith(ALARM_PREFIX):
        return None
    ident = event_id[len(ALARM_PREFIX):]
    if not (ident.isascii() and ident.isdigit()) or len(ident) > 18:
        return None
    row = store.database().execute(
        "SELECT id, order_id, temperature_c, method, taken_at, taken_by FROM quarantine_checks WHERE id = ?",
        [int(ident)]).fetchone()
    if row is None:
        return None
    check_id, order_id, temperature, method, taken_at, taken_by = row
    return {"kind": FEVER, "reason": ALARM_REASON,
            "detail": {"temperature_c": temperature, "order_id": order_id, "check_id": check_id, "method": method,
                       "taken_at": taken_at, "taken_by": taken_by}}


# -- orders: add, extend, lift ------------------------------------------------------------------------------------


def _history(db: Any, order_id: int, action: str, at: str, by: str, day: date, starts_on: str, before: str | None,
             ends_on: str, note: str) -> None:
    db.execute("INSERT INTO quarantine_history (order_id, action, at, by, day, starts_on, ends_on_before, ends_on, note)"
               " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [order_id, action, at, by, day.isoformat(), starts_on, before,
                                                         ends_on, note])


def history(store: OfficeStore, order_id: int) -> list[dict]:
    """What happened to an order (added, extended, lifted), oldest first."""
    return [dict(r) for r in store.database().query(
        "SELECT * FROM quarantine_history WHERE order_id = ? ORDER BY at, id", [order_id])]


def lifted_on(store: OfficeStore, order_id: int) -> date | None:
    """The day an order was lifted, or None."""
    row = store.database().execute(
        "SELECT day FROM quarantine_history WHERE order_id = ? AND action = ? ORDER BY id DESC LIMIT 1",
        [order_id, LIFTED]).fetchone()
    return date.fromisoformat(row[0]) if row else None


def add_order(store: OfficeStore, master: RegistryMaster, *, by: str, tz: str | ZoneInfo, starts_on: date,
              resident_id: int | None = None, household_id: int | None = None, days: int = 14,
              ends_on: date | None = None, note: str = "", now: datetime | None = None,
              address: str | None = None) -> tuple[dict, int]:
    """Order home quarantine (kiosk.office.admin.add_quarantine: one registry version, gates get it by sync) and
    write its history row and audit entry; returns (order row, version)."""
    from kiosk.office.admin import add_quarantine

    zone = _zone(tz)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    by = _text(by, "by", "操作人", MAX_NAME, required=True)
    note = _text(note, "note", "备注", MAX_NOTE, required=False)
    row, version = add_quarantine(master, resident_id=resident_id, household_id=household_id, starts_on=starts_on,
                                  days=days, ends_on=ends_on, note=note)
    with store.writing() as db:
        _history(db, row["id"], ADDED, _utc_text(now), by, now.astimezone(zone).date(), row["starts_on"], None,
                 row["ends_on"], note)
        audit.record(db, by, AUDIT_ADD, f"order:{row['id']}",
                     {"resident_id": resident_id, "household_id": household_id, "starts_on": row["starts_on"],
                      "ends_on": row["ends_on"], "version": version}, address=address, at=now)
    return row, version


def _parse_day(value: date | str, field: str, zh: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise QuarantineError(f"{zh}须写作 2026-12-01 / {field}: expected a date such as 2026-12-01, "
                              f"got {str(value)[:20]!r}") from None


def extend_order(store: OfficeStore, master: RegistryMaster, order_id: int, *, until: date | str, by: str,
                 tz: str | ZoneInfo, note: str = "", now: datetime | None = None,
                 address: str | None = None) -> dict:
    """Move an order's last day to ``until`` (later than now): one registry version, which gates get by sync.

    Returns ``{"order", "version", "ends_on_before"}``. Refused for a lifted order, an ``until`` not after the
    current end, or an order longer than a year.
    """
    zone = _zone(tz)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    order = find_order(master, order_id)
    until = _parse_day(until, "until", "新的结束日期")
    by = _text(by, "by", "操作人", MAX_NAME, required=True)
    note = _text(note, "note", "备注", MAX_NOTE, required=False)
    if lifted_on(store, order_id) is not None:
        raise QuarantineError(f"隔离单 {order_id} 已解除，不能延长 / order: quarantine order {order_id} was lifted; "
                              "add a new order instead")
    before = order["ends_on"]
    if until.isoformat() <= before:
        raise QuarantineError(f"新的结束日期须晚于 {before} / until: must be after the order's end {before}")
    if (until - date.fromisoformat(order["starts_on"])).days + 1 > MAX_ORDER_DAYS:
        raise QuarantineError(f"隔离期不能超过 {MAX_ORDER_DAYS} 天 / until: an order is at most {MAX_ORDER_DAYS} days")
    row = {**order, "ends_on": until.isoformat()}
    version = master.change([{"op": "upsert", "table": "quarantine_orders", "row": row}])
    with store.writing() as db:
        _history(db, order_id, EXTENDED, _utc_text(now), by, now.astimezone(zone).date(), order["starts_on"], before,
                 row["ends_on"], note)
        audit.record(db, by, AUDIT_EXTEND, f"order:{order_id}",
                     {"ends_on_before": before, "ends_on": row["ends_on"], "note": note, "version": version},
                     address=address, at=now)
    return {"order": row, "version": version, "ends_on_before": before}


def lift_order(store: OfficeStore, master: RegistryMaster, order_id: int, *, note: str, by: str,
               tz: str | ZoneInfo, on: date | str | None = None, now: datetime | None = None,
               address: str | None = None) -> dict:
    """Lift an order on or after its end date (e.g. the clinic's release), ``note`` saying why.

    Lifted on its last day, the person may go out from that day: the order then ends the day before (one registry
    version, gates get it by sync; an order of that one day is removed). Lifted after its end, the registry already
    lets them out and is not changed (``version`` None). ``on`` defaults to today and may not be in the future.
    Returns ``{"order", "version", "lifted_on", "ends_on_before"}``. An early end is ``kiosk office quarantine end``.
    """
    from kiosk.office.admin import end_quarantine

    zone = _zone(tz)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    today = now.astimezone(zone).date()
    order = find_order(master, order_id)
    day = today if on is None or on == "" else _parse_day(on, "on", "解除日期")
    note = _text(note, "note", "解除说明", MAX_NOTE, required=True)
    by = _text(by, "by", "操作人", MAX_NAME, required=True)
    if lifted_on(store, order_id) is not None:
        raise QuarantineError(f"隔离单 {order_id} 已解除 / order: quarantine order {order_id} is already lifted")
    before = order["ends_on"]
    if day.isoformat() < before:
        raise QuarantineError(f"解除日期不能早于结束日期 {before}（提前结束请用 quarantine end） / on: an order is lifted on "
                              f"or after its end {before}; to end it early use `kiosk office quarantine end`")
    if day > today:
        raise QuarantineError(f"解除日期 {day} 晚于今天 / on: {day} is in the future")
    version: int | None = None
    row: dict | None = order
    if day.isoformat() == before:
        row, version = end_quarantine(master, order_id, lifted_on=day)
    with store.writing() as db:
        _history(db, order_id, LIFTED, _utc_text(now), by, day, order["starts_on"], before,
                 row["ends_on"] if row else (day - timedelta(days=1)).isoformat(), note)
        audit.record(db, by, AUDIT_LIFT, f"order:{order_id}",
                     {"lifted_on": day.isoformat(), "ends_on_before": before, "note": note, "version": version,
                      "removed": row is None}, address=address, at=now)
    return {"order": row, "version": version, "lifted_on": day.isoformat(), "ends_on_before": before}


# -- for the daily report and the export --------------------------------------------------------------------------


def day_summary(store: OfficeStore, master: RegistryMaster, day: date, tz: str | ZoneInfo,
                settings: FollowupSettings, *, now: datetime | None = None) -> dict:
    """One day's home quarantine in numbers.

    ``{"total"`` (people under an order that day), ``"new"`` (orders starting that day), ``"lifted"`` (orders
    lifted that day), ``"checks_due"`` (check slots required that day), ``"checks_done"`` (slots with a check, on
    time or late), ``"checks_missed"`` (slots whose deadline passed without one), ``"fevers"`` (checks that day at
    or above the fever threshold)``}``.
    """
    people = day_list(store, master, day, tz, settings, now=now)
    slots = [s for p in people for s in p["slots"] if s["status"] != "not_required"]
    db = store.database()
    iso = day.isoformat()
    return {
        "total": len(people),
        "new": int(master._db().execute("SELECT COUNT(*) FROM quarantine_orders WHERE starts_on = ?",
                                        [iso]).fetchone()[0]),
        "lifted": int(db.execute("SELECT COUNT(DISTINCT order_id) FROM quarantine_history WHERE action = ? AND day = ?",
                                 [LIFTED, iso]).fetchone()[0]),
        "checks_due": len(slots),
        "checks_done": sum(1 for s in slots if s["status"] in ("done", "late")),
        "checks_missed": sum(1 for s in slots if s["status"] == "overdue"),
        "fevers": int(db.execute("SELECT COUNT(*) FROM quarantine_checks WHERE slot_day = ? AND temperature_c >= ?",
                                 [iso, FEVER_THRESHOLD_C]).fetchone()[0]),
    }


EXPORT_FIELDS = ("order_id", "resident_id", "person", "household", "starts_on", "ends_on", "lifted_on", "slot_day",
                 "slot", "taken_at", "temperature_c", "fever", "method", "taken_by", "note")
"""The keys of every :func:`export_rows` row, in column order."""


def export_rows(store: OfficeStore, master: RegistryMaster, first: date, last: date,
                tz: str | ZoneInfo) -> Iterator[dict]:
    """One row per check taken on a day of ``[first, last]`` (local days), by order, day and slot; then each person of
    an order active in the range with no check in it, as a row with empty check fields (``None``).

    Keys: :data:`EXPORT_FIELDS`; ``taken_at`` is local time ``YYYY-MM-DD HH:MM``, ``person`` the full name.
    """
    zone = _zone(tz)
    lo, hi = first.isoformat(), last.isoformat()
    orders = {r["id"]: dict(r) for r in master._db().query(
        "SELECT * FROM quarantine_orders WHERE starts_on <= ? AND ends_on >= ? ORDER BY starts_on, id", [hi, lo])}
    db = store.database()
    checked_ids = [r[0] for r in db.execute(
        "SELECT DISTINCT order_id FROM quarantine_checks WHERE slot_day >= ? AND slot_day <= ?", [lo, hi])]
    for order_id in checked_ids:  # an order lifted on its only day is gone from the registry: its history has it
        if order_id not in orders:
            past = db.execute("SELECT starts_on, ends_on FROM quarantine_history WHERE order_id = ? ORDER BY id DESC"
                              " LIMIT 1", [order_id]).fetchone()
            orders[order_id] = {"id": order_id, "resident_id": None, "household_id": None,
                                "starts_on": past[0] if past else "", "ends_on": past[1] if past else ""}
    lifts = dict(db.execute(f"SELECT order_id, MAX(day) FROM quarantine_history WHERE action = '{LIFTED}'"
                            " GROUP BY order_id").fetchall())
    names: dict[int, tuple[str, str]] = {}

    def who(resident_id: int) -> tuple[str, str]:
        if resident_id not in names:
            row = master.resident(resident_id) or {}
            names[resident_id] = (row.get("name") or "", master.household_label_of(row.get("household_id")))
        return names[resident_id]

    def base(order: dict, resident_id: int) -> dict:
        person, household = who(resident_id)
        return {"order_id": order["id"], "resident_id": resident_id, "person": person, "household": household,
                "starts_on": order["starts_on"], "ends_on": order["ends_on"], "lifted_on": lifts.get(order["id"])}

    seen: set[tuple[int, int]] = set()
    cursor = db.conn.cursor()
    try:
        cursor.execute("SELECT order_id, resident_id, slot_day, slot, taken_at, temperature_c, method, taken_by, note"
                       " FROM quarantine_checks WHERE slot_day >= ? AND slot_day <= ?"
                       " ORDER BY order_id, slot_day, slot, taken_at, id", [lo, hi])
        while batch := cursor.fetchmany(1000):
            for order_id, resident_id, slot_day, slot, taken_at, temperature, method, taken_by, note in batch:
                seen.add((order_id, resident_id))
                taken = _parse_utc(taken_at)
                yield {**base(orders[order_id], resident_id), "slot_day": slot_day, "slot": slot,
                       "taken_at": taken.astimezone(zone).strftime("%Y-%m-%d %H:%M") if taken else "",
                       "temperature_c": temperature, "fever": temperature >= FEVER_THRESHOLD_C, "method": method,
                       "taken_by": taken_by, "note": note or ""}
    finally:
        cursor.close()
    empty = dict.fromkeys(("slot_day", "slot", "taken_at", "temperature_c", "fever", "method", "taken_by", "note"))
    for order in orders.values():
        for resident in people_of(master, order):
            if (order["id"], resident["id"]) not in seen:
                yield {**base(order, resident["id"]), **empty}


# -- the demo ---------------------------------------------------------------------------------------------------


def demo_seed(store: OfficeStore, master: RegistryMaster, today: date, tz: str | ZoneInfo) -> None:
    """The demo's follow-up: a second order (刘洋, resident 5, at home since his fever at the gate two days ago, from
    yesterday) beside the demo's household order (李建国's household 1-1-102), with their checks of the last days.
    刘洋's check of yesterday evening is missing (flagged overdue), and so are his slots of today already past, while
    李建国's are done. No reading is a fever: the demo's fever alarms are the gates'."""
    zone = _zone(tz)
    settings = FollowupSettings()
    start = today - timedelta(days=1)
    added_at = datetime.combine(start, time(8, 0), zone)
    order, _version = add_order(store, master, by="demo", tz=zone, starts_on=start, resident_id=5,
                                days=14, note="发热后居家隔离（社区医生建议）", now=added_at)
    now = datetime.now(zone)
    people = {p["resident_id"]: p for p in people_on(master, today)}
    readings = [36.4, 36.6, 36.5, 36.7, 36.3, 36.8, 36.5, 36.6]
    n = 0
    for resident_id, person in sorted(people.items()):
        first = date.fromisoformat(person["starts_on"])
        for offset in range((today - max(first, today - timedelta(days=3))).days, -1, -1):
            day = today - timedelta(days=offset)
            for slot in range(len(settings.quarantine_check_deadlines)):
                deadline = slot_deadline(day, slot, zone, settings)
                taken = deadline - timedelta(minutes=90 + 13 * (resident_id % 5))
                if taken > now or (day == start and person["order_id"] == order["id"] and taken < added_at):
                    continue
                if person["order_id"] == order["id"] and (offset == 0 or (offset == 1 and slot == 1)):
                    continue  # 刘洋: yesterday evening's and today's checks not recorded: overdue
                record_check(store, master, order_id=person["order_id"], resident_id=resident_id,
                             temperature=readings[n % len(readings)], method="phone" if slot == 0 else "door",
                             taken_by="钱社工" if slot == 0 else "孙医生", recorded_by="demo", tz=zone,
                             settings=settings, taken_at=taken, now=max(taken, added_at))
                n += 1
