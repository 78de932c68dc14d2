"""ID numbers at the office: the sealing key pair gates seal visitors' numbers to, the keyed hash computed when
an event arrives, and opening a sealed number for contact tracing (with an audit line).

Both secrets live in the office's ``data_dir`` and never leave it: ``id-hash.key``
(kiosk.office.roster, the HMAC key of every ``id_hash``) and ``id-sealing.key``
(an X25519 private key, PKCS#8 PEM, mode 0600). Gates get only the sealing
*public* key, in their provisioning file.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from kiosk.exc import KioskError
from kiosk.privacy import (
    SealError,
    id_number_hash,
    is_valid_id_number,
    open_id_number,
    sealing_kid,
    sealing_public_key_text,
)

SEALING_KEY_FILE = "id-sealing.key"
AUDIT_FILE = "id-openings.log"
VISITOR_KIND = "visitor_registration"

log = logging.getLogger(__name__)


class PersonalDataError(KioskError, ValueError):
    """A sealing key that cannot be made or read, or a sealed number that cannot be opened."""


def ensure_sealing_key(data_dir: str | os.PathLike[str]) -> X25519PrivateKey:
    """The office's sealing key from ``<data_dir>/id-sealing.key``, made on first use (32 random bytes, 0600).

    Losing it means visitors' sealed ID numbers taken before can no longer be
    opened (their keyed hashes, computed on arrival, stay): keep it in the office's backups.
    """
    path = Path(data_dir) / SEALING_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = X25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # two commands at once: one key
        except FileExistsError:
            pass  # another command made it a moment ago: load that one
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
    return load_sealing_key(data_dir)


def load_sealing_key(data_dir: str | os.PathLike[str]) -> X25519PrivateKey:
    """The office's sealing private key; PersonalDataError when it is missing or not one."""
    path = Path(data_dir) / SEALING_KEY_FILE
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise PersonalDataError(f"{path}: no sealing key (made by: kiosk keys init, or kiosk office add-gate)") from None
    except (OSError, ValueError, TypeError) as exc:
        raise PersonalDataError(f"{path}: cannot read the sealing key: {exc}") from None
    if not isinstance(key, X25519PrivateKey):
        raise PersonalDataError(f"{path}: not an X25519 key")
    return key


def sealing_public_text(data_dir: str | os.PathLike[str]) -> str:
    """The public half gates seal to (base64), making the key pair when there is none yet."""
    return sealing_public_key_text(ensure_sealing_key(data_dir).public_key())


@dataclass(frozen=True)
class OfficeIdKeys:
    """The two office secrets an arriving visitor event needs (either may be missing on a new office)."""

    hash_key: bytes | None
    sealing_key: X25519PrivateKey | None

    @classmethod
    def load(cls, data_dir: str | os.PathLike[str]) -> OfficeIdKeys:
        """What ``data_dir`` holds. The ID-hash key is made here when no roster import has made it yet, so a
        visitor registered before the first import is still searchable; the sealing key is never made here."""
        from kiosk.office.roster import IdHashKeyError, load_id_hash_key

        try:
            hash_key: bytes | None = load_id_hash_key(data_dir)
        except IdHashKeyError:
            hash_key = None
        try:
            sealing: X25519PrivateKey | None = load_sealing_key(data_dir)
        except PersonalDataError:
            sealing = None
        return cls(hash_key, sealing)


_cache: dict[Path, OfficeIdKeys] = {}
_cache_lock = threading.Lock()


def office_keys(data_dir: str | os.PathLike[str]) -> OfficeIdKeys:
    """The office's ID keys, read once per process (only a complete pair is kept; a missing key is looked for again)."""
    path = Path(data_dir).resolve()
    with _cache_lock:
        keys = _cache.get(path)
        if keys is None:
            keys = OfficeIdKeys.load(path)
            if keys.hash_key is not None and keys.sealing_key is not None:
                _cache[path] = keys
    return keys


def office_event_data(kind: str, data: Any, data_dir: str | os.PathLike[str]) -> Any:
    """An arriving event's data as the office stores it: a visitor's sealed ID number gets the office's keyed
    hash (``id_hash``, searchable, the same as the roster's) beside it. The clear number is never stored.

    Anything else, and a box the office cannot open (no key yet, another office's key, damaged), is
    returned unchanged: the event is still stored and the box can be opened later.
    An older gate's event that already carries ``id_hash`` keeps it (it was made with this office's key).
    """
    if kind != VISITOR_KIND or not isinstance(data, Mapping) or not isinstance(data.get("id_sealed"), str):
        return data
    if data.get("id_hash"):
        return data
    keys = office_keys(data_dir)
    if keys.hash_key is None or keys.sealing_key is None:
        return data
    try:
        number = open_id_number(data["id_sealed"], keys.sealing_key)
    except SealError:
        log.warning("a visitor's sealed ID number does not open with this office's key (kid %s)", data.get("id_seal_kid"))
        return data
    if not is_valid_id_number(number):
        return data
    return {**data, "id_hash": id_number_hash(number, keys.hash_key)}


@dataclass(frozen=True)
class OpenedId:
    """A sealed ID number opened for contact tracing, and whose request it was."""

    gate_id: str
    seq: int
    id_number: str
    id_masked: str
    staff: str
    reason: str
    at: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``--json``."""
        return dict(self.__dict__)


def open_visitor_id(store: Any, data_dir: str | os.PathLike[str], gate_id: str, seq: int, *, staff: str,
                    reason: str) -> OpenedId:
    """Open the sealed ID number of one visitor event (gate, seq) for contact tracing.

    Every opening is appended to ``<data_dir>/id-openings.log`` (JSON lines,
    0600: who, why, which event, when; never the number) before the number is
    returned. Raises PersonalDataError when there is no such event, it holds no
    sealed number, or the office's key does not open it.
    """
    staff, reason = staff.strip(), reason.strip()
    if not staff or not reason:
        raise PersonalDataError("opening an ID number needs the staff member's name and the reason (contact tracing …)")
    events = store.events(gate_id, after=seq - 1, limit=1)
    event = events[0] if events and events[0]["seq"] == seq else None
    if event is None:
        raise PersonalDataError(f"gate {gate_id} has no event {seq} at the office")
    data = event["data"]
    if isinstance(data, str):
        data = json.loads(data)
    if event["kind"] != VISITOR_KIND or not isinstance(data, dict) or not isinstance(data.get("id_sealed"), str):
        raise PersonalDataError(f"gate {gate_id} event {seq} holds no sealed ID number")
    try:
        number = open_id_number(data["id_sealed"], load_sealing_key(data_dir))
    except SealError as exc:
        raise PersonalDataError(f"gate {gate_id} event {seq}: {exc} (sealed to key {data.get('id_seal_kid')}, "
                                f"this office's is {sealing_kid(load_sealing_key(data_dir).public_key())})") from None
    at = datetime.now(UTC).isoformat(timespec="seconds")
    line = json.dumps({"at": at, "staff": staff, "reason": reason, "gate_id": gate_id, "seq": seq,
                       "id_masked": data.get("id_masked")}, ensure_ascii=False)
    path = Path(data_dir) / AUDIT_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return OpenedId(gate_id, seq, number, data.get("id_masked") or "", staff, reason, at)
