"""People and households, read-only: browse and search residents, households, cards, vehicles, volunteers.

Pages are keyset pages on the table's id (``after``: the previous page's
``next_after``). Residents' names are masked (mask_name); phones and ID
numbers only ever masked. Reads the master registry's own indexes (primary
keys, residents.household_id, cards (kind, subject_id), vehicles.plate).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from kiosk.office.queries.common import QueryError, clamp_limit, household_ref
from kiosk.privacy import mask_name
from kiosk.registry import Registry, household_label, normalise_plate

CARD_STATES = ("valid", "expired", "not_yet_valid", "revoked")


def _page(master: Registry, sql: str, params: list, after: int | None, limit: int, key: str = "id") -> tuple[list[dict], int | None]:
    size = clamp_limit(limit, 200)
    where = " AND ".join([sql] + ([f"{key} > ?"] if after is not None else [])) or "1 = 1"
    if after is not None:
        params = [*params, _int(after, "after")]
    table, _, cond = where.partition(" WHERE ")
    rows = [dict(r) for r in master._db().query(f"{table} WHERE {cond} ORDER BY {key} LIMIT ?", [*params, size + 1])]
    return rows[:size], (rows[size - 1][key.rpartition(".")[2]] if len(rows) > size else None)


def _int(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise QueryError(f"{what} 须为整数 / {what} must be an integer") from None


def _like(text: str | None) -> str | None:
    if text is None or not str(text).strip():
        return None
    return "%" + str(text).strip()[:32].replace("%", "").replace("_", "") + "%"


def residents(master: Registry, *, name: str | None = None, household: int | None = None, after: int | None = None,
              limit: int = 50) -> dict:
    """``{"rows": [{id, name_masked, phone_masked, id_masked, household {…}}], "next_after"}``."""
    sql = "SELECT id, name, household_id, phone_masked, id_masked FROM residents WHERE 1 = 1"
    params: list[Any] = []
    if _like(name):
        sql += " AND name LIKE ?"
        params.append(_like(name))
    if household is not None:
        sql += " AND household_id = ?"
        params.append(_int(household, "household"))
    rows, nxt = _page(master, sql, params, after, limit)
    cache: dict = {}
    return {"rows": [{"id": r["id"], "name_masked": mask_name(r["name"] or ""), "phone_masked": r["phone_masked"] or "",
                      "id_masked": r["id_masked"] or "", "household": household_ref(master, r["household_id"], cache)}
                     for r in rows], "next_after": nxt}


def households(master: Registry, *, building: str | None = None, unit: str | None = None, room: str | None = None,
               after: int | None = None, limit: int = 50) -> dict:
    """``{"rows": [{id, building, unit, room, label, residents (how many)}], "next_after"}``."""
    sql = "SELECT id, building, unit, room FROM households WHERE 1 = 1"
    params: list[Any] = []
    for column, value in (("building", building), ("unit", unit), ("room", room)):
        if value is not None and str(value).strip():
            sql += f" AND {column} = ?"
            params.append(str(value).strip()[:16])
    rows, nxt = _page(master, sql, params, after, limit)
    db = master._db()
    return {"rows": [{**r, "label": household_label(r["building"], r["unit"], r["room"]),
                      "residents": db.execute("SELECT COUNT(*) FROM residents WHERE household_id = ?", [r["id"]]).fetchone()[0]}
                     for r in rows], "next_after": nxt}


def card_state(card: dict, revoked: bool, today: date) -> str:
    """valid | expired | not_yet_valid | revoked, for a card row on ``today``."""
    if revoked:
        return "revoked"
    if card.get("valid_until") and str(card["valid_until"])[:10] < today.isoformat():
        return "expired"
    if card.get("valid_from") and str(card["valid_from"])[:10] > today.isoformat():
        return "not_yet_valid"
    return "valid"


def cards(master: Registry, *, today: date, kind: str | None = None, subject_id: int | None = None,
          state: str | None = None, after: int | None = None, limit: int = 50) -> dict:
    """``{"rows": [{id, kind, subject_id, valid_from, valid_until, issued_at, state, revocation {reason, revoked_at}
    | None}], "next_after"}``; ``state`` filters after reading (pages may then be short)."""
    if state is not None and state not in CARD_STATES:
        raise QueryError(f"卡状态须为 {', '.join(CARD_STATES)} / state must be one of {', '.join(CARD_STATES)}")
    sql = "SELECT c.id AS id, c.kind, c.subject_id, c.valid_from, c.valid_until, c.issued_at FROM cards c WHERE 1 = 1"
    params: list[Any] = []
    if kind:
        sql += " AND c.kind = ?"
        params.append(str(kind)[:16])
    if subject_id is not None:
        sql += " AND c.subject_id = ?"
        params.append(_int(subject_id, "subject_id"))
    rows, nxt = _page(master, sql, params, after, limit, key="c.id")
    out = []
    for r in rows:
        revocation = master.revocation(r["id"])
        row = {**r, "state": card_state(r, revocation is not None, today),
               "revocation": None if revocation is None else {"reason": revocation["reason"],
                                                              "revoked_at": revocation["revoked_at"]}}
        if state is None or row["state"] == state:
            out.append(row)
    return {"rows": out, "next_after": nxt}


def vehicles(master: Registry, *, plate: str | None = None, household: int | None = None, after: int | None = None,
             limit: int = 50) -> dict:
    """``{"rows": [{id, plate, household {…}, owner_resident_id}], "next_after"}`` (plate: exact, separators ignored)."""
    sql = "SELECT id, plate, household_id, owner_resident_id FROM vehicles WHERE 1 = 1"
    params: list[Any] = []
    if plate:
        sql += " AND plate = ?"
        params.append(normalise_plate(str(plate)[:32]))
    if household is not None:
        sql += " AND household_id = ?"
        params.append(_int(household, "household"))
    rows, nxt = _page(master, sql, params, after, limit)
    cache: dict = {}
    return {"rows": [{"id": r["id"], "plate": r["plate"], "household": household_ref(master, r["household_id"], cache),
                      "owner_resident_id": r["owner_resident_id"]} for r in rows], "next_after": nxt}


def volunteers(master: Registry, *, name: str | None = None, after: int | None = None, limit: int = 50) -> dict:
    """``{"rows": [{id, name, resident_id}], "next_after"}`` (never the PIN hash)."""
    sql = "SELECT id, name, resident_id FROM volunteers WHERE 1 = 1"
    params: list[Any] = []
    if _like(name):
        sql += " AND name LIKE ?"
        params.append(_like(name))
    rows, nxt = _page(master, sql, params, after, limit)
    return {"rows": rows, "next_after": nxt}
