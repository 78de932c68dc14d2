"""The committed card vectors (tests/vectors/cards/*.json), each checked against verify_card."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from kiosk.cards import verify_card
from kiosk.keys import Keyset

VECTORS = sorted((Path(__file__).resolve().parent.parent / "vectors" / "cards").glob("*.json"))


def test_every_reason_has_a_vector():
    reasons = {json.loads(p.read_text(encoding="utf-8"))["expected"]["reason"] for p in VECTORS}
    assert reasons == {None, "not_a_card", "unknown_version", "malformed", "unknown_key", "bad_signature", "not_yet_valid", "expired"}


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector(path):
    vector = json.loads(path.read_text(encoding="utf-8"))
    keyset = Keyset.from_json(vector["keyset"])
    check = verify_card(vector["text"], keyset, datetime.fromisoformat(vector["at"]), vector["tz"])
    assert check.to_dict() == vector["expected"]
