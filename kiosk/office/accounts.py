"""Staff accounts at the office desk: roles, sign-in with lockout, server-side sessions.

- **Roles** (:class:`Role`): ``viewer`` (read only, e.g. the sub-district) <
  ``staff`` (registry, alarms) < ``admin`` (staff accounts, gates, keys);
  :func:`can` says whether a role may do an action.
- **Sign-in** checks the scrypt hash kept in ``users``. ``LOCK_AFTER_FAILURES``
  wrong passwords in a row lock the name for ``LOCK_DURATION``; the count and
  the lock are rows of office.db, so a restart changes nothing. A name nobody
  has is verified against a dummy hash and counted and locked the same way,
  so neither the time taken nor the answers tell which names exist.
- **Sessions** are rows keyed by the SHA-256 of a random id (the id itself
  lives only in the browser's cookie), ended by signing out, by
  ``SESSION_IDLE`` without a request, or by a password reset or role change.

Every sign-in, failure, lock, sign-out and account change is written to the
audit log (kiosk.office.audit) in the same transaction.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from kiosk.credentials import hash_secret, verify_secret
from kiosk.office import audit
from kiosk.office.store import OfficeStore, OfficeStoreError, new_token, token_hash

LOCK_AFTER_FAILURES = 5
LOCK_DURATION = timedelta(minutes=15)
FAILURE_MEMORY = timedelta(hours=24)  # failures older than this are forgotten
SESSION_IDLE = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is rewritten at most this often (one write per page, not per request)
MAX_NAME = 64
MAX_PASSWORD = 1024
MIN_PASSWORD = 8  # for passwords people choose (CLI, desk); the library itself takes any non-empty one

NAME_PATTERN = re.compile(r"[\w.@\-]{1,64}")
"""A staff name: letters (any script), digits, ``.``, ``@``, ``-``, ``_``; no spaces."""


class Role(StrEnum):
    """What a staff account may do; each role may do everything the ones below it may."""

    VIEWER = "viewer"
    STAFF = "staff"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """0 viewer, 1 staff, 2 admin."""
        return _RANKS[self]

    def at_least(self, other: Role | str) -> bool:
        """True when this role may do what ``other`` may."""
        return self.rank >= Role(other).rank


_RANKS = {Role.VIEWER: 0, Role.STAFF: 1, Role.ADMIN: 2}

ACTIONS: dict[str, Role] = {
    "read": Role.VIEWER,  # every desk screen, the ledger, contact traces
    "handle_alarm": Role.STAFF,
    "edit_registry": Role.STAFF,
    "read_audit": Role.ADMIN,
    "manage_users": Role.ADMIN,
    "manage_gates": Role.ADMIN,
    "manage_keys": Role.ADMIN,
}
"""Each desk action and the least role allowed to do it."""


def can(role: Role | str | None, action: str) -> bool:
    """Whether ``role`` may do ``action`` (a key of ``ACTIONS``); an unknown role or action may do nothing."""
    try:
        return role is not None and Role(role).at_least(ACTIONS[action])
    except (KeyError, ValueError):
        return False


class AccountError(OfficeStoreError):
    """A bad account request (name, role or password); the message says what to change."""


@dataclass(frozen=True)
class StaffUser:
    """A signed-in staff member."""

    name: str
    role: Role


@dataclass(frozen=True)
class DeskSession:
    """A live desk session: who, its CSRF token, and when it began."""

    user: StaffUser
    csrf_token: str
    created_at: datetime
    id_hash: str


@dataclass(frozen=True)
class SignInResult:
    """The answer to a sign-in: ``outcome`` is ``ok``, ``wrong`` or ``locked`` (codes; the page translates them).

    On ``ok``, ``session_id`` is the cookie's value (shown once, never stored)
    and ``session`` the session. On ``locked``, ``locked_until`` says when the
    name may try again.
    """

    outcome: str
    session_id: str | None = None
    session: DeskSession | None = None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        """True when signed in."""
        return self.outcome == "ok"


@functools.cache
def _dummy_hash() -> str:
    # Same scrypt cost as a real hash: a name nobody has takes as long to refuse as a wrong password.
    return hash_secret(secrets.token_urlsafe(16))


def session_hash(session_id: str) -> str:
    """The stored form of a session id (256-bit random, so a plain SHA-256 is enough)."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def check_name(name: str) -> str:
    """A valid staff name (stripped), or AccountError."""
    name = (name or "").strip()
    if not NAME_PATTERN.fullmatch(name):
        raise AccountError(f"staff name {name[:80]!r}: use 1 to {MAX_NAME} letters, digits, '.', '@', '-' or '_' "
                           "(no spaces)")
    return name


def check_role(role: str) -> Role:
    """The Role named ``role``, or AccountError."""
    try:
        return Role(role)
    except ValueError:
        raise AccountError(f"role must be viewer, staff or admin, got {str(role)[:40]!r}") from None


def check_new_password(password: str) -> str:
    """A password a person chose: MIN_PASSWORD to MAX_PASSWORD characters, or AccountError."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"password: use {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


class Accounts:
    """Staff accounts, sign-in and desk sessions over an OfficeStore; ``clock`` is injectable for tests."""

    def __init__(self, store: OfficeStore, *, clock: Callable[[], datetime] | None = None,
                 lock_after: int = LOCK_AFTER_FAILURES, lock_for: timedelta = LOCK_DURATION,
                 idle: timedelta = SESSION_IDLE):
        self.store = store
        self.clock = clock or (lambda: datetime.now(UTC))
        self.lock_after, self.lock_for, self.idle = lock_after, lock_for, idle

    # -- accounts ------------------------------------------------------------

    def add_user(self, name: str, role: str, password: str | None = None, *, actor: str = "system",
                 address: str | None = None) -> str:
        """Add a staff account, or reset one (new token, new password, maybe a new role); returns its API token.

        Resetting an account ends its desk sessions. Password and token are
        stored only as hashes.
        """
        name, role_ = check_name(name), check_role(role)
        if password is not None and not 0 < len(password) <= MAX_PASSWORD:
            raise AccountError(f"password: use 1 to {MAX_PASSWORD} characters")
        token = new_token("staff")
        password_hash = hash_secret(password) if password else None  # outside the write lock: scrypt is slow
        with self.store.writing() as db:
            old = next(iter(db["users"].rows_where("name = ?", [name], limit=1)), None)
            db["users"].upsert(
                {"name": name, "role": role_.value, "password_hash": password_hash, "token_hash": token_hash(token),
                 "created_at": old["created_at"] if old else _iso(self.clock())},
                pk="name")
            if old is None:
                audit.record(db, actor, audit.USER_ADDED, name, {"role": role_.value}, address=address,
                             at=self.clock())
            else:
                ended = self._end_sessions(db, name)
                if old["role"] != role_.value:
                    audit.record(db, actor, audit.USER_ROLE_CHANGED, name, {"from": old["role"], "to": role_.value},
                                 address=address, at=self.clock())
                audit.record(db, actor, audit.USER_PASSWORD_RESET, name, {"sessions_ended": ended},
                             address=address, at=self.clock())
                db.execute("DELETE FROM sign_in_failures WHERE name = ?", [name])
        return token

    def set_role(self, name: str, role: str, *, actor: str, address: str | None = None) -> None:
        """Change an account's role; ends its desk sessions (it signs in again under the new role)."""
        role_ = check_role(role)
        with self.store.writing() as db:
            old = next(iter(db["users"].rows_where("name = ?", [name], limit=1)), None)
            if old is None:
                raise AccountError(f"no staff account {name[:80]!r}: see `kiosk office users`")
            if old["role"] == role_.value:
                return
            db["users"].update(name, {"role": role_.value})
            ended = self._end_sessions(db, name)
            audit.record(db, actor, audit.USER_ROLE_CHANGED, name,
                         {"from": old["role"], "to": role_.value, "sessions_ended": ended}, address=address,
                         at=self.clock())

    def unlock(self, name: str, *, actor: str, address: str | None = None) -> bool:
        """Lift a sign-in lock (and forget the failures) before it ends by itself; True when there was one."""
        with self.store.writing() as db:
            gone = db.execute("DELETE FROM sign_in_failures WHERE name = ?", [name[:MAX_NAME]]).rowcount
            if gone:
                audit.record(db, actor, audit.USER_UNLOCKED, name, address=address, at=self.clock())
        return bool(gone)

    def users(self) -> list[dict[str, Any]]:
        """Every account: name, role, created_at, whether it has a password, locked_until (or None), open sessions."""
        now = self.clock()
        rows = self.store.database().query(
            "SELECT u.name, u.role, u.created_at, u.password_hash IS NOT NULL AS has_password, f.locked_until,"
            " (SELECT COUNT(*) FROM desk_sessions s WHERE s.user_name = u.name AND s.last_seen_at >= ?) AS sessions"
            " FROM users u LEFT JOIN sign_in_failures f ON f.name = u.name ORDER BY u.name",
            [_iso(now - self.idle)])
        out = []
        for r in rows:
            until = _parse(r["locked_until"])
            out.append({**r, "has_password": bool(r["has_password"]),
                        "locked_until": _iso(until) if until and until > now else None})
        return out

    # -- sign-in -------------------------------------------------------------

    def sign_in(self, name: str, password: str, *, address: str | None = None) -> SignInResult:
        """Check a name and password; on success open a session. Locked names are refused even with the right password."""
        name = (name or "").strip()[:MAX_NAME]
        password = (password or "")[:MAX_PASSWORD]
        row = next(iter(self.store.database()["users"].rows_where("name = ?", [name], limit=1)), None) if name else None
        stored = row["password_hash"] if row and row["password_hash"] else None
        # Always one scrypt, against the dummy hash when the name has no password: the same time either way.
        matches = verify_secret(password, stored or _dummy_hash()) and stored is not None
        now = self.clock()
        with self.store.writing() as db:
            failure = next(iter(db["sign_in_failures"].rows_where("name = ?", [name], limit=1)), None)
            locked_until = _parse(failure["locked_until"]) if failure else None
            if locked_until and locked_until > now:
                audit.record(db, name or "?", audit.SIGN_IN_WHILE_LOCKED, name,
                             {"locked_until": _iso(locked_until)}, address=address, at=now)
                return SignInResult("locked", locked_until=locked_until)
            if matches and row is not None:
                db.execute("DELETE FROM sign_in_failures WHERE name = ?", [name])
                session_id, session = self._open_session(db, name, Role(row["role"]), now, address)
                audit.record(db, name, audit.SIGN_IN, name, {"role": row["role"]}, address=address, at=now)
                return SignInResult("ok", session_id=session_id, session=session)
            last = _parse(failure["last_failure_at"]) if failure else None
            fresh = failure is not None and locked_until is None and last is not None and now - last < FAILURE_MEMORY
            failures = (failure["failures"] if fresh and failure else 0) + 1
            lock = now + self.lock_for if failures >= self.lock_after else None
            db["sign_in_failures"].upsert(
                {"name": name, "failures": failures, "last_failure_at": _iso(now),
                 "locked_until": _iso(lock) if lock else None}, pk="name")
            # forget stale failures of other names (indexed), so guesses at names cannot grow the table for ever
            db.execute("DELETE FROM sign_in_failures WHERE last_failure_at < ? AND (locked_until IS NULL"
                       " OR locked_until < ?)", [_iso(now - FAILURE_MEMORY), _iso(now)])
            detail: dict[str, Any] = {"failures": failures, "known": row is not None}
            if lock:
                audit.record(db, name or "?", audit.ACCOUNT_LOCKED, name, {**detail, "locked_until": _iso(lock)},
                             address=address, at=now)
                return SignInResult("locked", locked_until=lock)
            audit.record(db, name or "?", audit.SIGN_IN_FAILED, name, detail, address=address, at=now)
            return SignInResult("wrong")

    # -- sessions ------------------------------------------------------------

    def _open_session(self, db: Any, name: str, role: Role, now: datetime,
                      address: str | None) -> tuple[str, DeskSession]:
        session_id = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        digest = session_hash(session_id)
        db.execute("DELETE FROM desk_sessions WHERE last_seen_at < ?", [_iso(now - self.idle)])  # idle ones, indexed
        db["desk_sessions"].insert({"id_hash": digest, "user_name": name, "csrf_token": csrf,
                                    "created_at": _iso(now), "last_seen_at": _iso(now),
                                    "address": (address or "")[:100] or None})
        return session_id, DeskSession(StaffUser(name, role), csrf, now, digest)

    def session(self, session_id: str | None) -> DeskSession | None:
        """The live session a cookie names (its last-seen time refreshed), or None (unknown, ended, idle too long)."""
        if not session_id or len(session_id) > 128:
            return None
        digest = session_hash(session_id)
        row = next(iter(self.store.database().query(
            "SELECT s.user_name, s.csrf_token, s.created_at, s.last_seen_at, u.role FROM desk_sessions s"
            " JOIN users u ON u.name = s.user_name WHERE s.id_hash = ?", [digest])), None)
        if row is None:
            return None
        now = self.clock()
        last = _parse(row["last_seen_at"]) or now
        if now - last > self.idle:
            with self.store.writing() as db:
                db.execute("DELETE FROM desk_sessions WHERE id_hash = ?", [digest])
            return None
        if now - last > TOUCH_EVERY:
            with self.store.writing() as db:
                db.execute("UPDATE desk_sessions SET last_seen_at = ? WHERE id_hash = ?", [_iso(now), digest])
        try:
            role = Role(row["role"])
        except ValueError:
            return None  # a role this code does not know may do nothing
        return DeskSession(StaffUser(row["user_name"], role), row["csrf_token"],
                           _parse(row["created_at"]) or now, digest)

    def sign_out(self, session_id: str | None, *, address: str | None = None) -> bool:
        """End the session a cookie names; True when there was one."""
        if not session_id or len(session_id) > 128:
            return False
        digest = session_hash(session_id)
        with self.store.writing() as db:
            row = next(iter(db["desk_sessions"].rows_where("id_hash = ?", [digest], limit=1)), None)
            if row is None:
                return False
            db.execute("DELETE FROM desk_sessions WHERE id_hash = ?", [digest])
            audit.record(db, row["user_name"], audit.SIGN_OUT, row["user_name"], address=address, at=self.clock())
        return True

    def end_sessions(self, name: str) -> int:
        """End every desk session of ``name``; how many there were."""
        with self.store.writing() as db:
            return self._end_sessions(db, name)

    @staticmethod
    def _end_sessions(db: Any, name: str) -> int:
        return int(db.execute("DELETE FROM desk_sessions WHERE user_name = ?", [name]).rowcount or 0)
