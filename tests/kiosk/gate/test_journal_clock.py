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


def test_a_card_expired_by_the_journal_stays_expired_when_the_clock_goes_back(tmp_path):
    """The conservative rule: validity is judged as much later as the clock is behind the newest journaled event."""
    from datetime import date
    from zoneinfo import ZoneInfo

    from kiosk.cards import CardKind, issue_card
    from kiosk.config import GateConfig
    from kiosk.gate.checkpoint import Checkpoint
    from kiosk.keys import init_keys, load_keyset
    from kiosk.registry import Registry

    tz = ZoneInfo("Asia/Shanghai")
    key = init_keys(tmp_path / "keys")
    keyset = load_keyset(tmp_path / "keys" / "keyset.json")
    registry = Registry(tmp_path / "registry.db")
    registry.apply_snapshot({"households": [{"id": 1, "building": "1", "unit": "1", "room": "101"}],
                             "residents": [{"id": 1, "household_id": 1, "name": "王小山"}],
                             "cards": [{"id": 11, "kind": "resident", "subject_id": 1}],
                             "keyset": keyset.to_json()["keys"]}, version=1)
    text = issue_card(key, CardKind.RESIDENT, 1, valid_from=date(2026, 1, 1), valid_until=date(2026, 11, 30),
                      card_id=11)[1]
    source = FakeClockSource(datetime(2026, 12, 1, 9, 0, tzinfo=tz))
    journal = gate_journal(tmp_path / "j.db", source)
    checkpoint = Checkpoint(GateConfig.model_validate({"gate": {"id": GATE}}), registry, journal, keyset)
    try:
        assert checkpoint.check_card(text, source.wall()).valid is False  # 1 December: expired
        assert checkpoint.check_card(text, datetime(2026, 11, 29, 9, 0, tzinfo=tz)).valid is True  # nothing journaled
        journal.append(EventKind.PASSAGE, {})
        assert journal.behind_journal() == timedelta(0)
        source.reboot("boot-2", datetime(2026, 11, 29, 9, 0, tzinfo=tz))  # two days back after a power cut
        assert journal.behind_journal() == timedelta(days=2)
        assert checkpoint.check_card(text, source.wall()).valid is False  # still expired, not valid again
        source.step(datetime(2026, 12, 1, 9, 5, tzinfo=tz))  # NTP
        assert journal.behind_journal() == timedelta(0)
        assert checkpoint.check_card(text, source.wall()).valid is False
    finally:
        journal.close()
        registry.close()

