"""What the desk's queries share: time bounds in the community's zone, who a subject is, gates and compounds.

Timestamps in ``events.ts`` are the gate's UTC ISO 8601 text (``…Z``). A
bound is written as ``YYYY-MM-DDTHH:MM:SS`` (no fraction, no zone): every
stored ts of that second sorts at or after it, whether or not it carries a
fraction, so ``ts >= start AND ts < end`` is exact to the second on both
SQLite and PostgreSQL (text comparison, no date functions).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kiosk.events import parse_subject
from kiosk.office.store import OfficeStore, OfficeStoreError
from kiosk.privacy import mask_name
from kiosk.registry import Registry, household_label

DEFAULT_TIMEZONE = "Asia/Shanghai"
MAX_LIMIT = 500
# what counts as "someone passed" (a passage abandoned mid-measurement did not pass, but a trace wants it too)
PASSAGE_KINDS = ("passage", "vehicle", "visitor_registration", "passage_abandoned")


class QueryError(OfficeStoreError):
    """A desk query refused (bad cursor, malformed ID number, unknown gate …): the message is zh-CN, then English."""


def zone(tz: str | ZoneInfo) -> ZoneInfo:
    """The ZoneInfo for a name such as ``Asia/Shanghai``; QueryError for an unknown one."""
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise QueryError(f"未知时区 {str(tz)[:60]!r} / unknown time zone") from None


def bound(moment: datetime) -> str:
    """An aware datetime as a ts bound (UTC, whole seconds rounded down, no zone suffix)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise QueryError("时间须带时区 / a time must carry its time zone offset")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S")


def day_bounds(day: date, tz: str | ZoneInfo) -> tuple[str, str]:
    """``[start, end)`` bounds of a calendar day in the community's zone (a DST day is 23 or 25 hours, right)."""
    z = zone(tz)
    start = datetime.combine(day, time(), z)
    end = datetime.combine(day + timedelta(days=1), time(), z)
    return bound(start), bound(end)


def parse_time(value: datetime | str, what: str = "time") -> datetime:
    """An aware datetime from a datetime or ISO 8601 text; QueryError when it is neither or has no zone."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value)[:40].replace("Z", "+00:00"))
        except ValueError:
            raise QueryError(f"{what} 不是有效时间 {str(value)[:40]!r} / not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise QueryError(f"{what} 须带时区 / {what} must carry its time zone offset")
    return moment


def parse_ts(ts: str | None) -> datetime | None:
    """A stored ts back to an aware datetime (None for none or garbage)."""
    if not ts:
        return None
    try:
        moment = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def clamp_limit(limit: int, maximum: int = MAX_LIMIT) -> int:
    """A page size within 1..maximum (QueryError for something that is not a number)."""
    try:
        value = int(limit)
    except (TypeError, ValueError):
        raise QueryError("每页条数须为整数 / limit must be an integer") from None
    return max(1, min(value, maximum))


def loads(data: str | None) -> dict:
    """An event's stored JSON data (a dict; anything else reads as empty)."""
    try:
        value = json.loads(data) if data else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def gates_by_id(store: OfficeStore) -> dict[str, dict]:
    """Every gate's id, name and compound (a handful of rows)."""
    rows = store.database().execute("SELECT id, name, compound FROM gates ORDER BY id").fetchall()
    return {r[0]: {"id": r[0], "name": r[1] or "", "compound": r[2]} for r in rows}


def gate_ref(gates: Mapping[str, dict], gate_id: str) -> dict:
    """``{"id", "name", "compound"}`` for a gate (an unknown one keeps its id, no name)."""
    return dict(gates.get(gate_id) or {"id": gate_id, "name": "", "compound": None})


def gates_of_compound(store: OfficeStore, compound: str) -> list[str]:
    """The gates in a compound (index gates_compound); QueryError when it has none."""
    rows = store.database().execute("SELECT id FROM gates WHERE compound = ? ORDER BY id", [compound]).fetchall()
    if not rows:
        raise QueryError(f"小区 {compound[:40]!r} 没有门岗 / no gate belongs to compound {compound[:40]!r}")
    return [r[0] for r in rows]


def household_ref(master: Registry, household_id: int | None, cache: dict | None = None) -> dict | None:
    """``{"id", "building", "unit", "room", "label"}`` (label ``5-1-101``; screens write 5号楼1单元101), or None."""
    if household_id is None:
        return None
    if cache is not None and household_id in cache:
        return cache[household_id]
    row = master.household(household_id)
    ref = None if row is None else {
        "id": household_id, "building": row.get("building") or "", "unit": row.get("unit") or "",
        "room": row.get("room") or "", "label": household_label(row.get("building"), row.get("unit"), row.get("room"))}
    if cache is not None:
        cache[household_id] = ref
    return ref


class Who:
    """Names subjects from the master registry, once each per query (residents masked; visitors from their event)."""

    def __init__(self, master: Registry):
        self.master = master
        self._people: dict[str, dict] = {}
        self._households: dict[int, dict | None] = {}

    def household(self, household_id: int | None) -> dict | None:
        """The household reference (cached)."""
        return household_ref(self.master, household_id, self._households)

    def of(self, subject: str | None, household_id: int | None = None, data: Mapping[str, Any] | None = None,
           *, phone: bool = False) -> dict:
        """``{"subject", "subject_kind", "subject_id", "name_masked", "household"[, "phone_masked", "phone"]}``.

        A visitor's name and phone come from the registration's data; a
        resident's from the registry. ``phone``: add the masked phone and a
        resident's full one (``residents.phone``, office-only; "" when the
        roster gave none).
        """
        data = data or {}
        parsed = parse_subject(subject)
        kind, ident = parsed if parsed else (None, None)
        person = self._person(subject, kind, ident)
        name = person.get("name") or (data.get("name") if isinstance(data.get("name"), str) else "") or ""
        house = household_id if household_id is not None else person.get("household_id")
        if house is None and isinstance(data.get("host_household_id"), int):
            house = data["host_household_id"]
        if kind is None and data.get("name"):
            kind = "visitor"
        out = {"subject": subject, "subject_kind": kind, "subject_id": ident, "name_masked": mask_name(name) if name else "",
               "household": self.household(house)}
        if phone:
            out["phone_masked"] = person.get("phone_masked") or data.get("phone_masked") or ""
            out["phone"] = person.get("phone") or ""  # a resident's full number (office-only, for staff to call)
        return out

    def _person(self, subject: str | None, kind: str | None, ident: int | None) -> dict:
        if subject is None or ident is None:
            return {}
        if subject not in self._people:
            row: dict | None = None
            if kind == "resident":
                row = self.master.resident(ident)
            elif kind == "visitor":
                visitor = self.master.visitor_pass(ident)
                row = None if visitor is None else {"name": visitor.name, "household_id": visitor.host_household_id,
                                                    "phone_masked": self._pass_phone(ident)}
            elif kind == "volunteer":
                volunteer = self.master.volunteer(ident)
                row = None if volunteer is None else {"name": volunteer.get("name")}
            self._people[subject] = dict(row or {})
        return self._people[subject]

    def _pass_phone(self, pass_id: int) -> str:
        rows = self.master._db().execute("SELECT phone_masked FROM visitor_passes WHERE id = ?", [pass_id]).fetchall()
        return (rows[0][0] or "") if rows else ""


def readings_of(*datas: Mapping[str, Any] | None) -> dict:
    """Temperatures from an alarm's detail and its passage: ``{"temperature_c", "readings": [{object_c, source …}]}``."""
    temperature = None
    readings: list[dict] = []
    for data in datas:
        if not data:
            continue
        detail = data.get("detail")
        if not isinstance(detail, dict):
            detail = {}
        for value in (data.get("temperature_c"), detail.get("temperature_c")):
            if isinstance(value, (int, float)) and not isinstance(value, bool) and temperature is None:
                temperature = float(value)
        for r in data.get("readings") or []:
            if isinstance(r, dict):
                readings.append({k: r.get(k) for k in ("object_c", "ambient_c", "source", "taken_at", "fault")})
    return {"temperature_c": temperature, "readings": readings}


def placeholders(values: Iterable[Any]) -> str:
    """``?, ?, ?`` for a list of parameters."""
    return ", ".join("?" for _ in values)
