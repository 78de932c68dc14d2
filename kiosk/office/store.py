"""The office's store: every gate's events (exactly once), gate and staff credentials, heartbeats, alarms.

Events are keyed by (gate, seq): a batch sent twice, or cut off and sent
again, is stored once. The answer to every batch is the gate's *high-water*
seq — the highest seq up to which the office holds every event without a gap —
which the gate records as acknowledged.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from kiosk.credentials import verify_secret
from kiosk.exc import KioskError
from kiosk.office.ingest import DATA, FLAG, ID, INSERT_EVENT, KIND, SEQ, SUBJECT, TS, VOLUNTEER, event_row
from kiosk.sqlitedb import ThreadLocalDatabase

migrations = Migrations("kiosk.office.store")


class OfficeStoreError(KioskError, ValueError):
    """A request the office store refuses (unknown gate, conflicting event, bad value)."""


class EventConflictError(OfficeStoreError):
    """A gate sent a different event under a seq the office already holds (its journal was replaced?)."""


class GroupCommitError(KioskError, RuntimeError):
    """The transaction that held a batch (with other gates' batches) failed: nothing of it was stored; send it again."""


@dataclass(eq=False)
class _Pending:
    """One gate's batch waiting to be written by a group commit, and then its outcome."""

    gate_id: str
    rows: list[list[Any]]
    done: bool = False  # written and committed (or refused): its outcome below is final
    new_rows: list[list[Any]] = field(default_factory=list)
    high: int = 0
    error: BaseException | None = None


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    """The first schema. Never edit a shipped migration: add a new one."""
    db["gates"].create({"id": str, "name": str, "token_hash": str, "created_at": str, "revoked_at": str}, pk="id")
    db["gates"].create_index(["token_hash"], unique=True)
    db["users"].create({"name": str, "role": str, "password_hash": str, "token_hash": str, "created_at": str}, pk="name")
    db["users"].create_index(["token_hash"], unique=True)
    db["events"].create(
        {"gate_id": str, "seq": int, "id": str, "ts": str, "received_at": str, "volunteer_id": str,
         "kind": str, "subject": str, "household_id": int, "data": str},
        pk=("gate_id", "seq"),
    )
    # No index on id or kind: random uuids would make every insert a random B-tree write, and ingest
    # speed is what a reconnecting gate's backlog waits on. Reports that need them add an index later.
    db["gate_state"].create({"gate_id": str, "high_water": int}, pk="gate_id")
    db["heartbeats"].create(
        {"gate_id": str, "received_at": str, "gate_clock": str, "clock_offset_s": float, "software_version": str,
         "backlog": int, "sensors": str, "disk_free_bytes": int, "cpu_temp_c": float},
        pk="gate_id",
    )
    db["alarms"].create(
        {"event_id": str, "gate_id": str, "seq": int, "kind": str, "subject": str, "raised_at": str,
         "acknowledged_at": str, "acknowledged_by": str, "note": str},
        pk="event_id",
    )
    db["alarms"].create_index(["acknowledged_at"])


@migrations()
def m002_flagged_events(db: sqlite_utils.Database) -> None:
    """Events whose data does not fit its kind's schema, or that reach for another gate's things, are kept and flagged."""
    db["events"].add_column("flag", str)  # None: fine; else one line saying what is wrong, for staff review
    # Partial: costs nothing on the ingest of good events, and serves the staff's list of flagged ones.
    db.execute("CREATE INDEX IF NOT EXISTS events_flagged ON events (received_at) WHERE flag IS NOT NULL")


def now_iso() -> str:
    """The office's time as stored (``received_at`` of an arriving batch, ``created_at`` …): UTC, milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def token_hash(token: str) -> str:
    """Tokens are 256-bit random strings, so a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(prefix: str) -> str:
    """A fresh bearer token, e.g. ``gate_…`` or ``staff_…`` (the prefix helps a person tell them apart)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


@dataclass(frozen=True)
class Principal:
    """Who a bearer token belongs to: a gate, or a staff member with a role."""

    kind: str  # "gate" | "staff"
    name: str
    role: str | None = None


class OfficeStore:
    """The office database (SQLite, WAL). Each thread gets its own connection; writes are serialised."""

    group_max_events = 5000
    """A group commit writes at most this many events (the leader's own batch always goes in)."""
    group_max_s = 0.5
    """... and starts no further batch after this many seconds of writing: a slow disk never makes a long wait."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        # synchronous=FULL: a batch the office acknowledged must survive a power cut, or a gate purges its copy
        self._connections = ThreadLocalDatabase(self.path, busy_timeout_ms=10_000, synchronous="FULL")
        self._write_lock = threading.Lock()
        self._ingest_db: sqlite3.Connection | None = None  # ingest's own connection (_writer), opened on first use
        self._queue: collections.deque[_Pending] = collections.deque()  # batches waiting for a group commit
        self._queue_lock = threading.Lock()
        self.groups: collections.deque[tuple[int, int]] = collections.deque(maxlen=256)
        """The last group commits: (batches, events) each, oldest first."""
        migrations.apply(self._db())
        # The desk's own tables and indexes (accounts and audit, query indexes) are migration sets of their modules.
        from kiosk.office.schema import extra_migrations

        for extra in extra_migrations():
            extra.apply(self._db())

    def _db(self) -> sqlite_utils.Database:
        return self._connections.get()

    def database(self) -> sqlite_utils.Database:
        """This thread's connection, for the office's query and account modules (reads; writes under ``writing``)."""
        return self._connections.get()

    @contextlib.contextmanager
    def writing(self) -> Iterator[sqlite_utils.Database]:
        """This thread's connection in one transaction, writes serialised with ingest's."""
        with self._write_lock:
            db = self._db()
            if db.conn.in_transaction:  # nested: a savepoint inside the caller's transaction
                with db.atomic():
                    yield db
                return
            # IMMEDIATE takes the write lock before the first read. A deferred transaction that reads, then writes
            # after another process (the CLI beside the server) committed, is refused at once with "database is
            # locked" (a stale snapshot: SQLite skips the busy timeout), however long the timeout is.
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.conn.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection, and ingest's (opened again by the next batch)."""
        self._connections.close()
        with self._write_lock:
            if self._ingest_db is not None:
                self._ingest_db.close()
                self._ingest_db = None

    # -- gates and staff ---------------------------------------------------

    def add_gate(self, gate_id: str, name: str = "") -> str:
        """Register a gate and return its token (shown once; only its hash is kept). Re-adding replaces the token."""
        token = new_token("gate")
        with self._write_lock, self._db().atomic():
            self._db()["gates"].upsert(
                {"id": gate_id, "name": name, "token_hash": token_hash(token), "created_at": now_iso(), "revoked_at": None},
                pk="id",
            )
        return token

    def revoke_gate(self, gate_id: str) -> None:
        """Refuse the gate's token from now on."""
        with self._write_lock:
            table = self._db()["gates"]
            if not list(table.rows_where("id = ?", [gate_id])):
                raise OfficeStoreError(f"no gate {gate_id!r}: see `kiosk office gates`")
            table.update(gate_id, {"revoked_at": now_iso()})

    def add_user(self, name: str, role: str, password: str | None = None) -> str:
        """Add (or reset) a staff account (viewer, staff or admin); returns its API token (shown once).

        A thin call of kiosk.office.accounts.Accounts.add_user, which also ends a
        reset account's desk sessions and writes the audit log.
        """
        from kiosk.office.accounts import Accounts

        return Accounts(self).add_user(name, role, password)

    def authenticate(self, token: str) -> Principal | None:
        """The gate or staff member a bearer token belongs to; None for an unknown or revoked token."""
        digest = token_hash(token)
        db = self._db()
        for row in db["gates"].rows_where("token_hash = ?", [digest], limit=1):
            if row["revoked_at"] or not hmac.compare_digest(row["token_hash"], digest):
                return None
            return Principal("gate", row["id"])
        for row in db["users"].rows_where("token_hash = ?", [digest], limit=1):
            return Principal("staff", row["name"], row["role"])
        return None

    def check_password(self, name: str, password: str) -> Principal | None:
        """A staff member whose password matches, or None."""
        rows = list(self._db()["users"].rows_where("name = ?", [name], limit=1))
        if rows and rows[0]["password_hash"] and verify_secret(password, rows[0]["password_hash"]):
            return Principal("staff", name, rows[0]["role"])
        return None

    # -- events ------------------------------------------------------------

    def high_water(self, gate_id: str) -> int:
        """The highest seq up to which the office holds every event of ``gate_id``."""
        rows = list(self._db()["gate_state"].rows_where("gate_id = ?", [gate_id], limit=1))
        return rows[0]["high_water"] if rows else 0

    def ingest(self, gate_id: str, events: Iterable[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], int]:
        """Store a gate's batch exactly once; returns (the events that were new, the new high-water seq).

        Every event must belong to ``gate_id`` (checked by the caller too). An
        event whose (gate, seq) is already held with another id is a conflict:
        the whole batch is refused and nothing is stored. The rows are built
        outside the write lock (kiosk.office.ingest), so other batches' checking
        goes on while one is written; batches of several gates that wait for the
        lock are written in one transaction (``_store_in_group``), and this
        returns only after the commit that holds this batch.
        """
        received = now_iso()
        events = list(events)
        data_dir = self.path.parent
        rows = []
        for e in events:
            if e["gate_id"] != gate_id:
                raise OfficeStoreError(f"event seq {e['seq']} belongs to gate {e['gate_id']!r}, not {gate_id!r}")
            rows.append(event_row(gate_id, e, received, data_dir))
        new_rows, high = self.ingest_rows(gate_id, rows)
        flags = {row[SEQ]: row[FLAG] for row in new_rows}
        # a flagged event comes back with its "flag", so callers (the live stream) can leave it out
        return [({**e, "flag": flags[e["seq"]]} if flags[e["seq"]] else e) for e in events if e["seq"] in flags], high

    def ingest_rows(self, gate_id: str, rows: list[list[Any]]) -> tuple[list[list[Any]], int]:
        """Store a gate's batch already checked and built as rows (``kiosk.office.ingest.event_row``, every row of
        ``gate_id``): as ``ingest``, but returns the new rows (in seq order, ``flag`` set where the office flagged
        one) and the new high-water seq. The sync API's checking processes build the rows (web.office.batch_check).
        """
        return self._store_in_group(_Pending(gate_id, rows))

    def _store_in_group(self, pending: _Pending) -> tuple[list[list[Any]], int]:
        """Store one batch's rows, perhaps in one transaction with other waiting batches (group commit).

        With ``synchronous=FULL`` every commit is an fsync, and batches queued
        behind the write lock each waited for their own. Now each batch joins a
        queue, then takes the write lock: whoever gets it (the leader) writes its
        own batch and the others queued before it, at most ``group_max_events``
        events and ``group_max_s`` seconds of writing, each batch in its own
        SAVEPOINT (a conflicting batch is rolled back alone and refused; the
        others go on), then commits once. A batch the leader wrote finds itself
        done when it gets the lock and answers without writing. A batch is
        answered only after the commit that holds it: what the office
        acknowledges survives a power cut, as before.
        """
        with self._queue_lock:
            self._queue.append(pending)
        with self._write_lock:
            if not pending.done:  # no leader wrote it while this thread waited: lead a group
                self._lead_group(pending)
        if pending.error is not None:
            raise pending.error
        return pending.new_rows, pending.high

    def _take_group(self, own: _Pending) -> list[_Pending]:
        """The leader's group: its own batch first, then queued batches in arrival order up to the event cap."""
        with self._queue_lock:
            group, left, total = [own], collections.deque[_Pending](), len(own.rows)
            for item in self._queue:
                if item is own:
                    continue
                if not left and total + len(item.rows) <= self.group_max_events:
                    group.append(item)
                    total += len(item.rows)
                else:  # once one does not fit, the rest keep their place for the next leader
                    left.append(item)
            self._queue = left
        return group

    def _give_back(self, items: list[_Pending]) -> None:
        """Batches a leader took but did not write (out of time): back to the head of the queue, in order."""
        if items:
            with self._queue_lock:
                self._queue.extendleft(reversed(items))

    def _lead_group(self, own: _Pending) -> None:
        """Write a group of batches in one transaction, each in a savepoint, and commit once (under the write lock)."""
        group = self._take_group(own)
        db = self._writer()
        began = time.monotonic()
        written: list[_Pending] = []
        end = len(group)  # the batches after it go back to the queue unwritten
        db.execute("BEGIN IMMEDIATE")
        try:
            for index, item in enumerate(group):
                if item is not own and time.monotonic() - began > self.group_max_s:
                    end = index
                    self._give_back(group[end:])  # a slow disk: commit what is written, the rest go next
                    break
                db.execute("SAVEPOINT batch")
                try:
                    item.new_rows = self._new_rows(db, item.gate_id, item.rows)
                    self._record_alarms(db, item.gate_id, item.new_rows)  # first: it flags what reaches for another gate's alarms
                    db.executemany(INSERT_EVENT, item.new_rows)
                    item.high = self._advance_high_water(db, item.gate_id)
                except Exception as exc:  # this batch alone is refused: nothing of it stays, the others go on
                    db.execute("ROLLBACK TO batch")
                    item.error = exc
                db.execute("RELEASE batch")
                written.append(item)
            db.execute("COMMIT")
        except BaseException as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            for item in written:  # nothing of the group was stored: each of its batches is answered so
                if not isinstance(item.error, EventConflictError):
                    item.error = GroupCommitError(f"the transaction holding this batch failed ({type(exc).__name__}: "
                                                  f"{str(exc)[:200]}); nothing of it was stored: send it again")
            self._give_back([item for item in group[len(written):end] if item is not own])
            own.done = True  # the leader raises exc itself
            raise
        finally:
            for item in written:
                item.done = True
        self.groups.append((len(written), sum(len(item.rows) for item in written)))

    def _writer(self) -> sqlite3.Connection:
        """The one connection ingest writes with (under the write lock, from whichever thread holds it).

        One connection keeps its page cache: the indexes' pages a batch touches
        are in memory for the next. A connection per thread would find its cache
        stale after every other thread's batch (WAL) and read them all again.
        """
        if self._ingest_db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10.0)
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")  # an acknowledged batch survives a power cut
            self._ingest_db = db
        return self._ingest_db

    @staticmethod
    def _new_rows(db: sqlite3.Connection, gate_id: str, rows: list[list[Any]]) -> list[list[Any]]:
        """The rows the office does not hold yet, in seq order; a seq held under another id is a conflict.

        One range query for the whole batch (not a look-up per event) tells what is held.
        """
        if not rows:
            return []
        seqs = [r[SEQ] for r in rows]
        held = dict(db.execute("SELECT seq, id FROM events WHERE gate_id = ? AND seq BETWEEN ? AND ?",
                               [gate_id, min(seqs), max(seqs)]).fetchall())
        fresh: dict[int, list[Any]] = {}
        for row in rows:
            seq = row[SEQ]
            known = held.get(seq) or (fresh[seq][ID] if seq in fresh else None)
            if known is None:
                fresh[seq] = row
            elif known != row[ID]:
                raise EventConflictError(f"gate {gate_id} seq {seq}: the office holds another event under this seq")
        new_rows = list(fresh.values())
        if any(a[SEQ] > b[SEQ] for a, b in zip(new_rows, new_rows[1:], strict=False)):
            new_rows.sort(key=lambda r: r[SEQ])  # alarms before their acknowledgements
        return new_rows

    @staticmethod
    def _advance_high_water(db: sqlite3.Connection, gate_id: str) -> int:
        """Move the gate's high-water seq over every seq now held without a gap, and return it."""
        found = db.execute("SELECT high_water FROM gate_state WHERE gate_id = ?", [gate_id]).fetchone()
        high = found[0] if found else 0
        # One statement in SQLite, not a Python loop over the batch's rows (each fetched row a hand-over of the GIL
        # under the write lock): the run from high + 1 ends at its first seq whose successor is not held.
        end = None
        if db.execute("SELECT 1 FROM events WHERE gate_id = ? AND seq = ?", [gate_id, high + 1]).fetchone():
            end = db.execute("SELECT e.seq FROM events e WHERE e.gate_id = ?1 AND e.seq > ?2 AND NOT EXISTS"
                             " (SELECT 1 FROM events n WHERE n.gate_id = ?1 AND n.seq = e.seq + 1)"
                             " ORDER BY e.seq LIMIT 1", [gate_id, high]).fetchone()
        if end is not None:
            high = end[0]
        db.execute("INSERT INTO gate_state (gate_id, high_water) VALUES (?, ?)"
                   " ON CONFLICT (gate_id) DO UPDATE SET high_water = excluded.high_water", [gate_id, high])
        return high

    @staticmethod
    def _record_alarms(db: sqlite3.Connection, gate_id: str, rows: list[list[Any]]) -> None:
        """Open and close alarms from a batch's new rows (in seq order); a gate changes only its own alarms.

        Rows already flagged change nothing. An alarm whose event id another
        gate's alarm holds, and an acknowledgement naming an alarm this gate
        did not raise (another gate's, or none), are flagged and change nothing.
        """
        for row in rows:
            if row[FLAG] or row[KIND] not in ("alarm_raised", "alarm_acknowledged"):
                continue
            data = json.loads(row[DATA])
            if row[KIND] == "alarm_raised":
                inserted = db.execute(
                    "INSERT OR IGNORE INTO alarms (event_id, gate_id, seq, kind, subject, raised_at) VALUES (?, ?, ?, ?, ?, ?)",
                    [row[ID], gate_id, row[SEQ], data.get("kind"), row[SUBJECT], row[TS]]).rowcount
                if not inserted:
                    owner = db.execute("SELECT gate_id FROM alarms WHERE event_id = ?", [row[ID]]).fetchone()
                    if owner and owner[0] != gate_id:
                        row[FLAG] = "authorization: another gate's alarm already has this event id; not recorded"
                continue
            target = data.get("alarm_event_id")
            owner = db.execute("SELECT gate_id FROM alarms WHERE event_id = ?", [target]).fetchone()
            if owner is None or owner[0] != gate_id:
                row[FLAG] = (f"authorization: acknowledges alarm {str(target)[:64]!r}, which "
                             + ("this gate never raised" if owner is None else "another gate raised")
                             + "; nothing changed")
                continue
            db.execute("UPDATE alarms SET acknowledged_at = ?, acknowledged_by = ?, note = ? WHERE event_id = ? AND gate_id = ?",
                       [row[TS], row[VOLUNTEER], data.get("note"), target, gate_id])

    def events(self, gate_id: str, after: int = 0, limit: int = 1000) -> list[dict]:
        """A gate's stored events after ``after`` in seq order."""
        rows = self._db().query(
            "SELECT * FROM events WHERE gate_id = ? AND seq > ? ORDER BY seq LIMIT ?", [gate_id, after, limit])
        return [{**r, "data": json.loads(r["data"])} for r in rows]

    def flagged_events(self, limit: int = 200) -> list[dict]:
        """Events kept but flagged for staff review (bad data, or reaching for another gate's things), newest first."""
        rows = self._db().query(
            "SELECT gate_id, seq, id, ts, received_at, kind, flag FROM events WHERE flag IS NOT NULL"
            " ORDER BY received_at DESC LIMIT ?", [max(1, min(limit, 1000))])
        return list(rows)

    def count_events(self, gate_id: str | None = None) -> int:
        """How many events the office holds (for one gate, or all)."""
        if gate_id is None:
            return self._db()["events"].count
        return self._db().execute("SELECT COUNT(*) FROM events WHERE gate_id = ?", [gate_id]).fetchone()[0]

    # -- heartbeats, gates, alarms ----------------------------------------

    def heartbeat(self, gate_id: str, beat: Mapping[str, Any], now: datetime | None = None) -> float:
        """Record a gate's heartbeat with the office's own receive time; returns the gate clock's offset in seconds.

        Its clock stamp (boot, mono_ms, trust) is kept too, and as its boot's latest (kiosk.office.clock_correction).
        """
        from kiosk.office.clock_correction import record_boot

        now = now or datetime.now(UTC)
        gate_clock = datetime.fromisoformat(str(beat["gate_clock"]).replace("Z", "+00:00"))
        if gate_clock.tzinfo is None:
            raise OfficeStoreError("gate_clock must carry a time zone offset")
        offset = (gate_clock - now).total_seconds()
        with self._write_lock, self._db().atomic():
            self._db()["heartbeats"].upsert({
                "gate_id": gate_id, "received_at": now.isoformat(timespec="milliseconds"), "gate_clock": beat["gate_clock"],
                "clock_offset_s": round(offset, 3), "software_version": beat.get("software_version"),
                "backlog": beat.get("backlog"), "sensors": json.dumps(beat.get("sensors", {}), ensure_ascii=False),
                "disk_free_bytes": beat.get("disk_free_bytes"), "cpu_temp_c": beat.get("cpu_temp_c"),
                "boot": beat.get("boot"), "mono_ms": beat.get("mono_ms"), "clock_trust": beat.get("clock"),
            }, pk="gate_id")
            record_boot(self._db(), gate_id, beat, now.isoformat(timespec="milliseconds"), offset)
        return offset

    def gates(self, clock_tolerance_s: float = 120.0) -> list[dict]:
        """Each gate with its last heartbeat, high-water seq, clock offset and backlog; flags a clock off by > 2 min."""
        rows = self._db().query(
            "SELECT g.id, g.name, g.revoked_at, s.high_water, h.received_at, h.clock_offset_s, h.backlog,"
            " h.software_version, h.sensors, h.disk_free_bytes, h.cpu_temp_c, h.clock_trust"
            " FROM gates g LEFT JOIN gate_state s ON s.gate_id = g.id LEFT JOIN heartbeats h ON h.gate_id = g.id ORDER BY g.id")
        out = []
        for r in rows:
            offset = r["clock_offset_s"]
            out.append({
                "id": r["id"], "name": r["name"] or "", "revoked": r["revoked_at"] is not None,
                "last_seq": r["high_water"] or 0, "last_heartbeat": r["received_at"], "clock_offset_s": offset,
                "clock_off": offset is not None and abs(offset) > clock_tolerance_s, "clock_trust": r["clock_trust"],
                "backlog": r["backlog"],
                "software_version": r["software_version"], "sensors": json.loads(r["sensors"]) if r["sensors"] else None,
                "disk_free_bytes": r["disk_free_bytes"], "cpu_temp_c": r["cpu_temp_c"],
            })
        return out

    def open_alarms(self) -> list[dict]:
        """Alarms no volunteer has acknowledged yet, newest first."""
        return list(self._db().query(
            "SELECT event_id, gate_id, seq, kind, subject, raised_at FROM alarms WHERE acknowledged_at IS NULL"
            " ORDER BY raised_at DESC"))
