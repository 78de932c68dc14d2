"""The journal stamps each transaction's events with the clock it used (boot, mono_ms, clock: kiosk.gate.clock);
rows journaled before migration m003 keep NULL there."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
import sqlite_utils

from kiosk.events import EventKind
from kiosk.exc import JournalError
from kiosk.gate.clock import FakeClockSource, GateClock, TrustCode
from kiosk.gate.journal import EventDraft, Journal, JournalReader, migrations

T0 = datetime(2026, 12, 1, 8, 0, 0, 250000, tzinfo=UTC)
GATE = "north"
STAMP_SQL = "SELECT seq, ts, boot, mono_ms, clock FROM events ORDER BY seq"


def rows(path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(STAMP_SQL).fetchall()


def gate_journal(path, source: FakeClockSource) -> Journal:
    # the journal's wall clock and the seam's are one clock, as in kiosk run
    return Journal(path, GATE, clock=source.wall, gate_clock=GateClock(source, sync_cache_s=0))


def test_a_batch_shares_one_stamp_and_the_event_carries_it(tmp_path):
    source = FakeClockSource(T0)
    with gate_journal(tmp_path / "j.db", source) as journal:
        events = journal.append_many([EventDraft(EventKind.PASSAGE), EventDraft(EventKind.MEASUREMENT)])
        source.advance(1.5)
        single = journal.append(EventKind.PASSAGE, {})
        assert journal.get(3) == single and journal.tail(3)[:2] == events
    assert rows(tmp_path / "j.db") == [
        (1, "2026-12-01T08:00:00.250Z", "boot-1", 100_000, "trusted"),
        (2, "2026-12-01T08:00:00.250Z", "boot-1", 100_000, "trusted"),
        (3, "2026-12-01T08:00:01.750Z", "boot-1", 101_500, "trusted"),
    ]
    assert events[0].to_dict()["boot"] == "boot-1" and events[0].to_dict()["mono_ms"] == 100_000
    assert single.to_dict()["clock"] == "trusted"


def test_a_clock_gone_back_after_a_power_cut_is_stamped_behind_the_journal(tmp_path):
    path = tmp_path / "j.db"
    source = FakeClockSource(T0)
    with gate_journal(path, source) as journal:
        journal.append(EventKind.PASSAGE, {})
    # the power cut: a new boot, the wall clock 3 hours behind, not synchronised
    source.reboot("boot-2", T0 - timedelta(hours=3), synchronised=False)
    with gate_journal(path, source) as journal:
        assert journal.newest_ts == "2026-12-01T08:00:00.250Z"  # read back from the file
        trust = journal.clock_trust()
        assert trust.code is TrustCode.BEHIND_JOURNAL and trust.behind_s == 3 * 3600
        journal.append(EventKind.PASSAGE, {})
        source.advance(2)
        journal.append(EventKind.PASSAGE, {})
        assert journal.newest_ts == "2026-12-01T08:00:00.250Z"  # an older time never lowers it
        # NTP steps it right
        source.step(T0 + timedelta(minutes=5))
        source.sync = True
        journal.append(EventKind.PASSAGE, {})
        assert journal.clock_trust().trusted and journal.newest_ts == "2026-12-01T08:05:00.250Z"
    assert rows(path) == [
        (1, "2026-12-01T08:00:00.250Z", "boot-1", 100_000, "trusted"),
        (2, "2026-12-01T05:00:00.250Z", "boot-2", 5_000, "behind_journal"),
        (3, "2026-12-01T05:00:02.250Z", "boot-2", 7_000, "behind_journal"),
        (4, "2026-12-01T08:05:00.250Z", "boot-2", 7_000, "trusted"),
    ]


def test_unsynchronised_and_off_office_reach_the_rows(tmp_path):
    source = FakeClockSource(T0, synchronised=False)
    with gate_journal(tmp_path / "j.db", source) as journal:
        assert journal.append(EventKind.PASSAGE, {}).clock == "unsynchronised"
        journal.gate_clock.observe_office({"clock_offset_s": -900.0}, source.wall(), source.monotonic_s())
        assert journal.append(EventKind.PASSAGE, {}).clock == "off_office"


def test_rows_from_before_m003_keep_null_and_read_without_the_stamp(tmp_path):
    path = tmp_path / "j.db"
    db = sqlite_utils.Database(path)
    migrations.apply(db, stop_before="m003_clock_stamp")
    db["meta"].insert({"key": "gate_id", "value": GATE})
    db["events"].insert({"seq": 1, "id": "a" * 32, "ts": "2026-11-30T00:00:00.000Z", "gate_id": GATE,
                         "kind": "passage", "data": "{}"})
    db.execute("UPDATE meta SET value = 1 WHERE key = 'last_seq'")
    db.close()
    with JournalReader(path) as reader:  # a reader of a file no writer has migrated yet
        old = reader.get(1)
        assert (old.boot, old.mono_ms, old.clock) == (None, None, None)
        assert set(old.to_dict()) == {"seq", "id", "ts", "gate_id", "volunteer_id", "kind", "subject", "household_id",
                                      "data"}
    source = FakeClockSource(T0)
    with gate_journal(path, source) as journal:
        assert journal.get(1) == old
        assert journal.append(EventKind.PASSAGE, {}).boot == "boot-1"
    assert rows(path) == [(1, "2026-11-30T00:00:00.000Z", None, None, None),
                          (2, "2026-12-01T08:00:00.250Z", "boot-1", 100_000, "trusted")]


def test_a_refused_batch_leaves_the_newest_time_alone(tmp_path):
    source = FakeClockSource(T0)
    with gate_journal(tmp_path / "j.db", source) as journal:
        journal.append(EventKind.PASSAGE, {})
        source.advance(3600)
        with pytest.raises(JournalError):
            journal.append_many([EventDraft(EventKind.PASSAGE), EventDraft(EventKind.PASSAGE, {"x": float("nan")})])
        assert journal.newest_ts == "2026-12-01T08:00:00.250Z" and journal.last_seq == 1
