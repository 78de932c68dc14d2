"""Signed entry cards (居民出入卡): the compact payload, its QR text, issuing and offline verification."""

from __future__ import annotations

import enum
import re
import secrets
import struct
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import base45
from cryptography.exceptions import InvalidSignature

from kiosk.exc import CardFormatError
from kiosk.keys import Keyset, SigningKey, kid_bytes


class CardKind(str, enum.Enum):
    """What a card admits."""

    RESIDENT = "resident"
    VEHICLE = "vehicle"
    VISITOR = "visitor"  # a visitor pass pre-registered at the office
    VOLUNTEER = "volunteer"


class Rejection(str, enum.Enum):
    """Why a scanned text is not a valid card. Each is distinct so the screen and the ledger can say which."""

    NOT_A_CARD = "not_a_card"  # some other QR code (a URL, a WeChat code …)
    UNKNOWN_VERSION = "unknown_version"  # one of ours, but a format this gate does not know
    MALFORMED = "malformed"  # damaged or truncated text, bad Base45, impossible fields
    UNKNOWN_KEY = "unknown_key"  # signed with a key not in this gate's keyset
    BAD_SIGNATURE = "bad_signature"  # forged or altered
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REVOKED = "revoked"  # valid signature, but the office revoked it (from the registry)


@dataclass(frozen=True)
class Card:
    """The signed contents of one card. Dates are calendar dates in the community's time zone, inclusive."""

    kind: CardKind
    card_id: int
    subject_id: int
    valid_from: date
    valid_until: date
    kid: str
    version: int = 1

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {
            "version": self.version,
            "kind": self.kind.value,
            "card_id": self.card_id,
            "subject_id": self.subject_id,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "kid": self.kid,
        }


@dataclass(frozen=True)
class CardCheck:
    """The outcome of verifying a scanned text: ``card`` is set whenever it could be decoded."""

    valid: bool
    reason: Rejection | None = None
    card: Card | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form of ``kiosk cards verify``."""
        return {
            "valid": self.valid,
            "reason": self.reason.value if self.reason else None,
            "card": self.card.to_dict() if self.card else None,
        }


# -- the format ----------------------------------------------------------------
#
# QR text = PREFIX + Base45(payload ‖ signature)
# payload (15 bytes, big-endian):
#   0      version << 4 | kind code
#   1-2    kid (first two bytes of SHA-256 of the raw public key)
#   3-6    card id, uint32
#   7-10   subject id, uint32
#   11-12  valid from, days since EPOCH, uint16
#   13-14  valid until, days since EPOCH, uint16
# signature: Ed25519 over PREFIX ‖ payload (the prefix is signed too, as domain separation).
# 123 characters in all: QR version 7 at level Q holds 125 alphanumeric characters.

EPOCH = date(2020, 1, 1)
PREFIX = "GK1:"
FORMAT_VERSION = 1
DEFAULT_TZ = "Asia/Shanghai"

_PAYLOAD = struct.Struct(">B2sIIHH")
_SIGNATURE_LEN = 64
_CARD_LEN = _PAYLOAD.size + _SIGNATURE_LEN
_PREFIX_RE = re.compile(r"GK(\d+):")
_KIND_CODES = {CardKind.RESIDENT: 0, CardKind.VEHICLE: 1, CardKind.VISITOR: 2, CardKind.VOLUNTEER: 3}
_KINDS_BY_CODE = {code: kind for kind, code in _KIND_CODES.items()}
_UINT32 = 2**32 - 1
_MAX_DAYS = 2**16 - 1


def _days(day: date, name: str) -> int:
    days = (day - EPOCH).days
    if not 0 <= days <= _MAX_DAYS:
        raise CardFormatError(f"{name} {day} is outside {EPOCH} … {EPOCH + timedelta(days=_MAX_DAYS)}")
    return days


def encode_payload(card: Card) -> bytes:
    """The 15 signed bytes of ``card``; CardFormatError when a field does not fit."""
    if card.version != FORMAT_VERSION:
        raise CardFormatError(f"format version {card.version} cannot be issued (this software issues {FORMAT_VERSION})")
    for name, value in (("card id", card.card_id), ("subject id", card.subject_id)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _UINT32:
            raise CardFormatError(f"{name} must be a whole number 0 … {_UINT32}, got {value!r}")
    if card.valid_until < card.valid_from:
        raise CardFormatError(f"valid until {card.valid_until} is before valid from {card.valid_from}")
    if not re.fullmatch(r"[0-9A-F]{4}", card.kid or ""):
        raise CardFormatError(f"key id must be 4 hex digits, got {card.kid!r}")
    return _PAYLOAD.pack(
        card.version << 4 | _KIND_CODES[CardKind(card.kind)], kid_bytes(card.kid), card.card_id, card.subject_id,
        _days(card.valid_from, "valid from"), _days(card.valid_until, "valid until"),
    )


def encode_card(card: Card, key: SigningKey) -> str:
    """The QR text of ``card`` signed with ``key`` (whose kid the card must carry)."""
    if card.kid != key.kid:
        raise CardFormatError(f"card names key {card.kid} but is being signed with key {key.kid}")
    payload = encode_payload(card)
    signature = key.sign(PREFIX.encode("ascii") + payload)
    return PREFIX + base45.b45encode(payload + signature).decode("ascii")


def issue_card(
    key: SigningKey,
    kind: CardKind | str,
    subject_id: int,
    *,
    valid_from: date,
    valid_until: date,
    card_id: int | None = None,
) -> tuple[Card, str]:
    """Make and sign a new card; ``card_id`` defaults to a random 32-bit number."""
    if card_id is None:
        card_id = secrets.randbelow(_UINT32) + 1
    try:
        kind = CardKind(kind)
    except ValueError:
        raise CardFormatError(f"card kind must be one of {', '.join(k.value for k in CardKind)}, got {kind!r}") from None
    card = Card(kind, card_id, subject_id, valid_from, valid_until, key.kid)
    return card, encode_card(card, key)


def _decode(body: str) -> bytes | None:
    """Base45-decode strictly: only the QR alphanumeric alphabet, no chunk above 65535."""
    try:
        data = base45.b45decode(body)
    except (ValueError, TypeError, KeyError, IndexError):
        return None
    # A decoder that tolerated a non-canonical chunk would let two texts carry one card;
    # re-encoding must give back exactly what was scanned.
    if base45.b45encode(data).decode("ascii") != body:
        return None
    return data


def verify_card(text: str, keyset: Keyset, at: datetime, tz: str | ZoneInfo = DEFAULT_TZ) -> CardCheck:
    """Check a scanned text offline: format, signature against ``keyset``, and validity on ``at``'s local date.

    Never raises for any string: every failure is a CardCheck with its Rejection.
    Revocation is not checked here (see Registry.check_revocation).
    """
    if not isinstance(text, str):
        return CardCheck(False, Rejection.NOT_A_CARD)
    match = _PREFIX_RE.match(text)
    if match is None:
        return CardCheck(False, Rejection.NOT_A_CARD)
    if match.group(0) != PREFIX:
        return CardCheck(False, Rejection.UNKNOWN_VERSION)
    data = _decode(text[len(PREFIX):])
    if data is None or len(data) != _CARD_LEN:
        return CardCheck(False, Rejection.MALFORMED)
    payload, signature = data[: _PAYLOAD.size], data[_PAYLOAD.size:]
    head, kid_raw, card_id, subject_id, start, end = _PAYLOAD.unpack(payload)
    if head >> 4 != FORMAT_VERSION:
        return CardCheck(False, Rejection.UNKNOWN_VERSION)
    kind = _KINDS_BY_CODE.get(head & 0x0F)
    if kind is None or end < start:
        return CardCheck(False, Rejection.MALFORMED)
    card = Card(kind, card_id, subject_id, EPOCH + timedelta(days=start), EPOCH + timedelta(days=end),
                kid_raw.hex().upper(), head >> 4)
    public_key = keyset.get(card.kid)
    if public_key is None:
        return CardCheck(False, Rejection.UNKNOWN_KEY, card)
    try:
        public_key.verify(signature, PREFIX.encode("ascii") + payload)
    except InvalidSignature:
        return CardCheck(False, Rejection.BAD_SIGNATURE, card)
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    today = at.astimezone(zone).date()
    if today < card.valid_from:
        return CardCheck(False, Rejection.NOT_YET_VALID, card)
    if today > card.valid_until:
        return CardCheck(False, Rejection.EXPIRED, card)
    return CardCheck(True, None, card)


def render_qr(text: str, path: str | Path, *, scale: int = 8) -> Path:
    """Write the card's QR code as PNG or SVG (by the file's suffix), at error-correction level Q."""
    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("png", "svg"):
        raise CardFormatError(f"{path}: a card image must be .png or .svg")
    import segno  # here: the gate only reads cards, and segno is ~1.2 MB of its RSS (issue 14)

    qr = segno.make(text, error="q", boost_error=False, micro=False)
    qr.save(str(path), kind=kind, scale=scale, border=4)
    return path
