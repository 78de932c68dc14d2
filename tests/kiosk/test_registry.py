"""The registry replica: schema, look-ups, incremental changes and snapshots, all-or-nothing."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from kiosk.cards import Card, CardCheck, CardKind, Rejection
from kiosk.exc import RegistryError, RegistryVersionError
from kiosk.keys import Keyset, SigningKey
from kiosk.provisioning import write_provisioning
from kiosk.registry import Registry, RevocationReason, gate_keyset, household_label, normalise_plate


def _keyset(*keys: SigningKey) -> Keyset:
    keyset = Keyset()
    for key in keys:
        keyset.add(key.public_key, "2026-01-01T00:00:00+00:00")
    return keyset


KEY = SigningKey.generate()

SNAPSHOT = {
    "households": [{"id": 7, "building": "3", "unit": "2", "room": "501"}, {"id": 8, "building": "3", "unit": "2", "room": "502"}],
    "residents": [{"id": 12, "household_id": 7, "name": "王小山", "phone_masked": "138****5678"},
                  {"id": 13, "household_id": 7, "name": "李小花"}],
    "cards": [{"id": 1001, "kind": "resident", "subject_id": 12, "valid_from": "2026-01-01", "valid_until": "2026-12-31"}],
    "revocations": [{"card_id": 999, "revoked_at": "2026-11-01T08:00:00+08:00", "reason": "lost"}],
    "vehicles": [{"id": 5, "plate": "京A·12345", "household_id": 7}],
    "visitor_passes": [{"id": 44, "name": "张三", "host_household_id": 8,
                        "valid_from": "2026-11-28T08:00:00+08:00", "valid_until": "2026-11-28T18:00:00+08:00"}],
    "quarantine_orders": [{"id": 3, "resident_id": None, "household_id": 8, "starts_on": "2026-11-20", "ends_on": "2026-12-03"}],
    "volunteers": [{"id": 2, "name": "赵志愿", "pin_hash": "scrypt$…", "resident_id": 13}],
    "keyset": _keyset(KEY).rows(),
}


@pytest.fixture
def registry(tmp_path):
    with Registry(tmp_path / "registry.db") as reg:
        reg.apply_snapshot(SNAPSHOT, version=10)
        yield reg


def test_fresh_replica_is_version_zero_and_empty(tmp_path):
    reg = Registry(tmp_path / "r.db")
    assert reg.version == 0
    assert set(reg.counts().values()) == {0}
    assert reg.integrity_check() == "ok"


def test_lookups(registry):
    assert registry.version == 10
    assert registry.card(1001)["subject_id"] == 12
    assert registry.card(4) is None
    assert registry.resident(12)["name"] == "王小山"
    assert [r["id"] for r in registry.residents_of(7)] == [12, 13]
    assert registry.vehicle_by_plate("京a 12345")["id"] == 5
    assert registry.is_revoked(999) and not registry.is_revoked(1001)
    assert registry.volunteer(2)["resident_id"] == 13
    visitor = registry.visitor_pass(44)
    assert visitor.covers(datetime.fromisoformat("2026-11-28T09:00:00+08:00"))
    assert not visitor.covers(datetime.fromisoformat("2026-11-28T19:00:00+08:00"))
    assert registry.keyset_json()["keys"][0]["kid"] == KEY.kid and registry.keyset().kids == [KEY.kid]


def test_quarantine_by_household_and_dates(registry):
    on = date(2026, 11, 28)
    assert [o.id for o in registry.quarantine_orders(resident_id=None, household_id=8, on=on)] == [3]
    assert registry.quarantine_orders(resident_id=12, household_id=7, on=on) == []
    assert registry.quarantine_orders(resident_id=None, household_id=8, on=date(2026, 12, 4)) == []
    assert registry.quarantine_orders(resident_id=None, household_id=8, on=date(2026, 12, 3))  # inclusive


def test_lookups_use_indexes(registry):
    db = registry._db()
    plan = " ".join(str(r) for r in db.execute("EXPLAIN QUERY PLAN SELECT * FROM vehicles WHERE plate = ?", ["X"]).fetchall())
    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan
    plan = " ".join(str(r) for r in db.execute("EXPLAIN QUERY PLAN SELECT * FROM cards WHERE id = ?", [1]).fetchall())
    assert "INTEGER PRIMARY KEY" in plan


def test_check_revocation(registry):
    card = Card(CardKind.RESIDENT, 999, 12, date(2026, 1, 1), date(2026, 12, 31), "3FA2")
    assert registry.check_revocation(CardCheck(True, None, card)) == CardCheck(False, Rejection.REVOKED, card)
    fine = CardCheck(True, None, Card(CardKind.RESIDENT, 1001, 12, date(2026, 1, 1), date(2026, 12, 31), "3FA2"))
    assert registry.check_revocation(fine) is fine


def test_incremental_changes(registry):
    registry.apply_changes(
        [
            {"op": "upsert", "table": "revocations", "row": {"card_id": 1001, "revoked_at": "2026-11-28T10:00:00+08:00", "reason": "moved"}},
            {"op": "upsert", "table": "residents", "row": {"id": 14, "household_id": 8, "name": "新居民"}},
            {"op": "delete", "table": "quarantine_orders", "key": 3},
        ],
        from_version=10, to_version=11,
    )
    assert registry.version == 11
    assert registry.is_revoked(1001)
    assert registry.resident(14)["name"] == "新居民"
    assert registry.quarantine_orders(resident_id=None, household_id=8, on=date(2026, 11, 28)) == []


def test_changes_from_the_wrong_version_are_refused(registry):
    with pytest.raises(RegistryVersionError, match="at version 10"):
        registry.apply_changes([{"op": "delete", "table": "cards", "key": 1001}], from_version=9, to_version=11)
    assert registry.card(1001) is not None and registry.version == 10


@pytest.mark.parametrize("bad", [
    {"op": "upsert", "table": "secrets", "row": {"id": 1}},
    {"op": "drop", "table": "cards"},
    {"op": "upsert", "table": "cards", "row": {"id": 2, "colour": "red"}},
    {"op": "upsert", "table": "cards", "row": {"kind": "resident"}},
    {"op": "upsert", "table": "cards", "row": "not a row"},
    "not a change",
])
def test_a_bad_change_rolls_back_the_whole_set(registry, bad):
    good = {"op": "upsert", "table": "households", "row": {"id": 9, "building": "4"}}
    with pytest.raises(RegistryError):
        registry.apply_changes([good, bad], from_version=10, to_version=11)
    assert registry.household(9) is None and registry.version == 10


def test_snapshot_replaces_everything_and_round_trips(registry, tmp_path):
    other = Registry(tmp_path / "other.db")
    other.apply_snapshot(registry.snapshot(), version=registry.version)
    assert other.snapshot() == registry.snapshot()
    registry.apply_snapshot({"households": [{"id": 1, "building": "1"}], "keyset": SNAPSHOT["keyset"]}, version=20)
    assert registry.counts()["residents"] == 0 and registry.counts()["households"] == 1 and registry.version == 20


def test_bad_snapshot_leaves_replica_intact(registry):
    before = registry.snapshot()
    with pytest.raises(RegistryError):
        registry.apply_snapshot({"households": [{"id": 1}], "cards": [{"id": 5, "bogus": 1}]}, version=99)
    assert registry.snapshot() == before and registry.version == 10


def test_replica_survives_reopen(registry):
    reopened = Registry(registry.path)
    assert reopened.version == 10 and reopened.card(1001) is not None


def test_each_thread_has_its_own_connection(registry):
    import threading

    results = []
    thread = threading.Thread(target=lambda: results.append(registry.resident(12)["name"]))
    thread.start()
    thread.join()
    assert results == ["王小山"]


def test_helpers():
    assert normalise_plate("京a·12345") == "京A12345"
    assert household_label("3", "2", "501") == "3-2-501"
    assert household_label("3", None, "501") == "3-501"


# -- revocation reasons ------------------------------------------------------------


def test_revocation_reason_codes_and_old_free_text(registry):
    assert registry.revocation(999) == {"card_id": 999, "reason": "lost", "revoked_at": "2026-11-01T08:00:00+08:00",
                                        "note": ""}
    assert registry.revocation(1001) is None
    registry.apply_changes([
        {"op": "upsert", "table": "revocations", "row": {"card_id": 5, "reason": "lost (挂失)"}},
        {"op": "upsert", "table": "revocations", "row": {"card_id": 6, "reason": "moved_out", "revoked_at": "2026-12-01"}},
        {"op": "upsert", "table": "revocations", "row": {"card_id": 7}},
    ], from_version=10, to_version=11)
    old = registry.revocation(5)
    assert old["reason"] == "withdrawn" and old["note"] == "lost (挂失)"  # only a code says "lost"
    assert registry.revocation(6)["reason"] == "moved_out"
    assert registry.revocation(7) == {"card_id": 7, "reason": "withdrawn", "revoked_at": "", "note": ""}
    assert RevocationReason.of("replaced") is RevocationReason.REPLACED and RevocationReason.of(None).value == "withdrawn"


def test_cards_of_a_subject(registry):
    registry.apply_changes([
        {"op": "upsert", "table": "cards", "row": {"id": 1002, "kind": "resident", "subject_id": 12}},
        {"op": "upsert", "table": "cards", "row": {"id": 1003, "kind": "vehicle", "subject_id": 12}},
        {"op": "upsert", "table": "revocations", "row": {"card_id": 1001, "reason": "replaced"}},
    ], from_version=10, to_version=11)
    assert [c["id"] for c in registry.cards_of("resident", 12)] == [1001, 1002]
    assert [c["id"] for c in registry.cards_of("resident", 12, unrevoked=True)] == [1002]
    assert registry.cards_of("volunteer", 12) == []


# -- the keyset: never lost to a bad payload ---------------------------------------------


def test_keyset_changes_arrive_like_any_other(registry):
    new = SigningKey.generate()
    registry.apply_changes([{"op": "upsert", "table": "keyset", "row": _keyset(new).rows()[0]},
                            {"op": "delete", "table": "keyset", "key": KEY.kid}], from_version=10, to_version=11)
    assert registry.keyset().kids == [new.kid] and registry.version == 11


@pytest.mark.parametrize("changes", [
    [{"op": "delete", "table": "keyset", "key": KEY.kid}],
    [{"op": "upsert", "table": "keyset", "row": {**_keyset(KEY).rows()[0], "public_key": "AAAA"}}],
    [{"op": "upsert", "table": "keyset", "row": {**_keyset(SigningKey.generate()).rows()[0], "kid": "0000"}}],
    [{"op": "upsert", "table": "keyset", "row": {"kid": "ABCD"}}],
])
def test_a_keyset_change_that_would_lose_the_keys_is_refused_whole(registry, changes):
    household = {"op": "upsert", "table": "households", "row": {"id": 9, "building": "4"}}
    with pytest.raises(RegistryError, match="refused"):
        registry.apply_changes([household, *changes], from_version=10, to_version=11)
    assert registry.keyset().kids == [KEY.kid] and registry.household(9) is None and registry.version == 10


@pytest.mark.parametrize("keyset", [[], [{"kid": "3FA2", "alg": "Ed25519", "public_key": "AAAA", "created": ""}]])
def test_a_snapshot_without_good_keys_is_refused(registry, keyset):
    before = registry.snapshot()
    with pytest.raises(RegistryError, match="keyset|trusted key"):
        registry.apply_snapshot({**SNAPSHOT, "keyset": keyset}, version=30)
    assert registry.snapshot() == before and registry.version == 10


def test_a_replica_that_never_had_keys_takes_a_snapshot_without_any(tmp_path):
    with Registry(tmp_path / "r.db") as replica:
        replica.apply_snapshot({"households": [{"id": 1, "building": "1"}]}, version=3)
        assert replica.version == 3 and len(replica.keyset()) == 0


def test_gate_keyset_prefers_the_replica_then_the_provisioning_file(tmp_path):
    provisioned, synced = SigningKey.generate(), SigningKey.generate()
    path = write_provisioning(tmp_path / "gate.provision.json", gate_id="north", office_url="http://127.0.0.1:1",
                              token="t", keyset=_keyset(provisioned))
    with Registry(tmp_path / "r.db") as replica:
        assert gate_keyset(replica).kids == []  # a stand-alone gate with nothing synced trusts nothing
        assert gate_keyset(replica, path).kids == [provisioned.kid]  # first start, before any sync
        replica.apply_changes([{"op": "upsert", "table": "keyset", "row": _keyset(synced).rows()[0]}],
                              from_version=0, to_version=1)
        assert gate_keyset(replica, path).kids == [synced.kid]  # the office's keyset wins once it has come
