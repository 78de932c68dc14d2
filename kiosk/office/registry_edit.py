"""The registry edited by hand, from the desk or the CLI: residents, households, vehicles, volunteers, visitor passes.

Every operation is checked first and then written as ONE registry version (``RegistryMaster.change``: all or
nothing, reaching gates by sync) followed by one audit entry naming who did what (``kiosk.office.audit.record``,
action codes ``registry.<kind>_<verb>``). A refused operation raises :class:`EditError` (Chinese first, then
English, naming the field) and changes nothing.

The rules are the project's single definitions: ID numbers are checked by ``kiosk.privacy.id_number_problem``
(python-stdnum's ``cn.ric``) and stored as the roster import stores them (keyed hash + masked form, never in
clear); phones by ``kiosk.office.roster.phone_problem``, stored in full in the office-only ``residents.phone``
and masked in ``phone_masked``; addresses by ``kiosk.office.addresses``; plates by ``kiosk.registry.normalise_plate``;
PINs by ``kiosk.credentials.PIN_PATTERN``. Audit details never hold a full ID number or phone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.credentials import hash_secret
from kiosk.office.addresses import AddressError, address_of, normalise_parts, parse_address
from kiosk.office.admin import MAX_NAME_CHARS, AdminError, check_pin
from kiosk.office.registry_master import RegistryMaster
from kiosk.privacy import ID_PROBLEMS, id_number_problem, mask_phone, normalise_id_number, protect_id_number
from kiosk.registry import RevocationReason, household_label, normalise_plate

if TYPE_CHECKING:
    from kiosk.keys import SigningKey
    from kiosk.office.admin import IssuedCard
    from kiosk.office.store import OfficeStore

MAX_NOTE_CHARS = 200
MAX_COMPOUND_CHARS = 32
PLATE_CHARS = (5, 10)  # 京A12345 (7), new-energy 京AD12345 (8); the roster's rule

KINDS = ("residents", "households", "vehicles", "volunteers", "visitors")
"""What the desk's /people/<kind>/… forms edit."""


class EditError(AdminError):
    """A registry edit refused; nothing was changed. ``field`` names the form field at fault ('' for none)."""

    def __init__(self, field: str, zh: str, en: str):
        self.field, self.zh, self.en = field, zh, en
        super().__init__(f"{zh} / {en}")


@dataclass(frozen=True)
class Edit:
    """What one edit did: the registry version it made, the audit action, and the row as stored (for showing)."""

    version: int
    action: str
    target: str
    row: dict[str, Any] = field(default_factory=dict)
    card: IssuedCard | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``--json``: never the ID hash, PIN hash or the full phone."""
        row = {k: v for k, v in self.row.items() if k not in ("id_hash", "pin_hash", "phone")}
        return {"version": self.version, "action": self.action, "target": self.target, "row": row,
                **({"card": self.card.to_dict()} if self.card else {})}


def _text(value: Any, what: str, zh: str, en: str, limit: int, *, required: bool = False) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise EditError(what, f"{zh}为空", f"the {en} is empty")
    if len(text) > limit:
        raise EditError(what, f"{zh}超过 {limit} 个字", f"the {en} has more than {limit} characters")
    return text


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


class RegistryEditor:
    """Edits of ``master`` by ``actor`` (a desk user or ``cli``), each audited into ``store`` (office.db).

    ``id_key`` is the community's ID-hash key (kiosk.office.roster.load_id_hash_key); only needed when an ID
    number is given. ``address`` is where the request came from (the desk's client address), for the audit log.
    """

    def __init__(self, master: RegistryMaster, store: OfficeStore | None, actor: str, *, id_key: bytes | None = None,
                 address: str | None = None):
        self.master, self.store, self.actor = master, store, actor or "?"
        self.id_key, self.address = id_key, address

    # -- the one way a change is made --------------------------------------------------------------------------

    def _commit(self, changes: list[dict], action: str, target: str, detail: dict[str, Any],
                row: dict[str, Any] | None = None) -> Edit:
        version = self.master.change(changes)
        if self.store is not None:
            from kiosk.office import audit

            audit.record(self.store, self.actor, action, target, {"version": version, **detail},
                         address=self.address)
        return Edit(version, action, target, dict(row or {}))

    # -- looking things up -----------------------------------------------------------------------------------

    def _household(self, ref: Any, what: str = "household") -> dict:
        """A household by id (``12`` or ``#12``) or by any spelling of its address (5-1-101, 5号楼1单元101室)."""
        text = str(ref or "").strip()[:64]
        if not text:
            raise EditError(what, "住户为空，请写 楼栋-单元-房间，如 5-1-101", "the household is empty: write building-unit-room, "
                            "e.g. 5-1-101")
        if text.startswith("#") and text[1:].isdigit():
            row = self.master.household(int(text[1:]))
            if row is None:
                raise EditError(what, f"没有编号为 {text[1:]} 的住户", f"no household with id {text[1:]}")
            return row
        if isinstance(ref, int):
            row = self.master.household(ref)
            if row is None:
                raise EditError(what, f"没有编号为 {ref} 的住户", f"no household with id {ref}")
            return row
        try:
            wanted = parse_address(text)
        except AddressError as exc:
            raise EditError(what, f"住户地址无法识别：{exc}", "cannot read the household's address") from None
        matches = [h for h in self.master.households() if address_of(h) == wanted]
        if not matches:
            raise EditError(what, f"登记册中没有住户 {wanted.label}，请先新增该户", f"no household {wanted.label} in the "
                            "registry: add it first")
        if len(matches) > 1:
            raise EditError(what, f"有 {len(matches)} 户都是 {wanted.label}，请写 #编号", f"{len(matches)} households "
                            f"are {wanted.label}: write #id")
        return matches[0]

    def _resident(self, resident_id: int) -> dict:
        row = self.master.resident(int(resident_id))
        if row is None:
            raise EditError("id", f"没有编号为 {resident_id} 的居民", f"no resident with id {resident_id}")
        return row

    def _label(self, household_id: Any) -> str:
        return self.master.household_label_of(household_id) if household_id is not None else ""

    def _revoke_all(self, kind: str, subject_id: int, reason: RevocationReason) -> list[dict]:
        now = _now()
        return [{"op": "upsert", "table": "revocations",
                 "row": {"card_id": card["id"], "revoked_at": now, "reason": reason.value}}
                for card in self.master.cards_of(kind, subject_id, unrevoked=True)]

    def _live_orders(self, *, resident_id: int | None = None, household_id: int | None = None) -> list[dict]:
        today = datetime.now().astimezone().date().isoformat()
        return [q for q in self.master.snapshot()["quarantine_orders"]
                if (q.get("ends_on") or "9999") >= today
                and ((resident_id is not None and q.get("resident_id") == resident_id)
                     or (household_id is not None and q.get("household_id") == household_id))]

    # -- residents -------------------------------------------------------------------------------------------

    def _id_fields(self, id_number: str, exclude: int | None = None) -> dict[str, str]:
        number = normalise_id_number(str(id_number or ""))[:40]
        problem = id_number_problem(number)
        if problem:
            zh, en = ID_PROBLEMS[problem]
            raise EditError("id_number", f"身份证号：{zh}，请与身份证核对", f"ID number: {en}; check it against the ID card")
        if not self.id_key:
            raise EditError("id_number", "没有身份证号密钥，无法保存身份证号", "no ID-hash key: cannot store an ID number")
        protected = protect_id_number(number, self.id_key)
        for other in self.master.snapshot()["residents"]:
            if other["id_hash"] == protected["id_hash"] and other["id"] != exclude:
                where = self._label(other["household_id"])
                raise EditError("id_number", f"该身份证号已登记给 {where} {other['name']}",
                                f"this ID number is already registered to {where} {other['name']}")
        return protected

    def _phone_fields(self, phone: str) -> dict[str, str]:
        from kiosk.office.roster import normalise_phone, phone_problem

        text = str(phone or "").strip()[:40]
        if not text:
            return {"phone": "", "phone_masked": ""}
        problem = phone_problem(text)
        if problem:
            zh, _, en = problem.partition(" (")
            raise EditError("phone", zh, en.rstrip(")"))
        digits = normalise_phone(text)
        return {"phone": digits, "phone_masked": mask_phone(digits)}

    def _unique_name(self, household_id: int, name: str, exclude: int | None = None) -> None:
        for other in self.master.residents_of(household_id):
            if other["name"] == name and other["id"] != exclude:
                raise EditError("name", f"{self._label(household_id)} 已有一位居民叫 {name}",
                                f"{self._label(household_id)} already has a resident named {name}")

    def add_resident(self, *, household: Any, name: str, id_number: str = "", phone: str = "",
                     note: str = "") -> Edit:
        """Register a resident in ``household`` (id or address). ID number and phone are optional."""
        name = _text(name, "name", "姓名", "name", MAX_NAME_CHARS, required=True)
        home = self._household(household)
        self._unique_name(home["id"], name)
        row: dict[str, Any] = {"id": self.master.next_id("residents"), "household_id": home["id"], "name": name,
                               "id_hash": "", "id_masked": "",
                               "note": _text(note, "note", "备注", "note", MAX_NOTE_CHARS)}
        if str(id_number or "").strip():
            row.update(self._id_fields(id_number))
        row.update(self._phone_fields(phone))
        where = self._label(home["id"])
        return self._commit([{"op": "upsert", "table": "residents", "row": row}], "registry.resident_added",
                            f"resident:{row['id']}", {"household": where, "name": name,
                                                      "id_masked": row["id_masked"]}, row)

    def edit_resident(self, resident_id: int, *, name: str | None = None, id_number: str | None = None,
                      phone: str | None = None, note: str | None = None) -> Edit:
        """Change a resident's name, ID number, phone or note (None: leave as is; phone/note "": clear)."""
        old = self._resident(resident_id)
        row = dict(old)
        if name is not None:
            row["name"] = _text(name, "name", "姓名", "name", MAX_NAME_CHARS, required=True)
            self._unique_name(old["household_id"], row["name"], exclude=old["id"])
        if id_number is not None and str(id_number).strip():
            row.update(self._id_fields(id_number, exclude=old["id"]))
        if phone is not None:
            row.update(self._phone_fields(phone))
        if note is not None:
            row["note"] = _text(note, "note", "备注", "note", MAX_NOTE_CHARS)
        changed = sorted(k for k in row if (row[k] or "") != (old.get(k) or "") and k != "id_hash"
                         and k != "phone_masked")
        if not changed:
            raise EditError("", "没有修改任何内容", "nothing was changed")
        return self._commit([{"op": "upsert", "table": "residents", "row": row}], "registry.resident_edited",
                            f"resident:{old['id']}", {"household": self._label(old["household_id"]),
                                                      "name": row["name"], "fields": changed}, row)

    def move_resident(self, resident_id: int, household: Any) -> Edit:
        """Move a resident to another household (their card stays valid: a gate reads the household from the
        registry). Their vehicles stay with the household they are registered to."""
        old = self._resident(resident_id)
        home = self._household(household)
        if home["id"] == old["household_id"]:
            raise EditError("household", f"{self._label(home['id'])} 就是此人现在的住户",
                            f"{self._label(home['id'])} is already this resident's household")
        self._unique_name(home["id"], old["name"])
        row = {**old, "household_id": home["id"]}
        return self._commit([{"op": "upsert", "table": "residents", "row": row}], "registry.resident_moved",
                            f"resident:{old['id']}", {"name": old["name"], "from": self._label(old["household_id"]),
                                                      "to": self._label(home["id"])}, row)

    def remove_resident(self, resident_id: int) -> Edit:
        """Remove a resident: their cards are revoked (moved out) in the same version, a volunteer or vehicle linked
        to them is unlinked. Refused while a home-quarantine order on them is in force."""
        old = self._resident(resident_id)
        where = self._label(old["household_id"])
        if self._live_orders(resident_id=old["id"]):
            raise EditError("", f"{where} {old['name']} 正在居家隔离，请先解除隔离再删除",
                            f"{where} {old['name']} is under a home-quarantine order: lift it first")
        changes: list[dict] = [{"op": "delete", "table": "residents", "key": old["id"]},
                               *self._revoke_all("resident", old["id"], RevocationReason.MOVED_OUT)]
        snapshot = self.master.snapshot()
        changes += [{"op": "upsert", "table": "volunteers", "row": {**v, "resident_id": None}}
                    for v in snapshot["volunteers"] if v.get("resident_id") == old["id"]]
        changes += [{"op": "upsert", "table": "vehicles", "row": {**v, "owner_resident_id": None}}
                    for v in snapshot["vehicles"] if v.get("owner_resident_id") == old["id"]]
        revoked = sum(1 for c in changes if c["table"] == "revocations")
        return self._commit(changes, "registry.resident_removed", f"resident:{old['id']}",
                            {"household": where, "name": old["name"], "cards_revoked": revoked}, old)

    # -- households ------------------------------------------------------------------------------------------

    def _address(self, address: str | None, building: str | None, unit: str | None, room: str | None) -> tuple:
        try:
            if address is not None and str(address).strip():
                return parse_address(str(address)[:64]).as_tuple()
            return normalise_parts(building or "", unit or "", room or "").as_tuple()
        except AddressError as exc:
            text = str(exc)
            zh, _, en = text.partition(" (")
            raise EditError("address", f"地址：{zh}", f"address: {en.rstrip(')') or text}") from None

    def _address_free(self, parts: tuple, exclude: int | None = None) -> None:
        for other in self.master.households():
            if address_of(other).as_tuple() == tuple(parts) and other["id"] != exclude:
                raise EditError("address", f"住户 {household_label(*parts)} 已在登记册中",
                                f"household {household_label(*parts)} is already in the registry")

    def add_household(self, *, address: str | None = None, building: str | None = None, unit: str | None = None,
                      room: str | None = None, compound: str = "", note: str = "") -> Edit:
        """Register a household at ``address`` (any spelling) or building/unit/room; ``compound`` (小区) '' = the
        office's one compound."""
        parts = self._address(address, building, unit, room)
        self._address_free(parts)
        row = {"id": self.master.next_id("households"), "building": parts[0], "unit": parts[1], "room": parts[2],
               "compound": _text(compound, "compound", "小区", "compound", MAX_COMPOUND_CHARS) or None,
               "note": _text(note, "note", "备注", "note", MAX_NOTE_CHARS)}
        label = household_label(*parts)
        return self._commit([{"op": "upsert", "table": "households", "row": row}], "registry.household_added",
                            f"household:{row['id']}", {"household": label, "compound": row["compound"]}, row)

    def edit_household(self, household_id: int, *, address: str | None = None, compound: str | None = None,
                       note: str | None = None) -> Edit:
        """Correct a household's address, compound or note (None: leave as is)."""
        old = self._household(int(household_id), "id")
        row = dict(old)
        if address is not None and str(address).strip():
            parts = self._address(address, None, None, None)
            self._address_free(parts, exclude=old["id"])
            row.update(building=parts[0], unit=parts[1], room=parts[2])
        if compound is not None:
            row["compound"] = _text(compound, "compound", "小区", "compound", MAX_COMPOUND_CHARS) or None
        if note is not None:
            row["note"] = _text(note, "note", "备注", "note", MAX_NOTE_CHARS)
        changed = sorted(k for k in row if (row[k] or "") != (old.get(k) or ""))
        if not changed:
            raise EditError("", "没有修改任何内容", "nothing was changed")
        return self._commit([{"op": "upsert", "table": "households", "row": row}], "registry.household_edited",
                            f"household:{old['id']}", {"household": household_label(row["building"], row["unit"],
                                                                                    row["room"]),
                                                       "was": self._label(old["id"]), "fields": changed}, row)

    def remove_household(self, household_id: int) -> Edit:
        """Remove an empty household; refused, saying what is in the way, while it has residents, vehicles, a
        visitor pass with a valid card or a home-quarantine order in force."""
        old = self._household(int(household_id), "id")
        label = self._label(old["id"])
        snapshot = self.master.snapshot()
        residents = [r for r in snapshot["residents"] if r["household_id"] == old["id"]]
        vehicles = [v for v in snapshot["vehicles"] if v["household_id"] == old["id"]]
        revoked = {r["card_id"] for r in snapshot["revocations"]}
        passes = {p["id"] for p in snapshot["visitor_passes"] if p["host_household_id"] == old["id"]}
        cards = [c for c in snapshot["cards"] if c["kind"] == "visitor" and c["subject_id"] in passes
                 and c["id"] not in revoked]
        orders = self._live_orders(household_id=old["id"])
        zh: list[str] = []
        en: list[str] = []
        for items, z, e in ((residents, "位居民", "resident(s)"), (vehicles, "辆车", "vehicle(s)"),
                            (cards, "张有效的访客卡", "valid visitor card(s)"), (orders, "个居家隔离令", "quarantine order(s)")):
            if items:
                zh.append(f"{len(items)} {z}")
                en.append(f"{len(items)} {e}")
        if zh:
            raise EditError("", f"{label} 还有{'、'.join(zh)}，不能删除：请先迁出或删除它们",
                            f"{label} still has {', '.join(en)}: move or remove them first")
        changes = [{"op": "delete", "table": "households", "key": old["id"]}]
        changes += [{"op": "delete", "table": "visitor_passes", "key": p} for p in sorted(passes)]
        return self._commit(changes, "registry.household_removed", f"household:{old['id']}", {"household": label},
                            old)

    # -- vehicles --------------------------------------------------------------------------------------------

    def _plate(self, plate: str, exclude: int | None = None) -> str:
        text = str(plate or "").strip()[:32]
        value = normalise_plate(text)
        if not text:
            raise EditError("plate", "车牌为空", "the plate is empty")
        if not PLATE_CHARS[0] <= len(value) <= PLATE_CHARS[1]:
            raise EditError("plate", f"车牌“{text}”不是车牌号，如 京A12345", f"{text!r} is not a licence plate, e.g. 京A12345")
        other = self.master.vehicle_by_plate(value)
        if other is not None and other["id"] != exclude:
            where = self._label(other["household_id"]) or "另一户"
            raise EditError("plate", f"车牌 {value} 已登记给 {where}", f"plate {value} is already registered to {where}")
        return value

    def _owner(self, owner: Any, household_id: int) -> int | None:
        text = str(owner or "").strip()
        if not text:
            return None
        if not (text.isascii() and text.isdigit()) or len(text) > 12:
            raise EditError("owner", "车主应为居民编号", "the owner is a resident's id")
        row = self.master.resident(int(text))
        if row is None:
            raise EditError("owner", f"没有编号为 {text} 的居民", f"no resident with id {text}")
        if row["household_id"] != household_id:
            raise EditError("owner", f"车主 {row['name']} 不住在 {self._label(household_id)}",
                            f"the owner {row['name']} does not live in {self._label(household_id)}")
        return int(row["id"])

    def add_vehicle(self, *, plate: str, household: Any, owner: Any = None, note: str = "") -> Edit:
        """Register a vehicle of ``household``; the plate is normalised (京a·12345 → 京A12345) and unique."""
        value = self._plate(plate)
        home = self._household(household)
        row = {"id": self.master.next_id("vehicles"), "plate": value, "household_id": home["id"],
               "owner_resident_id": self._owner(owner, home["id"]),
               "note": _text(note, "note", "备注", "note", MAX_NOTE_CHARS)}
        return self._commit([{"op": "upsert", "table": "vehicles", "row": row}], "registry.vehicle_added",
                            f"vehicle:{row['id']}", {"plate": value, "household": self._label(home["id"])}, row)

    def _vehicle(self, vehicle_id: int) -> dict:
        row = self.master.vehicle(int(vehicle_id))
        if row is None:
            raise EditError("id", f"没有编号为 {vehicle_id} 的车辆", f"no vehicle with id {vehicle_id}")
        return row

    def edit_vehicle(self, vehicle_id: int, *, plate: str | None = None, household: Any = None, owner: Any = None,
                     note: str | None = None) -> Edit:
        """Correct a vehicle's plate, household, owner (resident id; '' none) or note (None: leave as is)."""
        old = self._vehicle(vehicle_id)
        row = dict(old)
        if plate is not None:
            row["plate"] = self._plate(plate, exclude=old["id"])
        if household is not None and str(household).strip():
            row["household_id"] = self._household(household)["id"]
        if owner is not None:
            row["owner_resident_id"] = self._owner(owner, row["household_id"])
        elif row["household_id"] != old["household_id"]:
            row["owner_resident_id"] = None  # the owner lived in the other household
        if note is not None:
            row["note"] = _text(note, "note", "备注", "note", MAX_NOTE_CHARS)
        changed = sorted(k for k in row if row[k] != old.get(k) and (row[k] or "") != (old.get(k) or ""))
        if not changed:
            raise EditError("", "没有修改任何内容", "nothing was changed")
        return self._commit([{"op": "upsert", "table": "vehicles", "row": row}], "registry.vehicle_edited",
                            f"vehicle:{old['id']}", {"plate": row["plate"], "household": self._label(row["household_id"]),
                                                     "fields": changed}, row)

    def remove_vehicle(self, vehicle_id: int) -> Edit:
        """Remove a vehicle; its cards are revoked (withdrawn) in the same version."""
        old = self._vehicle(vehicle_id)
        changes = [{"op": "delete", "table": "vehicles", "key": old["id"]},
                   *self._revoke_all("vehicle", old["id"], RevocationReason.WITHDRAWN)]
        return self._commit(changes, "registry.vehicle_removed", f"vehicle:{old['id']}",
                            {"plate": old["plate"], "household": self._label(old["household_id"]),
                             "cards_revoked": len(changes) - 1}, old)

    # -- volunteers ------------------------------------------------------------------------------------------

    def _volunteer(self, volunteer_id: int) -> dict:
        row = self.master.volunteer(int(volunteer_id))
        if row is None:
            raise EditError("id", f"没有编号为 {volunteer_id} 的志愿者", f"no volunteer with id {volunteer_id}")
        return row

    def _pin(self, pin: str) -> str:
        try:
            check_pin(pin)
        except AdminError:
            raise EditError("pin", "PIN 应为 4 到 8 位数字", "the PIN must be 4 to 8 digits") from None
        return hash_secret(pin)

    def add_volunteer(self, *, name: str, pin: str, resident: Any = None) -> Edit:
        """Register a volunteer who signs in at the gate with ``pin`` (stored only as a hash)."""
        name = _text(name, "name", "姓名", "name", MAX_NAME_CHARS, required=True)
        resident_id = None
        if str(resident or "").strip():
            text = str(resident).strip()
            if not (text.isascii() and text.isdigit()) or len(text) > 12:
                raise EditError("resident", "居民应写编号", "the resident is written as their id")
            resident_id = int(self._resident(int(text))["id"])
        row = {"id": self.master.next_id("volunteers"), "name": name, "pin_hash": self._pin(pin),
               "resident_id": resident_id}
        return self._commit([{"op": "upsert", "table": "volunteers", "row": row}], "registry.volunteer_added",
                            f"volunteer:{row['id']}", {"name": name}, row)

    def rename_volunteer(self, volunteer_id: int, name: str) -> Edit:
        """Correct a volunteer's name (as the gate shows it)."""
        old = self._volunteer(volunteer_id)
        name = _text(name, "name", "姓名", "name", MAX_NAME_CHARS, required=True)
        if name == old["name"]:
            raise EditError("name", "姓名没有变化", "the name is unchanged")
        row = {**old, "name": name}
        return self._commit([{"op": "upsert", "table": "volunteers", "row": row}], "registry.volunteer_renamed",
                            f"volunteer:{old['id']}", {"name": name, "was": old["name"]}, row)

    def reset_pin(self, volunteer_id: int, pin: str) -> Edit:
        """Give a volunteer a new PIN; the gates take it at their next sync (the old one stops working)."""
        old = self._volunteer(volunteer_id)
        row = {**old, "pin_hash": self._pin(pin)}
        return self._commit([{"op": "upsert", "table": "volunteers", "row": row}], "registry.volunteer_pin_reset",
                            f"volunteer:{old['id']}", {"name": old["name"]}, row)

    def remove_volunteer(self, volunteer_id: int) -> Edit:
        """Remove a volunteer; their cards are revoked (withdrawn) in the same version."""
        old = self._volunteer(volunteer_id)
        changes = [{"op": "delete", "table": "volunteers", "key": old["id"]},
                   *self._revoke_all("volunteer", old["id"], RevocationReason.WITHDRAWN)]
        return self._commit(changes, "registry.volunteer_removed", f"volunteer:{old['id']}",
                            {"name": old["name"], "cards_revoked": len(changes) - 1}, old)

    # -- visitor passes --------------------------------------------------------------------------------------

    def add_visitor(self, key: SigningKey, *, name: str, phone: str, host: Any, valid_from: datetime,
                    valid_until: datetime, reason: str = "", out_dir: str | Path) -> Edit:
        """Pre-register a visitor to household ``host`` and issue the pass's card (admin.add_visitor_pass), audited."""
        from kiosk.office.admin import add_visitor_pass

        name = _text(name, "name", "访客姓名", "visitor's name", MAX_NAME_CHARS, required=True)
        home = self._household(host, "host")
        self._phone_fields(phone)  # the same rule and message as a resident's
        label = self._label(home["id"])
        row, issued = add_visitor_pass(self.master, key, name=name, phone=phone, host=label, valid_from=valid_from,
                                       valid_until=valid_until, reason=_text(reason, "reason", "事由", "reason", 64),
                                       out_dir=out_dir)
        if self.store is not None:
            from kiosk.office import audit

            audit.record(self.store, self.actor, "registry.visitor_added", f"visitor:{row['id']}",
                         {"version": issued.version, "name": name, "host": label, "card": issued.card.card_id},
                         address=self.address)
        return Edit(issued.version, "registry.visitor_added", f"visitor:{row['id']}", row, issued)

    def revoke_visitor(self, pass_id: int) -> Edit:
        """Revoke a visitor pass: its cards are revoked (withdrawn) and the pass ends now, in one version."""
        visitor = self.master.visitor_pass(int(pass_id))
        if visitor is None:
            raise EditError("id", f"没有编号为 {pass_id} 的访客通行证", f"no visitor pass with id {pass_id}")
        revocations = self._revoke_all("visitor", visitor.id, RevocationReason.WITHDRAWN)
        row = next(p for p in self.master.snapshot()["visitor_passes"] if p["id"] == visitor.id)
        now = datetime.now(visitor.valid_until.tzinfo)
        ended = visitor.valid_until <= now
        if not revocations and ended:
            raise EditError("", "这张通行证已失效", "this pass has already ended")
        changes = list(revocations)
        if not ended:
            # the pass ends now (one not started yet: an empty window at now)
            row = {**row, "valid_until": now.isoformat(timespec="seconds"),
                   "valid_from": min(visitor.valid_from, now).isoformat(timespec="seconds")}
            changes.append({"op": "upsert", "table": "visitor_passes", "row": row})
        return self._commit(changes, "registry.visitor_revoked", f"visitor:{visitor.id}",
                            {"name": visitor.name, "host": self._label(visitor.host_household_id),
                             "cards_revoked": len(revocations)}, row)

