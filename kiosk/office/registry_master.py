"""The office's master registry: the same tables the gates replicate, plus a log of every change.

Each call to ``change`` is one registry version: its rows are applied and
logged in one transaction, so a gate at version V can be sent exactly the
changes after V (or a full snapshot when the log no longer reaches back).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from kiosk.registry import WITHHELD, Registry, for_gates

migrations = Migrations("kiosk.office.registry")


@migrations()
def m001_change_log(db: sqlite_utils.Database) -> None:
    """The change log gates sync from. Never edit a shipped migration: add a new one."""
    db["registry_changes"].create({"version": int, "position": int, "change": str}, pk=("version", "position"))


@migrations()
def m002_office_only_columns(db: sqlite_utils.Database) -> None:
    """A resident's full phone (staff call people in home quarantine) and a household's compound (小区: coverage
    and disinfection are counted per compound); both withheld from gates (kiosk.registry.WITHHELD)."""
    db["residents"].add_column("phone", str)
    db["households"].add_column("compound", str)


# How many versions of changes the office keeps for incremental sync; a gate further behind gets a snapshot.
DEFAULT_LOG_VERSIONS = 10_000


class RegistryMaster(Registry):
    """The office's registry: every change bumps the version and is logged for the gates.

    It keeps every column (residents' ID hashes match re-imported rosters); what
    gates get (``gate_changes_since``, ``gate_snapshot``) leaves out what a gate
    does not need to decide (kiosk.registry.WITHHELD).
    """

    replica = False

    def __init__(self, path: str | Path, *, log_versions: int = DEFAULT_LOG_VERSIONS):
        super().__init__(path)
        self.log_versions = log_versions
        migrations.apply(self._db())

    def change(self, changes: Iterable[Mapping[str, Any]]) -> int:
        """Apply a set of changes as the next version; all or nothing. Returns the new version.

        The keyset is held to the gates' rule (kiosk.registry): never malformed,
        never emptied once it holds a key, so the office cannot send gates a
        change they would refuse.
        """
        changes = [dict(c) for c in changes]
        db = self._db()
        with db.atomic():
            current = self.version
            new = current + 1
            keys_before = self._keyset_size()
            for change in changes:
                self._apply(change)
            if any(change.get("table") == "keyset" for change in changes):
                self._check_keyset(keys_before)
            db["registry_changes"].insert_all(
                ({"version": new, "position": i, "change": json.dumps(c, ensure_ascii=False, default=str)}
                 for i, c in enumerate(changes)),
            )
            db.execute("DELETE FROM registry_changes WHERE version <= ?", [new - self.log_versions])
            self._set_version(new)
        return new

    def upsert(self, table: str, row: Mapping[str, Any]) -> int:
        """One row added or updated, as its own version."""
        return self.change([{"op": "upsert", "table": table, "row": dict(row)}])

    def delete(self, table: str, key: Any) -> int:
        """One row removed, as its own version."""
        return self.change([{"op": "delete", "table": table, "key": key}])

    def changes_since(self, version: int) -> list[dict] | None:
        """Every change after ``version`` in order, or None when the log no longer reaches back (send a snapshot)."""
        current = self.version
        if version >= current:
            return []
        db = self._db()
        oldest = db.execute("SELECT MIN(version) FROM registry_changes").fetchone()[0]
        if version < 0 or oldest is None or oldest > version + 1:
            return None
        rows = db.execute(
            "SELECT change FROM registry_changes WHERE version > ? ORDER BY version, position", [version]
        ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def gate_changes_since(self, version: int) -> list[dict] | None:
        """``changes_since`` as a gate gets it: upserts without the WITHHELD columns."""
        changes = self.changes_since(version)
        if changes is None:
            return None
        return [{**c, "row": for_gates(c["table"], c["row"])}
                if c.get("op") == "upsert" and c.get("table") in WITHHELD and isinstance(c.get("row"), dict) else c
                for c in changes]

    def gate_snapshot(self) -> dict[str, list[dict]]:
        """``snapshot`` as a gate gets it: every table, without the WITHHELD columns."""
        return {table: [for_gates(table, row) for row in rows] for table, rows in self.snapshot().items()}

    def next_id(self, table: str) -> int:
        """The next free integer id in a registry table."""
        key = "card_id" if table == "revocations" else "id"
        value = self._db().execute(f"SELECT MAX([{key}]) FROM [{table}]").fetchone()[0]
        return (value or 0) + 1
