"""Regenerates the entry-card test vectors in tests/vectors/cards/ from the committed TEST-ONLY keys.

    .venv/bin/python tests/vectors/generate_card_vectors.py

The keys in tests/vectors/keys/ are public test material (like the EU DCC
test data): never use them for real cards. Ed25519 signatures are
deterministic, so rerunning this script reproduces the same files; the test
suite checks every file against verify_card.
"""

from __future__ import annotations

import json
import struct
import sys
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

import base45  # noqa: E402

from kiosk.cards import PREFIX, Card, CardKind, encode_card, verify_card  # noqa: E402
from kiosk.keys import Keyset, SigningKey, load_signing_key  # noqa: E402

REASON_BY_PREFIX = {
    "valid": None,
    "not-a-card": "not_a_card",
    "unknown-version": "unknown_version",
    "malformed": "malformed",
    "unknown-key": "unknown_key",
    "bad-signature": "bad_signature",
    "not-yet-valid": "not_yet_valid",
    "expired": "expired",
}
KEYS = HERE / "keys"
OUT = HERE / "cards"
TZ = "Asia/Shanghai"


def keyset_of(*keys: SigningKey) -> dict:
    keyset = Keyset()
    for key in keys:
        keyset.add(key.public_key, created="2026-01-01T00:00:00+00:00")
    return keyset.to_json()


def signed_raw(key: SigningKey, payload: bytes) -> str:
    """Sign an arbitrary payload (even one issue_card would refuse) the way a card is signed."""
    return PREFIX + base45.b45encode(payload + key.sign(PREFIX.encode() + payload)).decode()


def main() -> None:
    key = load_signing_key(KEYS / "office")
    foreign = load_signing_key(KEYS / "foreign")
    trusted = keyset_of(key)
    year = dict(valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31))
    resident = Card(CardKind.RESIDENT, 1001, 12, kid=key.kid, **year)
    text = encode_card(resident, key)
    body = base45.b45decode(text[len(PREFIX):])
    payload, signature = body[:15], body[15:]

    def card_of(kind, card_id, subject, **dates):
        return Card(kind, card_id, subject, kid=key.kid, **{**year, **dates})

    flipped = bytearray(body)
    flipped[-1] ^= 0x01
    altered = bytearray(payload)
    struct.pack_into(">I", altered, 7, 13)  # subject 12 → 13, signature left as it was
    version2 = bytearray(payload)
    version2[0] = 2 << 4 | 0
    bad_kind = bytearray(payload)
    bad_kind[0] = 1 << 4 | 9
    backwards = bytearray(payload)
    struct.pack_into(">HH", backwards, 11, 2000, 1000)

    noon = "2026-06-01T12:00:00+08:00"
    cases = {
        "valid-resident": (text, trusted, noon),
        "valid-vehicle": (encode_card(card_of(CardKind.VEHICLE, 2001, 5), key), trusted, noon),
        "valid-visitor": (encode_card(card_of(CardKind.VISITOR, 3001, 44, valid_from=date(2026, 6, 1), valid_until=date(2026, 6, 1)), key), trusted, noon),
        "valid-volunteer": (encode_card(card_of(CardKind.VOLUNTEER, 4001, 2), key), trusted, noon),
        "valid-first-day": (text, trusted, "2026-01-01T00:00:00+08:00"),
        "valid-last-day": (text, trusted, "2026-12-31T23:59:59+08:00"),
        "valid-after-rotation": (text, keyset_of(key, foreign), noon),
        "not-a-card-url": ("https://u.wechat.com/EXAMPLE", trusted, noon),
        "not-a-card-empty": ("", trusted, noon),
        "not-a-card-lowercase-prefix": ("gk1:" + text[4:], trusted, noon),
        "unknown-version-prefix": ("GK2:" + text[4:], trusted, noon),
        "unknown-version-payload": (signed_raw(key, bytes(version2)), trusted, noon),
        "malformed-bad-character": (text[:20] + "a" + text[21:], trusted, noon),
        "malformed-truncated": (text[:-3], trusted, noon),
        "malformed-extra-byte": (PREFIX + base45.b45encode(body + b"\x00").decode(), trusted, noon),
        "malformed-kind-code": (signed_raw(key, bytes(bad_kind)), trusted, noon),
        "malformed-dates-backwards": (signed_raw(key, bytes(backwards)), trusted, noon),
        "unknown-key": (encode_card(Card(CardKind.RESIDENT, 1001, 12, kid=foreign.kid, **year), foreign), trusted, noon),
        "bad-signature-flipped-bit": (PREFIX + base45.b45encode(bytes(flipped)).decode(), trusted, noon),
        "bad-signature-altered-subject": (PREFIX + base45.b45encode(bytes(altered) + signature).decode(), trusted, noon),
        "not-yet-valid": (text, trusted, "2025-12-31T23:59:59+08:00"),
        "expired": (text, trusted, "2027-01-01T00:00:00+08:00"),
        "expired-by-community-time-zone": (text, trusted, "2026-12-31T16:30:00+00:00"),
    }
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    from datetime import datetime

    for name, (vector_text, keyset_json, at) in cases.items():
        check = verify_card(vector_text, Keyset.from_json(keyset_json), datetime.fromisoformat(at), TZ)
        expected = check.to_dict()
        # The reason is stated by the case's name, not taken on trust from the code under test.
        intended = next((reason for prefix, reason in REASON_BY_PREFIX.items() if name.startswith(prefix)))
        assert expected["reason"] == intended, (name, expected)
        vector = {
            "description": name.replace("-", " "),
            "text": vector_text,
            "keyset": keyset_json,
            "at": at,
            "tz": TZ,
            "expected": expected,
        }
        (OUT / f"{name}.json").write_text(json.dumps(vector, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} vectors to {OUT}")


if __name__ == "__main__":
    main()
