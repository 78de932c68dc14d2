"""The Events a batched append hands back: their data parsed from the stored text when first read (wave 16, B2).

What a caller sees must be what a later read of the same rows returns, for
every kind and for data JSON changes on the way (tuples, non-str keys, floats,
big ints); the Event stays what the frozen dataclass was (immutable, equal by
value, the same repr, unhashable, copyable).
"""

from __future__ import annotations

import copy
import math
import pickle
import sys
import threading
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime

import pytest

from kiosk.events import Event, EventKind
from kiosk.exc import JournalError, PersonalDataError
from kiosk.gate.journal import FORBIDDEN_KEYS, EventDraft, Journal

GATE = "north-gate"
T0 = datetime(2026, 11, 28, 1, 30, 0, 123456, tzinfo=UTC)
# Everything JSON changes on the way: a tuple comes back a list, non-str keys strings, an enum its value
AWKWARD = {
    "temperature": 36.6, "ambient": -0.0, "tiny": 5e-324, "huge": 1e308, "readings": (36.6, 37.25, 0.1),
    "big": 2**70, "negative_big": -(2**64) - 1, 7: "int key", 1.5: "float key", True: "bool key", None: "none key",
    "kind": EventKind.ALARM_RAISED, "name": "张三 \u2028 🙂", "note": 'say "hi"\n\ttab \\ back \x00',
    "nested": {"a": [1, {"b": None, "c": ()}], "ok": True, "no": False}, "empty": {},
}
# As a read of the row gives it back (json.loads of the stored text)
AWKWARD_READ = {
    "temperature": 36.6, "ambient": -0.0, "tiny": 5e-324, "huge": 1e308, "readings": [36.6, 37.25, 0.1],
    "big": 2**70, "negative_big": -(2**64) - 1, "7": "int key", "1.5": "float key", "true": "bool key",
    "null": "none key", "kind": "alarm_raised", "name": "张三 \u2028 🙂", "note": 'say "hi"\n\ttab \\ back \x00',
    "nested": {"a": [1, {"b": None, "c": []}], "ok": True, "no": False}, "empty": {},
}


@pytest.fixture
def journal(tmp_path):
    with Journal(tmp_path / "journal.db", GATE, clock=lambda: T0) as journal:
        yield journal


def test_every_kind_reads_back_as_it_was_handed_back(journal):
    drafts = [EventDraft(kind, {**AWKWARD, "i": i}, "v7", f"resident:{i}", i) for i, kind in enumerate(EventKind)]
    returned = journal.append_many(drafts)
    read = journal.events_after(0)
    assert len(returned) == len(read) == len(EventKind)
    for event, again, kind in zip(returned, read, EventKind, strict=True):
        assert event.kind is kind
        assert event.data == again.data == {**AWKWARD_READ, "i": event.seq - 1}
        assert list(event.data) == list(again.data)  # the same key order too
        assert event == again and event.to_dict() == again.to_dict() and repr(event) == repr(again)
        assert math.copysign(1, event.data["ambient"]) == -1.0 and type(event.data["big"]) is int
        assert type(event.data["readings"]) is list and type(event.data["kind"]) is str


def test_the_parsed_data_is_kept_and_the_callers_copy_is_its_own(journal):
    data = {"reasons": ["fever"], "n": 1}
    (event,) = journal.append_many([EventDraft(EventKind.PASSAGE, data)])
    assert event.data is event.data  # parsed once
    data["reasons"].append("changed")
    assert event.data == {"reasons": ["fever"], "n": 1}
    event.data["n"] = 2  # a caller changing its copy changes nothing stored
    assert journal.get(event.seq).data == {"reasons": ["fever"], "n": 1}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_still_refused_and_nothing_is_stored(journal, bad):
    with pytest.raises(JournalError, match="not JSON-serialisable: Out of range float values"):
        journal.append_many([EventDraft(EventKind.MEASUREMENT, {"t": 36.6}), EventDraft(EventKind.MEASUREMENT, {"t": bad})])
    assert journal.count() == 0 and journal.last_seq == 0


def test_threads_reading_the_data_at_once_all_see_the_stored_data(journal):
    events = journal.append_many([EventDraft(EventKind.PASSAGE, {**AWKWARD, "i": i}) for i in range(200)])
    seen: list[list[dict]] = [[] for _ in range(4)]
    start = threading.Barrier(4)

    def read(n: int) -> None:
        start.wait()
        seen[n].extend(event.data for event in events)

    threads = [threading.Thread(target=read, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = [{**AWKWARD_READ, "i": i} for i in range(200)]
    assert all(got == expected for got in seen)
    assert [event.data for event in journal.events_after(0)] == expected


def test_an_event_cannot_be_changed(journal):
    (event,) = journal.append_many([EventDraft(EventKind.PASSAGE, {"n": 1}, subject="resident:1")])
    for name in ("seq", "data", "subject", "_data", "_data_json", "anything"):
        with pytest.raises(FrozenInstanceError):
            setattr(event, name, 2)
        with pytest.raises(FrozenInstanceError):
            delattr(event, name)
    assert not hasattr(event, "__dict__")
    assert (event.seq, event.data, event.subject) == (1, {"n": 1}, "resident:1")


def test_an_event_built_by_hand_equals_the_stored_one_and_reads_like_the_dataclass():
    by_hand = Event(3, "abc", "2026-11-28T01:30:00.123Z", GATE, None, EventKind.PASSAGE, {"a": [1]}, "resident:1", 2)
    stored = Event.stored(3, "abc", "2026-11-28T01:30:00.123Z", GATE, None, EventKind.PASSAGE, '{"a": [1]}',
                          "resident:1", 2, None, None, None)
    assert by_hand == stored and not by_hand != stored
    assert repr(stored) == (
        "Event(seq=3, id='abc', ts='2026-11-28T01:30:00.123Z', gate_id='north-gate', volunteer_id=None, "
        "kind=<EventKind.PASSAGE: 'passage'>, data={'a': [1]}, subject='resident:1', household_id=2, boot=None, "
        "mono_ms=None, clock=None)"
    )
    assert by_hand != Event(3, "abc", "2026-11-28T01:30:00.123Z", GATE, None, EventKind.PASSAGE, {"a": [2]},
                            "resident:1", 2)
    assert by_hand != (3, "abc") and by_hand.to_dict() == stored.to_dict()
    assert Event(1, "x", "t", GATE, None, EventKind.PASSAGE, data={}, clock="trusted").clock == "trusted"
    with pytest.raises(TypeError, match="unhashable"):
        hash(stored)
    match stored:
        case Event(seq, _, _, _, _, EventKind.PASSAGE, {"a": list(items)}):
            assert (seq, items) == (3, [1])
        case _:
            pytest.fail("an Event matches by position as the dataclass did")


def test_copies_and_pickles_are_equal_events(journal):
    (event,) = journal.append_many([EventDraft(EventKind.PASSAGE, AWKWARD, "v1", "resident:1", 1)])
    for other in (copy.copy(event), copy.deepcopy(event), pickle.loads(pickle.dumps(event))):
        assert type(other) is Event and other == event and other.data == AWKWARD_READ


def test_the_quick_look_for_id_number_keys_misses_none():
    # prepare_batch lower-cases and searches a record's JSON text only when it holds "_n" or "_N": every forbidden
    # name holds "_n", and no character but "_", "n" and "N" lower-cases to one starting with "_" or "n"
    assert all("_n" in name for name in FORBIDDEN_KEYS)
    assert [c for c in map(chr, range(sys.maxunicode + 1)) if c.lower()[:1] in ("_", "n") and c not in "_nN"] == []


@pytest.mark.parametrize("key", ["id_number", "ID_NUMBER", "Id_Number", " id_card_number\t", "ID_CARD_NUMBER"])
def test_id_number_keys_in_any_case_are_refused_in_a_batch(journal, key):
    with pytest.raises(PersonalDataError, match=r"data\.visitor\[0\]"):
        journal.append_many([EventDraft(EventKind.PASSAGE, {"name": "张三"}),
                             EventDraft(EventKind.VISITOR_REGISTRATION, {"visitor": [{key: "1"}]})])
    assert journal.count() == 0
