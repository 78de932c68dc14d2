"""Provisioning files: everything a new gate needs to reach the office, written once when the gate is added.

The keyset in the file is the office's at the time the gate was added: the gate
trusts it until its first registry sync brings the office's current keyset
(see kiosk.registry.gate_keyset).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kiosk.exc import KioskError
from kiosk.keys import Keyset

FORMAT = "kiosk-gate-provisioning"


class ProvisioningError(KioskError, ValueError):
    """A provisioning file is missing, unreadable or not one of ours."""


def write_provisioning(path: str | Path, *, gate_id: str, office_url: str, token: str, keyset: Keyset,
                       ca_certificate: str | None = None, id_hash_key: bytes | None = None) -> Path:
    """Write the file (mode 0600: it holds the gate's token); refuses to overwrite an existing one.

    ``id_hash_key`` is the community's ID-number hash secret, so a visitor registered at any gate
    matches the same person at the office (hex in the file).
    """
    path = Path(path)
    document = {"format": FORMAT, "version": 1, "gate_id": gate_id, "office_url": office_url.rstrip("/"),
                "token": token, "keyset": keyset.to_json(), "ca_certificate": ca_certificate,
                "id_hash_key": id_hash_key.hex() if id_hash_key else None}
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ProvisioningError(f"{path} already exists; remove it or choose another --out") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
    return path


def read_provisioning(path: str | os.PathLike[str]) -> dict:
    """Read and check a provisioning file."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProvisioningError(f"{path}: not found (the office makes it with: kiosk office add-gate GATE_ID)") from None
    except (OSError, ValueError) as exc:
        raise ProvisioningError(f"{path}: cannot read: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ProvisioningError(f"{path}: not a gate provisioning file")
    for key in ("gate_id", "office_url", "token", "keyset"):
        if not document.get(key):
            raise ProvisioningError(f"{path}: {key} is missing")
    Keyset.from_json(document["keyset"], f"{path}: keyset")
    return document


def provisioning_keyset(path: str | os.PathLike[str]) -> Keyset:
    """The keyset written into a provisioning file (what a gate trusts before its first sync)."""
    return Keyset.from_json(read_provisioning(path)["keyset"], f"{path}: keyset")
