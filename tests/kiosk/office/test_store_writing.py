"""OfficeStore.writing() against another process writing the same office.db (the CLI beside the server)."""

from __future__ import annotations

import sqlite3

import pytest

from kiosk.office.store import OfficeStore


def test_a_write_block_holds_the_write_lock_from_its_first_read(tmp_path):
    """A deferred transaction that reads, then writes after another connection committed, is refused at once
    ("database is locked" on a stale snapshot, busy timeout or not): writing() takes the lock up front instead."""
    store = OfficeStore(tmp_path / "office.db")
    store.add_gate("north")
    other = sqlite3.connect(tmp_path / "office.db", timeout=0, isolation_level=None)  # another process, no waiting
    try:
        with store.writing() as db:
            db.execute("SELECT COUNT(*) FROM gates").fetchone()  # the block reads first ...
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("UPDATE gates SET name = 'x'")  # ... and nobody else can write in between
            db.execute("UPDATE gates SET name = ? WHERE id = ?", ["北门", "north"])  # so its own write goes in
        assert other.execute("SELECT name FROM gates").fetchone() == ("北门",)
        other.execute("UPDATE gates SET name = '南门'")  # the lock is released with the block
    finally:
        other.close()
        store.close()


def test_a_failed_write_block_leaves_nothing_and_releases_the_lock(tmp_path):
    store = OfficeStore(tmp_path / "office.db")
    store.add_gate("north", "北门")
    with pytest.raises(RuntimeError), store.writing() as db:
        db.execute("UPDATE gates SET name = '坏' WHERE id = 'north'")
        raise RuntimeError("boom")
    with store.writing() as db:
        assert db.execute("SELECT name FROM gates").fetchone() == ("北门",)
    store.close()
