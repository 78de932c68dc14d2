"""``kiosk office residents|households|vehicles …``: the registry edited by hand, a thin layer over
kiosk.office.registry_edit (the desk's People forms make the same calls).

Each command is one registry version and one audit entry in office.db naming who did it (``--by``, default the
operating-system user as ``cli:<user>``). A refused edit prints the reason (Chinese first) and exits 2, changing
nothing. ``volunteers reset-pin|remove`` and ``visitors revoke`` join the existing groups of kiosk.cli.officecmd.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from kiosk.cli.common import clean_errors, print_json
from kiosk.cli.officecmd import _BY, _CONFIG, _JSON, _open

if TYPE_CHECKING:
    from kiosk.office.registry_edit import Edit, RegistryEditor


@contextmanager
def _editor(config_path: str, actor: str, *, id_key: bool = False) -> Iterator[RegistryEditor]:
    """The office's registry and office.db (for the audit log) behind a RegistryEditor, closed afterwards."""
    from kiosk.office.registry_edit import RegistryEditor
    from kiosk.office.roster import load_id_hash_key
    from kiosk.office.store import OfficeStore

    office_ = _open(config_path)
    store = OfficeStore(office_.data_dir / "office.db")
    try:
        key = load_id_hash_key(office_.data_dir) if id_key else None
        yield RegistryEditor(office_.master, store, actor[:64], id_key=key)
    finally:
        store.close()
        office_.master.close()


def _say(edit: Edit, as_json: bool, words: str) -> None:
    if as_json:
        print_json(edit.to_dict())
    else:
        click.echo(f"{words} (registry version {edit.version})")


def _resident_id(editor: RegistryEditor, ref: str) -> int:
    from kiosk.office.admin import find_resident

    return int(find_resident(editor.master, ref)["id"])


def _household_id(editor: RegistryEditor, ref: str) -> int:
    return int(editor._household(ref if not ref.isdigit() else f"#{ref}")["id"])


# -- residents -----------------------------------------------------------------------------------------------


@click.group("residents")
def residents() -> None:
    """Residents: add, edit, move to another household, remove."""


@residents.command("add")
@click.argument("name")
@_CONFIG
@click.option("--household", required=True, help="Building-unit-room in any spelling (5-1-101, 5号楼1单元101室).")
@click.option("--id-number", default="", help="The resident ID number (stored hashed and masked only).")
@click.option("--phone", default="", help="Phone (full number office-only; gates never get it).")
@click.option("--note", default="")
@_BY
@_JSON
def residents_add(name, config_path, household, id_number, phone, note, actor, as_json) -> None:
    """Register resident NAME in --household."""
    with clean_errors(), _editor(config_path, actor, id_key=bool(id_number)) as editor:
        edit = editor.add_resident(household=household, name=name, id_number=id_number, phone=phone, note=note)
        where = editor._label(edit.row["household_id"])
    _say(edit, as_json, f"resident {edit.row['id']} {edit.row['name']} added to {where}")


@residents.command("edit")
@click.argument("resident")
@_CONFIG
@click.option("--name", help="The corrected name.")
@click.option("--id-number", help="A corrected ID number.")
@click.option("--phone", help="A new phone ('' clears it).")
@click.option("--note", help="A new note ('' clears it).")
@_BY
@_JSON
def residents_edit(resident, config_path, name, id_number, phone, note, actor, as_json) -> None:
    """Change RESIDENT (id or household:name, e.g. 5-1-101:王小山): name, ID number, phone or note."""
    with clean_errors(), _editor(config_path, actor, id_key=bool(id_number)) as editor:
        edit = editor.edit_resident(_resident_id(editor, resident), name=name, id_number=id_number, phone=phone,
                                    note=note)
    _say(edit, as_json, f"resident {edit.row['id']} {edit.row['name']} changed")


@residents.command("move")
@click.argument("resident")
@click.argument("household")
@_CONFIG
@_BY
@_JSON
def residents_move(resident, household, config_path, actor, as_json) -> None:
    """Move RESIDENT (id or household:name) to HOUSEHOLD (building-unit-room); their card stays valid."""
    with clean_errors(), _editor(config_path, actor) as editor:
        edit = editor.move_resident(_resident_id(editor, resident), household)
        where = editor._label(edit.row["household_id"])
    _say(edit, as_json, f"resident {edit.row['id']} {edit.row['name']} moved to {where}")


@residents.command("remove")
@click.argument("resident")
@_CONFIG
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_BY
@_JSON
def residents_remove(resident, config_path, yes, actor, as_json) -> None:
    """Remove RESIDENT (id or household:name); their cards are revoked (moved out)."""
    with clean_errors(), _editor(config_path, actor) as editor:
        resident_id = _resident_id(editor, resident)
        row = editor.master.resident(resident_id) or {}
        if not yes:
            click.confirm(f"删除居民 {editor._label(row.get('household_id'))} {row.get('name')}？ / "
                          "remove this resident?", abort=True)
        edit = editor.remove_resident(resident_id)
    _say(edit, as_json, f"resident {edit.row['id']} {edit.row['name']} removed")


# -- households ----------------------------------------------------------------------------------------------


@click.group("households")
def households() -> None:
    """Households: add, edit (address, compound, note), remove an empty one."""


@households.command("add")
@click.argument("address")
@_CONFIG
@click.option("--compound", default="", help="The compound (小区); empty: the office's one compound.")
@click.option("--note", default="")
@_BY
@_JSON
def households_add(address, config_path, compound, note, actor, as_json) -> None:
    """Register the household at ADDRESS (5-1-101, 5号楼1单元101室 …)."""
    with clean_errors(), _editor(config_path, actor) as editor:
        edit = editor.add_household(address=address, compound=compound, note=note)
        label = editor._label(edit.row["id"])
    _say(edit, as_json, f"household {edit.row['id']} {label} added")


@households.command("edit")
@click.argument("household")
@_CONFIG
@click.option("--address", help="The corrected address.")
@click.option("--compound", help="The compound (小区); '' for the office's one compound.")
@click.option("--note", help="A new note ('' clears it).")
@_BY
@_JSON
def households_edit(household, config_path, address, compound, note, actor, as_json) -> None:
    """Change HOUSEHOLD (its address or id): address, compound or note."""
    with clean_errors(), _editor(config_path, actor) as editor:
        edit = editor.edit_household(_household_id(editor, household), address=address, compound=compound, note=note)
        label = editor._label(edit.row["id"])
    _say(edit, as_json, f"household {edit.row['id']} {label} changed")


@households.command("remove")
@click.argument("household")
@_CONFIG
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_BY
@_JSON
def households_remove(household, config_path, yes, actor, as_json) -> None:
    """Remove HOUSEHOLD (address or id); refused while anyone or anything is registered to it."""
    with clean_errors(), _editor(config_path, actor) as editor:
        household_id = _household_id(editor, household)
        if not yes:
            click.confirm(f"删除住户 {editor._label(household_id)}？ / remove this household?", abort=True)
        edit = editor.remove_household(household_id)
    _say(edit, as_json, f"household {edit.row['id']} removed")


# -- vehicles ------------------------------------------------------------------------------------------------


@click.group("vehicles")
def vehicles() -> None:
    """Vehicles: add, remove (plates normalised, one vehicle per plate)."""


@vehicles.command("add")
@click.argument("plate")
@_CONFIG
@click.option("--household", required=True, help="Building-unit-room the vehicle belongs to.")
@click.option("--owner", default="", help="The owner: a resident of that household (id or household:name).")
@click.option("--note", default="")
@_BY
@_JSON
def vehicles_add(plate, config_path, household, owner, note, actor, as_json) -> None:
    """Register the vehicle with PLATE (京A12345) for --household."""
    with clean_errors(), _editor(config_path, actor) as editor:
        owner_id = _resident_id(editor, owner) if owner else None
        edit = editor.add_vehicle(plate=plate, household=household, owner=owner_id, note=note)
    _say(edit, as_json, f"vehicle {edit.row['id']} {edit.row['plate']} added")


@vehicles.command("remove")
@click.argument("plate")
@_CONFIG
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_BY
@_JSON
def vehicles_remove(plate, config_path, yes, actor, as_json) -> None:
    """Remove the vehicle with PLATE; its cards are revoked."""
    from kiosk.office.admin import vehicle_id_by_plate

    with clean_errors(), _editor(config_path, actor) as editor:
        vehicle_id = vehicle_id_by_plate(editor.master, plate)
        if not yes:
            click.confirm(f"删除车辆 {plate}？ / remove this vehicle?", abort=True)
        edit = editor.remove_vehicle(vehicle_id)
    _say(edit, as_json, f"vehicle {edit.row['id']} {edit.row['plate']} removed")


# -- volunteers and visitors (commands of kiosk.cli.officecmd's groups) --------------------------------------


@click.command("reset-pin")
@click.argument("volunteer_id", type=click.IntRange(1, 2**53))
@_CONFIG
@click.option("--pin", prompt=True, hide_input=True, confirmation_prompt=True,
              help="The new PIN, 4 to 8 digits (asked when not given; stored only as a hash).")
@_BY
def volunteers_reset_pin(volunteer_id, config_path, pin, actor) -> None:
    """Give volunteer VOLUNTEER_ID a new PIN (gates take it at their next sync)."""
    with clean_errors(), _editor(config_path, actor) as editor:
        edit = editor.reset_pin(volunteer_id, pin)
    _say(edit, False, f"volunteer {edit.row['id']} {edit.row['name']}: new PIN set")


@click.command("remove")
@click.argument("volunteer_id", type=click.IntRange(1, 2**53))
@_CONFIG
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_BY
@_JSON
def volunteers_remove(volunteer_id, config_path, yes, actor, as_json) -> None:
    """Remove volunteer VOLUNTEER_ID; their cards are revoked."""
    with clean_errors(), _editor(config_path, actor) as editor:
        if not yes:
            click.confirm(f"删除志愿者 {volunteer_id}？ / remove this volunteer?", abort=True)
        edit = editor.remove_volunteer(volunteer_id)
    _say(edit, as_json, f"volunteer {edit.row['id']} {edit.row['name']} removed")


@click.command("revoke")
@click.argument("pass_id", type=click.IntRange(1, 2**53))
@_CONFIG
@_BY
@_JSON
def visitors_revoke(pass_id, config_path, actor, as_json) -> None:
    """Revoke visitor pass PASS_ID: its card is revoked and the pass ends now."""
    with clean_errors(), _editor(config_path, actor) as editor:
        edit = editor.revoke_visitor(pass_id)
    _say(edit, as_json, f"visitor pass {edit.row['id']} {edit.row['name']} revoked")
