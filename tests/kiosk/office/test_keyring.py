"""The office's keys reach the master registry as versions: first key, rotation, retirement, repair."""

from __future__ import annotations

import pytest

from kiosk.exc import KeyFileError, RegistryError
from kiosk.keys import KEYSET_FILE, Keyset, load_keyset
from kiosk.office.keyring import (
    init_office_keys,
    keyset_changes,
    publish_keyset,
    publish_office_keys,
    retire_office_key,
    rotate_office_keys,
)
from kiosk.office.registry_master import RegistryMaster


@pytest.fixture
def master(tmp_path):
    with RegistryMaster(tmp_path / "registry.db") as registry:
        yield registry


def test_each_key_change_is_one_registry_version(tmp_path, master):
    keys = tmp_path / "keys"
    first = init_office_keys(keys, master)
    assert first.version == master.version == 1 and master.keyset().kids == [first.kid]
    second = rotate_office_keys(keys, master)
    assert second.version == 2 and set(master.keyset().kids) == {first.kid, second.kid}
    retired = retire_office_key(keys, master, first.kid)
    assert retired.version == 3 and retired.retired == [first.kid] and master.keyset().kids == [second.kid]
    assert master.changes_since(2) == [{"op": "delete", "table": "keyset", "key": first.kid}]
    assert publish_office_keys(keys, master).version is None  # nothing to publish: no empty version


def test_the_current_key_is_never_retired(tmp_path, master):
    key = init_office_keys(tmp_path / "keys", master)
    with pytest.raises(KeyFileError, match="cannot be retired"):
        retire_office_key(tmp_path / "keys", master, key.kid)
    assert master.keyset().kids == [key.kid] and load_keyset(tmp_path / "keys" / KEYSET_FILE).kids == [key.kid]


def test_publish_follows_a_hand_edited_key_folder(tmp_path, master):
    keys = tmp_path / "keys"
    init_office_keys(keys, None)  # a key folder the registry does not know yet
    assert master.version == 0
    update = publish_office_keys(keys, master)
    assert update.version == 1 and master.keyset().kids == load_keyset(keys / KEYSET_FILE).kids
    assert keyset_changes(master, load_keyset(keys / KEYSET_FILE)) == []


def test_the_registry_never_publishes_an_empty_keyset(tmp_path, master):
    init_office_keys(tmp_path / "keys", master)
    with pytest.raises(RegistryError, match="every trusted key"):
        publish_keyset(master, Keyset())
    assert len(master.keyset()) == 1 and master.version == 1
