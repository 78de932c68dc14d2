"""The gate's replica of the office registry (SQLite via sqlite-utils).

Households, residents, cards, vehicles, visitor passes, home-quarantine
orders, volunteers, revoked cards and the trusted keyset, plus the registry
version so the office can send only what changed. The gate decides from this
replica when the office is out of reach.

The keyset arrives by sync like every other table, and a gate never loses its
last trusted key to a bad payload: a change set or snapshot that would leave a
malformed keyset, or none where there was one, is refused whole.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Self

import sqlite_utils
from sqlite_utils.migrations import Migrations

from kiosk.cards import CardCheck, Rejection
from kiosk.exc import KeyFileError, RegistryError, RegistryVersionError
from kiosk.keys import Keyset
from kiosk.sqlitedb import ThreadLocalDatabase

migrations = Migrations("kiosk.registry")
# Migrations only a gate's replica runs (the office's master registry keeps what they remove).
replica_migrations = Migrations("kiosk.registry.replica")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    """The first schema. Never edit a migration that has shipped: add a new one."""
    db["meta"].create({"key": str, "value": str}, pk="key")
    db["households"].create(
        {"id": int, "building": str, "unit": str, "room": str, "note": str}, pk="id"
    )
    db["residents"].create(
        {"id": int, "household_id": int, "name": str, "phone_masked": str,
         "id_hash": str, "id_masked": str, "note": str},
        pk="id",
    )
    db["residents"].create_index(["household_id"])
    db["cards"].create(
        {"id": int, "kind": str, "subject_id": int, "valid_from": str, "valid_until": str, "issued_at": str},
        pk="id",
    )
    db["cards"].create_index(["kind", "subject_id"])
    db["revocations"].create({"card_id": int, "revoked_at": str, "reason": str}, pk="card_id")
    db["vehicles"].create(
        {"id": int, "plate": str, "household_id": int, "owner_resident_id": int, "note": str}, pk="id"
    )
    db["vehicles"].create_index(["plate"], unique=True)
    db["visitor_passes"].create(
        {"id": int, "name": str, "phone_masked": str, "host_household_id": int,
         "valid_from": str, "valid_until": str, "reason": str},
        pk="id",
    )
    db["quarantine_orders"].create(
        {"id": int, "resident_id": int, "household_id": int, "starts_on": str, "ends_on": str, "note": str},
        pk="id",
    )
    db["quarantine_orders"].create_index(["resident_id"])
    db["quarantine_orders"].create_index(["household_id"])
    db["volunteers"].create({"id": int, "name": str, "pin_hash": str, "resident_id": int}, pk="id")
    db["keyset"].create({"kid": str, "alg": str, "public_key": str, "created": str}, pk="kid")
    db["meta"].insert({"key": "version", "value": "0"})


@replica_migrations(transactional=False)
def m001_forget_residents_personal_data(db: sqlite_utils.Database) -> None:
    """A gate decides a passage from a resident's id, household and name: it forgets the ID hash, masked ID,
    masked phone and note an older office sent it, and scrubs the freed pages (secure_delete, VACUUM) and the
    WAL so the old bytes are gone from the SD card's files. Never edit a shipped migration: add a new one."""
    db.execute("PRAGMA secure_delete = ON")
    with db.conn:
        db.execute("UPDATE residents SET id_hash = NULL, id_masked = NULL, phone_masked = NULL, note = NULL")
    db.execute("VACUUM")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# Tables the office may change, and the column each is keyed by.
TABLES: Mapping[str, str] = {
    "households": "id",
    "residents": "id",
    "cards": "id",
    "revocations": "card_id",
    "vehicles": "id",
    "visitor_passes": "id",
    "quarantine_orders": "id",
    "volunteers": "id",
    "keyset": "kid",
}


# What a gate never keeps even when an office sends it (an older office did): it needs none of it to decide,
# and a resident's ID hash with the masked number gives the number back to whoever holds the hash key.
# ``phone`` (a resident's full number, for the office's follow-up calls) and ``households.compound`` exist only in
# the office's master (kiosk.office.registry_master m002): a gate never gets a column it does not have.
WITHHELD: Mapping[str, frozenset[str]] = {
    "residents": frozenset({"id_hash", "id_masked", "phone_masked", "phone", "note"}),
    "households": frozenset({"compound"}),
}


def for_gates(table: str, row: Mapping[str, Any]) -> dict:
    """A registry row as gates get it: without the WITHHELD columns."""
    withheld = WITHHELD.get(table)
    return {k: v for k, v in row.items() if k not in withheld} if withheld else dict(row)


class RevocationReason(str, enum.Enum):
    """Why the office revoked a card, as stored in ``revocations.reason``; the gate tells the holder which."""

    LOST = "lost"            # reported lost (挂失): the only reason a screen calls 已挂失
    REPLACED = "replaced"    # a newer card of the same kind was issued to the same holder
    MOVED_OUT = "moved_out"  # the holder no longer lives in the community
    WITHDRAWN = "withdrawn"  # any other reason

    @classmethod
    def of(cls, value: Any) -> RevocationReason:
        """The code for a stored reason; free text from before the codes (遗失, "lost (挂失)" …) reads as withdrawn."""
        try:
            return cls(value)
        except ValueError:
            return cls.WITHDRAWN


def normalise_plate(plate: str) -> str:
    """``京a·12345`` → ``京A12345``: plates are matched without separators, upper case."""
    return "".join(ch for ch in plate.upper() if ch.isalnum())


def household_label(building: str | None, unit: str | None, room: str | None) -> str:
    """``3``, ``2``, ``501`` → ``3-2-501``: how a household is written on screens and ledgers."""
    return "-".join(part for part in (building, unit, room) if part)


@dataclass(frozen=True)
class QuarantineOrder:
    """A home-quarantine order (居家隔离) on one resident or a whole household, inclusive dates."""

    id: int
    resident_id: int | None
    household_id: int | None
    starts_on: date
    ends_on: date

    def active_on(self, day: date) -> bool:
        """True when ``day`` falls inside the order."""
        return self.starts_on <= day <= self.ends_on


@dataclass(frozen=True)
class VisitorPass:
    """A visitor pass pre-registered at the office: who may come, to which household, when."""

    id: int
    name: str
    host_household_id: int | None
    valid_from: datetime
    valid_until: datetime

    def covers(self, moment: datetime) -> bool:
        """True when ``moment`` is inside the pass's window."""
        return self.valid_from <= moment <= self.valid_until


class Registry:
    """The registry replica in one SQLite file. Each thread gets its own connection."""

    replica = True  # a gate's copy: keeps no WITHHELD column (the office's RegistryMaster says False)

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._connections = ThreadLocalDatabase(self.path)
        migrations.apply(self._db())
        # Never on the office's master file, even opened as a plain Registry (kiosk cards verify --registry).
        if self.replica and "registry_changes" not in self._db().table_names():
            replica_migrations.apply(self._db())

    def _db(self) -> sqlite_utils.Database:
        return self._connections.get()

    def close(self) -> None:
        """Close this thread's connection (idempotent)."""
        self._connections.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- version ---------------------------------------------------------

    @property
    def version(self) -> int:
        """The registry version this replica holds (0 = never synced)."""
        return int(self._db()["meta"].get("version")["value"])

    # -- look-ups --------------------------------------------------------

    def _row(self, table: str, key: Any) -> dict | None:
        rows = list(self._db()[table].rows_where(f"[{TABLES[table]}] = ?", [key], limit=1))
        return rows[0] if rows else None

    def card(self, card_id: int) -> dict | None:
        """The office's record of a card (kind, subject_id, dates), or None when unknown here."""
        return self._row("cards", card_id)

    def is_revoked(self, card_id: int) -> bool:
        """True when the office revoked this card."""
        return self._row("revocations", card_id) is not None

    def revocation(self, card_id: int) -> dict | None:
        """Why and when the office revoked this card: ``{"card_id", "reason", "revoked_at", "note"}``, or None.

        ``reason`` is always a RevocationReason value; a row written before the
        codes keeps its old text in ``note`` and reads as ``withdrawn``.
        """
        row = self._row("revocations", card_id)
        if row is None:
            return None
        stored = row.get("reason") or ""
        reason = RevocationReason.of(stored)
        return {"card_id": row["card_id"], "reason": reason.value, "revoked_at": row.get("revoked_at") or "",
                "note": "" if stored == reason.value else stored}

    def cards_of(self, kind: str, subject_id: int, *, unrevoked: bool = False) -> list[dict]:
        """The cards of one kind issued to one subject, oldest first (via the kind + subject index)."""
        sql = "SELECT * FROM cards WHERE kind = ? AND subject_id = ?"
        if unrevoked:
            sql += " AND id NOT IN (SELECT card_id FROM revocations)"
        return [dict(r) for r in self._db().query(sql + " ORDER BY id", [str(kind), subject_id])]

    def check_revocation(self, check: CardCheck) -> CardCheck:
        """Turn a valid CardCheck into a REVOKED rejection when the registry lists its card as revoked."""
        if check.valid and check.card is not None and self.is_revoked(check.card.card_id):
            return CardCheck(valid=False, reason=Rejection.REVOKED, card=check.card)
        return check

    def household(self, household_id: int) -> dict | None:
        """A household row (building, unit, room)."""
        return self._row("households", household_id)

    def household_label_of(self, household_id: int | None) -> str:
        """``3-2-501`` for a household id; empty when there is none or it is unknown."""
        house = self.household(household_id) if household_id is not None else None
        return household_label(house["building"], house["unit"], house["room"]) if house else ""

    def resident(self, resident_id: int) -> dict | None:
        """A resident row (name, household, masked phone/ID)."""
        return self._row("residents", resident_id)

    def residents_of(self, household_id: int) -> list[dict]:
        """Everyone registered in a household."""
        return list(self._db()["residents"].rows_where("household_id = ?", [household_id], order_by="id"))

    def vehicle(self, vehicle_id: int) -> dict | None:
        """A vehicle row."""
        return self._row("vehicles", vehicle_id)

    def vehicle_by_plate(self, plate: str) -> dict | None:
        """The vehicle with this plate (separators and case ignored), via the plate index."""
        rows = list(self._db()["vehicles"].rows_where("plate = ?", [normalise_plate(plate)], limit=1))
        return rows[0] if rows else None

    def visitor_pass(self, pass_id: int) -> VisitorPass | None:
        """A pre-registered visitor pass."""
        row = self._row("visitor_passes", pass_id)
        if row is None:
            return None
        return VisitorPass(
            id=row["id"], name=row["name"] or "", host_household_id=row["host_household_id"],
            valid_from=datetime.fromisoformat(row["valid_from"]),
            valid_until=datetime.fromisoformat(row["valid_until"]),
        )

    def volunteer(self, volunteer_id: int) -> dict | None:
        """A volunteer row (name, PIN hash)."""
        return self._row("volunteers", volunteer_id)

    def volunteers(self) -> list[dict]:
        """Every volunteer row, by id."""
        return list(self._db()["volunteers"].rows_where(order_by="id"))

    def names(self) -> list[str]:
        """Every name the gate holds (residents, visitor passes, volunteers): the hanzi keyboard's candidate order."""
        return [row["name"] for row in self._db().query(
            "SELECT name FROM residents UNION ALL SELECT name FROM visitor_passes UNION ALL SELECT name FROM volunteers")
            if row["name"]]

    def households(self) -> list[dict]:
        """Every household row (id, building, unit, room), in building / unit / room order."""
        return list(self._db().query(
            "SELECT id, building, unit, room FROM households ORDER BY building, unit, room, id"))

    def quarantine_orders(self, *, resident_id: int | None, household_id: int | None, on: date) -> list[QuarantineOrder]:
        """Orders active on ``on`` for this resident or their whole household."""
        iso = on.isoformat()
        rows = self._db().query(
            "SELECT * FROM quarantine_orders WHERE (resident_id = ? OR household_id = ?)"
            " AND starts_on <= ? AND ends_on >= ? ORDER BY id",
            [resident_id, household_id, iso, iso],
        )
        return [
            QuarantineOrder(
                id=r["id"], resident_id=r["resident_id"], household_id=r["household_id"],
                starts_on=date.fromisoformat(r["starts_on"]), ends_on=date.fromisoformat(r["ends_on"]),
            )
            for r in rows
        ]

    def keyset_json(self) -> dict:
        """The trusted keys in keyset-file form (see kiosk.keys.Keyset.from_json)."""
        keys = [dict(row) for row in self._db()["keyset"].rows_where(order_by="kid")]
        return {"format": "kiosk-keyset", "version": 1, "keys": keys}

    def keyset(self) -> Keyset:
        """The trusted keys, checked (KeyFileError when a row is not a valid Ed25519 key)."""
        return Keyset.from_json(self.keyset_json(), f"{self.path}: keyset")

    def counts(self) -> dict[str, int]:
        """Row count per table, for status pages and doctor."""
        db = self._db()
        return {table: db[table].count for table in TABLES}

    # -- changes ---------------------------------------------------------

    def _check_row(self, table: str, row: Any) -> dict:
        if table not in TABLES:
            raise RegistryError(f"unknown registry table {table!r}")
        if not isinstance(row, dict):
            raise RegistryError(f"{table}: expected a row object, got {type(row).__name__}")
        if self.replica and table in WITHHELD:
            row = for_gates(table, row)  # dropped before the column check: a gate has no column for some of them
        columns = set(self._db()[table].columns_dict)
        unknown = set(row) - columns
        if unknown:
            raise RegistryError(f"{table}: unknown columns {sorted(unknown)}")
        key = TABLES[table]
        if row.get(key) is None:
            raise RegistryError(f"{table}: row without {key}")
        if table == "vehicles" and row.get("plate"):
            row = {**row, "plate": normalise_plate(row["plate"])}
        return row

    def _apply(self, change: Any) -> None:
        if not isinstance(change, dict) or change.get("op") not in ("upsert", "delete"):
            raise RegistryError(f"expected a change {{op: upsert|delete, table, row|key}}, got {json.dumps(change, ensure_ascii=False, default=str)[:120]}")
        table = change.get("table")
        if not isinstance(table, str) or table not in TABLES:
            raise RegistryError(f"unknown registry table {table!r}")
        if change["op"] == "upsert":
            self._db()[table].upsert(self._check_row(table, change.get("row")), pk=TABLES[table])
        else:
            self._db()[table].delete_where(f"[{TABLES[table]}] = ?", [change.get("key")])

    def _keyset_size(self) -> int:
        return self._db()["keyset"].count

    def _check_keyset(self, keys_before: int) -> None:
        """Refuse (inside the caller's transaction, so it rolls back) a keyset that is malformed, or empty where
        there were keys: cards would be refused as forged at this gate until the office fixed it."""
        try:
            keyset = Keyset.from_json(self.keyset_json(), "keyset")
        except KeyFileError as exc:
            raise RegistryError(f"registry changes refused: they would leave a malformed keyset ({exc}); "
                                "nothing was applied and the keys trusted so far stay") from None
        if keys_before and not len(keyset):
            raise RegistryError("registry changes refused: they would remove every trusted key; nothing was "
                                "applied and the keys trusted so far stay (the office must keep at least one key)")

    def _set_version(self, version: int) -> None:
        self._db()["meta"].upsert({"key": "version", "value": str(version)}, pk="key")

    def apply_changes(self, changes: Iterable[Mapping], *, from_version: int, to_version: int) -> int:
        """Apply the office's changes from ``from_version`` to ``to_version`` in one transaction.

        Refuses (RegistryVersionError) when the replica is not at
        ``from_version``; a bad change rolls the whole set back. Returns the
        new version.
        """
        if to_version < from_version:
            raise RegistryVersionError(f"registry changes go backwards ({from_version} → {to_version})")
        db = self._db()
        with db.atomic():
            current = self.version
            if current != from_version:
                raise RegistryVersionError(
                    f"registry replica is at version {current}, changes start at {from_version}: ask for a snapshot"
                )
            keys_before = self._keyset_size()
            touches_keyset = False
            for change in changes:
                self._apply(change)
                touches_keyset = touches_keyset or change.get("table") == "keyset"
            if touches_keyset:
                self._check_keyset(keys_before)
            self._set_version(to_version)
        return to_version

    def apply_snapshot(self, tables: Mapping[str, Iterable[Mapping]], *, version: int) -> int:
        """Replace every registry table with a full snapshot from the office, in one transaction."""
        db = self._db()
        unknown = set(tables) - set(TABLES)
        if unknown:
            raise RegistryError(f"unknown registry tables {sorted(unknown)}")
        with db.atomic():
            keys_before = self._keyset_size()
            for table, key in TABLES.items():
                db.execute(f"DELETE FROM [{table}]")
                rows = [self._check_row(table, row) for row in tables.get(table, ())]
                if rows:
                    db[table].insert_all(rows, pk=key)
            self._check_keyset(keys_before)
            self._set_version(version)
        return version

    def snapshot(self) -> dict[str, list[dict]]:
        """Every registry table as lists of rows (the shape apply_snapshot takes)."""
        db = self._db()
        return {table: [dict(r) for r in db[table].rows_where(order_by=f"[{key}]")] for table, key in TABLES.items()}

    def integrity_check(self) -> str:
        """``ok`` when SQLite finds the file sound."""
        return self._db().execute("PRAGMA integrity_check").fetchone()[0]


def gate_keyset(registry: Registry, provisioning_path: str | os.PathLike[str] | None = None) -> Keyset:
    """The keys a gate trusts: its replica's keyset once the office has sent one, else the provisioning file's.

    A new gate's replica is empty until its first sync, and a gate may start
    with the office out of reach: the keyset written into its provisioning
    file by ``kiosk office add-gate`` carries it until then. After that the
    office's keyset (rotations, retirements) wins.
    """
    keyset = registry.keyset()
    if len(keyset) or not provisioning_path:
        return keyset
    from kiosk.provisioning import provisioning_keyset

    return provisioning_keyset(provisioning_path)
