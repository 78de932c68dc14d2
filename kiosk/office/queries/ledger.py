"""The ledger: passages, visitors, vehicles and temperature exceptions, filtered, paginated on the server.

Pages are keyset pages on ``(ts, gate_id, seq)``, newest first: the cursor
carries the last row's key and a fingerprint of the filters, so a cursor
from another search, or one changed by hand, is refused with a clear error
rather than giving a wrong page.

How each filter is served (the most selective one present leads):
``id_number`` → ``events_visitor_id_hash`` (the office's keyed hash; the number
itself is never stored); ``plate`` → ``events_vehicle_plate``; ``name``/``card``
→ the master registry gives the subjects, then ``events_subject_ts`` (a page
of each subject, merged), and visitors' typed names in ``events_kind_ts``
(visitor_name is in the index); ``household`` → its residents' subjects, and
its visitors in ``events_kind_ts``; otherwise (day, range, gate,
compound) one ordered scan of ``events_kind_ts`` per event kind, merged
here, so a month-long range costs as little as a day.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import heapq
import json
import re
from datetime import date, datetime
from typing import Any

from kiosk.office.queries.common import (
    DEFAULT_TIMEZONE,
    QueryError,
    Who,
    bound,
    clamp_limit,
    day_bounds,
    gate_ref,
    gates_by_id,
    gates_of_compound,
    loads,
    parse_time,
    placeholders,
    zone,
)
from kiosk.office.store import OfficeStore
from kiosk.privacy import id_number_hash, is_valid_id_number
from kiosk.registry import Registry, normalise_plate

# ledger category -> the event kinds it covers
CATEGORIES: dict[str, tuple[str, ...]] = {
    "passage": ("passage",),
    "visitor": ("visitor_registration",),
    "vehicle": ("vehicle",),
    "temperature_exception": ("passage", "vehicle", "visitor_registration", "passage_abandoned"),
}
CATEGORY_OF = {"passage": "passage", "passage_abandoned": "passage", "visitor_registration": "visitor",
               "vehicle": "vehicle"}
DEFAULT_FEVER_C = 37.3  # kiosk.config.policy fever_threshold_c's default
MAX_SUBJECTS = 200  # a name matching more residents than this is too vague: the page says "truncated"
_COLUMNS = "gate_id, seq, ts, kind, subject, household_id, volunteer_id, data, direction, verdict, temperature_c"


def search(store: OfficeStore, master: Registry, *, kinds: list[str] | None = None, day: date | None = None,
           start: datetime | str | None = None, end: datetime | str | None = None, tz: str = DEFAULT_TIMEZONE,
           compound: str | None = None, gate: str | None = None, name: str | None = None,
           household: int | None = None, plate: str | None = None, card: int | None = None,
           id_number: str | None = None, visitor_key: str | None = None, limit: int = 50, cursor: str | None = None,
           fever_c: float = DEFAULT_FEVER_C) -> dict:
    """``{"rows": [row, …], "next_cursor": str | None, "truncated": bool}``, newest first.

    ``kinds``: any of passage, visitor, vehicle, temperature_exception (default: the first three; a temperature
    exception is a passage-like event whose decided temperature is at or above ``fever_c``). ``day`` (in ``tz``)
    or ``start``/``end`` (aware; end exclusive). A row: ``{"gate" {id, name, compound}, "seq", "ts", "kind",
    "category", "direction", "verdict", "prompt", "reasons", "temperature_c", "temperature_exception", "who"
    {subject, subject_kind, subject_id, name_masked, household}, "plate", "card_id", "volunteer_id", "visitor"
    {name_masked, phone_masked, id_masked, coming_from, reason} | None}``. Raises QueryError (zh-CN first) for
    an unknown kind, a malformed ID number, a bad time or a cursor not from this search.
    """
    size = clamp_limit(limit)
    categories = list(dict.fromkeys(kinds or ("passage", "visitor", "vehicle")))
    unknown = [k for k in categories if k not in CATEGORIES]
    if unknown:
        raise QueryError(f"未知台账类别 {str(unknown[0])[:40]!r} / unknown ledger kind; one of {', '.join(CATEGORIES)}")
    lo, hi = _range(day, start, end, tz)
    if visitor_key is not None and not re.fullmatch(r"[0-9a-f]{16,128}|none", visitor_key):
        raise QueryError("访客查询参数不对 / not a visitor key from this office")
    fingerprint = _fingerprint(categories, lo, hi, compound, gate, name, household, plate, card, id_number, visitor_key,
                               fever_c)
    after = _decode(cursor, fingerprint) if cursor else None
    gate_ids = [str(gate)[:64]] if gate else (gates_of_compound(store, str(compound)[:64]) if compound else None)
    if gate and compound and str(gate)[:64] not in gates_of_compound(store, str(compound)[:64]):
        return {"rows": [], "next_cursor": None, "truncated": False}

    event_kinds = list(dict.fromkeys(k for c in categories for k in CATEGORIES[c]))
    exception_kinds = set(CATEGORIES["temperature_exception"]) if "temperature_exception" in categories else set()
    plain_kinds = {k for c in categories if c != "temperature_exception" for k in CATEGORIES[c]}
    truncated = False
    # a selective filter leads: one or more streams, each a few matches sorted (WHERE terms, params)
    leads: list[tuple[list[str], list[Any]]] = []
    visitors_only: list[tuple[list[str], list[Any]]] = []  # streams that can only match visitor registrations
    if id_number is not None or visitor_key is not None:
        key = _id_hash(store, id_number) if id_number is not None else visitor_key
        if key is None or key == "none":
            return {"rows": [], "next_cursor": None, "truncated": False}
        visitors_only.append((["kind = 'visitor_registration'", "id_hash = ?"], [key]))  # events_visitor_id_hash
    elif plate is not None:  # events_vehicle_plate
        leads.append((["kind = 'vehicle'", "plate = ?"], [normalise_plate(str(plate)[:32])]))
    elif name is not None or card is not None:
        subjects, truncated, visitor_name = _subjects(master, name, card)
        if not subjects and visitor_name is None:
            return {"rows": [], "next_cursor": None, "truncated": False}
        # One stream per subject (events_subject_ts, newest first, at most a page each): a name matching 200
        # residents reads 200 short runs, not every event of all 200 sorted; and never an OR with the visitors'
        # names, which made SQLite give up the index and read every passage.
        for subject in subjects:
            terms, p = ["subject = ?"], list[Any]([subject])
            if card is not None:
                terms.append("card_id = ?")
                p.append(int(card))
            leads.append((terms, p))
        if visitor_name is not None:  # a visitor is named only in the registration's own data: visitor_name is
            # the last column of events_kind_ts, so the LIKE is checked in the index, before any row is read
            visitors_only.append((["kind = 'visitor_registration'", "visitor_name LIKE ?"], [visitor_name]))
    elif household is not None:  # its residents by subject (events_subject_ts), its visitors by host household
        residents = [f"resident:{r['id']}" for r in master.residents_of(int(household))][:MAX_SUBJECTS]
        if residents:
            leads.append(([f"subject IN ({placeholders(residents)})"], residents))
        # host household: household_id is in events_kind_ts, checked in the index
        visitors_only.append((["kind = 'visitor_registration'", "household_id = ?"], [int(household)]))

    streams: list[tuple[str, list]] = []  # (WHERE, params) per ordered stream
    if leads or visitors_only:
        for terms, p in leads:
            kind_terms = _kind_terms(event_kinds, plain_kinds, exception_kinds, p, fever_c)
            streams.append((" AND ".join([*terms, *kind_terms]), p))
        if "visitor_registration" in event_kinds:
            for terms, p in visitors_only:
                kind_terms = _kind_terms(["visitor_registration"], plain_kinds, exception_kinds, p, fever_c)
                streams.append((" AND ".join([*terms, *kind_terms]), p))
        if not streams:
            return {"rows": [], "next_cursor": None, "truncated": truncated}
    else:
        for kind in event_kinds:  # one ordered index scan per kind (events_kind_ts), merged below
            terms = ["kind = ?"]
            p = list[Any]([kind])
            if kind not in plain_kinds:
                terms.append("temperature_c >= ?")
                p.append(fever_c)
            streams.append((" AND ".join(terms), p))
    rows = _merge(store, streams, lo, hi, gate_ids, after, size + 1)
    page = rows[:size]
    gates, who = gates_by_id(store), Who(master)
    out = [_row(r, gates, who, fever_c) for r in page]
    next_cursor = _encode(page[-1], fingerprint) if len(rows) > size else None
    return {"rows": out, "next_cursor": next_cursor, "truncated": truncated}


# -- access paths -------------------------------------------------------------


def _kind_terms(event_kinds: list[str], plain: set[str], exception: set[str], params: list, fever_c: float) -> list[str]:
    plain_list = [k for k in event_kinds if k in plain]
    extra = [k for k in event_kinds if k in exception and k not in plain]
    alternatives = []
    if plain_list:
        alternatives.append(f"kind IN ({placeholders(plain_list)})")
        params += plain_list
    if extra:
        alternatives.append(f"(kind IN ({placeholders(extra)}) AND temperature_c >= ?)")
        params += [*extra, fever_c]
    return [f"({' OR '.join(alternatives)})"]


def _merge(store: OfficeStore, streams: list[tuple[str, list]], lo: str | None, hi: str | None,
           gate_ids: list[str] | None, after: tuple[str, str, int] | None, n: int) -> list[tuple]:
    """The newest ``n`` rows of all streams together (each row once), newest first.

    Once ``n`` rows are held, each further stream is asked only for rows newer
    than the oldest of them: a name matching 200 residents reads a page for the
    first few and a handful for the rest, not 200 pages.
    """
    db = store.database()
    held: dict[tuple[str, int], tuple] = {}

    def key(row: tuple) -> tuple[str, str, int]:
        return row[2], row[0], row[1]

    for where, params in streams:
        terms, p = [where], list(params)
        if lo is not None:
            terms.append("ts >= ?")
            p.append(lo)
        if hi is not None:
            terms.append("ts < ?")
            p.append(hi)
        if gate_ids is not None:
            terms.append(f"gate_id IN ({placeholders(gate_ids)})")
            p += gate_ids
        if after is not None:
            ts, gate_id, seq = after
            terms.append("ts <= ? AND (ts < ? OR gate_id < ? OR (gate_id = ? AND seq < ?))")
            p += [ts, ts, gate_id, gate_id, seq]
        if len(held) >= n:  # only what would make this page: newer than the oldest row held
            ts, gate_id, seq = min(key(r) for r in held.values())
            terms.append("ts >= ? AND (ts > ? OR gate_id > ? OR (gate_id = ? AND seq > ?))")
            p += [ts, ts, gate_id, gate_id, seq]
        for row in db.execute(f"SELECT {_COLUMNS} FROM events WHERE {' AND '.join(terms)}"
                              " ORDER BY ts DESC, gate_id DESC, seq DESC LIMIT ?", [*p, n]):
            held[(row[0], row[1])] = row
        if len(held) > n:
            held = {(r[0], r[1]): r for r in heapq.nlargest(n, held.values(), key=key)}
    return sorted(held.values(), key=key, reverse=True)[:n]


def _subjects(master: Registry, name: str | None, card: int | None) -> tuple[list[str], bool, str | None]:
    """The subjects a name or card stands for (from the master registry), whether that was cut short, and the
    LIKE pattern visitors' typed names are matched with."""
    db = master._db()
    subjects: list[str] = []
    truncated = False
    pattern = None
    if card is not None:
        found = master.card(int(card))
        if found is None:
            raise QueryError(f"登记中没有卡号 {int(card)} / no card {int(card)} in the registry")
        subjects = [f"{found['kind']}:{found['subject_id']}"]
    if name is not None:
        text = str(name).strip()[:32]
        if not text:
            raise QueryError("请输入姓名 / type a name to search for")
        pattern = "%" + text.replace("\\", "").replace("%", "").replace("_", "") + "%"
        rows = db.execute("SELECT id FROM residents WHERE name LIKE ? ORDER BY id LIMIT ?",
                          [pattern, MAX_SUBJECTS + 1]).fetchall()
        truncated = len(rows) > MAX_SUBJECTS
        named = [f"resident:{r[0]}" for r in rows[:MAX_SUBJECTS]]
        named += [f"visitor:{r[0]}" for r in db.execute(
            "SELECT id FROM visitor_passes WHERE name LIKE ? ORDER BY id LIMIT ?", [pattern, MAX_SUBJECTS]).fetchall()]
        subjects = [s for s in subjects if s in named] if card is not None else named
        if card is not None:
            pattern = None  # a card names a holder: typed visitor names are not the card's
    return subjects, truncated, pattern


def visitor_key(store: OfficeStore, id_number: str) -> str:
    """What a page may carry in its URL instead of a visitor's ID number: the office's keyed hash of it (``none``
    before any visitor was hashed). QueryError for a malformed number."""
    return _id_hash(store, id_number) or "none"


def _id_hash(store: OfficeStore, id_number: str) -> str | None:
    """The keyed hash a visitor's ID number is stored under; QueryError for a malformed number."""
    from kiosk.office.roster import IdHashKeyError, load_id_hash_key

    text = str(id_number)[:40]
    if not is_valid_id_number(text):
        raise QueryError("身份证号格式不对(18 位,末位校验码) / not a valid 18-character ID number (check digit)")
    try:
        key = load_id_hash_key(store.path.parent, create=False)
    except IdHashKeyError:
        return None  # no key yet: no visitor was ever hashed, so none can match
    return id_number_hash(text, key)


def _range(day: date | None, start: Any, end: Any, tz: str) -> tuple[str | None, str | None]:
    if day is not None and (start is not None or end is not None):
        raise QueryError("请选择日期或起止时间之一 / give a day or a start/end, not both")
    if day is not None:
        return day_bounds(day, zone(tz))
    lo = bound(parse_time(start, "start")) if start is not None else None
    hi = bound(parse_time(end, "end")) if end is not None else None
    if lo is not None and hi is not None and hi <= lo:
        raise QueryError("结束时间须晚于开始时间 / end must be after start")
    return lo, hi


# -- rows and cursors -----------------------------------------------------------


def _row(r: tuple, gates: dict, who: Who, fever_c: float) -> dict:
    gate_id, seq, ts, kind, subject, household_id, volunteer_id, text, direction, verdict, temperature = r
    data = loads(text)
    card = data.get("card") if isinstance(data.get("card"), dict) else None
    visitor = None
    if kind == "visitor_registration":
        from kiosk.privacy import mask_name
        from kiosk.visitor_reasons import reason_code

        visitor = {"name_masked": mask_name(str(data.get("name") or "")), "phone_masked": data.get("phone_masked") or "",
                   "id_masked": data.get("id_masked") or "", "coming_from": data.get("coming_from") or "",
                   "reason": reason_code(data.get("reason")) or ""}  # a code, for old rows (a label) too
    return {
        "gate": gate_ref(gates, gate_id), "seq": seq, "ts": ts, "kind": kind, "category": CATEGORY_OF.get(kind, kind),
        "direction": direction, "verdict": verdict, "prompt": data.get("prompt"),
        "reasons": [x for x in data.get("reasons") or [] if isinstance(x, str)],
        "temperature_c": temperature,
        "temperature_exception": isinstance(temperature, (int, float)) and temperature >= fever_c,
        "who": who.of(subject, household_id, data), "plate": data.get("plate"),
        "card_id": card.get("card_id") if card else None, "volunteer_id": volunteer_id, "visitor": visitor,
    }


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, default=str, ensure_ascii=False).encode()).hexdigest()[:16]


def _encode(row: tuple, fingerprint: str) -> str:
    body = json.dumps([row[2], row[0], row[1], fingerprint], separators=(",", ":"))
    check = hashlib.sha256(body.encode()).hexdigest()[:8]
    return base64.urlsafe_b64encode(f"{body}|{check}".encode()).decode().rstrip("=")


def _decode(cursor: str, fingerprint: str) -> tuple[str, str, int]:
    bad = QueryError("翻页参数无效或已被改动,请重新查询 / the page cursor is not valid (changed?): search again")
    if not isinstance(cursor, str) or len(cursor) > 400:
        raise bad
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        body, _, check = text.rpartition("|")
        if hashlib.sha256(body.encode()).hexdigest()[:8] != check:
            raise bad
        ts, gate_id, seq, mark = json.loads(body)
    except (ValueError, binascii.Error, UnicodeError, TypeError):
        raise bad from None
    if mark != fingerprint:
        raise QueryError("翻页参数属于另一次查询,请重新查询 / the page cursor belongs to another search: search again")
    if not (isinstance(ts, str) and isinstance(gate_id, str) and isinstance(seq, int)) or len(ts) > 40:
        raise bad
    return ts, gate_id, seq
