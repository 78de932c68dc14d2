"""The office's registry chores: cards, home-quarantine orders, volunteers and visitor passes.

Each call is one registry version (``RegistryMaster.change``), so a gate
picks it up as one step at its next sync. Dates are calendar dates in the
office's time zone; card and quarantine dates are inclusive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.cards import Card, CardKind, issue_card, render_qr
from kiosk.credentials import PIN_PATTERN, hash_secret
from kiosk.exc import KioskError
from kiosk.keys import SigningKey
from kiosk.office.keyring import signing_key_change
from kiosk.office.registry_master import RegistryMaster
from kiosk.privacy import mask_phone
from kiosk.registry import RevocationReason, household_label, normalise_plate

# Registry table holding the subject of each kind of card.
SUBJECT_TABLES = {
    CardKind.RESIDENT: "residents",
    CardKind.VEHICLE: "vehicles",
    CardKind.VOLUNTEER: "volunteers",
    CardKind.VISITOR: "visitor_passes",
}


class AdminError(KioskError, ValueError):
    """An office registry command was refused (unknown person, bad PIN, card already revoked …)."""


@dataclass(frozen=True)
class IssuedCard:
    """A card the office issued: its contents, QR text, image file, the registry version that recorded it and the
    holder's earlier cards it replaced (revoked as ``replaced`` in the same version)."""

    card: Card
    text: str
    image: Path
    version: int
    revoked: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``--json``."""
        return {"card": self.card.to_dict(), "text": self.text, "image": str(self.image), "version": self.version,
                "revoked": list(self.revoked)}


# -- finding people ------------------------------------------------------------


def _rows(master: RegistryMaster, table: str) -> list[dict]:
    return master.snapshot()[table] if table else []


def find_household(master: RegistryMaster, label: str) -> dict:
    """The household written ``building-unit-room`` (e.g. ``3-2-501``), as on cards and ledgers."""
    wanted = "".join(label.split())
    matches = [h for h in _rows(master, "households")
               if household_label(h["building"], h["unit"], h["room"]) == wanted]
    if not matches:  # 5号楼1单元101室, 5/1/101 …: the same household however either is spelt
        from kiosk.office.addresses import AddressError, match_households

        try:
            matches = [dict(h) for h in match_households(_rows(master, "households"), label)]
        except AddressError:
            pass  # not an address at all: the error below says how to write one
    if not matches:
        raise AdminError(f"登记册中没有住户“{str(label)[:40]}”，请写成 楼栋-单元-房间，如 3-2-501 / "
                         f"no household {label!r} in the registry (write it building-unit-room, e.g. 3-2-501; "
                         "import the roster first)")
    if len(matches) > 1:
        raise AdminError(f"有 {len(matches)} 户都写作“{str(label)[:40]}”，请改用住户编号 / "
                         f"{len(matches)} households are written {label!r}; use the household id instead")
    return matches[0]


def find_resident(master: RegistryMaster, ref: str | int) -> dict:
    """A resident by registry id (``12``) or by household and name (``3-2-501:王小山``)."""
    text = str(ref).strip()
    if text.isdigit():
        row = master.resident(int(text))
        if row is None:
            raise AdminError(f"登记册中没有编号为 {text} 的居民 / no resident with id {text} in the registry")
        return row
    label, sep, name = text.replace("：", ":").partition(":")
    if not sep or not name.strip():
        raise AdminError(f"居民“{text[:40]}”：请写编号或 住户:姓名，如 3-2-501:王小山 / "
                         f"resident {text!r}: give a registry id or household:name, e.g. 3-2-501:王小山")
    household = find_household(master, label)
    for row in master.residents_of(household["id"]):
        if row["name"] == name.strip():
            return row
    raise AdminError(f"住户 {label} 中没有名叫 {name.strip()} 的居民 / no resident named {name.strip()} in household {label}")


def _filename_part(text: str) -> str:
    # Keep names readable (汉字 allowed) but never a path separator or a character Windows refuses.
    return re.sub(r'[\\/:*?"<>|\s]+', "_", text).strip("_.") or "x"


def _subject_label(master: RegistryMaster, kind: CardKind, subject_id: int) -> str:
    """How the card's holder is written in its file name, e.g. ``3-2-501_王小山``."""
    if kind is CardKind.RESIDENT:
        row = master.resident(subject_id)
        if row is None:
            raise AdminError(f"no resident with id {subject_id} in the registry")
        return "_".join(p for p in (master.household_label_of(row["household_id"]), row["name"]) if p)
    if kind is CardKind.VEHICLE:
        row = master.vehicle(subject_id)
        if row is None:
            raise AdminError(f"no vehicle with id {subject_id} in the registry")
        return "_".join(p for p in (master.household_label_of(row["household_id"]), row["plate"]) if p)
    if kind is CardKind.VOLUNTEER:
        row = master.volunteer(subject_id)
        if row is None:
            raise AdminError(f"no volunteer with id {subject_id} in the registry")
        return f"volunteer_{row['name']}"
    visitor = master.visitor_pass(subject_id)
    if visitor is None:
        raise AdminError(f"no visitor pass with id {subject_id} in the registry")
    where = master.household_label_of(visitor.host_household_id)
    return "_".join(p for p in ("visitor", where, visitor.name) if p)


# -- cards ---------------------------------------------------------------------


def _card_change(card: Card, issued_at: datetime) -> dict:
    return {"op": "upsert", "table": "cards", "row": {
        "id": card.card_id, "kind": card.kind.value, "subject_id": card.subject_id,
        "valid_from": card.valid_from.isoformat(), "valid_until": card.valid_until.isoformat(),
        "issued_at": issued_at.isoformat(timespec="seconds"),
    }}


def _revocation_change(card_id: int, reason: RevocationReason, now: datetime) -> dict:
    return {"op": "upsert", "table": "revocations",
            "row": {"card_id": card_id, "revoked_at": now.isoformat(timespec="seconds"), "reason": reason.value}}


def _issue(master: RegistryMaster, key: SigningKey, kind: CardKind, subject_id: int, label: str,
           valid_from: date, valid_until: date, out_dir: Path, now: datetime,
           extra_changes: list[dict], replaces: tuple[int, ...] = ()) -> IssuedCard:
    card_id = master.next_id("cards")
    card, text = issue_card(key, kind, subject_id, valid_from=valid_from, valid_until=valid_until, card_id=card_id)
    # The card, its key (should the registry not trust it yet) and the cards it replaces are one version:
    # a gate never sees the new card without its key, nor both old and new valid.
    changes = [*signing_key_change(master, key), *extra_changes, _card_change(card, now),
               *(_revocation_change(old, RevocationReason.REPLACED, now) for old in replaces)]
    out_dir.mkdir(parents=True, exist_ok=True)
    image = out_dir / f"{_filename_part(label)}_card-{card_id}.png"
    try:
        render_qr(text, image)
    except OSError as exc:
        raise AdminError(f"{image}: cannot write the card image: {exc.strerror or exc}") from None
    try:
        version = master.change(changes)
    except BaseException:
        # No registry row, no image: a card nobody recorded must not be printed.
        image.unlink(missing_ok=True)
        raise
    return IssuedCard(card, text, image, version, replaces)


def issue_registry_card(master: RegistryMaster, key: SigningKey, kind: CardKind | str, subject_id: int, *,
                        out_dir: str | Path, tz: ZoneInfo, validity_days: int = 365,
                        valid_from: date | None = None, valid_until: date | None = None,
                        now: datetime | None = None, keep_old: bool = False) -> IssuedCard:
    """Issue a card for a registered resident, vehicle, volunteer or visitor pass; record it and write its PNG.

    The image goes to ``out_dir`` named so a person can find it, e.g.
    ``3-2-501_王小山_card-12.png``. Validity defaults to ``validity_days`` from
    today (a visitor pass: the pass's own window). The holder's earlier
    unrevoked cards of the same kind are revoked as ``replaced`` in the same
    version (``IssuedCard.revoked``), unless ``keep_old`` (e.g. a spare card).
    """
    kind = CardKind(kind)
    now = now or datetime.now(tz)
    label = _subject_label(master, kind, subject_id)
    if kind is CardKind.VISITOR:
        visitor = master.visitor_pass(subject_id)
        if visitor is None:  # _subject_label found it: only a concurrent delete gets here
            raise AdminError(f"no visitor pass with id {subject_id} in the registry")
        valid_from = valid_from or visitor.valid_from.date()
        valid_until = valid_until or visitor.valid_until.date()
    start = valid_from or now.astimezone(tz).date()
    end = valid_until or start + timedelta(days=validity_days - 1)
    if end < start:
        raise AdminError(f"valid until {end} is before valid from {start}")
    replaces = () if keep_old else tuple(row["id"] for row in master.cards_of(kind.value, subject_id, unrevoked=True))
    return _issue(master, key, kind, subject_id, label, start, end, Path(out_dir), now, [], replaces)


REVOCATION_REASONS = [reason.value for reason in RevocationReason]


def revoke_card(master: RegistryMaster, card_id: int, *, reason: RevocationReason | str = RevocationReason.WITHDRAWN,
                now: datetime | None = None) -> int:
    """Revoke a card; gates refuse it after their next sync, telling the holder ``reason``. Returns the new version.

    ``reason`` is one of ``lost`` (reported lost, 挂失), ``replaced``, ``moved_out``, ``withdrawn`` (any other).
    """
    try:
        code = RevocationReason(reason)
    except ValueError:
        raise AdminError(f"revocation reason {reason!r}: expected one of {', '.join(REVOCATION_REASONS)}") from None
    if master.card(card_id) is None:
        raise AdminError(f"no card {card_id} in the registry (see the number in the card image's file name)")
    if master.is_revoked(card_id):
        raise AdminError(f"card {card_id} is already revoked")
    return master.change([_revocation_change(card_id, code, now or datetime.now().astimezone())])


# -- home quarantine -------------------------------------------------------------


def add_quarantine(master: RegistryMaster, *, resident_id: int | None = None, household_id: int | None = None,
                   starts_on: date, days: int = 14, ends_on: date | None = None, note: str = "") -> tuple[dict, int]:
    """Order home quarantine (居家隔离) for one resident or a whole household; returns (order row, version).

    Dates are inclusive: 14 days from 1 March ends on 14 March.
    """
    if (resident_id is None) == (household_id is None):
        raise AdminError("a quarantine order is for one resident or one household: give exactly one")
    if resident_id is not None and master.resident(resident_id) is None:
        raise AdminError(f"no resident with id {resident_id} in the registry")
    if household_id is not None and master.household(household_id) is None:
        raise AdminError(f"no household with id {household_id} in the registry")
    if ends_on is None:
        if days < 1:
            raise AdminError(f"quarantine length must be at least 1 day, got {days}")
        ends_on = starts_on + timedelta(days=days - 1)
    if ends_on < starts_on:
        raise AdminError(f"quarantine end {ends_on} is before its start {starts_on}")
    row = {"id": master.next_id("quarantine_orders"), "resident_id": resident_id, "household_id": household_id,
           "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat(), "note": note}
    return row, master.change([{"op": "upsert", "table": "quarantine_orders", "row": row}])


def end_quarantine(master: RegistryMaster, order_id: int, *, lifted_on: date) -> tuple[dict | None, int]:
    """Lift an order early: from ``lifted_on`` the person may go out (the last quarantine day becomes the day before).

    An order lifted on or before its first day never takes effect and is
    removed (returns None as the row). Returns (order row, version).
    """
    rows = [r for r in _rows(master, "quarantine_orders") if r["id"] == order_id]
    if not rows:
        raise AdminError(f"no quarantine order {order_id} (list them with: kiosk office quarantine list)")
    row = dict(rows[0])
    ends_on = date.fromisoformat(row["ends_on"])
    if lifted_on > ends_on:
        raise AdminError(f"quarantine order {order_id} already ends on {ends_on}; nothing to end early")
    if lifted_on <= date.fromisoformat(row["starts_on"]):
        return None, master.change([{"op": "delete", "table": "quarantine_orders", "key": order_id}])
    row["ends_on"] = (lifted_on - timedelta(days=1)).isoformat()
    return row, master.change([{"op": "upsert", "table": "quarantine_orders", "row": row}])


def list_quarantine(master: RegistryMaster, *, on: date | None = None) -> list[dict]:
    """Quarantine orders (active on ``on`` when given), each with who it covers written out for a person."""
    snapshot = master.snapshot()
    households = {h["id"]: h for h in snapshot["households"]}
    residents = {r["id"]: r for r in snapshot["residents"]}
    result = []
    for row in snapshot["quarantine_orders"]:
        if on is not None and not row["starts_on"] <= on.isoformat() <= row["ends_on"]:
            continue
        resident = residents.get(row["resident_id"])
        household = households.get(resident["household_id"] if resident else row["household_id"])
        where = household_label(household["building"], household["unit"], household["room"]) if household else "?"
        who = f"{where} {resident['name']}" if resident else f"{where} (whole household)"
        result.append({**row, "who": who})
    return result


# -- volunteers and visitors -----------------------------------------------------

MAX_NAME_CHARS = 32  # a person's name: longer is a pasted text


def check_pin(pin: str) -> None:
    """Refuse a PIN the gate would not take (kiosk.credentials.PIN_PATTERN: 4 to 8 digits)."""
    if not re.fullmatch(PIN_PATTERN, pin or ""):
        raise AdminError("PIN 应为 4 到 8 位数字 / the PIN must be 4 to 8 digits")


def add_volunteer(master: RegistryMaster, name: str, pin: str, *, resident_id: int | None = None) -> tuple[dict, int]:
    """Register a volunteer who signs in at the gate with a PIN (4–8 digits, stored only as a hash)."""
    name = name.strip()
    if not name:
        raise AdminError("志愿者姓名为空 / a volunteer needs a name")
    if len(name) > MAX_NAME_CHARS:
        raise AdminError(f"姓名超过 {MAX_NAME_CHARS} 个字 / a name has at most {MAX_NAME_CHARS} characters")
    check_pin(pin)
    if resident_id is not None and master.resident(resident_id) is None:
        raise AdminError(f"登记册中没有编号为 {resident_id} 的居民 / no resident with id {resident_id} in the registry")
    row = {"id": master.next_id("volunteers"), "name": name, "pin_hash": hash_secret(pin), "resident_id": resident_id}
    version = master.change([{"op": "upsert", "table": "volunteers", "row": row}])
    return {k: v for k, v in row.items() if k != "pin_hash"}, version


MIN_DEFAULT_PASS = timedelta(hours=4)
"""A pass made without an end lasts until the end of its day, but never less than this: one made at 23:30 must
still let the visitor in (it lasts until 03:30), not end before it starts."""


def default_pass_window(start: datetime) -> tuple[datetime, datetime]:
    """The window of a visitor pass given only its start: until 23:59 that day, or ``MIN_DEFAULT_PASS`` after the
    start when that is later. ``start`` is an aware time in the office's zone."""
    start = start.replace(second=0, microsecond=0)
    end_of_day = start.replace(hour=23, minute=59)
    return start, max(end_of_day, start + MIN_DEFAULT_PASS)


def add_visitor_pass(master: RegistryMaster, key: SigningKey, *, name: str, phone: str, host: str,
                     valid_from: datetime, valid_until: datetime, reason: str = "", out_dir: str | Path,
                     now: datetime | None = None) -> tuple[dict, IssuedCard]:
    """Pre-register a visitor to household ``host`` (``3-2-501``) for a time window and issue the pass's card.

    The pass and its card are one registry version. ``valid_from`` and
    ``valid_until`` must be time-zone aware; the card is valid on their dates.
    """
    name = name.strip()
    if not name:
        raise AdminError("访客姓名为空 / a visitor pass needs the visitor's name")
    from kiosk.office.roster import normalise_phone, phone_problem

    digits = normalise_phone(phone)
    if phone and phone_problem(phone):
        raise AdminError(phone_problem(phone) or "")
    if valid_from.tzinfo is None or valid_until.tzinfo is None:
        raise AdminError("visitor pass times need a time zone")
    if valid_until <= valid_from:
        raise AdminError(f"the pass ends ({valid_until:%Y-%m-%d %H:%M}) before it starts ({valid_from:%Y-%m-%d %H:%M})")
    household = find_household(master, host)
    row = {"id": master.next_id("visitor_passes"), "name": name, "phone_masked": mask_phone(digits) if phone else "",
           "host_household_id": household["id"], "valid_from": valid_from.isoformat(timespec="seconds"),
           "valid_until": valid_until.isoformat(timespec="seconds"), "reason": reason}
    label = f"visitor_{household_label(household['building'], household['unit'], household['room'])}_{name}"
    issued = _issue(master, key, CardKind.VISITOR, row["id"], label, valid_from.date(), valid_until.date(),
                    Path(out_dir), now or datetime.now(valid_from.tzinfo),
                    [{"op": "upsert", "table": "visitor_passes", "row": row}])
    return row, issued


def vehicle_id_by_plate(master: RegistryMaster, plate: str) -> int:
    """The registry id of the vehicle with this plate."""
    row = master.vehicle_by_plate(plate)
    if row is None:
        raise AdminError(f"no vehicle with plate {normalise_plate(plate)} in the registry")
    return row["id"]

