"""Office signing keys and keysets: file modes, no overwrite, rotation, clear errors for broken files."""

from __future__ import annotations

import json
import stat

import pytest

from kiosk.exc import KeyFileError
from kiosk.keys import (
    KEYSET_FILE,
    PRIVATE_KEY_FILE,
    Keyset,
    SigningKey,
    init_keys,
    key_id,
    load_keyset,
    load_signing_key,
    rotate_keys,
)


def test_init_writes_0600_private_key_and_keyset(tmp_path):
    key = init_keys(tmp_path / "keys")
    private = tmp_path / "keys" / PRIVATE_KEY_FILE
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert load_signing_key(tmp_path / "keys").kid == key.kid
    keyset = load_keyset(tmp_path / "keys" / KEYSET_FILE)
    assert keyset.kids == [key.kid] and len(key.kid) == 4
    assert "PRIVATE" not in (tmp_path / "keys" / KEYSET_FILE).read_text()


@pytest.mark.parametrize("existing", [PRIVATE_KEY_FILE, KEYSET_FILE])
def test_init_refuses_to_overwrite(tmp_path, existing):
    (tmp_path / existing).write_text("precious")
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        init_keys(tmp_path)
    assert (tmp_path / existing).read_text() == "precious"
    assert len(list(tmp_path.iterdir())) == 1


def test_rotation_keeps_old_key_trusted(tmp_path):
    old = init_keys(tmp_path)
    new = rotate_keys(tmp_path)
    assert new.kid != old.kid
    assert load_signing_key(tmp_path).kid == new.kid
    assert set(load_keyset(tmp_path / KEYSET_FILE).kids) == {old.kid, new.kid}
    retired = tmp_path / "retired" / f"signing-key-{old.kid}.pem"
    assert stat.S_IMODE(retired.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_key_id_is_stable_and_short():
    key = SigningKey.generate()
    assert key_id(key.public_key) == key.kid == key_id(key.public_key)
    assert len(key.kid) == 4 and key.kid == key.kid.upper()


def test_keyset_round_trip():
    keyset = Keyset()
    a, b = SigningKey.generate(), SigningKey.generate()
    keyset.add(a.public_key)
    keyset.add(b.public_key)
    again = Keyset.from_json(keyset.to_json())
    assert again.kids == keyset.kids and a.kid in again


def _good(tmp_path):
    init_keys(tmp_path / "k")
    return json.loads((tmp_path / "k" / KEYSET_FILE).read_text())


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(format="other"), "not a kiosk keyset"),
    (lambda d: d.update(version=9), "version 9 is not supported"),
    (lambda d: d.update(keys="none"), '"keys" must be a list'),
    (lambda d: d["keys"].append("x"), r"keys\[1\]: expected an object"),
    (lambda d: d["keys"][0].update(alg="RSA"), "algorithm 'RSA' is not supported"),
    (lambda d: d["keys"][0].update(public_key="!!!"), "not a base64 Ed25519 public key"),
    (lambda d: d["keys"][0].update(public_key="AAAA"), "not a base64 Ed25519 public key"),
    (lambda d: d["keys"][0].update(kid="0000"), "does not match the key"),
])
def test_broken_keysets_are_refused_clearly(tmp_path, mutate, message):
    data = _good(tmp_path)
    mutate(data)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    with pytest.raises(KeyFileError, match=message) as info:
        load_keyset(path)
    assert str(path) in str(info.value)


def test_missing_and_unparsable_files(tmp_path):
    with pytest.raises(KeyFileError, match="keys init"):
        load_keyset(tmp_path / "nope.json")
    with pytest.raises(KeyFileError, match="keys init"):
        load_signing_key(tmp_path)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(KeyFileError, match="not valid JSON"):
        load_keyset(tmp_path / "bad.json")
    (tmp_path / PRIVATE_KEY_FILE).write_text("-----BEGIN NOTHING-----")
    with pytest.raises(KeyFileError, match="not an unencrypted PEM"):
        load_signing_key(tmp_path)
