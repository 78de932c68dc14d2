"""Masking, keyed hashing (office) and sealing (gate → office) of personal data; PIN hashes."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from kiosk.credentials import hash_secret, verify_secret
from kiosk.privacy import (
    SealError,
    id_number_hash,
    is_valid_id_number,
    load_sealing_public_key,
    mask_id_number,
    mask_name,
    mask_phone,
    open_id_number,
    protect_id_number,
    seal_for_office,
    sealing_kid,
    sealing_public_key_text,
)

OFFICE = X25519PrivateKey.generate()

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


def _with_check(seventeen: str) -> str:
    from kiosk.privacy import _ID_CHECK, _ID_WEIGHTS

    return seventeen + _ID_CHECK[sum(int(d) * w for d, w in zip(seventeen, _ID_WEIGHTS, strict=True)) % 11]


@pytest.mark.parametrize(("number", "problem"), [
    (_with_check("11010519901301002"), "birth_date"),   # month 13, check digit right: passed before python-stdnum
    (_with_check("11010519900132002"), "birth_date"),   # day 32
    (_with_check("11010519900230002"), "birth_date"),   # 30 February
    ("110105194912310021", "checksum"),
    ("12345", "length"),
    ("11010519491231002A", "format"),
    ("１１０１０５１９４９１２３１００２１", "format"),    # full-width digits are not ID digits
])
def test_id_number_problems(number, problem):
    from kiosk.privacy import ID_PROBLEMS, id_number_problem

    assert id_number_problem(number) == problem and not is_valid_id_number(number)
    assert ID_PROBLEMS[problem][0]  # every code has its Chinese words


def test_lower_case_x_is_the_same_number():
    from kiosk.privacy import id_number_problem, normalise_id_number

    with_x = next(n for n in (_with_check(f"11010519900101{i:03d}") for i in range(200)) if n.endswith("X"))
    assert id_number_problem(with_x) is None and is_valid_id_number(with_x.lower())
    assert normalise_id_number(" " + with_x.lower()) == with_x


def test_keyed_hash_is_stable_normalised_and_key_dependent():
    assert id_number_hash(ID, b"k1") == id_number_hash(ID.lower(), b"k1") == id_number_hash(" " + ID, b"k1")
    assert id_number_hash(ID, b"k1") != id_number_hash(ID, b"k2")
    with pytest.raises(ValueError):
        id_number_hash(ID, b"")


def test_protected_form_never_holds_the_clear_number():
    protected = protect_id_number(ID, b"community-secret")
    assert set(protected) == {"id_hash", "id_masked"}
    assert ID not in "".join(protected.values())


def test_sealed_form_opens_only_at_the_office():
    sealed = seal_for_office(" " + ID.lower(), OFFICE.public_key())
    assert set(sealed) == {"id_sealed", "id_seal_kid", "id_masked"}
    assert ID not in "".join(sealed.values()) and sealed["id_masked"] == "110***********002X"
    assert sealed["id_seal_kid"] == sealing_kid(OFFICE.public_key())
    assert open_id_number(sealed["id_sealed"], OFFICE) == ID  # normalised before sealing
    assert seal_for_office(ID, OFFICE.public_key())["id_sealed"] != sealed["id_sealed"]  # a fresh key every time
    with pytest.raises(SealError):
        open_id_number(sealed["id_sealed"], X25519PrivateKey.generate())  # another office, or the gate's guess
    with pytest.raises(SealError):
        open_id_number(sealed["id_sealed"][:-8] + "AAAAAAA=", OFFICE)
    with pytest.raises(SealError):
        open_id_number("not base64!", OFFICE)


def test_sealing_public_key_text_round_trip():
    text = sealing_public_key_text(OFFICE.public_key())
    assert sealing_kid(load_sealing_public_key(text)) == sealing_kid(OFFICE.public_key())
    for bad in ("", "abc", "AAAA", "x" * 44):
        with pytest.raises(SealError):
            load_sealing_public_key(bad)


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
        event = journal.append(EventKind.VISITOR_REGISTRATION, visitor.event_data(OFFICE.public_key()))
        raw = (tmp_path / "j.db").read_bytes() + (tmp_path / "j.db-wal").read_bytes()
    assert event.data["id_masked"] == "110***********002X" and event.data["phone_masked"] == "135****5678"
    assert "id_hash" not in event.data and open_id_number(event.data["id_sealed"], OFFICE) == ID
    assert ID.encode() not in raw
    with pytest.raises(PersonalDataError, match="check digit"):
        VisitorRegistration("x", "1", "y", None, "z", id_number="110105194912310021").event_data(OFFICE.public_key())
    with pytest.raises(PersonalDataError, match="sealing key"):
        VisitorRegistration("x", "1", "y", None, "z", id_number=ID).event_data(None)
    assert "id_sealed" not in VisitorRegistration("x", "1", "y", None, "z").event_data(None)
    with pytest.raises(PersonalDataError):
        with Journal(tmp_path / "j2.db", "g") as journal:
            journal.append(EventKind.VISITOR_REGISTRATION, {"visitor": {"id_number": ID}})
