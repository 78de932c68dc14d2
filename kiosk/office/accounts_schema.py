"""office.db tables for staff accounts, sign-in lockout, desk sessions and the audit log (see kiosk.office.accounts)."""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("kiosk.office.accounts")


@migrations()
def m001_sign_in_and_audit(db: sqlite_utils.Database) -> None:
    """Lockout counters, desk sessions and the audit log. Never edit a shipped migration: add a new one."""
    # Counted per name tried, known or not, so an unknown name behaves exactly like a known one.
    db["sign_in_failures"].create(
        {"name": str, "failures": int, "last_failure_at": str, "locked_until": str}, pk="name")
    db["sign_in_failures"].create_index(["last_failure_at"])  # the sweep of stale rows
    # Only the SHA-256 of a session id is kept: a copy of office.db signs nobody in.
    db["desk_sessions"].create(
        {"id_hash": str, "user_name": str, "csrf_token": str, "created_at": str, "last_seen_at": str,
         "address": str},
        pk="id_hash")
    db["desk_sessions"].create_index(["user_name"])  # ending one user's sessions on a reset or role change
    db["desk_sessions"].create_index(["last_seen_at"])  # the sweep of idle sessions
    db.execute(
        "CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL,"
        " action TEXT NOT NULL, target TEXT, detail TEXT, address TEXT)")
    # Newest first, filtered by actor or action (a prefix such as 'auth.'), or by time: each has its index.
    db.execute("CREATE INDEX audit_log_actor ON audit_log (actor, id)")
    db.execute("CREATE INDEX audit_log_action ON audit_log (action, id)")
    db.execute("CREATE INDEX audit_log_at ON audit_log (at)")
