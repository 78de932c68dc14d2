"""Batched appends: what lands on disk is byte for byte what the journal always stored, all of a batch or none.

The golden rows below were captured from the journal before its batched path was
rewritten for speed (wave 14): a fixed clock and a fixed stream of random bytes
must give exactly these stored rows, so journals written before and after read
back alike. Only the ids were changed since, deliberately (wave 16): new ids are
UUIDv7 (time, counter, random bits; tests/kiosk/gate/test_event_ids.py), so they
are golden for a fixed id clock too, and a batch's ids differ from those of the
same events appended one by one (one random draw per call, a counter per id).
Wave 16 also added the clock stamp's three columns at the end of each row (boot, mono_ms, clock:
kiosk.gate.clock), from a fake clock seam; the columns before them are unchanged. Wave 18 made the stored
JSON compact (no space after "," and ":"; tests/kiosk/gate/test_journal_stored_text.py), deliberately: the
data texts lost their spaces and nothing else; rows written before read back alike (tested there).
"""

from __future__ import annotations

import itertools
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from kiosk.events import Event, EventKind
from kiosk.exc import JournalError, PersonalDataError
from kiosk.gate import journal_prepare
from kiosk.gate.clock import FakeClockSource, GateClock, Stamp
from kiosk.gate.journal import EventDraft, Journal
from kiosk.gate.journal_prepare import EventIds

T0 = datetime(2026, 11, 28, 1, 30, 0, 123456, tzinfo=UTC)
T0_MS = (T0 - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)  # 0x01a21fc6023b
GATE = "north-gate"
ROW_SQL = ("SELECT seq, id, ts, gate_id, volunteer_id, kind, subject, household_id, data, boot, mono_ms, clock"
           " FROM events ORDER BY seq")
STAMP = ("boot-1", 100_000, "trusted")  # FakeClockSource's boot and monotonic 100 s; synchronised, no event before


def fake_clock() -> GateClock:
    return GateClock(FakeClockSource(T0))


def stored_rows(path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(ROW_SQL).fetchall()


@pytest.fixture
def path(tmp_path):
    return tmp_path / "journal.db"


@pytest.fixture
def fixed_random(monkeypatch) -> None:
    """os.urandom reads from one deterministic stream: 00 01 02 … ff 00 01 …, however the bytes are asked for."""
    stream: Iterator[int] = itertools.cycle(range(256))

    def urandom(n: int) -> bytes:
        return bytes(itertools.islice(stream, n))

    monkeypatch.setattr(os, "urandom", urandom)
    # Ids take their time from the wall clock: fixed to T0 here, with a counter that starts afresh
    monkeypatch.setattr(journal_prepare, "_EVENT_IDS", EventIds(wall_ms=lambda: T0_MS))


# A draft using every column and every kind of JSON value: Chinese text, nesting, a tuple, floats, a str enum,
# an int key, None, booleans, an empty list, quotes and control characters that JSON escapes.
RICH_DATA: dict[Any, Any] = {
    "name": "张三",
    "verdict": "admit",
    "direction": EventKind.PASSAGE,
    "temperature": 36.5,
    "ambient": -0.0,
    "readings": (36.5, 1e21, 0.1),
    "reasons": [],
    "nested": {"a": [1, {"b": None}], "ok": True, "no": False},
    7: "int key",
    "note": 'say "hi"\n\ttab \\ back',
}

# From the fixed stream: one draw per call of 8 bytes per id (read little-endian) + 2 (the counter's start)
BATCH_IDS = ["01a21fc6023b70198706050403020100", "01a21fc6023b701a8f0e0d0c0b0a0908", "01a21fc6023b701b9716151413121110"]
SINGLE_IDS = ["01a21fc6023b70098706050403020100", "01a21fc6023b700a91100f0e0d0c0b0a", "01a21fc6023b700b9b1a191817161514"]
GOLDEN = [
    (1, BATCH_IDS[0], "2026-11-28T01:30:00.123Z", GATE, "v7", "passage", "resident:12", 3,
     '{"name":"张三","verdict":"admit","direction":"passage","temperature":36.5,"ambient":-0.0,'
     '"readings":[36.5,1e+21,0.1],"reasons":[],"nested":{"a":[1,{"b":null}],"ok":true,"no":false},'
     '"7":"int key","note":"say \\"hi\\"\\n\\ttab \\\\ back"}', *STAMP),
    (2, BATCH_IDS[1], "2026-11-28T01:30:00.123Z", GATE, None, "measurement", None, None,
     "{}", *STAMP),
    (3, BATCH_IDS[2], "2026-11-28T01:30:00.123Z", GATE, None, "alarm_raised", "visitor:9",
     None, '{"level":2}', *STAMP),
]


def golden_drafts() -> list[EventDraft]:
    return [
        EventDraft(EventKind.PASSAGE, RICH_DATA, "v7", "resident:12", 3),
        EventDraft(EventKind.MEASUREMENT),
        EventDraft("alarm_raised", {"level": 2}, subject="visitor:9"),
    ]


def test_a_batch_stores_the_golden_rows(path, fixed_random):
    with Journal(path, GATE, clock=lambda: T0, gate_clock=fake_clock()) as journal:
        events = journal.append_many(golden_drafts())
    assert stored_rows(path) == GOLDEN
    assert [e.id for e in events] == [row[1] for row in GOLDEN]


def test_single_appends_store_the_golden_rows(path, fixed_random):
    with Journal(path, GATE, clock=lambda: T0, gate_clock=fake_clock()) as journal:
        for draft in golden_drafts():
            journal.append(draft.kind, draft.data, volunteer_id=draft.volunteer_id, subject=draft.subject,
                           household_id=draft.household_id)
    assert stored_rows(path) == [(seq, id_, *rest) for (seq, _, *rest), id_ in zip(GOLDEN, SINGLE_IDS, strict=True)]


@pytest.mark.parametrize("gate", [GATE, "o'brien gate; --"])
def test_a_large_batch_stores_the_same_bytes_as_small_ones(tmp_path, gate):
    # A batch goes in as INSERTs of up to 128 rows, its shared values (ts, gate id, clock stamp) bound once per
    # statement: 300 rows are three statements (128, 128, 44), and store what 100 batches of 3 store, whatever
    # the gate id holds (the second one would break SQL written with it).
    big, small = tmp_path / "big.db", tmp_path / "small.db"
    with Journal(big, gate, clock=lambda: T0, gate_clock=fake_clock()) as journal:
        journal.append_many(golden_drafts() * 100)
    with Journal(small, gate, clock=lambda: T0, gate_clock=fake_clock()) as journal:
        for _ in range(100):
            journal.append_many(golden_drafts())
    assert [row[0] for row in stored_rows(big)] == list(range(1, 301))
    assert [row[2:] for row in stored_rows(big)] == [row[2:] for row in stored_rows(small)]
    assert [row[2:] for row in stored_rows(big)][:3] == [(row[2], gate, *row[4:]) for row in GOLDEN]
    with sqlite3.connect(big) as conn:  # the same column types as bound values get
        assert conn.execute("SELECT DISTINCT typeof(ts), typeof(gate_id), typeof(boot), typeof(mono_ms), typeof(clock)"
                            " FROM events").fetchall() == [("text", "text", "text", "integer", "text")]


def test_a_large_batch_without_a_boot_id_stores_null(path):
    class NoBootId(GateClock):
        def stamp(self, now=None, newest_ts=None):  # a system that gives no boot id
            return Stamp(None, 5, "unsynchronised")

    with Journal(path, GATE, clock=lambda: T0, gate_clock=NoBootId(FakeClockSource(T0))) as journal:
        journal.append_many(golden_drafts() * 4)
    assert {row[9:] for row in stored_rows(path)} == {(None, 5, "unsynchronised")}


def test_ids_are_increasing_version_7_uuids(path):
    with Journal(path, GATE) as journal:
        events = journal.append_many([EventDraft(EventKind.PASSAGE)] * 500)
        events += journal.append_many([EventDraft(EventKind.PASSAGE)] * 500)
    ids = [e.id for e in events]
    assert len(set(ids)) == 1000 and ids == sorted(ids)
    assert all(len(i) == 32 and i == i.lower() and i[12] == "7" and i[16] in "89ab" for i in ids)
    assert all(int(i, 16) >= 0 for i in ids)


def test_every_field_round_trips(path):
    clock_now = datetime(2026, 11, 28, 9, 30, 1, 999999, tzinfo=timezone(timedelta(hours=8)))
    with Journal(path, GATE, clock=lambda: clock_now) as journal:
        (returned,) = journal.append_many([EventDraft(EventKind.PASSAGE, RICH_DATA, "v7", "resident:12", 3)])
        read = journal.get(returned.seq)
        assert read == returned
        assert isinstance(returned, Event) and returned.kind is EventKind.PASSAGE
        assert (returned.seq, returned.ts, returned.gate_id) == (1, "2026-11-28T01:30:01.999Z", GATE)
        assert (returned.volunteer_id, returned.subject, returned.household_id) == ("v7", "resident:12", 3)
        # The data reads back as JSON gives it: the tuple a list, the int key a string, the enum its value
        assert returned.data == {
            "name": "张三", "verdict": "admit", "direction": "passage", "temperature": 36.5, "ambient": -0.0,
            "readings": [36.5, 1e21, 0.1], "reasons": [], "nested": {"a": [1, {"b": None}], "ok": True, "no": False},
            "7": "int key", "note": 'say "hi"\n\ttab \\ back',
        }
        assert type(returned.data["direction"]) is str and type(returned.data["readings"]) is list
        assert returned.data == read.data and returned.to_dict() == read.to_dict()


def test_the_returned_data_is_a_copy_the_caller_cannot_change(path):
    data = {"reasons": ["fever"], "n": 1}
    with Journal(path, GATE) as journal:
        (event,) = journal.append_many([EventDraft(EventKind.PASSAGE, data)])
        data["reasons"].append("changed")
        data["n"] = 2
        assert event.data == {"reasons": ["fever"], "n": 1} == journal.get(1).data


class FrozenMapping:
    """A Mapping that is not a dict: the journal takes any Mapping as data."""

    def __init__(self, items: dict):
        self._items = items

    def __getitem__(self, key):
        return self._items[key]

    def __iter__(self):
        return iter(self._items)

    def __len__(self):
        return len(self._items)

    def keys(self):
        return self._items.keys()


def test_a_mapping_that_is_not_a_dict_is_stored_as_its_items(path):
    from collections.abc import Mapping

    Mapping.register(FrozenMapping)
    with Journal(path, GATE) as journal:
        (event,) = journal.append_many([EventDraft(EventKind.PASSAGE, FrozenMapping({"a": 1}))])
        assert event.data == {"a": 1} == journal.get(1).data


BAD_DRAFTS = [
    pytest.param(EventDraft(EventKind.PASSAGE, {"v": {"id_number": "110101199003071234"}}), PersonalDataError,
                 "data.v.id_number", id="clear id number"),
    pytest.param(EventDraft(EventKind.PASSAGE, {"v": [{"ID_Card_Number ": "1"}]}), PersonalDataError,
                 r"data.v\[0\].ID_Card_Number", id="clear id card number in a list"),
    pytest.param(EventDraft(EventKind.PASSAGE, {"x": object()}), JournalError, "not JSON", id="not JSON"),
    pytest.param(EventDraft(EventKind.PASSAGE, {"t": float("inf")}), JournalError, "not JSON", id="infinity"),
    pytest.param(EventDraft(EventKind.PASSAGE, ["a"]), JournalError, "must be a dict", id="a list as data"),
    pytest.param(EventDraft("teleport", {}), JournalError, "unknown event kind", id="unknown kind"),
    pytest.param(EventDraft(EventKind.PASSAGE, {}, volunteer_id=7), JournalError, "volunteer_id", id="volunteer"),
    pytest.param(EventDraft(EventKind.PASSAGE, {}, subject=b"x"), JournalError, "subject", id="subject"),
    pytest.param(EventDraft(EventKind.PASSAGE, {}, household_id=False), JournalError, "household_id", id="bool"),
    pytest.param(EventDraft(EventKind.PASSAGE, {}, household_id=2.0), JournalError, "household_id", id="float"),
]


@pytest.mark.parametrize(("bad", "error", "message"), BAD_DRAFTS)
@pytest.mark.parametrize("where", [0, 500, 999])
def test_one_bad_draft_anywhere_in_a_batch_stores_nothing(path, bad, error, message, where):
    with Journal(path, GATE) as journal:
        journal.append(EventKind.PASSAGE, {"first": True})
        before = stored_rows(path)
        drafts = [EventDraft(EventKind.PASSAGE, {"i": i}, "v1", f"resident:{i}", i) for i in range(1000)]
        drafts[where] = bad
        with pytest.raises(error, match=message) as info:
            journal.append_many(drafts)
        if error is JournalError:
            assert not isinstance(info.value, PersonalDataError)
        assert "110101199003071234" not in str(info.value)
        assert stored_rows(path) == before and journal.last_seq == 1
        assert journal.append(EventKind.PASSAGE, {}).seq == 2


def test_the_first_bad_draft_is_the_one_reported(path):
    with Journal(path, GATE) as journal:
        drafts = [EventDraft(EventKind.PASSAGE, {"i": 1}), EventDraft("teleport"),
                  EventDraft(EventKind.PASSAGE, {"id_number": "1"})]
        with pytest.raises(JournalError, match="unknown event kind"):
            journal.append_many(drafts)
        assert journal.count() == 0


def test_seqs_are_consecutive_across_append_and_append_many(path):
    with Journal(path, GATE) as journal:
        seqs: list[int] = []
        for size in (1, 3, 0, 1000, 1, 7):
            if size == 1:
                seqs.append(journal.append(EventKind.PASSAGE, {"size": size}).seq)
            else:
                seqs.extend(e.seq for e in journal.append_many([EventDraft(EventKind.MEASUREMENT, {})] * size))
        assert seqs == list(range(1, 1 + 1 + 3 + 1000 + 1 + 7))
        assert [row[0] for row in stored_rows(path)] == seqs
        assert journal.last_seq == seqs[-1]


def test_a_generator_of_drafts_is_taken_once(path):
    with Journal(path, GATE) as journal:
        events = journal.append_many(EventDraft(EventKind.PASSAGE, {"i": i}) for i in range(5))
        assert [(e.seq, e.data) for e in events] == [(i + 1, {"i": i}) for i in range(5)]


def test_a_batch_failing_in_its_last_statement_stores_nothing(path, monkeypatch):
    # 300 rows go in as three INSERTs: a duplicate id in the third (an id the journal already holds) fails it after
    # the first two went in; the whole batch rolls back and the next batch takes the seqs it would have had
    with Journal(path, GATE, clock=lambda: T0, gate_clock=fake_clock()) as journal:
        (first,) = journal.append_many([EventDraft(EventKind.PASSAGE, {"n": 0})])
        real_ids = journal_prepare.new_ids

        def one_taken(count: int, now_ms: int | None = None) -> list[str]:
            ids = real_ids(count, now_ms)
            return [*ids[:299], first.id] if count == 300 else ids

        monkeypatch.setattr("kiosk.gate.journal.new_ids", one_taken)
        with pytest.raises(JournalError, match="UNIQUE constraint failed: events.id"):
            journal.append_many([EventDraft(EventKind.PASSAGE, {"n": n}) for n in range(1, 301)])
        assert [e.seq for e in journal.events_after(0)] == [1]
        assert [e.seq for e in journal.append_many([EventDraft(EventKind.PASSAGE, {"n": 301})] * 2)] == [2, 3]
