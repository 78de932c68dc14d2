"""ID numbers at the office: the sealing key pair, the keyed hash added on arrival, opening for contact tracing,
and what the registry sends gates (no resident's ID hash)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from kiosk.events import EventKind
from kiosk.office.keyring import init_office_keys
from kiosk.office.personal_data import (
    SEALING_KEY_FILE,
    PersonalDataError,
    ensure_sealing_key,
    office_event_data,
    open_visitor_id,
    sealing_public_text,
)
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.roster import load_id_hash_key
from kiosk.office.store import OfficeStore
from kiosk.privacy import id_number_hash, load_sealing_public_key, seal_for_office

ID = "11010519491231002X"
VISITOR = EventKind.VISITOR_REGISTRATION.value


def _event(seq: int, data: dict, kind: str = VISITOR) -> dict:
    return {"gate_id": "north", "seq": seq, "id": f"e{seq}", "ts": "2026-12-01T08:00:00.000Z", "kind": kind,
            "data": data}


def _visitor(public_key, number: str = ID) -> dict:
    return {"name": "孙来访", "phone": "13800138000", "phone_masked": "138****8000", "coming_from": "任丘市",
            "host_household_id": None, "reason": "探亲", "temperature_c": 36.5, **seal_for_office(number, public_key)}


@pytest.fixture
def office(tmp_path):
    key = ensure_sealing_key(tmp_path)
    hash_key = load_id_hash_key(tmp_path)
    store = OfficeStore(tmp_path / "office.db")
    yield tmp_path, store, key, hash_key
    store.close()


def test_sealing_key_made_once_private_and_only_its_public_half_goes_out(tmp_path):
    key = ensure_sealing_key(tmp_path)
    assert (tmp_path / SEALING_KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert ensure_sealing_key(tmp_path).private_bytes_raw() == key.private_bytes_raw()
    public = load_sealing_public_key(sealing_public_text(tmp_path))
    assert public.public_bytes_raw() == key.public_key().public_bytes_raw()
    assert key.private_bytes_raw().hex() not in sealing_public_text(tmp_path)


def test_keys_init_makes_the_sealing_key_beside_the_registry(tmp_path):
    with RegistryMaster(tmp_path / "data" / "registry.db") as master:
        init_office_keys(tmp_path / "keys", master)
    assert (tmp_path / "data" / SEALING_KEY_FILE).exists() and not (tmp_path / "keys" / SEALING_KEY_FILE).exists()


def test_arriving_visitor_gets_the_office_hash_never_the_clear_number(office):
    data_dir, store, key, hash_key = office
    store.ingest("north", [_event(1, _visitor(key.public_key())), _event(2, {"verdict": "admit"}, "passage")])
    stored = store.events("north")
    assert stored[0]["data"]["id_hash"] == id_number_hash(ID, hash_key) and ID not in json.dumps(stored[0]["data"])
    assert stored[0]["data"]["id_sealed"]  # kept, to be opened for contact tracing
    assert "id_hash" not in stored[1]["data"]
    raw = (data_dir / "office.db").read_bytes() + (data_dir / "office.db-wal").read_bytes()
    assert ID.encode() not in raw


def test_a_box_the_office_cannot_open_is_stored_as_it_came(office):
    data_dir, store, _, _ = office
    foreign = _visitor(X25519PrivateKey.generate().public_key())
    assert office_event_data(VISITOR, foreign, data_dir) == foreign
    damaged = {**foreign, "id_sealed": "AAAA"}
    assert office_event_data(VISITOR, damaged, data_dir) == damaged
    store.ingest("north", [_event(1, foreign)])
    assert "id_hash" not in store.events("north")[0]["data"] and store.high_water("north") == 1


def test_an_older_gates_hash_is_kept(office):
    data_dir, _, _, hash_key = office
    older = {"name": "x", "id_hash": id_number_hash(ID, hash_key), "id_masked": "110***********002X"}
    assert office_event_data(VISITOR, older, data_dir) == older
    assert office_event_data(VISITOR, "not a dict", data_dir) == "not a dict"


def test_opening_is_audited_and_needs_who_and_why(office):
    data_dir, store, key, _ = office
    store.ingest("north", [_event(1, _visitor(key.public_key())), _event(2, {"verdict": "admit"}, "passage")])
    with pytest.raises(PersonalDataError, match="reason"):
        open_visitor_id(store, data_dir, "north", 1, staff="li", reason=" ")
    assert not (data_dir / "id-openings.log").exists()
    opened = open_visitor_id(store, data_dir, "north", 1, staff="li", reason="密接排查")
    assert opened.id_number == ID and opened.id_masked == "110***********002X"
    line = json.loads((data_dir / "id-openings.log").read_text(encoding="utf-8"))
    assert line["staff"] == "li" and line["seq"] == 1 and ID not in json.dumps(line)
    with pytest.raises(PersonalDataError, match="no sealed ID number"):
        open_visitor_id(store, data_dir, "north", 2, staff="li", reason="x")
    with pytest.raises(PersonalDataError, match="no event"):
        open_visitor_id(store, data_dir, "north", 9, staff="li", reason="x")


def test_open_id_command(tmp_path):
    from kiosk.cli import main

    (tmp_path / "office.yaml").write_text(f"office:\n  data_dir: {tmp_path / 'data'}\n  keys_dir: {tmp_path / 'keys'}\n",
                                          encoding="utf-8")
    key = ensure_sealing_key(tmp_path / "data")
    load_id_hash_key(tmp_path / "data")
    store = OfficeStore(tmp_path / "data" / "office.db")
    store.ingest("north", [_event(1, _visitor(key.public_key()))])
    store.close()
    config = str(tmp_path / "office.yaml")
    result = CliRunner().invoke(main, ["office", "open-id", "north", "1", "--config", config, "--staff", "li",
                                       "--reason", "密接排查", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["id_number"] == ID
    missing = CliRunner().invoke(main, ["office", "open-id", "north", "5", "--config", config, "--staff", "li",
                                        "--reason", "x"])
    assert missing.exit_code == 2 and "no event" in missing.output


def test_gates_get_residents_without_their_id_hash(tmp_path):
    with RegistryMaster(tmp_path / "registry.db") as master:
        master.upsert("households", {"id": 1, "building": "3", "unit": "2", "room": "501"})
        master.upsert("residents", {"id": 1, "household_id": 1, "name": "王小山", "phone_masked": "138****5678",
                                    "id_hash": "ab" * 32, "id_masked": "110***********002X", "note": "独居"})
        assert master.resident(1)["id_hash"] == "ab" * 32  # the office keeps it
        for tables in (master.gate_snapshot(), {"residents": [c["row"] for c in master.gate_changes_since(0) or []
                                                               if c["table"] == "residents"]}):
            assert tables["residents"] == [{"id": 1, "household_id": 1, "name": "王小山"}]
        assert master.gate_changes_since(master.version) == []


def test_the_offices_registry_opened_as_a_replica_keeps_its_id_hashes(tmp_path):
    """``kiosk cards verify --registry`` may be pointed at the office's registry.db: it must not run the gates'
    clearing migration there."""
    from kiosk.registry import Registry

    with RegistryMaster(tmp_path / "registry.db") as master:
        master.upsert("residents", {"id": 1, "household_id": 1, "name": "王小山", "id_hash": "ab" * 32})
    with Registry(tmp_path / "registry.db") as registry:
        assert registry.resident(1)["id_hash"] == "ab" * 32
    with RegistryMaster(tmp_path / "registry.db") as master:
        assert master.resident(1)["id_hash"] == "ab" * 32


def test_a_visitor_before_any_roster_import_is_still_hashed(tmp_path):
    key = ensure_sealing_key(tmp_path)  # kiosk keys init; no roster imported, so no id-hash.key yet
    store = OfficeStore(tmp_path / "office.db")
    store.ingest("north", [_event(1, _visitor(key.public_key()))])
    assert store.events("north")[0]["data"]["id_hash"] == id_number_hash(ID, load_id_hash_key(tmp_path))
    store.close()
