"""The office's keys as the gates learn them: the key folder's keyset, published into the master registry.

The key folder (``office.keys_dir``) holds the private key and ``keyset.json``;
gates never see that folder. They trust what the registry's ``keyset`` table
says, which reaches them by registry sync like a revocation does. So every
change to the folder's keyset — the first key, a rotation, a retirement — is
also written to the registry as one version, and ``publish_office_keys``
brings the two back in line after a key folder was changed by hand.

Each function takes ``master=None`` for a key folder outside any office (tests,
trying cards out): then only the folder changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.keys import (
    KEYSET_FILE,
    Keyset,
    SigningKey,
    init_keys,
    load_keyset,
    load_signing_key,
    retire_key,
    rotate_keys,
)
from kiosk.office.registry_master import RegistryMaster


@dataclass(frozen=True)
class KeysetUpdate:
    """What a key command did: the key signing new cards, the keys now trusted, and the registry version that
    carries them to the gates (None when the registry already held this keyset, or no registry was given)."""

    kid: str
    kids: list[str]
    version: int | None
    retired: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``--json``."""
        return {"kid": self.kid, "kids": self.kids, "version": self.version, "retired": self.retired}


def keyset_changes(master: RegistryMaster, keyset: Keyset) -> list[dict]:
    """The registry changes that make the master's ``keyset`` table say exactly what ``keyset`` says."""
    held = {row["kid"]: row for row in master.keyset_json()["keys"]}
    wanted = {row["kid"]: row for row in keyset.rows()}
    changes: list[dict] = [{"op": "upsert", "table": "keyset", "row": row}
                           for kid, row in wanted.items() if held.get(kid) != row]
    # Deletions last: a change set is checked as a whole, but a reader of the log sees the new key first.
    changes += [{"op": "delete", "table": "keyset", "key": kid} for kid in sorted(set(held) - set(wanted))]
    return changes


def publish_keyset(master: RegistryMaster, keyset: Keyset) -> int | None:
    """Make the registry trust exactly ``keyset``, as one version; None when it already does.

    Refused (RegistryError) when ``keyset`` is empty: gates would then refuse every card.
    """
    changes = keyset_changes(master, keyset)
    return master.change(changes) if changes else None


def signing_key_change(master: RegistryMaster, key: SigningKey) -> list[dict]:
    """The change that adds ``key`` to the registry's keyset, or none when it is there already.

    The office adds this to the version that records a card, so no card is
    ever issued that the gates cannot verify (even from a key folder rotated
    without the office registry).
    """
    wanted = Keyset()
    wanted.add(key.public_key)
    row = wanted.rows()[0]
    held = next((r for r in master.keyset_json()["keys"] if r["kid"] == key.kid), None)
    if held is None:
        return [{"op": "upsert", "table": "keyset", "row": row}]
    if held.get("public_key") != row["public_key"]:
        from kiosk.office.admin import AdminError

        raise AdminError(f"the registry's key {key.kid} is a different key from the one signing cards: "
                         "run  kiosk keys publish --config office.yaml  to trust the key folder's keys")
    return []


def _update(keys_dir: Path, master: RegistryMaster | None, retired: list[str] | None = None) -> KeysetUpdate:
    keyset = load_keyset(keys_dir / KEYSET_FILE)
    version = publish_keyset(master, keyset) if master is not None else None
    return KeysetUpdate(load_signing_key(keys_dir).kid, keyset.kids, version, retired or [])


def init_office_keys(keys_dir: str | os.PathLike[str], master: RegistryMaster | None) -> KeysetUpdate:
    """Create the office's first signing key in ``keys_dir`` and trust it in the registry.

    With an office registry, the office's ID-number sealing key pair is made too, beside the registry in
    the office's data folder (kiosk.office.personal_data; 0600, never sent anywhere: gates get its public half).
    """
    keys_dir = Path(keys_dir)
    init_keys(keys_dir)
    if master is not None:
        from kiosk.office.personal_data import ensure_sealing_key

        ensure_sealing_key(master.path.parent)
    return _update(keys_dir, master)


def rotate_office_keys(keys_dir: str | os.PathLike[str], master: RegistryMaster | None) -> KeysetUpdate:
    """Make a new signing key; the registry trusts it and still trusts the old ones (printed cards keep working)."""
    keys_dir = Path(keys_dir)
    rotate_keys(keys_dir)
    return _update(keys_dir, master)


def retire_office_key(keys_dir: str | os.PathLike[str], master: RegistryMaster | None, kid: str) -> KeysetUpdate:
    """Stop trusting ``kid`` in the key folder and the registry: gates refuse its cards after their next sync."""
    keys_dir = Path(keys_dir)
    keyset = retire_key(keys_dir, kid)
    version = publish_keyset(master, keyset) if master is not None else None
    return KeysetUpdate(load_signing_key(keys_dir).kid, keyset.kids, version, [kid.strip().upper()])


def publish_office_keys(keys_dir: str | os.PathLike[str], master: RegistryMaster) -> KeysetUpdate:
    """Make the registry trust exactly the key folder's keyset (after a hand edit, or an older install)."""
    return _update(Path(keys_dir), master)
