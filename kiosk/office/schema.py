"""The office database's migration sets beyond the store's own, in the order they apply.

Each module that owns tables or indexes in office.db keeps its own
``sqlite_utils.migrations.Migrations`` set (never edit a shipped migration: add
a new one); this list is the one place that says which sets exist.
"""

from __future__ import annotations

from sqlite_utils.migrations import Migrations


def extra_migrations() -> list[Migrations]:
    """The desk's migration sets (imported here, not at module level: they import nothing of the store)."""
    from kiosk.office.accounts_schema import migrations as accounts
    from kiosk.office.clock_correction import migrations as clock
    from kiosk.office.followup_schema import migrations as followup
    from kiosk.office.queries.schema import migrations as queries

    return [accounts, queries, followup, clock]
