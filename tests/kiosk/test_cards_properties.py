"""Property-based tests: no change to a valid card is accepted, and no input makes the verifier raise."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import base45
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.cards import EPOCH, PREFIX, CardKind, issue_card, verify_card
from kiosk.keys import Keyset, SigningKey

KEY = SigningKey.generate()
KEYSET = Keyset()
KEYSET.add(KEY.public_key)
_, TEXT = issue_card(KEY, CardKind.RESIDENT, 12, valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31), card_id=1001)
NOON = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
CHARS = st.sampled_from(ALPHABET) | st.characters()
FAST = settings(max_examples=400, deadline=None)


def test_the_card_is_valid():
    assert verify_card(TEXT, KEYSET, NOON).valid


def test_every_truncation_is_rejected():
    for end in range(len(TEXT)):
        assert not verify_card(TEXT[:end], KEYSET, NOON).valid
    for start in range(1, len(TEXT)):
        assert not verify_card(TEXT[start:], KEYSET, NOON).valid


@FAST
@given(st.integers(0, len(TEXT) - 1), CHARS)
def test_any_substitution_is_rejected(index, char):
    mutated = TEXT[:index] + char + TEXT[index + 1:]
    if mutated != TEXT:
        assert not verify_card(mutated, KEYSET, NOON).valid


@FAST
@given(st.integers(0, len(TEXT)), st.text(min_size=1, max_size=3))
def test_any_insertion_is_rejected(index, extra):
    assert not verify_card(TEXT[:index] + extra + TEXT[index:], KEYSET, NOON).valid


@FAST
@given(st.integers(0, len(TEXT) - 1), st.integers(1, 4))
def test_any_deletion_is_rejected(index, length):
    assert not verify_card(TEXT[:index] + TEXT[index + length:], KEYSET, NOON).valid


@FAST
@given(st.text(max_size=300))
def test_any_text_never_raises(text):
    verify_card(text, KEYSET, NOON)
    verify_card(PREFIX + text, KEYSET, NOON)


@FAST
@given(st.binary(max_size=120))
def test_any_bytes_behind_the_prefix_never_raise_and_never_pass(data):
    check = verify_card(PREFIX + base45.b45encode(data).decode(), KEYSET, NOON)
    assert not check.valid


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(list(CardKind)),
    st.integers(0, 2**32 - 1),
    st.integers(1, 2**32 - 1),
    st.dates(EPOCH, date(2150, 1, 1)),
    st.integers(0, 3650),
    st.data(),
)
def test_any_card_in_range_is_valid_inside_its_window(kind, subject, card_id, start, length, data):
    end = start + timedelta(days=length)
    card, text = issue_card(KEY, kind, subject, valid_from=start, valid_until=end, card_id=card_id)
    day = data.draw(st.dates(start, end))
    at = datetime(day.year, day.month, day.day, 12, 0, tzinfo=timezone(timedelta(hours=8)))
    check = verify_card(text, KEYSET, at, "Asia/Shanghai")
    assert check.valid and check.card == card
