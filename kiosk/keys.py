"""The office's card-signing key (Ed25519) and the public keyset every gate trusts.

The private key lives only at the office, in ``DIR/signing-key.pem`` (mode
0600). ``DIR/keyset.json`` holds every public key still trusted, each with a
short key id (kid) that cards carry, so keys can be rotated: a new key signs
new cards while cards signed by an older one keep verifying, until the office
retires the old key.

These functions change the key folder only; ``kiosk.office.keyring`` also
puts the keyset into the office registry, which is how gates learn it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.exc import KeyFileError

PRIVATE_KEY_FILE = "signing-key.pem"
KEYSET_FILE = "keyset.json"
RETIRED_DIR = "retired"
KEYSET_FORMAT = "kiosk-keyset"


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """The key's short id: the first two bytes of SHA-256 of its raw public key, as 4 upper-case hex digits."""
    return hashlib.sha256(_raw(public_key)).digest()[:2].hex().upper()


def kid_bytes(kid: str) -> bytes:
    """The two bytes a card carries for ``kid``."""
    return bytes.fromhex(kid)


@dataclass(frozen=True)
class SigningKey:
    """The office's private key and its kid."""

    private_key: Ed25519PrivateKey
    kid: str

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The matching public key."""
        return self.private_key.public_key()

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh random key."""
        private = Ed25519PrivateKey.generate()
        return cls(private, key_id(private.public_key()))

    def sign(self, message: bytes) -> bytes:
        """A 64-byte Ed25519 signature of ``message``."""
        return self.private_key.sign(message)


class Keyset:
    """The public keys a gate trusts, by kid."""

    def __init__(self) -> None:
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._created: dict[str, str] = {}

    def add(self, public_key: Ed25519PublicKey, created: str | None = None) -> str:
        """Trust ``public_key``; returns its kid. Two different keys with one kid are refused."""
        kid = key_id(public_key)
        existing = self._keys.get(kid)
        if existing is not None and _raw(existing) != _raw(public_key):
            raise KeyFileError(f"key id {kid} is already used by another key: generate a new key")
        self._keys[kid] = public_key
        self._created[kid] = created or self._created.get(kid) or datetime.now(UTC).isoformat(timespec="seconds")
        return kid

    def get(self, kid: str) -> Ed25519PublicKey | None:
        """The public key for ``kid``, or None."""
        return self._keys.get(kid)

    def remove(self, kid: str) -> None:
        """Stop trusting ``kid``: cards signed by it fail with ``unknown_key`` from then on."""
        if kid not in self._keys:
            raise KeyFileError(f"no key {kid} in this keyset (trusted: {', '.join(self.kids) or 'none'})")
        del self._keys[kid]
        del self._created[kid]

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    @property
    def kids(self) -> list[str]:
        """Every trusted kid, sorted."""
        return sorted(self._keys)

    def rows(self) -> list[dict[str, str]]:
        """One ``{kid, alg, public_key, created}`` per key, sorted by kid: the keyset file's entries and the
        registry's ``keyset`` rows."""
        return [
            {"kid": kid, "alg": "Ed25519", "public_key": base64.b64encode(_raw(self._keys[kid])).decode("ascii"),
             "created": self._created[kid]}
            for kid in self.kids
        ]

    def to_json(self) -> dict[str, Any]:
        """The keyset file's contents."""
        return {"format": KEYSET_FORMAT, "version": 1, "keys": self.rows()}

    @classmethod
    def from_json(cls, obj: Any, source: str = "keyset") -> Keyset:
        """Parse and check a keyset document; every problem is a KeyFileError naming ``source``."""
        if not isinstance(obj, dict) or obj.get("format") != KEYSET_FORMAT:
            raise KeyFileError(f"{source}: not a kiosk keyset (expected \"format\": \"{KEYSET_FORMAT}\")")
        if obj.get("version") != 1:
            raise KeyFileError(f"{source}: keyset version {obj.get('version')!r} is not supported (expected 1)")
        entries = obj.get("keys")
        if not isinstance(entries, list):
            raise KeyFileError(f"{source}: \"keys\" must be a list")
        keyset = cls()
        for index, entry in enumerate(entries):
            where = f"{source}: keys[{index}]"
            if not isinstance(entry, dict):
                raise KeyFileError(f"{where}: expected an object")
            if entry.get("alg") != "Ed25519":
                raise KeyFileError(f"{where}: algorithm {entry.get('alg')!r} is not supported (expected Ed25519)")
            try:
                raw = base64.b64decode(str(entry.get("public_key", "")), validate=True)
                public = Ed25519PublicKey.from_public_bytes(raw)
            except (binascii.Error, ValueError):
                raise KeyFileError(f"{where}: public_key is not a base64 Ed25519 public key (32 bytes)") from None
            kid = key_id(public)
            if entry.get("kid") != kid:
                raise KeyFileError(f"{where}: kid {entry.get('kid')!r} does not match the key (its kid is {kid})")
            keyset.add(public, str(entry.get("created") or ""))
        return keyset

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Keyset:
        """Read a keyset file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise KeyFileError(f"{path}: keyset not found (the office makes it with: kiosk keys init --dir DIR)") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyFileError(f"{path}: cannot read keyset: {exc}") from None
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise KeyFileError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
        return cls.from_json(obj, str(path))


def load_keyset(path: str | os.PathLike[str]) -> Keyset:
    """Read a keyset file (see Keyset.from_file)."""
    return Keyset.from_file(path)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename, so a crash never leaves half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _pem(key: SigningKey) -> bytes:
    return key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _save_keyset(directory: Path, keyset: Keyset) -> None:
    text = json.dumps(keyset.to_json(), indent=2) + "\n"
    _write_atomic(directory / KEYSET_FILE, text.encode("utf-8"), 0o644)


def init_keys(directory: str | os.PathLike[str]) -> SigningKey:
    """Create the office's first signing key and its keyset in ``directory``; refuses to overwrite either."""
    directory = Path(directory)
    existing = [name for name in (PRIVATE_KEY_FILE, KEYSET_FILE) if (directory / name).exists()]
    if existing:
        raise KeyFileError(
            f"{directory}: {' and '.join(existing)} already exist; refusing to overwrite "
            f"(to replace the key use: kiosk keys rotate --dir {directory})"
        )
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = SigningKey.generate()
    try:
        # O_EXCL: if two people run this at once, one of them fails instead of both writing.
        fd = os.open(directory / PRIVATE_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{directory / PRIVATE_KEY_FILE} already exists; refusing to overwrite") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(_pem(key))
        handle.flush()
        os.fsync(handle.fileno())
    keyset = Keyset()
    keyset.add(key.public_key)
    _save_keyset(directory, keyset)
    return key


def load_signing_key(directory: str | os.PathLike[str]) -> SigningKey:
    """Read the office's current signing key from ``directory``."""
    path = Path(directory) / PRIVATE_KEY_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{path}: no signing key here (create one with: kiosk keys init --dir {directory})") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the signing key: {exc}") from None
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyFileError(f"{path}: not an unencrypted PEM private key") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 key")
    return SigningKey(private, key_id(private.public_key()))


def rotate_keys(directory: str | os.PathLike[str]) -> SigningKey:
    """Make a new signing key; the old private key moves to ``retired/``, its public key stays trusted."""
    directory = Path(directory)
    old = load_signing_key(directory)
    keyset = load_keyset(directory / KEYSET_FILE)
    new = SigningKey.generate()
    while new.kid in keyset:  # one chance in 65,536 per existing key
        new = SigningKey.generate()
    retired = directory / RETIRED_DIR
    retired.mkdir(mode=0o700, exist_ok=True)
    # Order matters for a crash part-way: keep the old key, then trust the new
    # one, then make it current. Every step leaves a usable directory.
    _write_atomic(retired / f"signing-key-{old.kid}.pem", _pem(old), 0o600)
    keyset.add(old.public_key)
    keyset.add(new.public_key)
    _save_keyset(directory, keyset)
    _write_atomic(directory / PRIVATE_KEY_FILE, _pem(new), 0o600)
    return new


def retire_key(directory: str | os.PathLike[str], kid: str) -> Keyset:
    """Stop trusting ``kid``: it leaves ``keyset.json`` (its private key stays in ``retired/``); returns the keyset.

    The key that signs new cards cannot be retired: rotate first.
    """
    directory = Path(directory)
    kid = kid.strip().upper()
    current = load_signing_key(directory)
    keyset = load_keyset(directory / KEYSET_FILE)
    if kid == current.kid:
        raise KeyFileError(f"key {kid} signs new cards and cannot be retired; make a new key first "
                           f"(kiosk keys rotate), then retire {kid}")
    keyset.remove(kid)
    _save_keyset(directory, keyset)
    return keyset
