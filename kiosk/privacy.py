"""Personal data minimisation: masked forms for screens and keyed hashes for matching, never clear ID numbers."""

from __future__ import annotations

import hashlib
import hmac

# GB 11643-1999 check digit: weights of the first 17 digits, and the check character for sum mod 11.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def normalise_id_number(id_number: str) -> str:
    """Strip spaces and upper-case the trailing x so the same card always hashes the same."""
    return "".join(id_number.split()).upper()


def is_valid_id_number(id_number: str) -> bool:
    """True for an 18-character resident ID number (居民身份证号) whose check digit is right."""
    number = normalise_id_number(id_number)
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return number[17] == _ID_CHECK[total % 11]


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


def id_number_hash(id_number: str, key: bytes) -> str:
    """Keyed hash (HMAC-SHA256, hex) of an ID number: the office can match a repeat visitor, nobody can reverse it.

    The key is the community's secret; without it, the 18-digit space is small
    enough that a plain hash could be brute-forced.
    """
    if not key:
        raise ValueError("an ID-number hash needs a non-empty key")
    return hmac.new(key, normalise_id_number(id_number).encode(), hashlib.sha256).hexdigest()


def protect_id_number(id_number: str, key: bytes) -> dict[str, str]:
    """The only form in which an ID number may be stored: ``{"id_hash": …, "id_masked": …}``."""
    return {"id_hash": id_number_hash(id_number, key), "id_masked": mask_id_number(id_number)}
