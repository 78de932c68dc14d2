"""Registry edits by hand (kiosk.office.registry_edit): each operation is one version and one audit entry, what a gate
gets carries no phone or compound, and a refused edit leaves the registry as it was."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.credentials import verify_secret
from kiosk.keys import init_keys
from kiosk.office import audit
from kiosk.office.registry_edit import EditError, RegistryEditor
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore
from kiosk.privacy import id_number_hash
from tests.office_fixtures import valid_id

TZ = ZoneInfo("Asia/Shanghai")
KEY = b"k" * 32




GOOD_ID = valid_id("11010519900307123")
MONTH_13 = valid_id("11010519901307123")


@pytest.fixture
def store(tmp_path):
    office = OfficeStore(tmp_path / "office.db")
    yield office
    office.close()


@pytest.fixture
def master(tmp_path):
    with RegistryMaster(tmp_path / "registry.db") as registry:
        registry.change([
            {"op": "upsert", "table": "households", "row": {"id": 1, "building": "5", "unit": "1", "room": "101",
                                                            "note": ""}},
            {"op": "upsert", "table": "households", "row": {"id": 2, "building": "5", "unit": "1", "room": "102",
                                                            "note": ""}},
            {"op": "upsert", "table": "residents", "row": {"id": 1, "household_id": 1, "name": "王小山"}},
        ])
        yield registry


@pytest.fixture
def editor(master, store):
    return RegistryEditor(master, store, "li", id_key=KEY, address="127.0.0.1")


def entries(store, action):
    return audit.search(store, action=action).entries


def unchanged(master, before):
    """The registry is exactly as it was: same version, same rows."""
    assert master.version == before[0]
    assert master.snapshot() == before[1]


def state(master):
    return master.version, master.snapshot()


def test_add_resident_stores_id_hashed_and_phone_office_only_one_version_and_audited(master, store, editor):
    start = master.version
    edit = editor.add_resident(household="5号楼1单元102室", name=" 李 四 ", id_number=GOOD_ID.lower(),
                               phone="138 1234-5678", note="独居老人")
    assert edit.version == master.version == start + 1
    row = master.resident(edit.row["id"])
    assert row["household_id"] == 2 and row["name"] == "李 四"
    assert row["id_hash"] == id_number_hash(GOOD_ID, KEY) and row["id_masked"] == "110***********" + GOOD_ID[-4:]
    assert row["phone"] == "13812345678" and row["phone_masked"] == "138****5678"
    [entry] = entries(store, "registry.resident_added")
    assert entry["actor"] == "li" and entry["target"] == f"resident:{row['id']}" and entry["address"] == "127.0.0.1"
    assert entry["detail"]["version"] == edit.version and entry["detail"]["household"] == "5-1-102"
    text = json.dumps(entry, ensure_ascii=False)
    assert GOOD_ID not in text and "13812345678" not in text  # never the full number in the audit log
    # what a gate gets: the resident without phone, ID hash, masked data or note
    [change] = master.gate_changes_since(start)
    assert change["row"] == {"id": row["id"], "household_id": 2, "name": "李 四"}
    assert "13812345678" not in json.dumps(edit.to_dict(), ensure_ascii=False)


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"id_number": MONTH_13}, "id_number", "出生日期不存在"),
    ({"id_number": GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")}, "id_number", "校验位"),
    ({"phone": "call me"}, "phone", "不是电话号码"),
    ({"name": ""}, "name", "姓名为空"),
    ({"name": "王小山", "household": "5-1-101"}, "name", "已有一位居民叫 王小山"),
    ({"household": "9-9-9"}, "household", "没有住户 9-9-9"),
    ({"household": "楼上"}, "household", "无法识别"),
    ({"note": "x" * 201}, "note", "备注超过 200 个字"),
])
def test_a_refused_resident_changes_nothing_and_names_the_field_in_chinese(master, store, editor, fields, field, words):
    before = state(master)
    values = {"household": "5-1-102", "name": "李四", **fields}
    with pytest.raises(EditError) as refused:
        editor.add_resident(**values)
    assert refused.value.field == field and words in refused.value.zh and str(refused.value).startswith(refused.value.zh)
    unchanged(master, before)
    assert entries(store, "registry.") == []


def test_the_same_id_number_twice_is_refused(master, editor):
    editor.add_resident(household="5-1-101", name="李四", id_number=GOOD_ID)
    before = state(master)
    with pytest.raises(EditError, match="已登记给 5-1-101 李四"):
        editor.add_resident(household="5-1-102", name="张三", id_number=GOOD_ID)
    unchanged(master, before)


def test_edit_move_and_remove_a_resident(master, store, editor, tmp_path):
    edited = editor.edit_resident(1, name="王大山", phone="13900001111")
    row = master.resident(1)
    assert row["name"] == "王大山" and row["phone"] == "13900001111" and row["phone_masked"] == "139****1111"
    assert entries(store, "registry.resident_edited")[0]["detail"]["fields"] == ["name", "phone"]
    with pytest.raises(EditError, match="没有修改"):
        editor.edit_resident(1, name="王大山")

    moved = editor.move_resident(1, "5-1-102")
    assert moved.version == edited.version + 1 and master.resident(1)["household_id"] == 2
    detail = entries(store, "registry.resident_moved")[0]["detail"]
    assert (detail["from"], detail["to"]) == ("5-1-101", "5-1-102")
    with pytest.raises(EditError, match="就是此人现在的住户"):
        editor.move_resident(1, "5-1-102")

    # a card, a volunteer and a car linked to the resident: removal revokes the card and unlinks the others
    from kiosk.office.admin import issue_registry_card

    key = init_keys(tmp_path / "keys")
    card = issue_registry_card(master, key, "resident", 1, out_dir=tmp_path / "cards", tz=TZ)
    editor.add_volunteer(name="王大山", pin="1234", resident="1")
    editor.add_vehicle(plate="京a·12345", household="5-1-102", owner="1")
    removed = editor.remove_resident(1)
    assert master.resident(1) is None and master.is_revoked(card.card.card_id)
    assert master.revocation(card.card.card_id)["reason"] == "moved_out"
    assert master.volunteers()[0]["resident_id"] is None and master.vehicle_by_plate("京A12345")["owner_resident_id"] is None
    assert removed.version == master.version
    assert entries(store, "registry.resident_removed")[0]["detail"]["cards_revoked"] == 1
    # the gate's change for this version: the delete, the revocation, the unlinking, in one step
    tables = [c["table"] for c in master.gate_changes_since(removed.version - 1)]
    assert tables == ["residents", "revocations", "volunteers", "vehicles"]


def test_a_resident_in_home_quarantine_is_not_removed(master, editor):
    from kiosk.office.admin import add_quarantine

    add_quarantine(master, resident_id=1, starts_on=datetime.now(TZ).date())
    before = state(master)
    with pytest.raises(EditError, match="正在居家隔离"):
        editor.remove_resident(1)
    unchanged(master, before)


def test_households_add_edit_compound_and_remove_only_when_empty(master, store, editor):
    start = master.version
    added = editor.add_household(address="6栋2单元301", compound="北区")
    row = master.household(added.row["id"])
    assert (row["building"], row["unit"], row["room"], row["compound"]) == ("6", "2", "301", "北区")
    [change] = master.gate_changes_since(start)
    assert "compound" not in change["row"] and change["row"]["room"] == "301"
    with pytest.raises(EditError, match="已在登记册中"):
        editor.add_household(address="6-2-301")

    editor.edit_household(row["id"], address="6/2/302", compound="南区")
    row = master.household(row["id"])
    assert (row["room"], row["compound"]) == ("302", "南区")
    assert entries(store, "registry.household_edited")[0]["detail"]["was"] == "6-2-301"
    with pytest.raises(EditError, match="已在登记册中"):
        editor.edit_household(row["id"], address="5-1-101")

    before = state(master)
    with pytest.raises(EditError) as refused:
        editor.remove_household(1)
    assert "5-1-101 还有1 位居民" in refused.value.zh
    unchanged(master, before)
    editor.add_vehicle(plate="京B00001", household=f"#{row['id']}")
    with pytest.raises(EditError, match="1 辆车"):
        editor.remove_household(row["id"])
    editor.remove_vehicle(master.vehicle_by_plate("京B00001")["id"])
    removed = editor.remove_household(row["id"])
    assert master.household(row["id"]) is None
    assert master.gate_changes_since(removed.version - 1) == [{"op": "delete", "table": "households", "key": row["id"]}]
    assert entries(store, "registry.household_removed")[0]["detail"]["household"] == "6-2-302"


def test_a_household_with_a_valid_visitor_card_is_not_removed(master, editor, tmp_path):
    key = init_keys(tmp_path / "keys")
    now = datetime.now(TZ)
    visit = editor.add_visitor(key, name="快递员", phone="13800000000", host="5-1-102", valid_from=now,
                               valid_until=now + timedelta(hours=2), out_dir=tmp_path / "cards")
    with pytest.raises(EditError, match="1 张有效的访客卡"):
        editor.remove_household(2)
    editor.revoke_visitor(visit.row["id"])
    editor.remove_household(2)
    assert master.visitor_pass(visit.row["id"]) is None  # the ended pass goes with its household


def test_vehicles_normalised_unique_owner_in_household(master, store, editor):
    added = editor.add_vehicle(plate=" 京a·12345 ", household="5-1-101", owner="1", note="电动车")
    assert master.vehicle(added.row["id"])["plate"] == "京A12345"
    before = state(master)
    for plate, words in (("京A12345", "已登记给 5-1-101"), ("京A1", "不是车牌号"), ("", "车牌为空")):
        with pytest.raises(EditError, match=words):
            editor.add_vehicle(plate=plate, household="5-1-102")
    with pytest.raises(EditError, match="不住在 5-1-102"):
        editor.add_vehicle(plate="京A54321", household="5-1-102", owner="1")
    unchanged(master, before)
    editor.edit_vehicle(added.row["id"], plate="京A12346", household="5-1-102")
    row = master.vehicle(added.row["id"])
    assert (row["plate"], row["household_id"], row["owner_resident_id"]) == ("京A12346", 2, None)
    editor.remove_vehicle(added.row["id"])
    assert master.vehicle(added.row["id"]) is None
    actions = [e["action"] for e in entries(store, "registry.")]
    assert actions == ["registry.vehicle_removed", "registry.vehicle_edited", "registry.vehicle_added"]


def test_volunteers_add_rename_reset_pin_remove(master, store, editor, tmp_path):
    added = editor.add_volunteer(name="赵志愿", pin="1234")
    vid = added.row["id"]
    assert "pin_hash" not in added.to_dict()["row"]
    before = state(master)
    for pin in ("123", "123456789", "12a4", "１２３４"):
        with pytest.raises(EditError, match="PIN 应为 4 到 8 位数字"):
            editor.reset_pin(vid, pin)
    unchanged(master, before)
    reset = editor.reset_pin(vid, "987654")
    pin_hash = master.volunteer(vid)["pin_hash"]
    assert verify_secret("987654", pin_hash) and not verify_secret("1234", pin_hash)
    # the gate gets the new hash (it checks PINs itself), and that is all the version holds
    [change] = master.gate_changes_since(reset.version - 1)
    assert change["row"]["pin_hash"] == pin_hash
    detail = entries(store, "registry.volunteer_pin_reset")[0]["detail"]
    assert "987654" not in json.dumps(detail) and detail["name"] == "赵志愿"
    editor.rename_volunteer(vid, "赵志远")
    assert master.volunteer(vid)["name"] == "赵志远"
    from kiosk.office.admin import issue_registry_card

    card = issue_registry_card(master, init_keys(tmp_path / "keys"), "volunteer", vid, out_dir=tmp_path / "c", tz=TZ)
    editor.remove_volunteer(vid)
    assert master.volunteer(vid) is None and master.is_revoked(card.card.card_id)


def test_visitor_pass_revoked_ends_now_and_revokes_its_card(master, store, editor, tmp_path):
    key = init_keys(tmp_path / "keys")
    now = datetime.now(TZ)
    visit = editor.add_visitor(key, name="送药", phone="", host="5-1-101", valid_from=now - timedelta(hours=1),
                               valid_until=now + timedelta(hours=3), reason="delivery", out_dir=tmp_path / "cards")
    assert entries(store, "registry.visitor_added")[0]["detail"]["card"] == visit.card.card.card_id
    revoked = editor.revoke_visitor(visit.row["id"])
    assert master.is_revoked(visit.card.card.card_id)
    assert master.visitor_pass(visit.row["id"]).valid_until <= datetime.now(TZ)
    assert revoked.version == master.version
    with pytest.raises(EditError, match="已失效"):
        editor.revoke_visitor(visit.row["id"])
    with pytest.raises(EditError, match="没有住户"):
        editor.add_visitor(key, name="x", phone="", host="9-9-9", valid_from=now, valid_until=now + timedelta(hours=1),
                           out_dir=tmp_path / "cards")


def test_roster_import_stores_the_full_phone_office_only(master):
    from kiosk.office.roster import apply_import, plan_import

    start = master.version
    data = "楼栋,单元,房间号,姓名,电话\n7,1,201,孙七,+86 139-0000-2222\n".encode()
    preview = plan_import(master, data, "roster.csv", id_key=KEY, remove="none")
    assert preview.ok, preview.problems
    apply_import(master, preview, actor="li")
    row = next(r for r in master.snapshot()["residents"] if r["name"] == "孙七")
    assert row["phone"] == "13900002222" and row["phone_masked"] == "139****2222"
    assert "13900002222" not in json.dumps(master.gate_changes_since(start), ensure_ascii=False)
