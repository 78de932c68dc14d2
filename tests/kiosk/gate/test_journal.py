"""The gate's journal: gap-free seq, acknowledgement, retention, personal data, threads, migrations."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlite_utils
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.events import Event, EventKind
from kiosk.exc import JournalClosedError, JournalError, PersonalDataError
from kiosk.gate.journal import EventDraft, Journal, JournalReader, format_ts, migrations

T0 = datetime(2026, 11, 28, 1, 30, tzinfo=UTC)
GATE = "north-gate"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def path(tmp_path):
    return tmp_path / "journal.db"


@pytest.fixture
def journal(path, clock):
    with Journal(path, GATE, clock=clock) as j:
        yield j


def passage(n: int = 0, **data) -> dict:
    return {"direction": "out", "verdict": "admit", "n": n, **data}


def stored_seqs(path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT seq FROM events ORDER BY seq")]


# -- appending ---------------------------------------------------------------


def test_append_returns_the_stored_event(journal, clock):
    event = journal.append(
        EventKind.PASSAGE, {"name": "张三", "verdict": "admit"},
        volunteer_id="v7", subject="resident:12", household_id=3,
    )
    assert isinstance(event, Event)
    assert event.seq == 1
    assert len(event.id) == 32 and int(event.id, 16) >= 0
    assert event.ts == "2026-11-28T01:30:00.000Z"
    assert (event.gate_id, event.volunteer_id, event.kind) == (GATE, "v7", EventKind.PASSAGE)
    assert (event.subject, event.household_id) == ("resident:12", 3)
    assert journal.get(1) == event


def test_data_is_stored_as_readable_utf8_json(journal, path):
    journal.append(EventKind.VISITOR_REGISTRATION, {"name": "李四", "from": "武汉"})
    with sqlite3.connect(path) as conn:
        (text,) = conn.execute("SELECT data FROM events").fetchone()
    assert "李四" in text and json.loads(text) == {"name": "李四", "from": "武汉"}


def test_the_event_returned_holds_what_was_stored(journal):
    event = journal.append(EventKind.MEASUREMENT, {"readings": (36.5, 36.6)})
    assert event.data == {"readings": [36.5, 36.6]} == journal.get(event.seq).data


def test_timestamps_are_utc_with_milliseconds_and_z(journal, clock):
    clock.now = datetime(2026, 11, 28, 9, 30, 1, 234567, tzinfo=timezone(timedelta(hours=8)))
    assert journal.append(EventKind.PASSAGE, {}).ts == "2026-11-28T01:30:01.234Z"
    assert datetime.fromisoformat(journal.get(1).ts) == datetime(2026, 11, 28, 1, 30, 1, 234000, tzinfo=UTC)


def test_a_naive_clock_is_refused_and_nothing_stored(path):
    with Journal(path, GATE, clock=lambda: datetime(2026, 1, 1)) as j:
        with pytest.raises(JournalError, match="naive"):
            j.append(EventKind.PASSAGE, {})
        assert j.count() == 0 and j.last_seq == 0


def test_kind_may_be_given_by_value(journal):
    assert journal.append("measurement", {}).kind is EventKind.MEASUREMENT
    with pytest.raises(JournalError, match="unknown event kind"):
        journal.append("teleport", {})


@pytest.mark.parametrize(
    "data",
    [{"when": datetime(2026, 1, 1)}, {"raw": b"\x00"}, {"t": float("nan")}, ["not", "a", "dict"], None],
)
def test_data_that_is_not_json_is_refused_and_nothing_stored(journal, data):
    with pytest.raises(JournalError) as info:
        journal.append(EventKind.PASSAGE, data)
    assert not isinstance(info.value, PersonalDataError)
    assert journal.count() == 0 and journal.last_seq == 0


def test_circular_data_is_refused(journal):
    data: dict = {}
    data["self"] = data
    with pytest.raises(JournalError, match="not JSON"):
        journal.append(EventKind.PASSAGE, data)


@pytest.mark.parametrize(
    ("field", "value"),
    [("household_id", "3"), ("household_id", True), ("subject", 12), ("volunteer_id", 7)],
)
def test_bad_column_values_are_refused(journal, field, value):
    with pytest.raises(JournalError, match=field):
        journal.append(EventKind.PASSAGE, {}, **{field: value})
    assert journal.count() == 0


# -- personal data -------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"id_number": "110101199003071234"},
        {"visitor": {"name": "李四", "id_card_number": "110101199003071234"}},
        {"people": [{"name": "a"}, {"docs": [{"ID_Number": "x"}]}]},
        {"a": {"b": {"c": {"d": [[{"id_number": None}]]}}}},
        {"x": [1, {" Id_Card_Number ": "1"}]},
    ],
)
def test_clear_id_numbers_are_refused_at_any_depth(journal, data):
    with pytest.raises(PersonalDataError, match="hash"):
        journal.append(EventKind.VISITOR_REGISTRATION, data)
    assert journal.count() == 0 and journal.last_seq == 0


def test_the_refusal_names_where_but_never_echoes_the_number(journal):
    with pytest.raises(PersonalDataError) as info:
        journal.append(EventKind.VISITOR_REGISTRATION, {"visitor": {"id_number": "110101199003071234"}})
    assert "data.visitor.id_number" in str(info.value)
    assert "110101199003071234" not in str(info.value)


def test_hashed_and_masked_ids_are_accepted(journal):
    event = journal.append(
        EventKind.VISITOR_REGISTRATION, {"id_hash": "9f2c…", "id_masked": "1101**********1234", "note": "id_number"}
    )
    assert event.seq == 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["a", "b", "name", "id_number", "id_card_number", "ID_NUMBER"]), children, max_size=3),
    max_leaves=12,
)


def _has_forbidden_key(value) -> bool:
    if isinstance(value, dict):
        return any(k.lower() in ("id_number", "id_card_number") or _has_forbidden_key(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_forbidden_key(v) for v in value)
    return False


def test_any_structure_with_a_forbidden_key_is_refused_and_any_other_stored(path):
    with Journal(path, GATE) as j:

        @settings(max_examples=60, deadline=None)
        @given(json_values)
        def check(value):
            before = j.last_seq
            if _has_forbidden_key(value):
                with pytest.raises(PersonalDataError):
                    j.append(EventKind.PASSAGE, {"v": value})
                assert j.last_seq == before
            else:
                assert j.append(EventKind.PASSAGE, {"v": value}).data == {"v": value}

        check()


# -- seq ---------------------------------------------------------------------


def test_seq_is_gap_free_across_reopening(path, clock):
    with Journal(path, GATE, clock=clock) as j:
        assert [j.append(EventKind.PASSAGE, passage(i)).seq for i in range(3)] == [1, 2, 3]
    with Journal.open(path, GATE, clock=clock) as j:
        assert j.last_seq == 3
        assert [e.seq for e in j.append_many([EventDraft(EventKind.MEASUREMENT, {})] * 2)] == [4, 5]
    with Journal(path, GATE) as j:
        assert j.append(EventKind.PASSAGE, {}).seq == 6
    assert stored_seqs(path) == [1, 2, 3, 4, 5, 6]


def test_append_many_assigns_consecutive_seqs_in_one_go(journal):
    journal.append(EventKind.PASSAGE, {})
    events = journal.append_many(EventDraft(EventKind.MEASUREMENT, {"i": i}) for i in range(5))
    assert [e.seq for e in events] == [2, 3, 4, 5, 6]
    assert [e.data["i"] for e in events] == list(range(5))
    assert journal.append_many([]) == []
    assert journal.last_seq == 6


@pytest.mark.parametrize(
    "bad",
    [
        EventDraft(EventKind.PASSAGE, {"id_number": "1"}),
        EventDraft(EventKind.PASSAGE, {"x": object()}),
        EventDraft("nonsense", {}),
        EventDraft(EventKind.PASSAGE, {}, household_id="12"),
    ],
)
def test_append_many_stores_nothing_when_one_draft_is_bad(journal, bad):
    journal.append(EventKind.PASSAGE, {})
    drafts = [EventDraft(EventKind.PASSAGE, {"i": 1}), bad, EventDraft(EventKind.PASSAGE, {"i": 3})]
    with pytest.raises((JournalError, PersonalDataError)):
        journal.append_many(drafts)
    assert journal.count() == 1 and journal.last_seq == 1
    assert journal.append(EventKind.PASSAGE, {}).seq == 2


def test_a_failing_insert_rolls_back_the_whole_batch_and_uses_no_seq(journal, path):
    journal.append(EventKind.PASSAGE, {})
    # Sabotage: make meta lag behind the rows so the batch's first INSERT collides
    journal._writer.execute("UPDATE meta SET value = 0 WHERE key = 'last_seq'")
    with pytest.raises(JournalError) as info:
        journal.append_many([EventDraft(EventKind.PASSAGE, {})] * 3)
    assert isinstance(info.value.__cause__, sqlite3.IntegrityError)
    assert stored_seqs(path) == [1] and journal.last_seq == 0


def test_a_full_disk_is_a_journal_error_and_stores_nothing(journal):
    journal.append(EventKind.PASSAGE, {})
    writer = journal._writer
    (pages,) = writer.execute("PRAGMA page_count").fetchone()
    writer.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(JournalError, match="full") as info:
        journal.append_many([EventDraft(EventKind.PASSAGE, {"pad": "x" * 10_000})] * 5)
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)
    assert journal.count() == 1 and journal.last_seq == 1
    writer.execute("PRAGMA max_page_count = 1073741823")
    assert journal.append(EventKind.PASSAGE, {}).seq == 2


def test_a_locked_database_is_a_journal_error_and_stores_nothing(journal, path):
    journal._writer.execute("PRAGMA busy_timeout = 50")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(JournalError, match="locked") as info:
            journal.append(EventKind.PASSAGE, {})
        assert isinstance(info.value.__cause__, sqlite3.OperationalError)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert journal.append(EventKind.PASSAGE, {}).seq == 1


def test_concurrent_appends_from_eight_threads_are_gap_free(journal, path):
    results: list[list[Event]] = [[] for _ in range(8)]
    start = threading.Barrier(8)

    def work(n: int) -> None:
        start.wait()
        for i in range(40):
            if i % 4 == 0:
                results[n].extend(journal.append_many([EventDraft(EventKind.MEASUREMENT, {"t": n})] * 3))
            else:
                results[n].append(journal.append(EventKind.PASSAGE, {"t": n, "i": i}))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = [e for batch in results for e in batch]
    total = 8 * (30 + 10 * 3)
    assert sorted(e.seq for e in events) == list(range(1, total + 1))
    assert len({e.id for e in events}) == total
    assert stored_seqs(path) == list(range(1, total + 1))
    assert all(journal.get(e.seq) == e for e in events)
    assert journal.last_seq == total


# -- reading while writing -----------------------------------------------------


def test_reads_do_not_wait_for_the_writer_lock(journal):
    journal.append(EventKind.PASSAGE, {})
    seen = {}

    def read() -> None:
        seen["count"] = journal.count()
        seen["last"] = journal.last_seq
        seen["after"] = journal.events_after(0)

    with journal._lock:  # as if an append were in progress
        reader = threading.Thread(target=read)
        reader.start()
        reader.join(timeout=5)
        assert not reader.is_alive()
    assert seen["count"] == 1 and seen["last"] == 1 and len(seen["after"]) == 1


def test_another_thread_reads_a_consistent_growing_journal(journal):
    done = threading.Event()
    problems: list[str] = []

    def watch() -> None:
        previous = 0
        while not done.is_set():
            last = journal.last_seq
            if last < previous:
                problems.append(f"last_seq went back {previous} → {last}")
            seqs = [e.seq for e in journal.events_after(0, limit=100_000)]
            if seqs != list(range(1, len(seqs) + 1)) or len(seqs) < last:
                problems.append(f"saw seqs {seqs[:3]}… ({len(seqs)}) with last_seq {last}")
            previous = last

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for i in range(150):
            journal.append(EventKind.PASSAGE, {"i": i})
    finally:
        done.set()
        watcher.join()
    assert problems == []
    assert journal.count() == 150


# -- the outbox and acknowledgement ------------------------------------------------


def test_events_after_and_unacknowledged_are_the_outbox(journal):
    journal.append_many([EventDraft(EventKind.PASSAGE, {"i": i}) for i in range(10)])
    assert [e.seq for e in journal.events_after(7)] == [8, 9, 10]
    assert [e.seq for e in journal.events_after(2, limit=3)] == [3, 4, 5]
    assert journal.events_after(10) == []
    assert journal.acknowledge(4) == 4
    assert [e.seq for e in journal.unacknowledged()] == [5, 6, 7, 8, 9, 10]
    assert [e.seq for e in journal.unacknowledged(limit=2)] == [5, 6]
    assert journal.backlog() == 6


def test_acknowledge_never_moves_backwards(journal):
    journal.append_many([EventDraft(EventKind.PASSAGE, {})] * 5)
    assert journal.acknowledge(3) == 3
    assert journal.acknowledge(1) == 3
    assert journal.acknowledge(0) == 3
    assert journal.acked_seq == 3
    assert journal.acknowledge(5) == 5 and journal.backlog() == 0


@pytest.mark.parametrize("seq", [6, 1000, -1])
def test_acknowledge_outside_the_journal_is_an_error(journal, seq):
    journal.append_many([EventDraft(EventKind.PASSAGE, {})] * 5)
    journal.acknowledge(2)
    with pytest.raises(JournalError, match="cannot acknowledge"):
        journal.acknowledge(seq)
    assert journal.acked_seq == 2


def test_acknowledgement_survives_reopening(path):
    with Journal(path, GATE) as j:
        j.append_many([EventDraft(EventKind.PASSAGE, {})] * 3)
        j.acknowledge(2)
    with Journal(path, GATE) as j:
        assert (j.acked_seq, j.last_seq, j.backlog()) == (2, 3, 1)


# -- retention -------------------------------------------------------------------


def test_purge_deletes_only_acknowledged_events_past_retention(journal, clock):
    journal.append_many([EventDraft(EventKind.PASSAGE, {"i": i}) for i in range(6)])  # 1-6 at T0
    clock.advance(days=20)
    journal.append_many([EventDraft(EventKind.PASSAGE, {"i": i}) for i in range(4)])  # 7-10 at T0+20d
    journal.acknowledge(8)
    clock.advance(days=15)  # 1-6 are 35 days old, 7-10 are 15
    assert journal.purge(30) == 6
    assert [e.seq for e in journal.events_after(0)] == [7, 8, 9, 10]
    # 7 and 8 are acknowledged and, a year on, old enough; 9 and 10 are never acknowledged
    assert journal.purge(30, now=T0 + timedelta(days=400)) == 2
    assert [e.seq for e in journal.events_after(0)] == [9, 10]
    assert journal.purge(0, now=T0 + timedelta(days=4000)) == 0
    assert journal.count() == 2


def test_seq_continues_after_everything_purgeable_was_purged(path, clock):
    with Journal(path, GATE, clock=clock) as j:
        j.append_many([EventDraft(EventKind.PASSAGE, {})] * 5)
        j.acknowledge(5)
        clock.advance(days=31)
        assert j.purge(30) == 5
        assert j.count() == 0 and j.last_seq == 5 and j.backlog() == 0
        assert j.append(EventKind.PASSAGE, {}).seq == 6
    with Journal(path, GATE, clock=clock) as j:
        j.acknowledge(6)
        clock.advance(days=31)
        assert j.purge(30) == 1
    with Journal(path, GATE, clock=clock) as j:
        assert j.count() == 0
        assert j.append(EventKind.PASSAGE, {}).seq == 7


def test_purge_refuses_a_negative_retention(journal):
    with pytest.raises(ValueError):
        journal.purge(-1)


# -- queries the gate makes ------------------------------------------------------------


def test_last_event_of_a_subject(journal, clock):
    journal.append(EventKind.PASSAGE, passage(1), subject="resident:12", household_id=3)
    journal.append(EventKind.PASSAGE, passage(2), subject="resident:13", household_id=3)
    journal.append(EventKind.MEASUREMENT, {"t": 36.5}, subject="resident:12")
    assert journal.last_event("resident:12").seq == 1
    assert journal.last_event("resident:12", kinds=[EventKind.MEASUREMENT, EventKind.PASSAGE]).seq == 3
    assert journal.last_event("resident:99") is None
    with pytest.raises(ValueError):
        journal.last_event("resident:12", kinds=[])


def test_events_of_household_since(journal, clock):
    journal.append(EventKind.PASSAGE, passage(1), subject="resident:1", household_id=3)
    clock.advance(days=1)
    journal.append(EventKind.PASSAGE, passage(2), subject="resident:2", household_id=3)
    journal.append(EventKind.PASSAGE, passage(3), subject="resident:5", household_id=4)
    journal.append(EventKind.VEHICLE, passage(4), subject="vehicle:1", household_id=3)
    since = (T0 + timedelta(hours=12)).astimezone(timezone(timedelta(hours=8)))  # any aware zone
    assert [e.data["n"] for e in journal.events_of_household(3, since)] == [2]
    assert [e.data["n"] for e in journal.events_of_household(3, T0)] == [1, 2]
    both = journal.events_of_household(3, T0, kinds=(EventKind.PASSAGE, EventKind.VEHICLE))
    assert [e.data["n"] for e in both] == [1, 2, 4]
    assert journal.events_of_household(99, T0) == []


def test_get_count_tail_and_stats(journal, clock):
    assert journal.get(1) is None and journal.count() == 0 and journal.tail() == []
    journal.append_many([EventDraft(EventKind.PASSAGE, {"i": i}) for i in range(4)])
    clock.advance(minutes=5)
    journal.append(EventKind.ALARM_RAISED, {"reason": "fever"})
    journal.acknowledge(2)
    assert journal.count() == 5
    assert [e.seq for e in journal.tail(2)] == [4, 5]
    stats = journal.stats()
    assert (stats.gate_id, stats.last_seq, stats.acked_seq, stats.backlog, stats.count) == (GATE, 5, 2, 3, 5)
    assert stats.oldest_ts == format_ts(T0) and stats.newest_ts == format_ts(clock.now)
    assert journal.integrity_check() == "ok"


# -- lifecycle ----------------------------------------------------------------------


def test_closed_journal(path):
    j = Journal(path, GATE)
    j.append(EventKind.PASSAGE, {})
    j.close()
    j.close()  # idempotent
    assert j.closed
    with pytest.raises(JournalClosedError):
        j.append(EventKind.PASSAGE, {})
    with pytest.raises(JournalClosedError):
        j.append_many([EventDraft(EventKind.PASSAGE, {})])
    with pytest.raises(JournalClosedError):
        j.acknowledge(1)
    with pytest.raises(JournalClosedError):
        j.count()
    assert isinstance(JournalClosedError("x"), JournalError)
    assert stored_seqs(path) == [1]


def test_read_connections_of_other_threads_are_closed_too(path):
    j = Journal(path, GATE)
    j.append(EventKind.PASSAGE, {})
    worker = threading.Thread(target=j.count)
    worker.start()
    worker.join()
    j.close()
    assert j._readers == []
    assert not os.path.exists(f"{path}-wal")  # the last connection closed checkpoints the WAL


def test_a_journal_belongs_to_one_gate(path):
    Journal(path, GATE).close()
    with pytest.raises(JournalError, match="belongs to gate 'north-gate'"):
        Journal(path, "south-gate")


def test_a_missing_directory_is_a_journal_error(tmp_path):
    with pytest.raises(JournalError, match="cannot open"):
        Journal(tmp_path / "nowhere" / "journal.db", GATE)


def test_a_file_that_is_not_a_database_is_refused(path):
    path.write_text("hello")
    with pytest.raises(JournalError):
        Journal(path, GATE)
    assert path.read_text() == "hello"


def test_durability_pragmas(journal, path):
    assert journal._writer.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert journal._writer.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


# -- schema and migrations ----------------------------------------------------------------

# Shipped migrations, in order. Never edit or reorder one; append new ones here and in kiosk/journal.py.
SHIPPED = ["m001_initial", "m002_kind_ts_index", "m003_clock_stamp"]


def test_migration_names_are_append_only():
    names = [m.name for m in migrations.pending(sqlite_utils.Database(memory=True))]
    assert names[: len(SHIPPED)] == SHIPPED


def test_a_fresh_file_is_created_and_migrated(path):
    assert not path.exists()
    Journal(path, GATE).close()
    db = sqlite_utils.Database(path)
    assert {"events", "meta", "_sqlite_migrations"} <= set(db.table_names())
    assert migrations.pending(db) == []
    assert [m.name for m in migrations.applied(db)] == SHIPPED
    assert db["events"].pks == ["seq"]
    indexes = {tuple(i.columns): i.unique for i in db["events"].indexes}
    assert indexes[("id",)] == 1 and ("subject", "seq") in indexes and ("household_id", "seq") in indexes
    meta = {row["key"]: row["value"] for row in db["meta"].rows}
    assert meta == {"last_seq": 0, "acked_seq": 0, "gate_id": GATE}
    assert db.journal_mode == "wal"
    db.close()


def test_a_file_migrated_by_an_earlier_version_opens_and_keeps_its_rows(path):
    # What an earlier release left behind: the migration set applied, rows written by hand
    db = sqlite_utils.Database(path)
    migrations.apply(db)
    db["events"].insert(
        {"seq": 1, "id": "a" * 32, "ts": "2026-01-01T00:00:00.000Z", "gate_id": GATE,
         "kind": "passage", "data": "{}"}
    )
    db.execute("UPDATE meta SET value = 1 WHERE key = 'last_seq'")
    db.close()
    with Journal(path, GATE) as j:
        assert j.get(1).id == "a" * 32
        assert j.append(EventKind.PASSAGE, {}).seq == 2
        assert j.gate_id == GATE


def test_reopening_applies_no_migration_twice(path):
    for _ in range(3):
        Journal(path, GATE).close()
    db = sqlite_utils.Database(path)
    assert [m.name for m in migrations.applied(db)] == SHIPPED
    db.close()


# -- the read-only side -----------------------------------------------------------------


def test_reader_reads_a_live_journal_without_writing(journal, path):
    journal.append_many([EventDraft(EventKind.PASSAGE, {"i": i}) for i in range(3)])
    with JournalReader(path) as reader:
        assert reader.last_seq == 3 and reader.gate_id == GATE
        journal.append(EventKind.PASSAGE, {})
        assert [e.seq for e in reader.tail(2)] == [3, 4]
        assert not hasattr(reader, "append")
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader._reader().execute("DELETE FROM events")


def test_reader_refuses_missing_and_foreign_files(tmp_path):
    missing = tmp_path / "none.db"
    with pytest.raises(JournalError, match="does not exist"):
        JournalReader(missing)
    assert not missing.exists()
    other = tmp_path / "other.db"
    sqlite_utils.Database(other)["t"].insert({"a": 1})
    with pytest.raises(JournalError, match="not a kiosk journal"):
        JournalReader(other)
