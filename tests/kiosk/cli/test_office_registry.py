"""``kiosk office residents|households|vehicles``, ``volunteers reset-pin|remove``, ``visitors revoke``: each a registry
version with its audit entry; refusals exit 2 with the Chinese reason and change nothing."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kiosk.cli.officecmd import office
from kiosk.credentials import verify_secret
from kiosk.office import audit
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore
from tests.office_fixtures import office_folder, run_office, valid_id


@pytest.fixture
def env(tmp_path):
    return office_folder(tmp_path)


run = run_office


def registry(tmp_path):
    return RegistryMaster(tmp_path / "data" / "registry.db")


def audited(tmp_path, action):
    store = OfficeStore(tmp_path / "data" / "office.db")
    try:
        return audit.search(store, action=action).entries
    finally:
        store.close()


def test_households_residents_vehicles_from_the_cli(env):
    tmp_path, config = env
    added = run(config, "households", "add", "5号楼1单元101室", "--compound", "北区", "--json", "--by", "li")
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["row"]["compound"] == "北区"
    assert run(config, "households", "add", "5/1/102").exit_code == 0
    again = run(config, "households", "add", "5-1-101")
    assert again.exit_code == 2 and "已在登记册中" in again.output

    bad = run(config, "residents", "add", "王小山", "--household", "5-1-101", "--id-number", valid_id("11010519901307123"))
    assert bad.exit_code == 2 and "出生日期不存在" in bad.output and "Traceback" not in bad.output
    with registry(tmp_path) as master:
        assert master.snapshot()["residents"] == []
    good = run(config, "residents", "add", "王小山", "--household", "5-1-101", "--id-number",
               valid_id("11010519900307123"), "--phone", "13812345678", "--json")
    assert good.exit_code == 0, good.output
    shown = json.loads(good.output)
    assert "13812345678" not in good.output and shown["row"]["phone_masked"] == "138****5678"
    assert "id_hash" not in shown["row"]

    assert run(config, "residents", "edit", "5-1-101:王小山", "--phone", "13900001111").exit_code == 0
    moved = run(config, "residents", "move", "5-1-101:王小山", "5-1-102")
    assert moved.exit_code == 0 and "moved to 5-1-102" in moved.output
    with registry(tmp_path) as master:
        [row] = master.snapshot()["residents"]
        assert row["household_id"] == 2 and row["phone"] == "13900001111"

    car = run(config, "vehicles", "add", "京a 12345", "--household", "5-1-102", "--owner", "5-1-102:王小山")
    assert car.exit_code == 0 and "京A12345" in car.output
    blocked = run(config, "households", "remove", "5-1-102", "--yes")
    assert blocked.exit_code == 2 and "还有1 位居民、1 辆车" in blocked.output
    assert run(config, "vehicles", "remove", "京A12345", "--yes").exit_code == 0
    # without --yes it asks, and "n" changes nothing
    with registry(tmp_path) as master:
        before = master.version
    asked = run(config, "residents", "remove", "5-1-102:王小山", input="n\n")
    assert asked.exit_code != 0 and "删除居民 5-1-102 王小山" in asked.output
    with registry(tmp_path) as master:
        assert master.version == before
    assert run(config, "residents", "remove", "5-1-102:王小山", "--yes").exit_code == 0
    assert run(config, "households", "remove", "5-1-102", "--yes").exit_code == 0
    assert run(config, "households", "edit", "1", "--compound", "南区").exit_code == 0
    with registry(tmp_path) as master:
        assert [h["compound"] for h in master.snapshot()["households"]] == ["南区"]

    actions = [e["action"] for e in audited(tmp_path, "registry.")]
    assert actions[-1] == "registry.household_added" and actions[0] == "registry.household_edited"
    assert {"registry.resident_moved", "registry.vehicle_removed", "registry.resident_removed"} <= set(actions)
    assert audited(tmp_path, "registry.household_added")[-1]["actor"] == "li"


def test_volunteer_pin_reset_remove_and_visitor_revoke(env):
    tmp_path, config = env
    assert run(config, "households", "add", "3-2-501").exit_code == 0
    assert run(config, "volunteers", "add", "张志愿", "--pin", "1234").exit_code == 0
    short = run(config, "volunteers", "reset-pin", "1", "--pin", "12")
    assert short.exit_code == 2 and "PIN 应为 4 到 8 位数字" in short.output
    reset = run(config, "volunteers", "reset-pin", "1", input="5678\n5678\n")
    assert reset.exit_code == 0, reset.output
    with registry(tmp_path) as master:
        assert verify_secret("5678", master.volunteer(1)["pin_hash"])
    assert run(config, "volunteers", "remove", "1", "--yes").exit_code == 0
    with registry(tmp_path) as master:
        assert master.volunteer(1) is None
    assert run(config, "volunteers", "remove", "1", "--yes").exit_code == 2

    visitor = run(config, "visitors", "add", "赵六", "--host", "3-2-501", "--json")
    assert visitor.exit_code == 0, visitor.output
    card = json.loads(visitor.output)["card"]["card_id"]
    revoked = run(config, "visitors", "revoke", "1")
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    with registry(tmp_path) as master:
        assert master.is_revoked(card)
    actions = [e["action"] for e in audited(tmp_path, "registry.") if e["action"].startswith("registry.volunteer")]
    assert actions == ["registry.volunteer_removed", "registry.volunteer_pin_reset", "registry.volunteer_added"]
    visits = [e["action"] for e in audited(tmp_path, "registry.") if e["action"].startswith("registry.visitor")]
    assert visits == ["registry.visitor_revoked", "registry.visitor_added"]
    assert audited(tmp_path, "registry.visitor_revoked")[0]["detail"]["cards_revoked"] == 1


def test_the_groups_list_their_commands():
    for group, names in (("residents", ("add", "edit", "move", "remove")), ("households", ("add", "edit", "remove")),
                         ("vehicles", ("add", "remove")), ("volunteers", ("add", "reset-pin", "remove")),
                         ("visitors", ("add", "revoke"))):
        shown = CliRunner().invoke(office, [group, "--help"])
        assert shown.exit_code == 0 and all(name in shown.output for name in names), shown.output
