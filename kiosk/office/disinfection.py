"""The disinfection log (消杀): rounds per compound and day, from the desk and from the gates, against what is due.

Two sources, read together and never copied into each other:

- the desk (or ``kiosk office disinfection add``) records a round into office.db's ``disinfection_rounds``
  (``source`` "office": compound, area, agent, who did it, when, a note; who recorded it is in the audit log too);
- a volunteer records one at a gate's touchscreen: the gate journals a ``disinfection`` event (kiosk/gate/
  disinfection.py) that reaches the office with the rest of its events; it is read from ``events`` by kind and
  time (index ``events_kind_ts``); its compound is the gate's (``gates.compound``). A flagged event (data that
  did not fit its schema) is not counted.

Compounds are the households' ``compound`` values and the gates' compounds; NULL (a household or gate with no
compound) is the office's one compound: the compound its gates name when they name exactly one, else the office's
name, else 本社区. Each compound needs ``followup.disinfection_rounds_per_day`` rounds a day; fewer is flagged.
Areas and agents are codes of kiosk/disinfection_codes.py or the community's own words, stored as given.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from kiosk.disinfection_codes import AGENTS, AREAS, MAX_NOTE, MAX_TEXT, word
from kiosk.office.compounds import office_compound
from kiosk.office.queries.common import day_bounds, gates_by_id, loads, parse_ts, zone
from kiosk.office.store import OfficeStore, OfficeStoreError
from kiosk.registry import Registry

MAX_BY = 40
MAX_BACK_DAYS = 31  # a round recorded later than this is a mistake in the date, not a late entry
FUTURE_SLACK = timedelta(minutes=5)  # a PC's clock a little ahead is not a round in the future
MAX_ENTRIES_PER_DAY = 2000  # per source: far beyond any day's rounds, so one day's read is bounded


# The two reads of a span (index idx_disinfection_rounds_day_compound; events_kind_ts, a gate's few rounds a day).
OFFICE_ROUNDS_SQL = ("SELECT id, compound, area, agent, done_by, done_at, day, note, recorded_by FROM disinfection_rounds"
                     " WHERE day >= ? AND day <= ? ORDER BY done_at, id")
GATE_ROUNDS_SQL = ("SELECT gate_id, seq, ts, volunteer_id, data FROM events WHERE kind = 'disinfection' AND ts >= ?"
                   " AND ts < ? AND flag IS NULL ORDER BY ts, gate_id, seq")


class DisinfectionError(OfficeStoreError):
    """A round refused: the message is zh-CN, then English; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


# -- compounds ----------------------------------------------------------------------------------------------


def compounds(store: OfficeStore, master: Registry, office_name: str = "") -> list[str]:
    """Every compound: the households' and the gates' (the office's one compound for those with none), sorted."""
    db = master._db()
    found = {r[0] for r in db.execute("SELECT DISTINCT compound FROM households WHERE compound IS NOT NULL"
                                      " AND compound != ''").fetchall()}
    unnamed = db.execute("SELECT 1 FROM households WHERE compound IS NULL OR compound = '' LIMIT 1").fetchone()
    gates = gates_by_id(store)
    found |= {g["compound"] for g in gates.values() if g["compound"]}
    if unnamed or any(not g["compound"] for g in gates.values()) or not found:
        found.add(office_compound(store, office_name))
    return sorted(str(c) for c in found)


# -- recording ----------------------------------------------------------------------------------------------


def _text(value: Any, field: str, zh: str, limit: int, *, required: bool = True) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise DisinfectionError(f"{zh}不能为空 / {field} is empty", field)
    if len(text) > limit:
        raise DisinfectionError(f"{zh}最多 {limit} 字 / {field} is longer than {limit} characters", field)
    return text


def parse_at(text: str, tz: str, now: datetime | None = None) -> datetime:
    """When a round was done, as typed: ``08:30`` (today), ``2026-12-01 08:30`` / ``2026-12-01T08:30`` (the
    community's time), or ISO 8601 with an offset; DisinfectionError for anything else."""
    z = zone(tz)
    raw = str(text or "").strip()[:40]
    now = (now or datetime.now(UTC)).astimezone(z)
    try:
        if len(raw) <= 5 and ":" in raw:
            moment = datetime.combine(now.date(), time.fromisoformat(raw.zfill(5)), z)
        else:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=z)
    except ValueError:
        raise DisinfectionError(f"时间格式应为 08:30 或 2026-12-01 08:30，收到 {raw!r} / "
                                "write the time as 08:30 or 2026-12-01 08:30", "done_at") from None
    return moment


def add_round(store: OfficeStore, master: Registry, *, compound: str, area: str, agent: str, done_by: str,
              recorded_by: str, tz: str, done_at: datetime | None = None, note: str = "", office_name: str = "",
              now: datetime | None = None, address: str | None = None) -> dict:
    """Record a round done in ``compound`` (one of ``compounds``) and write it into the audit log; the stored row.

    ``done_at`` (aware; default now) may be up to 31 days back, never in the future. DisinfectionError names the
    field at fault; nothing is stored then.
    """
    z = zone(tz)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    known = compounds(store, master, office_name)
    compound = " ".join(str(compound or "").split())
    if compound not in known:
        raise DisinfectionError(f"没有小区 {compound[:40]!r}，可选：{'、'.join(known)} / no such compound: one of "
                                f"{', '.join(known)}", "compound")
    area = _text(area, "area", "消杀区域", MAX_TEXT)
    agent = _text(agent, "agent", "消毒剂", MAX_TEXT)
    done_by = _text(done_by, "done_by", "消杀人", MAX_BY)
    note = _text(note, "note", "备注", MAX_NOTE, required=False)
    moment = now if done_at is None else done_at
    if moment.tzinfo is None:
        raise DisinfectionError("时间须带时区 / done_at must carry its time zone", "done_at")
    moment = moment.astimezone(UTC)
    if moment > now + FUTURE_SLACK:
        raise DisinfectionError("消杀时间不能晚于现在 / a round cannot be in the future", "done_at")
    if moment < now - timedelta(days=MAX_BACK_DAYS):
        raise DisinfectionError(f"消杀时间不能早于 {MAX_BACK_DAYS} 天前 / a round more than {MAX_BACK_DAYS} days "
                                "back is a mistake in the date", "done_at")
    row = {"compound": compound, "area": area, "agent": agent, "done_by": done_by,
           "done_at": moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
           "day": moment.astimezone(z).date().isoformat(), "note": note,
           "recorded_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"), "recorded_by": recorded_by}
    from kiosk.office import audit

    with store.writing() as db:
        row_id = db["disinfection_rounds"].insert(row).last_pk
        audit.record(db, recorded_by or "?", "disinfection.recorded", compound,
                     {"id": row_id, "area": area, "agent": agent, "done_by": done_by, "done_at": row["done_at"]},
                     address=address)
    return {"id": row_id, **row}


# -- reading ------------------------------------------------------------------------------------------------


class _Names:
    """Gates' names and compounds, volunteers' names: looked up once per call."""

    def __init__(self, store: OfficeStore, master: Registry, office_name: str):
        self.master = master
        self.gates = gates_by_id(store)
        self.default = office_compound(store, office_name)
        self._volunteers: dict[str, str] = {}

    def compound_of_gate(self, gate_id: str) -> str:
        return (self.gates.get(gate_id) or {}).get("compound") or self.default

    def gate(self, gate_id: str) -> str:
        return (self.gates.get(gate_id) or {}).get("name") or gate_id

    def volunteer(self, volunteer_id: str | None) -> str:
        vid = str(volunteer_id or "")
        if vid not in self._volunteers:
            row = self.master.volunteer(int(vid)) if vid.isdigit() and len(vid) <= 12 else None
            self._volunteers[vid] = str((row or {}).get("name") or (f"志愿者 {vid}" if vid else ""))
        return self._volunteers[vid]


def _local(ts: str | None, z: Any) -> tuple[str, str]:
    moment = parse_ts(ts)
    if moment is None:
        return "", ""
    local = moment.astimezone(z)
    return local.strftime("%Y-%m-%d %H:%M"), local.date().isoformat()


def _entries(store: OfficeStore, names: _Names, first: date, last: date, tz: str,
             limit: int | None = None) -> list[dict]:
    """Every round from ``first`` to ``last`` (local days, inclusive), oldest first, both sources."""
    z = zone(tz)
    db = store.database()
    out: list[dict] = []
    sql = OFFICE_ROUNDS_SQL
    params: list[Any] = [first.isoformat(), last.isoformat()]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    for rid, compound, area, agent, done_by, done_at, day, note, recorded_by in db.execute(sql, params):
        at, _ = _local(done_at, z)
        out.append({"id": f"office:{rid}", "at": at, "at_utc": done_at, "day": day, "compound": compound,
                    "area": area, "agent": agent, "by": done_by, "source": "office", "gate": None,
                    "note": note or "", "recorded_by": recorded_by})
    lo, _ = day_bounds(first, tz)
    _, hi = day_bounds(last, tz)
    sql = GATE_ROUNDS_SQL
    params = [lo, hi]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    for gate_id, seq, ts, volunteer_id, data in db.execute(sql, params):
        values = loads(data)
        at, day = _local(ts, z)
        out.append({"id": f"gate:{gate_id}:{seq}", "at": at, "at_utc": ts, "day": day,
                    "compound": names.compound_of_gate(gate_id), "area": str(values.get("area") or ""),
                    "agent": str(values.get("agent") or ""), "by": names.volunteer(volunteer_id), "source": "gate",
                    "gate": names.gate(gate_id), "note": str(values.get("note") or ""), "recorded_by": None})
    out.sort(key=lambda e: (parse_ts(e["at_utc"]) or datetime.min.replace(tzinfo=UTC), e["id"]))
    return out


def day_status(store: OfficeStore, master: Registry, day: date, tz: str, per_day: int, *,
               office_name: str = "") -> list[dict]:
    """Per compound on ``day``: ``[{"compound", "rounds", "required", "done", "missing", "entries": [{"at" (local
    ``YYYY-MM-DD HH:MM``), "at_utc", "area", "agent", "by", "source" ("office" | "gate"), "gate" (its name, None
    from the desk), "note", "id"}]}]``, every compound (none done is a compound with 0 rounds), sorted by name."""
    names = _Names(store, master, office_name)
    entries = _entries(store, names, day, day, tz, limit=MAX_ENTRIES_PER_DAY)
    by_compound: dict[str, list[dict]] = {c: [] for c in compounds(store, master, office_name)}
    for e in entries:
        by_compound.setdefault(e["compound"], []).append(e)
    required = max(1, int(per_day))
    return [{"compound": c, "rounds": len(es), "required": required, "done": len(es) >= required,
             "missing": max(0, required - len(es)),
             "entries": [{k: e[k] for k in ("at", "at_utc", "area", "agent", "by", "source", "gate", "note", "id")}
                         for e in es]}
            for c, es in sorted(by_compound.items())]


def export_rows(store: OfficeStore, master: Registry, first: date, last: date, tz: str, *,
                office_name: str = "") -> Iterator[dict]:
    """Every round of a range (oldest first): ``{"day", "at" (local), "compound", "area", "agent", "area_text",
    "agent_text" (Chinese words), "by", "source", "source_text" (办公室登记 | 门岗登记), "gate", "note",
    "recorded_by"}``, a day at a time."""
    names = _Names(store, master, office_name)
    day = first
    while day <= last:
        for e in _entries(store, names, day, day, tz):
            yield {"day": e["day"], "at": e["at"], "compound": e["compound"], "area": e["area"], "agent": e["agent"],
                   "area_text": word(AREAS, e["area"]), "agent_text": word(AGENTS, e["agent"]), "by": e["by"],
                   "source": e["source"], "source_text": "门岗登记" if e["source"] == "gate" else "办公室登记",
                   "gate": e["gate"] or "", "note": e["note"], "recorded_by": e["recorded_by"] or ""}
        day += timedelta(days=1)


def demo_seed(store: OfficeStore, master: Registry, today: date, tz: str) -> int:
    """The demo's log: two rounds a compound yesterday, this morning's round today (the second is still due, so
    the desk flags it). Recorded by ``demo``; a second call adds nothing. Returns the rounds added."""
    db = store.database()
    if db.execute("SELECT 1 FROM disinfection_rounds WHERE recorded_by = 'demo' LIMIT 1").fetchone():
        return 0
    z = zone(tz)
    now = datetime.now(UTC)
    plan = [(today - timedelta(days=1), "08:10", "public_areas", "chlorine", "保洁 张师傅"),
            (today - timedelta(days=1), "16:40", "stairwells", "chlorine", "保洁 张师傅"),
            (today, "08:05", "lifts", "alcohol", "保洁 李阿姨")]
    added = 0
    for compound in compounds(store, master):
        for day, hhmm, area, agent, by in plan:
            moment = datetime.combine(day, time.fromisoformat(hhmm), z)
            if moment.astimezone(UTC) > now:
                continue  # the demo started before 08:05: this morning's round is not done yet
            add_round(store, master, compound=compound, area=area, agent=agent, done_by=by, recorded_by="demo",
                      tz=tz, done_at=moment, now=now)
            added += 1
    return added
