"""Consistent copies of a live SQLite database, checked before they count, and which old copies to keep.

Shared by the office's nightly backup (kiosk/office/backup.py) and the pre-upgrade copy (kiosk/upgrade.py); no
Flask, no config.

:func:`snapshot` uses SQLite's online backup API in steps of ``pages`` pages with a short sleep between steps, so
the copy never holds the disk for long and a busy office keeps writing. In WAL mode (how the office opens its
files, kiosk/sqlitedb.py) the copy pins one read snapshot for its whole run: writers are never blocked by a reader
in WAL, and the copy is of one moment, never restarted by their commits. A database in a rollback-journal mode is
copied in one step under one shared lock (its writers wait for the copy within their busy timeout): stepping there
lets each commit restart the copy, forever under a steady writer.

The copy goes to a temporary name next to the destination, is switched to a single file (journal_mode=DELETE: no
-wal beside it), checked with ``PRAGMA integrity_check`` (or ``quick_check``), fsynced, and only then renamed into
place; a failed copy never replaces or removes anything.

:func:`choose_kept` is the rotation rule (newest of each of the last N days, weeks and months, as in restic's
``--keep-daily/weekly/monthly``), always keeping the newest good backup.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from kiosk.exc import KioskError

DEFAULT_PAGES = 512
"""Pages per backup step: 2 MiB with SQLite's default 4 KiB pages."""
DEFAULT_SLEEP_S = 0.002
"""Pause between steps: lets a writer in and keeps the SD card or disk from being saturated."""

Progress = Callable[[int, int], None]
"""Called after each step with (pages copied, pages in all)."""


class BackupError(KioskError):
    """A database could not be copied or a copy failed its check; ``code`` says which, for messages and tests."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class Snapshot:
    """A finished, checked copy."""

    path: Path
    size: int
    sha256: str
    pages: int
    seconds: float
    restarts: int


def _connect_existing(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """Open a database that must already exist (a plain connect would create an empty one)."""
    if not path.is_file():
        raise BackupError("missing", f"数据库不存在 database not found: {path}")
    mode = "ro" if read_only else "rw"
    try:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True, timeout=10,
                               isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise BackupError("unreadable", f"无法打开数据库 cannot open database {path}: {exc}") from None


def check_database(path: str | Path, *, quick: bool = False) -> list[str]:
    """Problems ``PRAGMA integrity_check`` (or ``quick_check``) finds in the file at ``path``; [] when sound.

    Opened read-only. A file that is not a database at all is one problem, not an exception.
    """
    path = Path(path)
    try:
        conn = _connect_existing(path, read_only=True)
    except BackupError as exc:
        return [str(exc)]
    try:
        rows = conn.execute("PRAGMA quick_check" if quick else "PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return [f"{exc}"]
    finally:
        conn.close()
    found = [str(r[0]) for r in rows]
    return [] if found == ["ok"] else found


def sha256_file(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """The file's SHA-256, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def fsync_dir(path: str | Path) -> None:
    """Make a rename or a new file in ``path`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems (vfat on a USB stick) refuse fsync on a directory: the data itself is synced
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def snapshot(src_db: str | Path, dest_path: str | Path, *, pages: int = DEFAULT_PAGES,
             sleep_s: float = DEFAULT_SLEEP_S, quick_check: bool = False,
             progress: Progress | None = None) -> Snapshot:
    """Copy the live database ``src_db`` to ``dest_path`` (a consistent, checked, durable single file).

    Raises :class:`BackupError` (nothing at ``dest_path`` changed) when the source is missing or unreadable, the
    destination cannot be written, or the copy fails its integrity check. An existing ``dest_path`` is replaced
    only by a good copy.
    """
    src_path, dest = Path(src_db), Path(dest_path)
    if pages < 1:
        raise ValueError("pages must be ≥ 1")
    started = time.monotonic()
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    source = _connect_existing(src_path)
    try:
        try:
            source.execute("PRAGMA busy_timeout = 10000")
            wal = str(source.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal"
        except sqlite3.Error as exc:  # not a database, or its header is damaged
            raise BackupError("unreadable", f"无法读取数据库 cannot read database {src_path}: {exc}") from None
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):
                leftover.unlink(missing_ok=True)
            target = sqlite3.connect(tmp, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise BackupError("dest", f"无法写入备份 cannot write the backup {dest}: {exc}") from None
        try:
            restarts, total = _copy(source, target, wal=wal, pages=pages, sleep_s=sleep_s, progress=progress)
            # One self-contained file: the copy carries the source's WAL flag in its header otherwise.
            target.execute("PRAGMA journal_mode = DELETE")
        except sqlite3.Error as exc:
            target.close()
            tmp.unlink(missing_ok=True)
            code = "dest" if isinstance(exc, sqlite3.OperationalError) and "disk" in str(exc).lower() else "copy"
            raise BackupError(code, f"备份失败 copying {src_path} failed: {exc}") from None
        target.close()
    finally:
        source.close()
    problems = check_database(tmp, quick=quick_check)
    if problems:
        tmp.unlink(missing_ok=True)
        raise BackupError("integrity", f"备份副本未通过完整性检查 the copy of {src_path} failed its integrity check: "
                                       + "; ".join(problems[:5]))
    try:
        _fsync_file(tmp)
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BackupError("dest", f"无法写入备份 cannot write the backup {dest}: {exc}") from None
    return Snapshot(dest, dest.stat().st_size, sha256_file(dest), total, time.monotonic() - started, restarts)


def _copy(source: sqlite3.Connection, target: sqlite3.Connection, *, wal: bool, pages: int, sleep_s: float,
          progress: Progress | None) -> tuple[int, int]:
    """Run the backup steps; returns (restarts, pages in all)."""
    state = {"remaining": -1, "restarts": 0, "total": 0}

    def step(status: int, remaining: int, total: int) -> None:
        # The remaining count going up means SQLite restarted the copy (a writer committed in between).
        if state["remaining"] >= 0 and remaining > state["remaining"]:
            state["restarts"] += 1
        state["remaining"], state["total"] = remaining, total
        if progress is not None:
            progress(total - remaining, total)
        if remaining and sleep_s > 0:
            time.sleep(sleep_s)

    if wal:
        # A read transaction on the backup's own source connection: every step reads this one snapshot.
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()
        try:
            source.backup(target, pages=pages, progress=step)
        finally:
            source.execute("COMMIT")
        return state["restarts"], state["total"]
    # Rollback journal: one step under one shared lock. Stepping there lets writers commit in between, which
    # restarts the copy (forever, under a steady writer) and, measured here, can leave a writer waiting on its
    # PENDING lock while the copy waits for SHARED; writers now wait for the copy within their busy timeout.
    source.backup(target, pages=-1, progress=step)
    return state["restarts"], state["total"]


# -- rotation ------------------------------------------------------------------------


@dataclass(frozen=True)
class KeepRule:
    """How many backups to keep: the newest of each of the last ``daily`` days, ``weekly`` ISO weeks and
    ``monthly`` months that have one (a rule may keep the same backup for several reasons)."""

    daily: int = 7
    weekly: int = 4
    monthly: int = 6

    def __post_init__(self) -> None:
        for name in ("daily", "weekly", "monthly"):
            value = getattr(self, name)
            if not 0 <= value <= 1000:
                raise ValueError(f"keep {name}: expected 0 to 1000, got {value}")


def choose_kept(stamps: Iterable[datetime], rule: KeepRule, *, tz: tzinfo | None = None) -> dict[datetime, list[str]]:
    """Which of the good backups taken at ``stamps`` (aware datetimes) to keep → why (``daily``, ``weekly``,
    ``monthly``, ``newest``); days, weeks and months counted in ``tz`` (the stamps' own zone when None).

    The newest is always kept, even with every count 0. Callers pass only good backups: a failed or
    unverified one must never take the place of a good one.
    """
    ordered = sorted(set(stamps), reverse=True)
    kept: dict[datetime, list[str]] = {}
    if not ordered:
        return kept
    kept[ordered[0]] = ["newest"]
    buckets: list[tuple[str, int, Callable[[datetime], tuple[int, ...]]]] = [
        ("daily", rule.daily, lambda d: (d.year, d.month, d.day)),
        ("weekly", rule.weekly, lambda d: tuple(d.isocalendar())[:2]),
        ("monthly", rule.monthly, lambda d: (d.year, d.month)),
    ]
    for reason, count, key in buckets:
        seen: set[tuple[int, ...]] = set()
        for stamp in ordered:  # newest first: the first of each bucket is its newest
            if len(seen) >= count:
                break
            bucket = key(stamp.astimezone(tz) if tz is not None else stamp)
            if bucket in seen:
                continue
            seen.add(bucket)
            kept.setdefault(stamp, []).append(reason)
    return kept
