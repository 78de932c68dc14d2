"""Secrets stored only as hashes: volunteer PINs (and later staff passwords and gate tokens)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

# scrypt cost: ~30 ms on a Raspberry Pi 4, cheap enough at sign-in, costly for a stolen database.
_N, _R, _P = 2**14, 8, 1

PIN_PATTERN = r"^[0-9]{4,8}$"
"""A volunteer's PIN: 4 to 8 ASCII digits (the gate's keypad, its sign-in API and the office all use this one rule)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_secret(secret: str) -> str:
    """Hash a PIN or password with scrypt and a random salt: ``scrypt$N$r$p$salt$hash``."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, stored: str) -> bool:
    """True when ``secret`` matches a hash made by hash_secret; false (never an exception) for a malformed hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest, validate=True)
        actual = hashlib.scrypt(
            secret.encode("utf-8"), salt=base64.b64decode(salt, validate=True),
            n=int(n), r=int(r), p=int(p), dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)
