"""The office's audit log: who did what, when, from where (sign-ins, alarm handling, registry and account changes).

Rows hold action *codes* (``auth.sign_in``, ``alarm.handled`` …), never
translated text: the desk translates them when it shows them. Other modules
call :func:`record` inside their own write transaction, so a change and its
audit row commit together::

    with store.writing() as db:
        ...  # the change
        audit.record(db, actor="li", action="alarm.handled", target=event_id, detail={"outcome": "retest_normal"})
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlite_utils

from kiosk.exc import KioskError

if TYPE_CHECKING:
    from kiosk.office.store import OfficeStore

# Action codes written by the accounts module; other modules use their own prefix (alarm., registry., gate.).
SIGN_IN = "auth.sign_in"
SIGN_IN_FAILED = "auth.sign_in_failed"
ACCOUNT_LOCKED = "auth.locked"  # the failure that locked the account
SIGN_IN_WHILE_LOCKED = "auth.sign_in_refused_locked"
SIGN_OUT = "auth.sign_out"
USER_ADDED = "user.added"
USER_ROLE_CHANGED = "user.role_changed"
USER_PASSWORD_RESET = "user.password_reset"
USER_UNLOCKED = "user.unlocked"

ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31}){0,3}$")
"""An action code: lower-case words joined by dots, e.g. ``alarm.handled``."""

MAX_FIELD = 200  # actor, target, address: cut to this many characters
MAX_DETAIL_BYTES = 8192
MAX_PAGE = 500


class AuditError(KioskError, ValueError):
    """A bad audit call or query (unknown action code shape, bad time, bad page size)."""


@dataclass(frozen=True)
class AuditPage:
    """One page of the log, newest first; ``next_before_id`` asks for the next (older) page, None at the end."""

    entries: list[dict[str, Any]]
    next_before_id: int | None


def _cut(text: object) -> str | None:
    return None if text is None else str(text)[:MAX_FIELD]


def record(db_or_store: sqlite_utils.Database | OfficeStore, actor: str, action: str, target: object = None,
           detail: dict[str, Any] | None = None, *, address: str | None = None, at: datetime | None = None) -> int:
    """Append one entry; returns its id.

    Given a ``sqlite_utils.Database`` (the one ``store.writing()`` yields) the
    row joins the caller's transaction; given the ``OfficeStore`` it is written
    in a transaction of its own. ``action`` is a code (see ``ACTION_PATTERN``);
    ``detail`` is JSON (over 8 KiB it is replaced by a note saying so).
    """
    if not isinstance(action, str) or not ACTION_PATTERN.match(action):
        raise AuditError(f"audit action must be a code like 'alarm.handled', got {str(action)[:60]!r}")
    text = json.dumps(detail or {}, ensure_ascii=False, default=str, separators=(",", ":"))
    if len(text.encode("utf-8")) > MAX_DETAIL_BYTES:
        text = json.dumps({"truncated": True, "bytes": len(text.encode("utf-8"))})
    row = [(at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds"), _cut(actor) or "?",
           action, _cut(target), text, _cut(address)]
    sql = "INSERT INTO audit_log (at, actor, action, target, detail, address) VALUES (?, ?, ?, ?, ?, ?)"
    if isinstance(db_or_store, sqlite_utils.Database):
        return int(db_or_store.execute(sql, row).lastrowid or 0)
    with db_or_store.writing() as db:
        return int(db.execute(sql, row).lastrowid or 0)


def _moment(value: datetime | str | None, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value
        try:
            value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise AuditError(f"{name}: expected an ISO date or time such as 2026-12-01T08:00+08:00, "
                             f"got {text[:40]!r}") from None
    if value.tzinfo is None:
        raise AuditError(f"{name}: give a time zone offset (e.g. +08:00)")
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


def search(store: OfficeStore, actor: str | None = None, action: str | None = None,
           since: datetime | str | None = None, until: datetime | str | None = None, limit: int = 50,
           before_id: int | None = None) -> AuditPage:
    """Entries newest first, filtered; ``action`` ending in ``.`` or ``.*`` is a prefix (``auth.*``: every sign-in entry).

    ``since`` is inclusive, ``until`` exclusive (datetimes with a zone, or ISO
    text). Page on with ``before_id=page.next_before_id``.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise AuditError(f"limit: expected 1 to {MAX_PAGE}, got {limit}")
    where: list[str] = []
    args: list[object] = []
    if actor:
        where.append("actor = ?")
        args.append(actor[:MAX_FIELD])
    if action:
        prefix = action[:-1] if action.endswith(".*") else action
        if prefix.endswith("."):
            # a range, not LIKE: SQLite's LIKE is case-insensitive and would not use the index
            where.append("action >= ? AND action < ?")
            args += [prefix, prefix[:-1] + "/"]  # '/' sorts right after '.'
        else:
            where.append("action = ?")
            args.append(action[:100])
    low, high = _moment(since, "since"), _moment(until, "until")
    if low:
        where.append("at >= ?")
        args.append(low)
    if high:
        where.append("at < ?")
        args.append(high)
    if before_id is not None:
        where.append("id < ?")
        args.append(int(before_id))
    sql = ("SELECT id, at, actor, action, target, detail, address FROM audit_log"
           + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC LIMIT ?")
    rows = list(store.database().query(sql, [*args, limit + 1]))
    entries = [{**r, "detail": json.loads(r["detail"]) if r["detail"] else {}} for r in rows[:limit]]
    return AuditPage(entries, entries[-1]["id"] if len(rows) > limit else None)
