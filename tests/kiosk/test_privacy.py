"""Masking and keyed hashing of personal data; PIN hashes."""

from __future__ import annotations

import pytest

from kiosk.credentials import hash_secret, verify_secret
from kiosk.privacy import (
    id_number_hash,
    is_valid_id_number,
    mask_id_number,
    mask_name,
    mask_phone,
    protect_id_number,
)

# A made-up number with a correct GB 11643 check digit.
ID = "11010519491231002X"


@pytest.mark.parametrize("number, masked", [
    ("110101199003071234", "110***********1234"),
    (ID, "110***********002X"),
    ("11010519491231002x", "110***********002X"),
    ("1234567", "*******"),
])
def test_mask_id_number(number, masked):
    assert mask_id_number(number) == masked


@pytest.mark.parametrize("phone, masked", [("13812345678", "138****5678"), ("138 1234 5678", "138****5678"), ("84721234", "******34"), ("12", "**")])
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize("name, masked", [("王小山", "王*山"), ("王山", "王*"), ("欧阳小山", "欧**山"), ("王", "王"), ("", "")])
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_id_check_digit():
    assert is_valid_id_number(ID)
    assert is_valid_id_number(ID.lower())
    assert not is_valid_id_number("110105194912310021")
    assert not is_valid_id_number("12345")


def test_keyed_hash_is_stable_normalised_and_key_dependent():
    assert id_number_hash(ID, b"k1") == id_number_hash(ID.lower(), b"k1") == id_number_hash(" " + ID, b"k1")
    assert id_number_hash(ID, b"k1") != id_number_hash(ID, b"k2")
    with pytest.raises(ValueError):
        id_number_hash(ID, b"")


def test_protected_form_never_holds_the_clear_number():
    protected = protect_id_number(ID, b"community-secret")
    assert set(protected) == {"id_hash", "id_masked"}
    assert ID not in "".join(protected.values())


def test_pin_hash_round_trip():
    stored = hash_secret("2468")
    assert stored.startswith("scrypt$") and "2468" not in stored
    assert verify_secret("2468", stored)
    assert not verify_secret("2469", stored)
    assert hash_secret("2468") != stored  # salted


@pytest.mark.parametrize("garbage", ["", "plain", "scrypt$x$y$z$a$b", "bcrypt$1$2$3$4$5", "scrypt$16384$8$1$!!$!!"])
def test_malformed_hash_never_verifies_and_never_raises(garbage):
    assert verify_secret("2468", garbage) is False


def test_visitor_registration_is_journaled_without_the_clear_id_number(tmp_path):
    from kiosk.events import EventKind
    from kiosk.exc import PersonalDataError
    from kiosk.gate.journal import Journal
    from kiosk.gate.visitors import VisitorRegistration

    visitor = VisitorRegistration("陈来访", "135 1234 5678", "任丘市", 3, "探亲", 36.6, ID)
    with Journal(tmp_path / "j.db", "g") as journal:
        event = journal.append(EventKind.VISITOR_REGISTRATION, visitor.event_data(b"community-key"))
        raw = (tmp_path / "j.db").read_bytes() + (tmp_path / "j.db-wal").read_bytes()
    assert event.data["id_masked"] == "110***********002X" and event.data["phone_masked"] == "135****5678"
    assert ID.encode() not in raw
    with pytest.raises(PersonalDataError, match="check digit"):
        VisitorRegistration("x", "1", "y", None, "z", id_number="110105194912310021").event_data(b"k")
    with pytest.raises(PersonalDataError):
        with Journal(tmp_path / "j2.db", "g") as journal:
            journal.append(EventKind.VISITOR_REGISTRATION, {"visitor": {"id_number": ID}})
