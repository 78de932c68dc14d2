"""Provisioning files: everything a new gate needs to reach the office, written once when the gate is added.

The keyset in the file is the office's at the time the gate was added: the gate
trusts it until its first registry sync brings the office's current keyset
(see kiosk.registry.gate_keyset).

The file also carries the office's sealing public key (``id_sealing_key``): a
gate seals a visitor's ID number to it and cannot open it again. It never
carries the ID-hash key: that stays at the office. A file written before
(with ``id_hash_key``) still reads; the key in it is ignored with a warning,
and ``scrub_provisioning`` rewrites the file without it.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from kiosk.exc import KioskError
from kiosk.keys import Keyset

FORMAT = "kiosk-gate-provisioning"
# Keys an older office wrote that a gate must not keep (the ID-hash secret would let a thief rebuild ID numbers).
RETIRED_KEYS = ("id_hash_key",)

log = logging.getLogger(__name__)


class ProvisioningError(KioskError, ValueError):
    """A provisioning file is missing, unreadable or not one of ours."""


def write_provisioning(path: str | Path, *, gate_id: str, office_url: str, token: str, keyset: Keyset,
                       ca_certificate: str | None = None, id_sealing_key: str | None = None) -> Path:
    """Write the file (mode 0600: it holds the gate's token); refuses to overwrite an existing one.

    ``id_sealing_key`` is the office's sealing public key (base64, see
    kiosk.privacy.sealing_public_key_text): visitors' ID numbers are sealed to it.
    """
    path = Path(path)
    document = {"format": FORMAT, "version": 1, "gate_id": gate_id, "office_url": office_url.rstrip("/"),
                "token": token, "keyset": keyset.to_json(), "ca_certificate": ca_certificate,
                "id_sealing_key": id_sealing_key}
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
    for key in RETIRED_KEYS:
        if document.pop(key, None):
            log.warning("%s: %s is ignored (the ID-hash key stays at the office; the gate seals ID numbers "
                        "with id_sealing_key instead)", path, key)
    if document.get("id_sealing_key"):
        from kiosk.privacy import SealError, load_sealing_public_key

        try:
            load_sealing_public_key(document["id_sealing_key"])
        except SealError as exc:
            raise ProvisioningError(f"{path}: id_sealing_key: {exc}") from None
    return document


def scrub_provisioning(path: str | os.PathLike[str]) -> bool:
    """Rewrite a provisioning file without the keys a gate must not hold (an older office's ``id_hash_key``).

    The new file replaces the old one atomically, mode 0600. Returns True when
    something was removed. (The old bytes may linger in the SD card's free
    blocks: a gate that held the key should also be re-imaged; see docs/office.md, Security.)
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(document, dict) or not any(key in document for key in RETIRED_KEYS):
        return False
    for key in RETIRED_KEYS:
        document.pop(key, None)
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return True


def provisioning_sealing_key(path: str | os.PathLike[str]):
    """The office's sealing public key from a provisioning file (an X25519PublicKey), or None when it has none."""
    text = read_provisioning(path).get("id_sealing_key")
    if not text:
        return None
    from kiosk.privacy import load_sealing_public_key

    return load_sealing_public_key(text)


def provisioning_keyset(path: str | os.PathLike[str]) -> Keyset:
    """The keyset written into a provisioning file (what a gate trusts before its first sync)."""
    return Keyset.from_json(read_provisioning(path)["keyset"], f"{path}: keyset")
