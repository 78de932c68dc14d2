"""office.db tables for staff accounts, sign-in lockout, desk sessions and the audit log (see kiosk.office.accounts)."""

from __future__ import annotations

from sqlite_utils.migrations import Migrations

migrations = Migrations("kiosk.office.accounts")
