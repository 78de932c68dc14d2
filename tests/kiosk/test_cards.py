"""Entry cards: round trips, every rejection reason, time-zone boundaries, the QR size bound."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import segno

from kiosk.cards import PREFIX, Card, CardKind, Rejection, encode_card, issue_card, render_qr, verify_card
from kiosk.exc import CardFormatError
from kiosk.keys import Keyset, SigningKey

KEY = SigningKey.generate()
KEYSET = Keyset()
KEYSET.add(KEY.public_key)
YEAR = dict(valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31))
NOON = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize("kind", list(CardKind))
def test_round_trip_each_kind(kind):
    card, text = issue_card(KEY, kind, 42, card_id=7, **YEAR)
    check = verify_card(text, KEYSET, NOON)
    assert check.valid and check.reason is None and check.card == card
    assert text.startswith(PREFIX)


def test_longest_card_fits_qr_version_7_at_level_q():
    card = Card(CardKind.VOLUNTEER, 2**32 - 1, 2**32 - 1, date(2199, 1, 1), date(2199, 6, 6), KEY.kid)
    text = encode_card(card, KEY)
    qr = segno.make(text, error="q", boost_error=False, micro=False)
    assert qr.mode == "alphanumeric" and qr.error == "Q" and qr.version <= 7
    assert len(text) == 123  # fixed size: every card is the longest card


def test_all_cards_have_the_same_length():
    lengths = {len(issue_card(KEY, kind, s, card_id=c, **YEAR)[1]) for kind in CardKind for s, c in [(0, 1), (2**32 - 1, 2**32 - 1)]}
    assert lengths == {123}


def test_random_card_ids():
    ids = {issue_card(KEY, CardKind.RESIDENT, 1, **YEAR)[0].card_id for _ in range(20)}
    assert len(ids) == 20 and all(0 < i < 2**32 for i in ids)


@pytest.mark.parametrize("at, reason", [
    (datetime(2025, 12, 31, 15, 59, 59, tzinfo=UTC), Rejection.NOT_YET_VALID),  # 23:59:59 in Shanghai
    (datetime(2025, 12, 31, 16, 0, 0, tzinfo=UTC), None),  # first day, 00:00 in Shanghai
    (datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC), None),  # last day, 23:59:59 in Shanghai
    (datetime(2026, 12, 31, 16, 30, 0, tzinfo=UTC), Rejection.EXPIRED),  # 2027-01-01 00:30 in Shanghai
])
def test_validity_is_by_calendar_date_in_the_community_time_zone(at, reason):
    _, text = issue_card(KEY, CardKind.RESIDENT, 1, card_id=1, **YEAR)
    assert verify_card(text, KEYSET, at, "Asia/Shanghai").reason is reason


def test_same_instant_other_time_zone():
    _, text = issue_card(KEY, CardKind.RESIDENT, 1, card_id=1, **YEAR)
    at = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    assert verify_card(text, KEYSET, at, "Europe/London").valid


def test_rejections():
    _, text = issue_card(KEY, CardKind.RESIDENT, 1, card_id=1, **YEAR)
    other = SigningKey.generate()
    foreign = encode_card(Card(CardKind.RESIDENT, 1, 1, kid=other.kid, **YEAR), other)
    assert verify_card("hello", KEYSET, NOON).reason is Rejection.NOT_A_CARD
    assert verify_card("GK7:" + text[4:], KEYSET, NOON).reason is Rejection.UNKNOWN_VERSION
    assert verify_card(text[:-2], KEYSET, NOON).reason is Rejection.MALFORMED
    check = verify_card(foreign, KEYSET, NOON)
    assert check.reason is Rejection.UNKNOWN_KEY and check.card.kid == other.kid
    tampered = text[:-5] + ("0" if text[-5] != "0" else "1") + text[-4:]
    assert verify_card(tampered, KEYSET, NOON).reason in (Rejection.BAD_SIGNATURE, Rejection.MALFORMED)
    assert verify_card(text, Keyset(), NOON).reason is Rejection.UNKNOWN_KEY


def test_card_is_shown_even_when_rejected_for_dates():
    card, text = issue_card(KEY, CardKind.RESIDENT, 9, card_id=3, **YEAR)
    check = verify_card(text, KEYSET, datetime(2030, 1, 1, tzinfo=UTC))
    assert check.reason is Rejection.EXPIRED and check.card == card
    assert check.to_dict() == {"valid": False, "reason": "expired", "card": card.to_dict()}


@pytest.mark.parametrize("kwargs, message", [
    (dict(card_id=2**32), "card id"),
    (dict(card_id=-1), "card id"),
    (dict(valid_from=date(2019, 12, 31)), "outside"),
    (dict(valid_until=date(2200, 1, 1)), "outside"),
    (dict(valid_from=date(2026, 2, 1), valid_until=date(2026, 1, 1)), "before valid from"),
])
def test_issue_refuses_fields_that_do_not_fit(kwargs, message):
    args = {**YEAR, "card_id": 1, **kwargs}
    with pytest.raises(CardFormatError, match=message):
        issue_card(KEY, CardKind.RESIDENT, 1, **args)


def test_issue_refuses_unknown_kind_and_wrong_key():
    with pytest.raises(CardFormatError, match="kind"):
        issue_card(KEY, "tourist", 1, **YEAR)
    other = SigningKey.generate()
    with pytest.raises(CardFormatError, match="signed with key"):
        encode_card(Card(CardKind.RESIDENT, 1, 1, kid=KEY.kid, **YEAR), other)


def test_render_png_and_svg(tmp_path):
    _, text = issue_card(KEY, CardKind.RESIDENT, 1, card_id=1, **YEAR)
    png = render_qr(text, tmp_path / "card.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = render_qr(text, tmp_path / "card.svg")
    assert "<svg" in svg.read_text()
    with pytest.raises(CardFormatError):
        render_qr(text, tmp_path / "card.gif")


def test_rendered_png_decodes_back_to_the_text(tmp_path):
    import zxingcpp
    from PIL import Image

    _, text = issue_card(KEY, CardKind.RESIDENT, 1, card_id=1, **YEAR)
    render_qr(text, tmp_path / "card.png")
    results = zxingcpp.read_barcodes(Image.open(tmp_path / "card.png").convert("L"))
    assert [r.text for r in results] == [text]
