"""Personal data minimisation: masked forms for screens, keyed hashes for matching (office only), and ID numbers
sealed at a gate for the office alone — never a clear ID number at rest.

Sealing is HPKE (RFC 9180, base mode, single shot) from ``cryptography``, the library that already signs
the cards: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305. Each seal makes a fresh
ephemeral key pair, so the gate that sealed a number cannot open it again, and the same number sealed
twice looks different. The ``info`` string binds the box to this use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

# GB 11643-1999 check digit: weights of the first 17 digits, and the check character for sum mod 11. Kept for tests
# that build valid numbers; the validation itself is python-stdnum's (stdnum.cn.ric).
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# Why an ID number is refused: a code, with the words (zh-CN, en) a person is shown.
ID_PROBLEMS: dict[str, tuple[str, str]] = {
    "length": ("身份证号应为 18 位", "an ID number has 18 characters"),
    "format": ("身份证号前 17 位应为数字，最后一位为数字或 X",
               "the first 17 characters are digits, the last a digit or X"),
    "checksum": ("身份证号校验位不对", "the check digit is wrong"),
    "birth_date": ("身份证号中的出生日期不存在", "the birth date in the ID number does not exist"),
}


def normalise_id_number(id_number: str) -> str:
    """Strip spaces and upper-case the trailing x so the same card always hashes the same."""
    return "".join(id_number.split()).upper()


def id_number_problem(id_number: str) -> str | None:
    """Why ``id_number`` is not a resident ID number (居民身份证号): a code of ID_PROBLEMS, or None when it is one.

    python-stdnum's ``cn.ric`` checks the check digit and that the birth date exists (month 13 and 31 February are
    refused). Its birth-place check is left out on purpose: county codes are merged and renamed, and a card issued
    under an old code stays valid for life, so a table of today's codes would refuse real residents.
    """
    from stdnum.cn import ric
    from stdnum.exceptions import ValidationError

    number = normalise_id_number(id_number)
    if len(number) != 18:
        return "length"
    if not (number[:17].isascii() and number[:17].isdigit()) or number[17] not in "0123456789X":
        return "format"
    if number[17] != ric.calc_check_digit(number):
        return "checksum"
    try:
        ric.get_birth_date(number)
    except ValidationError:
        return "birth_date"
    return None


def is_valid_id_number(id_number: str) -> bool:
    """True for an 18-character resident ID number whose check digit is right and whose birth date exists."""
    return id_number_problem(id_number) is None


def mask_id_number(id_number: str) -> str:
    """``110101199003071234`` → ``110***********1234``: enough for a person to recognise, not to reuse."""
    number = normalise_id_number(id_number)
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def mask_phone(phone: str) -> str:
    """``13812345678`` → ``138****5678``; short numbers keep only their last two digits."""
    digits = "".join(phone.split())
    if len(digits) >= 11:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) <= 2:
        return "*" * len(digits)
    return "*" * (len(digits) - 2) + digits[-2:]


def mask_name(name: str) -> str:
    """``王小山`` → ``王*山``, ``王山`` → ``王*``: how a name is shown on the gate's screen."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


# -- phone numbers: the one rule (the office's roster and desk, the gate's visitor form and its page) ----------

PHONE_SEPARATORS = " -()（）"
PHONE_MIN_DIGITS = 5
PHONE_MAX_DIGITS = 15
# A mainland mobile number starts with 1 and has 11 digits (a landline starts with 0 or 2–9).
MOBILE_PREFIX = "1"
MOBILE_DIGITS = 11


def normalise_phone(phone: str) -> str:
    """``138 1234-5678``, ``+86 13812345678`` → ``13812345678``: a phone as stored, digits only (no +86)."""
    digits = "".join(ch for ch in str(phone) if ch not in PHONE_SEPARATORS)
    return digits[3:] if digits.startswith("+86") else digits


def phone_problem_code(phone: str) -> str | None:
    """Why ``phone`` is not a phone number: ``"format"`` (not 5–15 digits once separators are gone) or
    ``"mobile"`` (starts with 1 but is not 11 digits); None when it is one."""
    digits = normalise_phone(phone)
    if not (digits.isascii() and digits.isdigit() and PHONE_MIN_DIGITS <= len(digits) <= PHONE_MAX_DIGITS):
        return "format"
    if digits.startswith(MOBILE_PREFIX) and len(digits) != MOBILE_DIGITS:
        return "mobile"
    return None


def phone_rule() -> dict:
    """The rule as data, for a page that checks a phone before sending it (GET /api/v1/rules on the gate)."""
    return {"min_digits": PHONE_MIN_DIGITS, "max_digits": PHONE_MAX_DIGITS,
            "mobile_prefix": MOBILE_PREFIX, "mobile_digits": MOBILE_DIGITS}


def id_number_hash(id_number: str, key: bytes) -> str:
    """Keyed hash (HMAC-SHA256, hex) of an ID number: the office can match a repeat visitor, nobody can reverse it.

    The key is the community's secret; without it, the 18-digit space is small
    enough that a plain hash could be brute-forced.
    """
    if not key:
        raise ValueError("an ID-number hash needs a non-empty key")
    return hmac.new(key, normalise_id_number(id_number).encode(), hashlib.sha256).hexdigest()


def protect_id_number(id_number: str, key: bytes) -> dict[str, str]:
    """The office's form of an ID number: ``{"id_hash": …, "id_masked": …}``. The key never leaves the office,
    so a gate never calls this: it seals the number instead (``seal_for_office``)."""
    return {"id_hash": id_number_hash(id_number, key), "id_masked": mask_id_number(id_number)}


# -- sealing for the office (HPKE, RFC 9180) -------------------------------------

SEAL_INFO = b"checkpoint-kiosk/id-number/v1"


class SealError(ValueError):
    """A sealing key or a sealed box that is not one of ours, or not for this key."""


def _suite():
    from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

    return Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.CHACHA20_POLY1305)


def sealing_public_key_text(public_key: X25519PublicKey) -> str:
    """The 32-byte X25519 public key, base64 (how it is written into provisioning files)."""
    return base64.b64encode(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def load_sealing_public_key(text: str) -> X25519PublicKey:
    """The office's sealing public key from its base64 text; SealError when it is not one."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
        return X25519PublicKey.from_public_bytes(raw)
    except (ValueError, binascii.Error, UnicodeError, AttributeError) as exc:
        raise SealError(f"not an X25519 public key (base64 of 32 bytes): {exc}") from None


def sealing_kid(public_key: X25519PublicKey) -> str:
    """A short id for a sealing key (first 8 hex of SHA-256 of its raw bytes): which office key opens a box."""
    return hashlib.sha256(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:8]


def seal_id_number(id_number: str, public_key: X25519PublicKey) -> str:
    """The normalised ID number sealed to the office's key: base64 of HPKE's enc ‖ ciphertext."""
    box = _suite().encrypt(normalise_id_number(id_number).encode("ascii"), public_key, info=SEAL_INFO)
    return base64.b64encode(box).decode("ascii")


def open_id_number(sealed: str, private_key: X25519PrivateKey) -> str:
    """The ID number in a sealed box (office only); SealError when it is damaged or sealed to another key."""
    try:
        box = base64.b64decode(sealed.encode("ascii"), validate=True)
        return _suite().decrypt(box, private_key, info=SEAL_INFO).decode("ascii")
    except Exception as exc:  # InvalidTag, bad base64, too short: all one answer
        raise SealError(f"cannot open the sealed ID number ({type(exc).__name__})") from None


def seal_for_office(id_number: str, public_key: X25519PublicKey) -> dict[str, str]:
    """The only form in which a gate stores an ID number: ``{"id_sealed", "id_seal_kid", "id_masked"}``.

    Nothing in it lets the gate (or a thief with its SD card) recover the number: no hash, no key.
    """
    return {"id_sealed": seal_id_number(id_number, public_key), "id_seal_kid": sealing_kid(public_key),
            "id_masked": mask_id_number(id_number)}
