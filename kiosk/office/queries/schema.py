"""office.db indexes (and derived columns) that serve the desk's queries; each query names the index it uses."""

from __future__ import annotations

from sqlite_utils.migrations import Migrations

migrations = Migrations("kiosk.office.queries")
