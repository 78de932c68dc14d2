"""The JSON text the journal stores (wave 18): the standard library's compact text, whoever writes it.

python-rapidjson writes an event's data when it can (kiosk.gate.journal_prepare._FAST_ENCODE); what it will not
write, or would write otherwise, goes to ``journal_prepare.ENCODER`` (``json.JSONEncoder`` with
``separators=(",", ":")``). So for any data the stored text is ENCODER's, byte for byte, and the journal accepts and
refuses exactly what ENCODER does, with the same message. Rows written before wave 18, with spaces after ``,`` and
``:``, read back alike.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import sqlite3
import uuid
from collections import OrderedDict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.events import EventKind
from kiosk.exc import JournalError
from kiosk.gate import journal_prepare
from kiosk.gate.journal import FORBIDDEN_KEYS, EventDraft, Journal
from kiosk.gate.journal_prepare import ENCODER, prepare_batch

T0 = datetime(2026, 11, 28, 1, 30, 0, 123456, tzinfo=UTC)


def stored_text(data: Any) -> str:
    """The text prepare_batch makes for ``data`` (what append and append_many store)."""
    return prepare_batch([EventDraft(EventKind.PASSAGE, data)])[0][4]


# JSON values as gates make them: every float (finite), any text but lone surrogates (UTF-8 cannot hold them),
# ints of any size, tuples, nesting
_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
# Keys: any text but a clear-ID-number name (refused for its own reason: tests/kiosk/gate/test_journal.py)
_KEYS = _TEXT.filter(lambda key: key.strip().lower() not in FORBIDDEN_KEYS)
_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _TEXT
_VALUES = st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                       | st.dictionaries(_KEYS, inner, max_size=4), max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(_KEYS, _VALUES, max_size=8))
def test_the_stored_text_is_the_standard_librarys(data):
    assert stored_text(data) == ENCODER.encode(data)
    assert json.loads(stored_text(data)) == json.loads(ENCODER.encode(data))


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_are_written_as_python_writes_them(value):
    assert stored_text({"t": value}) == '{"t":' + repr(value) + "}"


def test_a_passage_takes_the_fast_path_and_control_characters_the_standard_one(monkeypatch):
    # Which encoder wrote the text: the fast one for a passage as the gate journals it; the standard library's for
    # a control character (the fast one writes \u001F, ENCODER \u001f) and for a tuple
    calls: list[str] = []
    fast = journal_prepare._FAST_ENCODE

    def counted(data):
        calls.append("fast")
        return fast(data)

    monkeypatch.setattr(journal_prepare, "_FAST_ENCODE", counted)
    passage = {"verdict": "admit", "direction": "in", "temperature_c": 36.5, "plate": None, "reasons": ["card_valid"],
               "card": {"card_id": 1119, "kid": "9272"}, "name": "张三"}
    assert stored_text(passage) == ENCODER.encode(passage) and fast(passage) == ENCODER.encode(passage)
    assert stored_text({"note": "a\x1fb"}) == '{"note":"a\\u001fb"}'
    assert fast({"note": "a\x1fb"}) == '{"note":"a\\u001Fb"}'  # why the escape goes the standard way
    assert stored_text({"readings": (36.5, 36.6)}) == '{"readings":[36.5,36.6]}'
    assert len(calls) == 3


class Colour(enum.Enum):
    RED = 1


class Level(enum.IntEnum):
    HIGH = 2


class Text(str):
    """A str subclass: the standard library writes it as its text."""


class Reading(float):
    def __repr__(self) -> str:  # neither encoder writes a float through its repr
        return "Reading()"


class Readings(list):
    """A list subclass: the standard library writes it as a list; python-rapidjson will not."""


@dataclasses.dataclass
class Point:
    x: int = 1


def _circular() -> dict[str, Any]:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    return loop


# What the standard library writes that the fast encoder will not (or writes otherwise), and what both refuse
ACCEPTED = {
    "tuple": (1, "a"), "int key": {1: "a"}, "float key": {1.5: "a"}, "bool key": {True: 1}, "None key": {None: 1},
    "big int": 2**70, "negative big int": -(2**64) - 1, "int enum": Level.HIGH, "str enum": EventKind.PASSAGE,
    "str subclass": Text("x"), "str subclass key": {Text("k"): 1}, "float subclass": Reading(36.5),
    "list subclass": Readings([1, 2]), "dict subclass": OrderedDict(a=1), "control character": "\x00\x1f",
    "line separator": "\u2028", "emoji": "🙂", "deep": [[[[[[[[[[[]]]]]]]]]]],
}
REFUSED = {
    "NaN": math.nan, "NaN float subclass": Reading("nan"), "Infinity": math.inf, "-Infinity": -math.inf, "datetime": datetime(2026, 1, 1),
    "date": date(2026, 1, 1), "bytes": b"\x00", "set": {1}, "Decimal": Decimal("1.5"), "UUID": uuid.UUID(int=1),
    "enum": Colour.RED, "dataclass": Point(), "object": object(), "circular": _circular(),
}


@pytest.mark.parametrize("value", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_what_the_standard_library_writes_is_stored_as_it_writes_it(tmp_path, value):
    data = {"v": value}
    assert stored_text(data) == ENCODER.encode(data)
    with Journal(tmp_path / "journal.db", "north-gate", clock=lambda: T0) as journal:
        journal.append_many([EventDraft(EventKind.PASSAGE, data)] * 8)
        assert {e.data["v"] == json.loads(ENCODER.encode(data))["v"] for e in journal.events_after(0)} == {True}


@pytest.mark.parametrize("value", REFUSED.values(), ids=REFUSED.keys())
def test_what_the_standard_library_refuses_is_refused_with_its_message(tmp_path, value):
    data = {"v": value}
    with pytest.raises((TypeError, ValueError)) as standard:
        ENCODER.encode(data)
    with Journal(tmp_path / "journal.db", "north-gate", clock=lambda: T0) as journal:
        with pytest.raises(JournalError) as refused:
            journal.append_many([EventDraft(EventKind.PASSAGE, {"fine": 1})] * 9 + [EventDraft(EventKind.PASSAGE, data)])
        assert str(refused.value) == f"event data is not JSON-serialisable: {standard.value}"
        with pytest.raises(JournalError, match="not JSON-serialisable"):
            journal.append(EventKind.PASSAGE, data)
        assert journal.events_after(0) == []  # nothing of the batch is stored


def test_rows_written_before_wave_18_read_back_alike(tmp_path):
    # A journal of wave 17 stored the same data with spaces after "," and ":"; a row of each reads the same
    path = tmp_path / "journal.db"
    data = {"name": "张三", "temperature": 36.5, "reasons": ["card_valid"], "card": {"card_id": 1119}, "plate": None}
    with Journal(path, "north-gate", clock=lambda: T0) as journal:
        new = journal.append(EventKind.PASSAGE, data)
    with sqlite3.connect(path) as conn:
        (text,) = conn.execute("SELECT data FROM events WHERE seq = 1").fetchone()
        assert text == json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        conn.execute("INSERT INTO events (seq, id, ts, gate_id, kind, data) SELECT 2, 'old', ts, gate_id, kind, ? "
                     "FROM events WHERE seq = 1", (json.dumps(data, ensure_ascii=False),))
        conn.execute("UPDATE meta SET value = 2 WHERE key = 'last_seq'")
    with Journal(path, "north-gate", clock=lambda: T0) as journal:
        old = journal.get(2)
        assert old is not None and old.data == new.data == data
        assert journal.events_after(0)[1].data == data


def test_a_lone_surrogate_is_refused_as_the_journals_error(tmp_path):
    # JSON may carry "\\ud800" (a browser's JSON.stringify writes it): a str UTF-8 cannot hold, so neither can SQLite
    with Journal(tmp_path / "journal.db", "north-gate", clock=lambda: T0) as journal:
        with pytest.raises(JournalError, match="not JSON-serialisable: 'utf-8' codec can't encode"):
            journal.append_many([EventDraft(EventKind.PASSAGE, {"fine": 1}),
                                 EventDraft(EventKind.VISITOR_REGISTRATION, {"name": "张\ud800"})])
        assert journal.events_after(0) == []
        assert journal.append(EventKind.PASSAGE, {"name": "张三"}).seq == 1
