"""Office registry chores: cards (issue, verify, revoke), quarantine, volunteers, visitor passes."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from kiosk.cards import verify_card
from kiosk.credentials import verify_secret
from kiosk.keys import KEYSET_FILE, init_keys, load_keyset
from kiosk.office.admin import (
    AdminError,
    add_quarantine,
    add_visitor_pass,
    add_volunteer,
    end_quarantine,
    find_resident,
    issue_registry_card,
    list_quarantine,
    revoke_card,
)
from kiosk.office.registry_master import RegistryMaster

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=TZ)


@pytest.fixture
def master(tmp_path):
    with RegistryMaster(tmp_path / "registry.db") as registry:
        registry.change([
            {"op": "upsert", "table": "households", "row": {"id": 1, "building": "3", "unit": "2", "room": "501", "note": ""}},
            {"op": "upsert", "table": "residents", "row": {"id": 1, "household_id": 1, "name": "王小山"}},
            {"op": "upsert", "table": "vehicles", "row": {"id": 1, "plate": "京A12345", "household_id": 1}},
        ])
        yield registry


@pytest.fixture
def key(tmp_path):
    return init_keys(tmp_path / "keys")


def test_issue_resident_card_verifies_and_revokes(tmp_path, master, key):
    issued = issue_registry_card(master, key, "resident", 1, out_dir=tmp_path / "cards", tz=TZ, now=NOW)
    assert issued.image.name == "3-2-501_王小山_card-1.png" and issued.image.read_bytes()[:4] == b"\x89PNG"
    assert issued.version == master.version == 2
    assert master.card(1)["valid_until"] == "2027-02-28"  # 365 days, inclusive
    keyset = load_keyset(tmp_path / "keys" / KEYSET_FILE)
    assert verify_card(issued.text, keyset, NOW, TZ).valid
    revoke_card(master, 1, reason="lost", now=NOW)
    assert master.is_revoked(1)
    assert not master.check_revocation(verify_card(issued.text, keyset, NOW, TZ)).valid
    with pytest.raises(AdminError, match="already revoked"):
        revoke_card(master, 1)
    with pytest.raises(AdminError, match="no card 99"):
        revoke_card(master, 99)


def test_vehicle_card_name_and_unknown_subject(tmp_path, master, key):
    issued = issue_registry_card(master, key, "vehicle", 1, out_dir=tmp_path, tz=TZ, now=NOW)
    assert issued.image.name == "3-2-501_京A12345_card-1.png"
    with pytest.raises(AdminError, match="no resident with id 7"):
        issue_registry_card(master, key, "resident", 7, out_dir=tmp_path, tz=TZ, now=NOW)
    assert master.version == 2


def test_find_resident_by_label_and_name(master):
    assert find_resident(master, "3-2-501:王小山")["id"] == 1 == find_resident(master, "1")["id"]
    with pytest.raises(AdminError, match="no resident named"):
        find_resident(master, "3-2-501:李四")


def test_quarantine_add_default_length_and_end_early(master):
    row, version = add_quarantine(master, resident_id=1, starts_on=date(2026, 3, 1), days=14)
    assert (row["starts_on"], row["ends_on"]) == ("2026-03-01", "2026-03-14") and version == master.version
    assert master.quarantine_orders(resident_id=1, household_id=1, on=date(2026, 3, 14))
    assert not master.quarantine_orders(resident_id=1, household_id=1, on=date(2026, 3, 15))
    ended, _ = end_quarantine(master, row["id"], lifted_on=date(2026, 3, 10))
    assert ended["ends_on"] == "2026-03-09"
    assert not master.quarantine_orders(resident_id=1, household_id=1, on=date(2026, 3, 10))
    assert [o["who"] for o in list_quarantine(master, on=date(2026, 3, 5))] == ["3-2-501 王小山"]
    with pytest.raises(AdminError, match="already ends"):
        end_quarantine(master, row["id"], lifted_on=date(2026, 4, 1))


def test_household_quarantine_covers_every_resident(master):
    add_quarantine(master, household_id=1, starts_on=date(2026, 3, 1), days=14)
    assert master.quarantine_orders(resident_id=1, household_id=1, on=date(2026, 3, 1))
    with pytest.raises(AdminError, match="exactly one"):
        add_quarantine(master, starts_on=date(2026, 3, 1))


def test_volunteer_pin(master):
    row, _ = add_volunteer(master, "张志愿", "2468")
    assert verify_secret("2468", master.volunteer(row["id"])["pin_hash"])
    assert not verify_secret("1357", master.volunteer(row["id"])["pin_hash"])
    for bad in ("123", "123456789", "12a4"):
        with pytest.raises(AdminError, match="4 to 8 digits"):
            add_volunteer(master, "李", bad)


def test_visitor_pass_and_card_in_one_version(tmp_path, master, key):
    before = master.version
    row, issued = add_visitor_pass(master, key, name="赵六", phone="13700001234", host="3-2-501",
                                   valid_from=NOW, valid_until=datetime(2026, 3, 1, 18, 0, tzinfo=TZ),
                                   reason="送药", out_dir=tmp_path, now=NOW)
    assert master.version == before + 1 == issued.version
    visitor = master.visitor_pass(row["id"])
    assert visitor.host_household_id == 1 and visitor.covers(NOW) and row["phone_masked"] == "137****1234"
    assert issued.card.subject_id == row["id"] and issued.image.name == "visitor_3-2-501_赵六_card-1.png"
    assert verify_card(issued.text, load_keyset(tmp_path / "keys" / KEYSET_FILE), NOW, TZ).valid
    with pytest.raises(AdminError, match="no household '9-9-9'"):
        add_visitor_pass(master, key, name="x", phone="", host="9-9-9", valid_from=NOW,
                         valid_until=datetime(2026, 3, 2, tzinfo=TZ), out_dir=tmp_path)


def test_reissue_visitor_card_named_like_the_first(tmp_path, master, key):
    row, _ = add_visitor_pass(master, key, name="赵六", phone="", host="3-2-501", valid_from=NOW,
                              valid_until=datetime(2026, 3, 1, 18, 0, tzinfo=TZ), out_dir=tmp_path, now=NOW)
    again = issue_registry_card(master, key, "visitor", row["id"], out_dir=tmp_path, tz=TZ, now=NOW)
    assert again.image.name == "visitor_3-2-501_赵六_card-2.png" and again.card.valid_until == date(2026, 3, 1)


def test_a_new_card_replaces_the_holders_earlier_one_unless_kept(tmp_path, master, key):
    first = issue_registry_card(master, key, "resident", 1, out_dir=tmp_path, tz=TZ, now=NOW)
    assert first.revoked == ()
    second = issue_registry_card(master, key, "resident", 1, out_dir=tmp_path, tz=TZ, now=NOW)
    assert second.revoked == (first.card.card_id,) and second.to_dict()["revoked"] == [first.card.card_id]
    assert master.revocation(first.card.card_id) == {"card_id": first.card.card_id, "reason": "replaced",
                                                     "revoked_at": NOW.isoformat(), "note": ""}
    assert not master.is_revoked(second.card.card_id)
    assert master.version == second.version  # the new card and the revocation are one version
    spare = issue_registry_card(master, key, "resident", 1, out_dir=tmp_path, tz=TZ, now=NOW, keep_old=True)
    assert spare.revoked == () and not master.is_revoked(second.card.card_id)
    vehicle = issue_registry_card(master, key, "vehicle", 1, out_dir=tmp_path, tz=TZ, now=NOW)
    assert vehicle.revoked == ()  # another kind of card for subject 1 is not a replacement
    both = issue_registry_card(master, key, "resident", 1, out_dir=tmp_path, tz=TZ, now=NOW)
    assert both.revoked == (second.card.card_id, spare.card.card_id)


@pytest.mark.parametrize("reason", ["lost", "replaced", "moved_out", "withdrawn"])
def test_revocation_reasons_are_codes(tmp_path, master, key, reason):
    issued = issue_registry_card(master, key, "resident", 1, out_dir=tmp_path, tz=TZ, now=NOW)
    revoke_card(master, issued.card.card_id, reason=reason, now=NOW)
    assert master.revocation(issued.card.card_id)["reason"] == reason


def test_a_free_text_reason_is_refused(tmp_path, master, key):
    issued = issue_registry_card(master, key, "resident", 1, out_dir=tmp_path, tz=TZ, now=NOW)
    with pytest.raises(AdminError, match="lost, replaced, moved_out, withdrawn"):
        revoke_card(master, issued.card.card_id, reason="遗失")
    assert not master.is_revoked(issued.card.card_id)
    revoke_card(master, issued.card.card_id)
    assert master.revocation(issued.card.card_id)["reason"] == "withdrawn"


def test_a_card_brings_its_key_into_the_registry(tmp_path, master, key):
    """A key folder made without the office (kiosk keys init --dir): the first card still reaches gates verifiable."""
    assert master.keyset().kids == []
    issued = issue_registry_card(master, key, "resident", 1, out_dir=tmp_path, tz=TZ, now=NOW)
    assert master.keyset().kids == [key.kid]
    assert verify_card(issued.text, master.keyset(), NOW, TZ).valid
    before = master.version
    issue_registry_card(master, key, "vehicle", 1, out_dir=tmp_path, tz=TZ, now=NOW)
    assert master.version == before + 1 and master.keyset().kids == [key.kid]


def test_a_pass_without_an_end_lasts_the_day_but_at_least_four_hours():
    """At 23:59 the default end used to be 23:59: the desk refused the form it had filled itself (CI, one night)."""
    from kiosk.office.admin import default_pass_window

    tz = ZoneInfo("Asia/Shanghai")
    morning = datetime(2026, 12, 1, 9, 30, 12, tzinfo=tz)
    assert default_pass_window(morning) == (morning.replace(second=0), datetime(2026, 12, 1, 23, 59, tzinfo=tz))
    late = datetime(2026, 12, 1, 23, 59, tzinfo=tz)
    assert default_pass_window(late) == (late, datetime(2026, 12, 2, 3, 59, tzinfo=tz))
    evening = datetime(2026, 12, 1, 21, 0, tzinfo=tz)
    assert default_pass_window(evening)[1] == datetime(2026, 12, 2, 1, 0, tzinfo=tz)
