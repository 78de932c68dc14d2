"""The office's master registry: versions, the change log, and what a gate replica receives."""

from __future__ import annotations

import pytest

from kiosk.exc import RegistryError
from kiosk.office.registry_master import RegistryMaster
from kiosk.registry import Registry


@pytest.fixture
def master(tmp_path):
    return RegistryMaster(tmp_path / "office-registry.db", log_versions=3)


def test_each_change_is_a_version_and_replicas_catch_up(master, tmp_path):
    replica = Registry(tmp_path / "gate.db")
    assert master.upsert("households", {"id": 1, "building": "1", "unit": "1", "room": "101"}) == 1
    assert master.upsert("residents", {"id": 1, "household_id": 1, "name": "王小山"}) == 2
    changes = master.changes_since(replica.version)
    replica.apply_changes(changes, from_version=0, to_version=master.version)
    assert replica.resident(1)["name"] == "王小山"
    master.upsert("revocations", {"card_id": 5, "reason": "lost"})
    replica.apply_changes(master.changes_since(2), from_version=2, to_version=3)
    assert replica.is_revoked(5)
    assert master.changes_since(3) == []


def test_a_bad_change_set_is_not_a_version(master):
    with pytest.raises(RegistryError):
        master.change([{"op": "upsert", "table": "households", "row": {"id": 1}}, {"op": "upsert", "table": "nope", "row": {}}])
    assert master.version == 0 and master.household(1) is None and master.changes_since(0) == []


def test_gate_too_far_behind_gets_a_snapshot(master, tmp_path):
    for i in range(1, 6):
        master.upsert("households", {"id": i, "building": str(i)})
    assert master.changes_since(0) is None  # log keeps 3 versions: 3, 4, 5
    assert master.changes_since(1) is None
    assert len(master.changes_since(2)) == 3
    replica = Registry(tmp_path / "gate.db")
    replica.apply_snapshot(master.snapshot(), version=master.version)
    assert replica.counts()["households"] == 5 and replica.version == 5


def test_next_id(master):
    assert master.next_id("residents") == 1
    master.upsert("residents", {"id": 41, "household_id": 1, "name": "x"})
    assert master.next_id("residents") == 42
