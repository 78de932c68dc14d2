"""Event ids are UUIDv7 (RFC 9562): 32 hex digits that grow with time, unique whatever the clock does."""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.events import EventKind
from kiosk.exc import JournalError
from kiosk.gate import journal_prepare
from kiosk.gate.journal import EventDraft, Journal
from kiosk.gate.journal_prepare import EventIds, new_ids

NOW_MS = 1_795_829_400_123  # 2026-11-28T01:30:00.123Z
MAX_MS = (1 << 48) - 1


def millis(event_id: str) -> int:
    """The id's 48-bit Unix time in milliseconds."""
    return int(event_id[:12], 16)


def counter(event_id: str) -> int:
    """The id's 12-bit counter (rand_a)."""
    return int(event_id[13:16], 16)


def assert_well_formed(ids: list[str]) -> None:
    for event_id in ids:
        assert len(event_id) == 32 and event_id == event_id.lower() and int(event_id, 16) >= 0
        parsed = uuid.UUID(event_id)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122 and parsed.hex == event_id
        assert event_id[12] == "7" and event_id[16] in "89ab"


def assert_strictly_increasing(ids: list[str]) -> None:
    # Fixed-width lowercase hex: text order is the order of the 128-bit numbers
    assert all(a < b for a, b in zip(ids, ids[1:], strict=False))
    assert [int(i, 16) for i in ids] == sorted({int(i, 16) for i in ids})


def test_an_id_is_32_hex_digits_version_7_variant_10_with_the_time_in_front():
    ids = EventIds()(500, now_ms=NOW_MS)
    assert_well_formed(ids)
    assert millis(ids[0]) == NOW_MS
    # Read back as a time, the prefix is the moment given
    assert datetime.fromtimestamp(millis(ids[0]) / 1000, UTC) == datetime(2026, 11, 28, 1, 30, 0, 123000, tzinfo=UTC)


def test_the_real_clock_is_used_when_no_time_is_given():
    before = datetime.now(UTC).timestamp() * 1000
    ids = new_ids(3)
    after = datetime.now(UTC).timestamp() * 1000
    assert_well_formed(ids)
    assert int(before) - 1 <= millis(ids[0]) <= int(after) + 1


def test_ids_increase_within_a_batch_and_across_batches():
    make = EventIds()
    batches = [make(size) for size in (1, 1000, 7, 100, 1, 2500, 1)]
    every = [event_id for batch in batches for event_id in batch]
    assert_well_formed(every)
    assert_strictly_increasing(every)


def test_a_new_millisecond_starts_its_counter_at_random_below_2048():
    make = EventIds()
    firsts = [make(1, now_ms=NOW_MS + step)[0] for step in range(200)]
    assert [millis(i) for i in firsts] == [NOW_MS + step for step in range(200)]
    assert all(counter(i) < 2048 for i in firsts)
    assert len({counter(i) for i in firsts}) > 100  # random, not always 0


def test_within_one_millisecond_the_counter_counts_on_and_carries_into_the_next():
    make = EventIds()
    ids = [event_id for _ in range(10) for event_id in make(1000, now_ms=NOW_MS)]
    assert len(set(ids)) == 10_000
    assert_strictly_increasing(ids)
    # Consecutive: each id's (milliseconds, counter) is the one before plus 1
    ticks = [millis(i) << 12 | counter(i) for i in ids]
    assert ticks == list(range(ticks[0], ticks[0] + 10_000))
    # 10,000 ids need 3 carries of the 12-bit counter at most: the time runs a few ms ahead, no more
    assert millis(ids[0]) == NOW_MS and NOW_MS + 2 <= millis(ids[-1]) <= NOW_MS + 3


def test_a_clock_that_goes_back_keeps_the_last_time_and_the_ids_ordered():
    make = EventIds()
    ahead = make(5, now_ms=NOW_MS)
    # NTP sets a Pi without a battery clock back by an hour, then a year, then to 1970
    back = [make(5, now_ms=NOW_MS - 3_600_000), make(5, now_ms=NOW_MS - 365 * 86_400_000), make(5, now_ms=0)]
    every = ahead + [event_id for batch in back for event_id in batch]
    assert_well_formed(every)
    assert_strictly_increasing(every)
    assert {millis(i) for i in every} == {NOW_MS}  # no id goes back in time
    # Once the clock passes the last id's time again, ids take the clock's time
    assert millis(make(1, now_ms=NOW_MS + 1)[0]) == NOW_MS + 1


def test_uniqueness_does_not_rest_on_the_clock():
    # Two processes (two generators) whose clocks read the same: the random bits keep their ids apart
    one, other = EventIds(wall_ms=lambda: NOW_MS), EventIds(wall_ms=lambda: NOW_MS)
    first, second = one(2000), other(2000)
    assert not set(first) & set(second)
    assert len({event_id[16:] for event_id in first + second}) == 4000


def test_the_clock_seam_of_the_generator_is_used():
    readings = iter([NOW_MS, NOW_MS + 5, NOW_MS + 5, NOW_MS - 10])
    make = EventIds(wall_ms=lambda: next(readings))
    ids = [make(1)[0] for _ in range(4)]
    assert [millis(i) for i in ids] == [NOW_MS, NOW_MS + 5, NOW_MS + 5, NOW_MS + 5]
    assert_strictly_increasing(ids)


def test_one_urandom_call_per_batch(monkeypatch):
    calls: list[int] = []
    real = os.urandom

    def counting(n: int) -> bytes:
        calls.append(n)
        return real(n)

    monkeypatch.setattr(os, "urandom", counting)
    make = EventIds()
    assert len(make(1000)) == 1000 and len(make(1)) == 1
    assert make(0) == [] and make(-3) == []
    assert calls == [8 * 1000 + 2, 8 + 2]


def test_threads_asking_at_once_get_unique_increasing_ids():
    make = EventIds(wall_ms=lambda: NOW_MS)  # a clock standing still: only the counter keeps them apart
    results: dict[int, list[str]] = {}

    def worker(index: int) -> None:
        results[index] = [event_id for _ in range(50) for event_id in make(20)]

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [event_id for ids in results.values() for event_id in ids]
    assert len(every) == len(set(every)) == 8 * 50 * 20
    for ids in results.values():
        assert_strictly_increasing(ids)
    # Together they used exactly the consecutive ticks from the first one: none twice, none skipped
    ticks = sorted(millis(i) << 12 | counter(i) for i in every)
    assert ticks == list(range(ticks[0], ticks[0] + len(every)))


def test_times_beyond_48_bits_are_clamped_and_running_out_is_an_error_that_keeps_the_state():
    make = EventIds()
    assert millis(make(1, now_ms=-5)[0]) == 0
    make = EventIds()
    last = make(1, now_ms=MAX_MS + 10**9)[0]
    assert millis(last) == MAX_MS
    with pytest.raises(JournalError, match="ran out"):
        make(5000, now_ms=MAX_MS)
    # The failed call used up nothing: what is left is still handed out, in order
    rest = make(4095 - counter(last), now_ms=MAX_MS)
    assert_strictly_increasing([last, *rest])
    assert rest[-1][:16] == "ffffffffffff7fff"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 2500), st.integers(-10, MAX_MS + 10)), min_size=1, max_size=8))
def test_any_sequence_of_batches_and_clock_readings_gives_increasing_unique_ids(calls):
    make = EventIds()
    every: list[str] = []
    for count, now in calls:
        now = min(now, MAX_MS - 20)  # 20,000 ids at most: room before 48 bits of milliseconds run out
        ids = make(count, now_ms=now)
        assert len(ids) == count
        # Never earlier than the clock: an id takes the clock's time, or a later one already handed out
        assert millis(ids[0]) >= now
        every += ids
    assert_well_formed(every)
    assert_strictly_increasing(every)


def test_the_journal_stores_v7_ids_that_grow_across_its_appends(tmp_path, monkeypatch):
    monkeypatch.setattr(journal_prepare, "_EVENT_IDS", EventIds(wall_ms=lambda: NOW_MS))
    with Journal(tmp_path / "journal.db", "north-gate") as journal:
        events = journal.append_many([EventDraft(EventKind.PASSAGE)] * 300)
        events += [journal.append(EventKind.MEASUREMENT, {"celsius": 36.5})]
        events += journal.append_many([EventDraft(EventKind.PASSAGE)] * 300)
        ids = [e.id for e in events]
        assert_well_formed(ids)
        assert_strictly_increasing(ids)
        assert [e.id for e in journal.events_after(0, limit=1000)] == ids


def test_old_version_4_ids_and_new_version_7_ids_live_in_one_journal(tmp_path):
    # Ids already stored stay as they are: the journal and the office treat an id as an opaque string
    path = tmp_path / "journal.db"
    with Journal(path, "north-gate") as journal:
        old = journal.append(EventKind.PASSAGE, {"n": 1})
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE events SET id = ? WHERE seq = ?", (uuid.uuid4().hex, old.seq))
    conn.close()
    with Journal(path, "north-gate") as journal:
        new = journal.append_many([EventDraft(EventKind.PASSAGE, {"n": 2})] * 3)
        stored = [e.id for e in journal.events_after(0)]
    assert uuid.UUID(stored[0]).version == 4
    assert [uuid.UUID(i).version for i in stored[1:]] == [7, 7, 7] and stored[1:] == [e.id for e in new]
