"""Signed entry cards (居民出入卡): the compact payload, its QR text, issuing and offline verification."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import Any


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
