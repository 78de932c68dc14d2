"""The gate's durable event journal: its ledger (台账).

Every passage, measurement, alarm and shift change is appended here before the
gate acts on it. The journal is one SQLite file in WAL mode with
``synchronous=FULL``: when ``append`` returns, the event is on disk and carries
the next number of a gap-free, per-gate sequence (1, 2, 3, …). The sync client
sends events after the office's high-water mark (``unacknowledged``), records
the office's answer with ``acknowledge``, and ``purge`` drops acknowledged
events once they are older than the retention period.

Timestamps are UTC, ISO 8601 with milliseconds and a ``Z`` suffix, e.g.
``2026-11-28T01:30:00.123Z``: fixed width, so text order is time order.

Writes go through one connection guarded by a lock, each in its own
``BEGIN IMMEDIATE`` transaction; reads use one read-only connection per thread
and never wait for that lock. ``JournalReader`` is the read side alone: it
opens an existing file read-only (the CLI inspects a running gate's journal
with it) and never creates one.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self

import sqlite_utils
from sqlite_utils.migrations import Migrations

from kiosk.events import Event, EventKind
from kiosk.exc import JournalClosedError, JournalError
from kiosk.gate.clock import ClockTrust, GateClock
from kiosk.gate.journal_prepare import FORBIDDEN_KEYS, EventDraft, new_ids, prepare_batch

__all__ = ["FORBIDDEN_KEYS", "EventDraft", "Journal", "JournalReader", "JournalStats", "format_ts", "parse_ts"]

# Long enough to ride out a checkpoint or a CLI reader, short enough that a
# stuck second writer surfaces as an error rather than a frozen gate.
BUSY_TIMEOUT_S = 5.0
# Page caches in KiB (SQLite's default is 2 MiB per connection): each reading thread has its own connection,
# and the gate's lookups are indexed and touch few pages; the writer appends at the end of the file and its
# indexes. Smaller caches keep the gate's memory low however many threads read (the OS caches the file anyway).
READER_CACHE_KIB = 128
WRITER_CACHE_KIB = 512

_COLUMNS = "seq, id, ts, gate_id, volunteer_id, kind, subject, household_id, data, boot, mono_ms, clock"
_COLUMNS_BEFORE_M003 = "seq, id, ts, gate_id, volunteer_id, kind, subject, household_id, data"  # a reader of an older file

# A batch goes in as few INSERTs as it can, each of up to this many rows: one statement of many rows costs
# SQLite and sqlite3 a fraction of what a row each costs through executemany (per row: a reset, a step and the
# module's own work; docs/benchmarks.md). 5 shared + 7 × 128 values = 901 parameters: under 999, the most an older
# SQLite takes in one statement.
_ROWS_PER_STATEMENT = 128
_SHARED = 5  # ts, gate id, boot id, monotonic ms, trust code: the same for every row of a batch


@functools.lru_cache(maxsize=_ROWS_PER_STATEMENT)
def _rows_insert(rows: int) -> str:
    """The INSERT of ``rows`` rows of one batch: ?1–?5 the values they share, bound once; then 7 per row (seq, id,
    volunteer id, kind, subject, household id, data). Numbered, so the text is the same for every batch of that
    size and sqlite3 keeps it compiled."""
    values = []
    for row in range(rows):
        n = _SHARED + 7 * row
        values.append(f"(?{n + 1}, ?{n + 2}, ?1, ?2, ?{n + 3}, ?{n + 4}, ?{n + 5}, ?{n + 6}, ?{n + 7}, ?3, ?4, ?5)")
    return f"INSERT INTO events ({_COLUMNS}) VALUES {', '.join(values)}"


def _insert_rows(conn: sqlite3.Connection, shared: tuple[Any, ...], rows: list[tuple[Any, ...]]) -> None:
    """Insert a batch's rows (each its 7 own values) with the values they share, up to _ROWS_PER_STATEMENT a time."""
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start:start + _ROWS_PER_STATEMENT]
        conn.execute(_rows_insert(len(chunk)), (*shared, *itertools.chain.from_iterable(chunk)))


migrations = Migrations("kiosk.gate.journal")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    """The first schema. Never edit a migration that has shipped: add a new one."""
    db["events"].create(
        {
            "seq": int,
            "id": str,
            "ts": str,
            "gate_id": str,
            "volunteer_id": str,
            "kind": str,
            "subject": str,
            "household_id": int,
            "data": str,
        },
        pk="seq",
        not_null={"id", "ts", "gate_id", "kind", "data"},
    )
    db["events"].create_index(["id"], unique=True)
    db["events"].create_index(["subject", "seq"])
    db["events"].create_index(["household_id", "seq"])
    # No declared type on value: it holds integers (seqs) and text (gate id),
    # and an INTEGER column would turn a gate id like "007" into 7.
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value)")
    db["meta"].insert_all([{"key": "last_seq", "value": 0}, {"key": "acked_seq", "value": 0}])


@migrations()
def m002_kind_ts_index(db: sqlite_utils.Database) -> None:
    """The screen's "today at this gate" reads events of a few kinds since midnight: index them by kind and time."""
    db["events"].create_index(["kind", "ts"], if_not_exists=True)


@migrations()
def m003_clock_stamp(db: sqlite_utils.Database) -> None:
    """The clock each event was stamped with (kiosk.gate.clock): boot id, monotonic ms since boot, trust code.

    NULL in the rows journaled before: nothing is known of their clock.
    """
    db["events"].add_column("boot", str)
    db["events"].add_column("mono_ms", int)
    db["events"].add_column("clock", str)


@dataclass(frozen=True)
class JournalStats:
    """Counters of a journal file, as ``kiosk journal stats`` shows them."""

    path: str
    gate_id: str | None
    last_seq: int
    acked_seq: int
    backlog: int
    count: int
    oldest_ts: str | None
    newest_ts: str | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return dict(self.__dict__)


# The kinds a handheld follow-up journals again, naming the event it replaces (supersedes_seq).
_SUPERSEDING = (EventKind.PASSAGE.value, EventKind.VISITOR_REGISTRATION.value, EventKind.VEHICLE.value)
_SUPERSEDING_MARKS = ", ".join("?" * len(_SUPERSEDING))  # a vehicle saved again once disinfected supersedes its refusal


def format_ts(moment: datetime) -> str:
    """An aware datetime as the journal writes it: UTC, milliseconds, ``Z`` (``2026-11-28T01:30:00.123Z``)."""
    if moment.utcoffset() is None:
        raise JournalError(f"naive datetime {moment!r}: the journal needs timezone-aware times")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_ts(ts: str) -> datetime:
    """A journal timestamp back to an aware datetime (UTC)."""
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _event(row: tuple) -> Event:
    seq, id_, ts, gate_id, volunteer_id, kind, subject, household_id, data, *stamp = row
    return Event(seq, id_, ts, gate_id, volunteer_id, EventKind(kind), json.loads(data), subject, household_id, *stamp)


def _kinds(kinds: Iterable[EventKind]) -> list[str]:
    values = [EventKind(kind).value for kind in kinds]
    if not values:
        raise ValueError("kinds must name at least one EventKind")
    return values


class JournalReader:
    """Read-only access to a journal file; one read-only SQLite connection per thread.

    Opening never creates or changes the file: a missing file, or one that is
    not a journal, is a ``JournalError``. Usable as a context manager.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        if not self.path.is_file():
            raise JournalError(f"no journal at {self.path}: the file does not exist")
        try:
            tables = {row[0] for row in self._query("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"events", "meta"} <= tables:
                raise JournalError(f"{self.path} is an SQLite file but not a kiosk journal (no events/meta tables)")
            # A file no writer of this version has migrated yet (the CLI reading an older gate's journal)
            columns = {row[1] for row in self._query("PRAGMA table_info(events)")}
            self._columns = _COLUMNS if "clock" in columns else _COLUMNS_BEFORE_M003
        except BaseException:
            JournalReader.close(self)  # only the reader is open yet, whatever the subclass
            raise

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> JournalReader:
        """Open an existing journal file for reading."""
        return cls(path)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every thread's read connection. Idempotent."""
        with self._readers_lock:
            self._closed = True
            readers, self._readers = self._readers, []
        for conn in readers:
            conn.close()

    @property
    def closed(self) -> bool:
        """True once ``close`` was called."""
        return self._closed

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and not self._closed:
            return conn
        with self._readers_lock:
            if self._closed:
                raise JournalClosedError(f"journal {self.path} is closed")
            try:
                # mode=ro: a reader can never write, whatever a caller does with it
                conn = sqlite3.connect(
                    f"{self.path.resolve().as_uri()}?mode=ro",
                    uri=True,
                    isolation_level=None,
                    timeout=BUSY_TIMEOUT_S,
                    check_same_thread=False,  # so close() may run on another thread
                )
                # Each reading thread has its own connection; a small page cache keeps the gate's memory flat
                # however many threads read (the indexed lookups touch few pages).
                conn.execute(f"PRAGMA cache_size = -{READER_CACHE_KIB}")
            except sqlite3.Error as exc:
                raise JournalError(f"cannot read journal {self.path}: {exc}") from exc
            self._readers.append(conn)
        self._local.conn = conn
        return conn

    def _query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        try:
            # fetchall, never a lazy cursor: an unfinished cursor would pin
            # this thread's snapshot and hide later appends from it
            return self._reader().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise JournalError(f"cannot read journal {self.path}: {exc}") from exc

    def _meta(self, key: str) -> Any:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def _events(self, where: str, params: tuple | list, order: str = "seq", limit: int | None = None) -> list[Event]:
        sql = f"SELECT {self._columns} FROM events WHERE {where} ORDER BY {order}"
        if limit is not None:
            if limit < 0:
                raise ValueError(f"limit must be ≥ 0, got {limit}")
            sql += f" LIMIT {int(limit)}"
        return [_event(row) for row in self._query(sql, params)]

    @property
    def gate_id(self) -> str | None:
        """The gate this journal belongs to (None if no gate has opened it for writing yet)."""
        return self._meta("gate_id")

    @property
    def last_seq(self) -> int:
        """The seq of the newest event ever appended (0 when none); purging never lowers it."""
        return int(self._meta("last_seq"))

    @property
    def acked_seq(self) -> int:
        """The office's high-water mark: every event up to this seq is stored at the office."""
        return int(self._meta("acked_seq"))

    def backlog(self) -> int:
        """How many events the office has not acknowledged yet."""
        rows = self._query(
            "SELECT (SELECT value FROM meta WHERE key = 'last_seq') - (SELECT value FROM meta WHERE key = 'acked_seq')"
        )
        return int(rows[0][0])

    def events_after(self, seq: int, limit: int = 1000) -> list[Event]:
        """Up to ``limit`` events with a seq greater than ``seq``, in seq order: the outbox."""
        return self._events("seq > ?", (seq,), limit=limit)

    def unacknowledged(self, limit: int = 1000) -> list[Event]:
        """Up to ``limit`` of the events the office has not acknowledged, oldest first."""
        return self._events("seq > (SELECT value FROM meta WHERE key = 'acked_seq')", (), limit=limit)

    def get(self, seq: int) -> Event | None:
        """The event with this seq, or None (never appended, or purged)."""
        found = self._events("seq = ?", (seq,))
        return found[0] if found else None

    def count(self) -> int:
        """How many events the file holds now (purged ones excluded)."""
        return int(self._query("SELECT count(*) FROM events")[0][0])

    def last_event(self, subject: str, kinds: Iterable[EventKind] = (EventKind.PASSAGE,)) -> Event | None:
        """The newest event about ``subject`` (e.g. ``resident:12``) of one of ``kinds``, or None."""
        values = _kinds(kinds)
        marks = ", ".join("?" * len(values))
        found = self._events(f"subject = ? AND kind IN ({marks})", (subject, *values), order="seq DESC", limit=1)
        return found[0] if found else None

    def last_admitted(self, subject: str, kinds: Iterable[EventKind] = (EventKind.PASSAGE,)) -> Event | None:
        """The newest admitted passage of ``subject`` (a refused one did not move them), or None."""
        values = _kinds(kinds)
        marks = ", ".join("?" * len(values))
        found = self._events(f"subject = ? AND kind IN ({marks}) AND json_extract(data, '$.verdict') = 'admit'",
                             (subject, *values), order="seq DESC", limit=1)
        return found[0] if found else None

    def alarm_raised_since(self, subject: str, alarm_kind: str, after_seq: int) -> bool:
        """True when an alarm of ``alarm_kind`` about ``subject`` was journaled after event ``after_seq``."""
        rows = self._query(
            "SELECT 1 FROM events WHERE subject = ? AND seq > ? AND kind = ? AND json_extract(data, '$.kind') = ? LIMIT 1",
            (subject, after_seq, EventKind.ALARM_RAISED.value, alarm_kind))
        return bool(rows)

    def outside(self, left_before: datetime, left_after: datetime) -> list[tuple[str, int | None, datetime, int]]:
        """(subject, household, left at, seq of the exit) of people whose last admitted passage here was an exit in that window.

        The overdue-return sweep asks this every minute: only people (resident and
        volunteer cards) count, the newest admitted passage per subject is found in
        SQLite, and nobody who has since come back is returned.
        """
        rows = self._query(
            "SELECT subject, household_id, ts, json_extract(data, '$.direction'), seq FROM events e"
            " WHERE kind = ? AND ts >= ? AND json_extract(data, '$.verdict') = 'admit'"
            " AND (subject LIKE 'resident:%' OR subject LIKE 'volunteer:%')"
            " AND seq = (SELECT max(seq) FROM events f WHERE f.subject = e.subject AND f.kind = e.kind"
            "            AND json_extract(f.data, '$.verdict') = 'admit')",
            (EventKind.PASSAGE.value, format_ts(left_after)))
        cutoff = format_ts(left_before)
        return [(subject, household, parse_ts(ts), seq) for subject, household, ts, direction, seq in rows
                if direction == "out" and ts < cutoff]

    def events_of_household(
        self, household_id: int, since: datetime, kinds: Iterable[EventKind] = (EventKind.PASSAGE,)
    ) -> list[Event]:
        """Events of ``kinds`` about a household at or after ``since`` (aware), oldest first."""
        values = _kinds(kinds)
        marks = ", ".join("?" * len(values))
        return self._events(
            f"household_id = ? AND ts >= ? AND kind IN ({marks})", (household_id, format_ts(since), *values)
        )

    def household_exit_times(self, household_id: int, since: datetime) -> list[datetime]:
        """When members of a household were let out at or after ``since`` (aware), oldest first.

        Only admitted people going out count (not vehicles, not visitors). The
        filter runs in SQLite and only timestamps come back: the outing rule asks
        this on every passage, and a busy household must not make it heavy.
        """
        rows = self._query(
            "SELECT ts FROM events WHERE household_id = ? AND ts >= ? AND kind = ?"
            " AND json_extract(data, '$.direction') = 'out' AND json_extract(data, '$.verdict') = 'admit'"
            " AND (subject IS NULL OR (subject NOT LIKE 'vehicle:%' AND subject NOT LIKE 'visitor:%'))"
            " ORDER BY seq",
            (household_id, format_ts(since), EventKind.PASSAGE.value))
        return [parse_ts(row[0]) for row in rows]

    def tally_since(self, since: datetime, kinds: Iterable[EventKind]) -> list[tuple[str, str | None, str | None, int]]:
        """(kind, verdict, direction, how many) of the events of ``kinds`` at or after ``since``: counted in SQLite."""
        values = _kinds(kinds)
        marks = ", ".join("?" * len(values))
        return [tuple(row) for row in self._query(
            "SELECT kind, json_extract(data, '$.verdict'), json_extract(data, '$.direction'), count(*) FROM events"
            f" WHERE ts >= ? AND kind IN ({marks}) GROUP BY 1, 2, 3", (format_ts(since), *values))]

    def open_alarm_count(self, since: datetime) -> int:
        """How many alarms raised at or after ``since`` have no acknowledgement: counted in SQLite.

        The status bar asks this after every decision, so it must not read (and
        parse) every alarm of the last two days as the full list does.
        """
        rows = self._query(
            "SELECT count(*) FROM events WHERE kind = ? AND ts >= ? AND id NOT IN"
            " (SELECT json_extract(data, '$.alarm_event_id') FROM events WHERE kind = ? AND ts >= ?)",
            (EventKind.ALARM_RAISED.value, format_ts(since), EventKind.ALARM_ACKNOWLEDGED.value, format_ts(since)))
        return int(rows[0][0])

    def superseded_since(self, since: datetime) -> list[tuple[str, str | None, str | None, int]]:
        """(kind, verdict, direction, how many) of the passages (and visitor registrations) since ``since`` that a
        later decision replaced (a handheld reading after a fever)."""
        return [tuple(row) for row in self._query(
            "SELECT kind, json_extract(data, '$.verdict'), json_extract(data, '$.direction'), count(*) FROM events"
            f" WHERE ts >= ? AND kind IN ({_SUPERSEDING_MARKS}) AND seq IN (SELECT json_extract(data, '$.supersedes_seq')"
            f"   FROM events WHERE ts >= ? AND kind IN ({_SUPERSEDING_MARKS})"
            "   AND json_extract(data, '$.supersedes_seq') IS NOT NULL) GROUP BY 1, 2, 3",
            (format_ts(since), *_SUPERSEDING, format_ts(since), *_SUPERSEDING))]

    def newest(self, kinds: Iterable[EventKind], since: datetime, n: int) -> list[Event]:
        """The newest ``n`` events of ``kinds`` at or after ``since``, newest first."""
        values = _kinds(kinds)
        marks = ", ".join("?" * len(values))
        return self._events(f"ts >= ? AND kind IN ({marks})", (format_ts(since), *values), order="seq DESC", limit=n)

    def latest(self, kinds: Iterable[EventKind], *, volunteer_id: str | None = None) -> Event | None:
        """The newest event of one of ``kinds`` (by one volunteer, if given), or None."""
        values = _kinds(kinds)
        marks = ", ".join("?" * len(values))
        where, params = f"kind IN ({marks})", list(values)
        if volunteer_id is not None:
            where, params = where + " AND volunteer_id = ?", params + [volunteer_id]
        found = self._events(where, params, order="seq DESC", limit=1)
        return found[0] if found else None

    def events_since(self, since: datetime, kinds: Iterable[EventKind]) -> list[Event]:
        """Events of ``kinds`` at or after ``since`` (aware), oldest first: today's ledger at the gate."""
        values = _kinds(kinds)
        marks = ", ".join("?" * len(values))
        return self._events(f"ts >= ? AND kind IN ({marks})", (format_ts(since), *values))

    def subject_events_since(self, subject_kind: str, since: datetime, kinds: Iterable[EventKind]) -> list[Event]:
        """Events of ``kinds`` about any ``subject_kind:…`` subject (e.g. every visitor pass) at or after ``since``,
        oldest first; a range on the subject index, so a week of residents' passages is never read."""
        values = _kinds(kinds)
        marks = ", ".join("?" * len(values))
        return self._events(f"subject >= ? AND subject < ? AND kind IN ({marks}) AND ts >= ?",
                            (f"{subject_kind}:", f"{subject_kind};", *values, format_ts(since)))

    def newest_with(self, kind: EventKind, key: str, value: str, since: datetime) -> Event | None:
        """The newest event of ``kind`` at or after ``since`` whose data's top-level ``key`` equals ``value``
        (e.g. a visitor's registrations by phone), or None."""
        if not key.isidentifier():
            raise ValueError(f"expected a data key, got {key!r}")
        found = self._events(f"kind = ? AND ts >= ? AND json_extract(data, '$.{key}') = ?",
                             (kind.value, format_ts(since), value), order="seq DESC", limit=1)
        return found[0] if found else None

    def tail(self, n: int = 10) -> list[Event]:
        """The newest ``n`` events, oldest first."""
        return list(reversed(self._events("1", (), order="seq DESC", limit=n)))

    def stats(self) -> JournalStats:
        """Sequence counters, event count and the oldest and newest timestamps held."""
        row = self._query(
            "SELECT (SELECT value FROM meta WHERE key = 'gate_id'),"
            " (SELECT value FROM meta WHERE key = 'last_seq'),"
            " (SELECT value FROM meta WHERE key = 'acked_seq'),"
            " count(*), min(ts), max(ts) FROM events"
        )[0]
        gate_id, last, acked, count, oldest, newest = row
        return JournalStats(str(self.path), gate_id, int(last), int(acked), int(last) - int(acked), count, oldest, newest)

    def integrity_check(self) -> str:
        """``ok`` when SQLite's ``PRAGMA integrity_check`` finds nothing wrong, else its findings, one per line."""
        return "\n".join(row[0] for row in self._query("PRAGMA integrity_check"))


class Journal(JournalReader):
    """The gate's append-only event journal in one SQLite file (see the module docstring).

    ``clock`` returns the current time as an aware datetime (default: the real
    UTC clock); every event's ``ts`` and purge's default ``now`` come from it.
    The file is created and migrated when needed; a file already used by a
    different gate is refused, since seq is per gate. Usable as a context
    manager; ``close`` is idempotent.

    ``gate_clock`` (kiosk.gate.clock; default: this machine's) stamps every
    transaction's events with the boot id, the monotonic ms and the clock's
    trust code, judged against the newest time this journal holds.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        gate_id: str,
        *,
        clock: Callable[[], datetime] | None = None,
        gate_clock: GateClock | None = None,
    ):
        if not isinstance(gate_id, str) or not gate_id:
            raise JournalError(f"gate_id must be a non-empty string, got {gate_id!r}")
        self.path = Path(path)
        self._gate_id = gate_id
        self._clock = clock or _utc_now
        self.gate_clock = gate_clock or GateClock()
        self._lock = threading.Lock()
        created = not self.path.exists()
        self._writer: sqlite3.Connection | None = self._open_writer()
        # The newest time journaled (not the last seq's: a clock that went backwards wrote older times after it).
        # Once per open: ts has no index of its own, and appends keep it up to date after this.
        self._newest_ts: str | None = self._writer.execute("SELECT max(ts) FROM events").fetchone()[0]
        try:
            if created:
                # SQLite syncs the directory for its -wal file, not for the main
                # file it just created: without this a power cut could lose the
                # new file's name, and every event in it.
                _fsync_dir(self.path.parent)
            super().__init__(self.path)
        except BaseException:
            self._writer.close()
            raise

    def _open_writer(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=BUSY_TIMEOUT_S, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open journal {self.path}: {exc}") from exc
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise JournalError(f"journal {self.path} cannot use WAL mode (got {mode!r})")
            # FULL: in WAL mode every commit syncs the -wal file; NORMAL would
            # only sync at checkpoints, and a power cut could drop the tail.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
            db = sqlite_utils.Database(conn, execute_plugins=False)
            # IMMEDIATE: two processes opening a new file must not both migrate it
            conn.execute("BEGIN IMMEDIATE")
            try:
                migrations.apply(db)
                conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('gate_id', ?)", (self._gate_id,))
                owner = conn.execute("SELECT value FROM meta WHERE key = 'gate_id'").fetchone()[0]
                if owner != self._gate_id:
                    raise JournalError(
                        f"journal {self.path} belongs to gate {owner!r}, not {self._gate_id!r}: "
                        "each gate keeps its own journal file"
                    )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            conn.close()
            raise JournalError(f"cannot open journal {self.path}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    @classmethod
    def open(  # type: ignore[override]  # a writer needs its gate id; a reader does not
        cls, path: str | os.PathLike[str], gate_id: str, *, clock: Callable[[], datetime] | None = None,
        gate_clock: GateClock | None = None,
    ) -> Journal:
        """Open (creating and migrating when needed) the journal file at ``path`` for ``gate_id``."""
        return cls(path, gate_id, clock=clock, gate_clock=gate_clock)

    def close(self) -> None:
        """Close the writer and every read connection. Idempotent; appends afterwards raise JournalClosedError."""
        with self._lock:
            super().close()
            writer, self._writer = self._writer, None
            if writer is not None:
                # Closing the last connection checkpoints and removes the -wal file
                writer.close()

    def _write(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``work`` in one BEGIN IMMEDIATE transaction on the writer; all of it or none of it."""
        with self._lock:
            conn = self._writer
            if conn is None:
                raise JournalClosedError(f"journal {self.path} is closed")
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = work(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    # A failed COMMIT (disk full, I/O error) may leave the
                    # transaction open: roll back so no half batch survives
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise JournalError(f"journal {self.path}: {exc}") from exc
            return result

    @property
    def newest_ts(self) -> str | None:
        """The newest time any event of this journal was stamped with (None: none yet)."""
        return self._newest_ts

    def behind_journal(self) -> timedelta:
        """How far the journal's clock is now behind the newest time it journaled (zero when it is not): a clock
        gone back. Card validity is judged that much later (kiosk.gate.checkpoint, docs/clock.md)."""
        newest = self._newest_ts
        if newest is None:
            return timedelta(0)
        return max(timedelta(0), parse_ts(newest) - self._clock())

    def clock_trust(self, now: datetime | None = None) -> ClockTrust:
        """How far the clock can be trusted now, judged against this journal's newest time (kiosk.gate.clock)."""
        newest = self._newest_ts
        return self.gate_clock.assess(now or self._clock(), parse_ts(newest) if newest else None)

    def append(
        self,
        kind: EventKind,
        data: Mapping[str, Any],
        *,
        volunteer_id: str | None = None,
        subject: str | None = None,
        household_id: int | None = None,
    ) -> Event:
        """Journal one event; it is on disk (one transaction, one fsync) when this returns.

        Raises PersonalDataError for a clear ID number anywhere in ``data``,
        JournalError for anything else that keeps it from being stored; in
        both cases nothing is stored and no seq is used up.
        """
        return self.append_many([EventDraft(kind, data, volunteer_id, subject, household_id)])[0]

    def append_many(self, drafts: Iterable[EventDraft]) -> list[Event]:
        """Journal several events in one transaction: all are stored, with consecutive seqs, or none."""
        # Everything that needs no seq happens before the writer's lock: the
        # checks and the JSON text, and the ids. The Events handed back hold
        # their rows' JSON text and parse it when their data is first read, so
        # each reads exactly like its stored row (tuples as lists).
        prepared = prepare_batch(drafts)
        if not prepared:
            return []
        ids = new_ids(len(prepared))
        gate_id = self._gate_id

        def insert(conn: sqlite3.Connection) -> tuple[str, list[Event]]:
            # From meta, not max(seq): after a purge max(seq) may be lower or
            # absent, and a seq must never be handed out twice
            last = int(conn.execute("SELECT value FROM meta WHERE key = 'last_seq'").fetchone()[0])
            # One clock reading per transaction: the batch is journaled at one instant, with one clock stamp
            now = self._clock()
            ts = format_ts(now)
            newest = self._newest_ts
            stamp = self.gate_clock.stamp(now, parse_ts(newest) if newest else None)
            boot, mono_ms, trust = stamp.boot, stamp.mono_ms, stamp.clock
            seqs = range(last + 1, last + 1 + len(prepared))
            _insert_rows(conn, (ts, gate_id, boot, mono_ms, trust),
                         [(seq, id_, volunteer_id, kind._value_, subject, household_id, data_json)
                          for seq, id_, (kind, volunteer_id, subject, household_id, data_json)
                          in zip(seqs, ids, prepared, strict=True)])
            conn.execute("UPDATE meta SET value = ? WHERE key = 'last_seq'", (last + len(prepared),))
            stored = Event.stored
            return ts, [stored(seq, id_, ts, gate_id, volunteer_id, kind, data_json, subject, household_id, boot, mono_ms,
                               trust)
                        for seq, id_, (kind, volunteer_id, subject, household_id, data_json)
                        in zip(seqs, ids, prepared, strict=True)]

        ts, events = self._write(insert)
        with self._lock:  # after the commit: a rolled-back batch leaves no newer time behind
            if self._newest_ts is None or ts > self._newest_ts:
                self._newest_ts = ts
        return events

    def acknowledge(self, seq: int) -> int:
        """Record the office's high-water seq and return the new acked_seq.

        The mark never moves backwards (an older seq leaves it as it is); a seq
        above last_seq, or below 0, is a JournalError.
        """
        if isinstance(seq, bool) or not isinstance(seq, int):
            raise JournalError(f"seq must be an int, got {seq!r}")

        def ack(conn: sqlite3.Connection) -> int:
            last, acked = (int(v) for v in conn.execute(
                "SELECT (SELECT value FROM meta WHERE key = 'last_seq'), (SELECT value FROM meta WHERE key = 'acked_seq')"
            ).fetchone())
            if seq < 0 or seq > last:
                raise JournalError(f"cannot acknowledge seq {seq}: this journal's seqs run from 1 to {last}")
            if seq > acked:
                conn.execute("UPDATE meta SET value = ? WHERE key = 'acked_seq'", (seq,))
                return seq
            return acked

        return self._write(ack)

    def purge(self, retention_days: int, now: datetime | None = None) -> int:
        """Delete acknowledged events older than ``retention_days`` before ``now`` (default: the clock).

        Unacknowledged events are never purged, however old. Returns how many were deleted.
        """
        if retention_days < 0:
            raise ValueError(f"retention_days must be ≥ 0, got {retention_days}")
        cutoff = format_ts((now or self._clock()) - timedelta(days=retention_days))

        def delete(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "DELETE FROM events WHERE seq <= (SELECT value FROM meta WHERE key = 'acked_seq') AND ts < ?",
                (cutoff,),
            ).rowcount

        return self._write(delete)

    @property
    def gate_id(self) -> str:
        """The gate this journal belongs to."""
        return self._gate_id


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise JournalError(f"cannot sync directory {directory}: {exc}") from exc
