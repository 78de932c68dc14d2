"""A stolen gate gives up no ID number: after residents (with ID numbers in the roster) and a visitor (with an
ID number, registered at the gate) exist and the gate has synced, no file of the gate — its data folder with the
SQLite files and their -wal, and its provisioning file — holds a clear ID number, a keyed hash of one, or the
hash key. The visitor's sealed number opens at the office, whose stored event carries the office's own hash.
"""

from __future__ import annotations

import base64
import logging
import re
from pathlib import Path

import pytest
import sqlite_utils
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from kiosk.config import GateConfig
from kiosk.events import EventKind
from kiosk.gate.visitors import VisitorRegistration
from kiosk.keys import load_keyset
from kiosk.office.keyring import init_office_keys
from kiosk.office.personal_data import ensure_sealing_key, open_visitor_id, sealing_public_text
from kiosk.office.roster import import_roster, load_id_hash_key
from kiosk.privacy import _ID_CHECK, _ID_WEIGHTS, id_number_hash
from kiosk.provisioning import read_provisioning, scrub_provisioning, write_provisioning
from kiosk.registry import Registry, migrations
from tests.office_fixtures import OfficeServer


def id_number(seventeen: str) -> str:
    """A valid 18-character ID number from its first 17 digits."""
    return seventeen + _ID_CHECK[sum(int(d) * w for d, w in zip(seventeen, _ID_WEIGHTS, strict=True)) % 11]


RESIDENT_IDS = [id_number("11010519491231002"), id_number("11010519800101003"), id_number("13018219900307456")]
VISITOR_ID = id_number("13018219850611123")
ROSTER = "楼栋,单元,房间号,姓名,手机号,身份证号\n" + "\n".join(
    f"3,2,50{i},居民{i},1381234567{i},{number}" for i, number in enumerate(RESIDENT_IDS, 1)) + "\n"
HEX64 = re.compile(rb"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])")


def _gate_files(data: Path, provisioning: Path) -> dict[Path, bytes]:
    files = {path: path.read_bytes() for path in data.rglob("*") if path.is_file()}
    files[provisioning] = provisioning.read_bytes()
    return files


def _needles(numbers: list[str], hash_key: bytes) -> dict[str, bytes]:
    needles: dict[str, bytes] = {"hash key": hash_key, "hash key (hex)": hash_key.hex().encode(),
                                 "hash key (base64)": base64.b64encode(hash_key)}
    for number in numbers:
        digest = id_number_hash(number, hash_key)
        needles[f"ID {number}"] = number.encode()
        needles[f"ID {number} (UTF-16)"] = number.encode("utf-16-le")
        needles[f"hash of {number}"] = digest.encode()
        needles[f"hash of {number} (upper)"] = digest.upper().encode()
        needles[f"hash of {number} (raw)"] = bytes.fromhex(digest)
    return needles


def _assert_nothing_gives_an_id_away(files: dict[Path, bytes], numbers: list[str], hash_key: bytes) -> None:
    assert files, "no gate files to search"
    hashes = {id_number_hash(n, hash_key) for n in numbers}
    for path, content in files.items():
        for what, needle in _needles(numbers, hash_key).items():
            assert needle not in content, f"{path.name} holds the {what}"
        for match in HEX64.findall(content):
            assert match.decode().lower() not in hashes, f"{path.name} holds a keyed hash of a known ID number"


@pytest.fixture
def office(tmp_path):
    data = tmp_path / "office"
    server = OfficeServer(data)
    init_office_keys(tmp_path / "keys", server.registry)  # `kiosk keys init`: signing key + sealing key pair
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    import_roster(server.registry, roster, load_id_hash_key(data))
    server.start()
    yield server
    server.stop()


def test_a_stolen_gate_gives_up_no_id_number(tmp_path, office):
    data, keys = office.data, tmp_path / "keys"
    assert all(r["id_hash"] for r in office.registry.snapshot()["residents"])  # the office keeps them
    provisioning = tmp_path / "north.provision.json"
    write_provisioning(provisioning, gate_id="north", office_url=office.url, token=office.store.add_gate("north"),
                       keyset=load_keyset(keys / "keyset.json"), id_sealing_key=sealing_public_text(data))
    gate_dir = tmp_path / "gate"
    config = GateConfig.model_validate({"gate": {"id": "north", "data_dir": str(gate_dir)}, "camera": {"source": "replay"},
                                        "sync": {"provisioning_file": str(provisioning)}, "web": {"port": 0}})
    from kiosk.gate.process import GateProcess

    process = GateProcess(config, simulate=True)
    try:
        assert process.sync.pull_registry_once() == office.registry.version
        residents = process.registry.snapshot()["residents"]
        assert len(residents) == 3 and all(set(r) - {"id", "household_id", "name"} <= {"id_hash", "id_masked",
                                                                                   "phone_masked", "note"} for r in residents)
        assert not any(r.get("id_hash") or r.get("id_masked") or r.get("phone_masked") for r in residents)
        visitor = VisitorRegistration("孙来访", "13800138000", "任丘市", residents[0]["household_id"], "探亲",
                                      id_number=VISITOR_ID)
        outcome = process.gate.visitor(visitor, [36.5])
        event = next(e for e in outcome.events if e.kind is EventKind.VISITOR_REGISTRATION)
        assert "id_hash" not in event.data and event.data["id_masked"] == "130***********" + VISITOR_ID[-4:]
        assert process.sync.push_once() >= 1
    finally:
        process.close()

    hash_key = load_id_hash_key(data)
    _assert_nothing_gives_an_id_away(_gate_files(gate_dir, provisioning), [*RESIDENT_IDS, VISITOR_ID], hash_key)
    sealing = ensure_sealing_key(data).private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    assert all(sealing not in content for content in _gate_files(gate_dir, provisioning).values())

    stored = next(e for e in office.store.events("north") if e["kind"] == EventKind.VISITOR_REGISTRATION.value)
    assert stored["data"]["id_hash"] == id_number_hash(VISITOR_ID, hash_key)  # searchable at the office
    assert VISITOR_ID not in str(stored["data"])
    opened = open_visitor_id(office.store, data, "north", stored["seq"], staff="李主任", reason="密接排查 case 12")
    assert opened.id_number == VISITOR_ID
    audit = (data / "id-openings.log").read_text(encoding="utf-8")
    assert "李主任" in audit and "密接排查" in audit and VISITOR_ID not in audit
    assert (data / "id-openings.log").stat().st_mode & 0o777 == 0o600
    assert (data / "id-sealing.key").stat().st_mode & 0o777 == 0o600


def test_an_older_gate_forgets_what_an_older_office_sent(tmp_path, caplog):
    """A gate synced before this change holds residents' ID hashes and an ID-hash key: at its next start the
    replica's migration clears them (freed pages and WAL scrubbed) and the provisioning file loses the key."""
    hash_key = bytes(range(32))
    path = tmp_path / "registry.db"
    old = sqlite_utils.Database(path)
    old.execute("PRAGMA journal_mode = WAL")
    migrations.apply(old)  # the schema as it shipped, without the replica's later migration
    old["residents"].insert_all([{"id": i, "household_id": 1, "name": f"居民{i}", "phone_masked": "138****5678",
                                  "id_hash": id_number_hash(n, hash_key), "id_masked": n[:3] + "*" * 11 + n[-4:],
                                  "note": ""} for i, n in enumerate(RESIDENT_IDS, 1)])
    old.close()
    provisioning = tmp_path / "north.provision.json"
    write_provisioning(provisioning, gate_id="north", office_url="http://127.0.0.1:1", token="t",
                       keyset=load_keyset(init_and_keyset(tmp_path)))
    document = provisioning.read_text(encoding="utf-8").replace('"id_sealing_key": null',
                                                                f'"id_hash_key": "{hash_key.hex()}"')
    provisioning.write_text(document, encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger="kiosk.provisioning"):
        assert "id_hash_key" not in read_provisioning(provisioning)  # still reads; the key is ignored
    assert "id_hash_key is ignored" in caplog.text
    assert scrub_provisioning(provisioning) and not scrub_provisioning(provisioning)
    assert provisioning.stat().st_mode & 0o777 == 0o600

    with Registry(path) as registry:
        assert [r["name"] for r in registry.snapshot()["residents"]] == ["居民1", "居民2", "居民3"]
        assert not any(r["id_hash"] for r in registry.snapshot()["residents"])
    files = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file() and p.name.startswith("registry.db")}
    files[provisioning] = provisioning.read_bytes()
    _assert_nothing_gives_an_id_away(files, RESIDENT_IDS, hash_key)


def init_and_keyset(tmp_path: Path) -> Path:
    """A key folder outside any office, for a provisioning file's keyset."""
    init_office_keys(tmp_path / "keys", None)
    return tmp_path / "keys" / "keyset.json"


def test_what_an_older_office_still_sends_is_dropped_on_arrival(tmp_path):
    row = {"id": 1, "household_id": 1, "name": "王小山", "phone_masked": "138****5678", "id_hash": "ab" * 32,
           "id_masked": "110***********002X", "note": "独居"}
    with Registry(tmp_path / "registry.db") as registry:
        registry.apply_snapshot({"households": [{"id": 1}], "residents": [row]}, version=1)
        assert registry.resident(1) == {**dict.fromkeys(row), "id": 1, "household_id": 1, "name": "王小山"}
        registry.apply_changes([{"op": "upsert", "table": "residents", "row": {**row, "id": 2}}], from_version=1,
                               to_version=2)
        assert registry.resident(2)["id_hash"] is None and registry.resident(2)["name"] == "王小山"
    content = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("registry.db"))
    assert b"ab" * 32 not in content and "独居".encode() not in content
