"""One SQLite connection per thread (sqlite-utils), in WAL mode: how the registry and the office store open their files."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlite_utils


class ThreadLocalDatabase:
    """Hands each thread its own sqlite-utils Database on one file; SQLite connections must not be shared."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5000, synchronous: str | None = None):
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self.synchronous = synchronous
        self._local = threading.local()

    def get(self) -> sqlite_utils.Database:
        """This thread's connection, opened (WAL, busy timeout) on first use."""
        db = getattr(self._local, "db", None)
        if db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite_utils.Database(self.path)
            db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            if db.journal_mode != "wal":
                db.enable_wal()
            if self.synchronous:
                db.execute(f"PRAGMA synchronous = {self.synchronous}")
            self._local.db = db
        return db

    def close(self) -> None:
        """Close this thread's connection (idempotent)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
