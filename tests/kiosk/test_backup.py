"""kiosk.backup: online copies of a live SQLite file (real SQLite, real writer threads) and the rotation rule."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.backup import BackupError, KeepRule, check_database, choose_kept, sha256_file, snapshot


def _make_db(path, rows: int = 20000, *, wal: bool = True) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    if wal:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, body TEXT NOT NULL)")
    conn.execute("CREATE TABLE batches (batch INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO events (batch, body) VALUES (0, ?)", ((f"event {i} " + "x" * 200,) for i in range(rows)))
    conn.execute("INSERT INTO batches VALUES (0, ?)", [rows])
    conn.execute("COMMIT")
    conn.close()


class Writer(threading.Thread):
    """Commits a batch of events plus its count row in one transaction, as fast as it can, until stopped."""

    def __init__(self, path, pause_s: float = 0.0):
        super().__init__(daemon=True)
        self.path, self.stop, self.commits, self.errors = path, threading.Event(), 0, []
        self.pause_s = pause_s  # 0: commit back to back (WAL); a rollback-journal writer that never pauses
        # starves every reader, not only the backup, so that case gets a short pause between commits
        self.latencies: list[float] = []

    def run(self) -> None:
        import time

        conn = sqlite3.connect(self.path, isolation_level=None, timeout=10)
        conn.execute("PRAGMA busy_timeout = 10000")
        batch = 0
        while not self.stop.is_set():
            batch += 1
            started = time.monotonic()
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT INTO events (batch, body) VALUES (?, ?)",
                                 ((batch, "y" * 200) for _ in range(20)))
                conn.execute("INSERT INTO batches VALUES (?, 20)", [batch])
                conn.execute("COMMIT")
                self.commits += 1
            except sqlite3.Error as exc:  # the test asserts there are none
                self.errors.append(str(exc))
            self.latencies.append(time.monotonic() - started)
            if self.pause_s:
                time.sleep(self.pause_s)
        conn.close()


def _consistent(path) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        promised = conn.execute("SELECT sum(n) FROM batches").fetchone()[0]
    finally:
        conn.close()
    return events, promised


@pytest.mark.parametrize("wal", [True, False], ids=["wal", "rollback-journal"])
def test_snapshot_of_a_database_being_written_is_consistent_and_writers_never_fail(tmp_path, wal):
    src = tmp_path / "live.db"
    _make_db(src, wal=wal)
    writer = Writer(src, pause_s=0.0 if wal else 0.01)
    writer.start()
    try:
        while writer.commits < 5:
            threading.Event().wait(0.01)
        seen: list[tuple[int, int]] = []
        shot = snapshot(src, tmp_path / "out" / "copy.db", pages=16, sleep_s=0.001,
                        progress=lambda done, total: seen.append((done, total)))
        commits_during = writer.commits
    finally:
        writer.stop.set()
        writer.join(10)
    assert writer.errors == []
    assert seen[-1][0] == seen[-1][1], "copied to the end"
    assert check_database(shot.path) == []
    events, promised = _consistent(shot.path)
    assert events == promised >= 20000, "every batch in the copy is whole: one moment of the database"
    assert shot.sha256 == sha256_file(shot.path) and shot.size == shot.path.stat().st_size
    assert not list((tmp_path / "out").glob(".*tmp*")), "no temporary file left"
    assert not (tmp_path / "out" / "copy.db-wal").exists()
    conn = sqlite3.connect(shot.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete", "a single self-contained file"
    conn.close()
    if wal:
        assert commits_during > 5, "the writer kept committing while the copy ran"
        assert len(seen) > 10, "copied in many steps"
        assert shot.restarts == 0, "the pinned snapshot is never restarted by commits"
        # Never a stall: no commit waited anywhere near the busy timeout.
        assert max(writer.latencies) < 2.0
    else:
        assert len(seen) == 1, "a rollback-journal source is copied in one step (stepping would restart forever)"


def test_snapshot_of_a_missing_database_is_refused_and_creates_nothing(tmp_path):
    with pytest.raises(BackupError) as caught:
        snapshot(tmp_path / "nope.db", tmp_path / "copy.db")
    assert caught.value.code == "missing"
    assert "不存在" in str(caught.value) and "not found" in str(caught.value)
    assert not (tmp_path / "nope.db").exists() and not (tmp_path / "copy.db").exists()


def test_a_corrupt_source_fails_the_check_and_keeps_the_old_copy(tmp_path):
    src = tmp_path / "live.db"
    _make_db(src, rows=3000, wal=False)
    good = snapshot(src, tmp_path / "copy.db")
    before = sha256_file(good.path)
    data = bytearray(src.read_bytes())
    for offset in range(4096 * 3, len(data) - 4096, 4096):  # scribble over the middle of many b-tree pages
        data[offset + 100: offset + 140] = b"\xff" * 40
    src.write_bytes(bytes(data))
    with pytest.raises(BackupError) as caught:
        snapshot(src, tmp_path / "copy.db")
    assert caught.value.code in ("integrity", "copy", "unreadable")
    assert sha256_file(good.path) == before, "the earlier good copy is untouched"
    assert not list(tmp_path.glob(".*tmp*"))


def test_check_database_on_garbage_reports_a_problem(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 500)
    problems = check_database(junk)
    assert problems and "not a database" in problems[0]
    assert check_database(tmp_path / "absent.db")


def _daily(n: int, start: datetime) -> list[datetime]:
    return [start - timedelta(days=i) for i in range(n)]


def test_rotation_keeps_seven_days_four_weeks_six_months():
    newest = datetime(2026, 12, 1, 18, 30, tzinfo=UTC)
    stamps = _daily(400, newest) + [newest - timedelta(hours=1)]  # two on the newest day
    kept = choose_kept(stamps, KeepRule(7, 4, 6))
    days = sorted({s.date() for s, why in kept.items() if "daily" in why}, reverse=True)
    assert days == [(newest - timedelta(days=i)).date() for i in range(7)]
    assert newest - timedelta(hours=1) not in kept, "only the newest of a day"
    weekly = [s for s, why in kept.items() if "weekly" in why]
    assert len(weekly) == 4 and len({tuple(s.isocalendar())[:2] for s in weekly}) == 4
    monthly = sorted(s for s, why in kept.items() if "monthly" in why)
    assert [(s.year, s.month) for s in monthly] == [(2026, 7), (2026, 8), (2026, 9), (2026, 10), (2026, 11),
                                                    (2026, 12)]
    assert all(s == max(x for x in stamps if (x.year, x.month) == (s.year, s.month)) for s in monthly)
    assert kept[newest][0] == "newest"
    assert len(kept) <= 7 + 4 + 6


def test_rotation_always_keeps_the_newest_and_counts_in_the_office_time_zone():
    newest = datetime(2026, 12, 1, 18, 30, tzinfo=UTC)
    assert list(choose_kept([newest, newest - timedelta(days=1)], KeepRule(0, 0, 0))) == [newest]
    assert choose_kept([], KeepRule()) == {}
    # 18:30 and 15:00 UTC are the same day in UTC but 02:30 and 23:00 on different days in Shanghai.
    pair = [newest, newest.replace(hour=15)]
    assert len(choose_kept(pair, KeepRule(7, 0, 0))) == 1
    assert len(choose_kept(pair, KeepRule(7, 0, 0), tz=ZoneInfo("Asia/Shanghai"))) == 2


def test_keep_rule_is_bounded():
    with pytest.raises(ValueError):
        KeepRule(daily=-1)
    with pytest.raises(ValueError):
        KeepRule(monthly=5000)
