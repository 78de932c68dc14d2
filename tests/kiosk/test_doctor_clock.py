"""``kiosk doctor``'s clock line: trusted or not, judged against the gate's journal as the gate itself judges it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kiosk.doctor import Status, check_clock
from kiosk.events import EventKind
from kiosk.gate.clock import FakeClockSource, GateClock
from kiosk.gate.journal import Journal

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _journal_at(path, moment: datetime) -> None:
    source = FakeClockSource(moment)
    with Journal(path, "north", clock=source.wall, gate_clock=GateClock(source)) as journal:
        journal.append(EventKind.PASSAGE, {})


def test_a_clock_behind_the_journal_fails_and_says_how_to_add_an_rtc(tmp_path):
    _journal_at(tmp_path / "journal.db", T0 + timedelta(hours=5))
    check = check_clock(T0, lambda: True, journal_path=tmp_path / "journal.db")
    assert check.status is Status.FAIL
    assert "not trusted" in check.detail and "5.0 h behind the journal" in check.detail, check.detail
    assert "docs/clock.md" in check.hint and "timedatectl" in check.hint


def test_a_synchronised_clock_ahead_of_the_journal_is_trusted(tmp_path):
    _journal_at(tmp_path / "journal.db", T0 - timedelta(minutes=1))
    check = check_clock(T0, lambda: True, journal_path=tmp_path / "journal.db")
    assert check.status is Status.OK and "trusted" in check.detail


def test_without_a_journal_or_sync_the_clock_is_only_a_warning(tmp_path):
    check = check_clock(T0, lambda: False, journal_path=tmp_path / "none.db")
    assert check.status is Status.WARN and "not trusted" in check.detail and "docs/clock.md" in check.hint
    (tmp_path / "junk.db").write_bytes(b"not sqlite")
    assert check_clock(T0, lambda: True, journal_path=tmp_path / "junk.db").status is Status.OK


def test_a_clock_before_2024_is_not_trusted():
    check = check_clock(datetime(1970, 1, 1, 0, 1, tzinfo=UTC), lambda: True)
    assert check.status is Status.FAIL and "not trusted" in check.detail and "docs/clock.md" in check.hint
