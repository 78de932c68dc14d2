"""The gate's clock trust through its own seam (kiosk.gate.clock): a fake clock goes backwards after a boot, drifts
from the office, is not synchronised, and recovers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kiosk.gate.clock import (
    FLOOR,
    VOUCH_S,
    ClockSource,
    FakeClockSource,
    GateClock,
    OfficeObservation,
    TrustCode,
    assess,
)

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_a_synchronised_clock_ahead_of_the_journal_is_trusted():
    trust = assess(T0, newest_ts=T0 - timedelta(minutes=1), synchronised=True)
    assert trust.code is TrustCode.TRUSTED and trust.trusted and trust.behind_s is None
    assert trust.to_dict() == {"trust": "trusted", "trusted": True, "synchronised": True, "behind_s": None,
                               "office_offset_s": None}


def test_an_unknown_synchronised_state_is_not_held_against_the_clock():
    assert assess(T0, synchronised=None).code is TrustCode.TRUSTED
    assert assess(T0, synchronised=False).code is TrustCode.UNSYNCHRONISED


def test_earlier_than_the_newest_journaled_event_is_behind_the_journal():
    trust = assess(T0, newest_ts=T0 + timedelta(hours=3), synchronised=True)
    assert trust.code is TrustCode.BEHIND_JOURNAL and not trust.trusted
    assert trust.behind_s == 3 * 3600


def test_a_clock_before_the_floor_is_behind_even_with_an_empty_journal():
    trust = assess(datetime(1970, 1, 1, 0, 5, tzinfo=UTC), synchronised=False)
    assert trust.code is TrustCode.BEHIND_JOURNAL
    assert trust.behind_s == pytest.approx((FLOOR - datetime(1970, 1, 1, 0, 5, tzinfo=UTC)).total_seconds())


def test_the_worst_finding_wins():
    office = OfficeObservation(offset_s=600.0, wall=T0, mono_s=50.0)
    assert assess(T0, newest_ts=T0 + timedelta(seconds=1), synchronised=False, office=office,
                  mono_s=50.0).code is TrustCode.BEHIND_JOURNAL
    assert assess(T0, synchronised=False, office=office, mono_s=50.0).code is TrustCode.OFF_OFFICE


def test_the_office_offset_follows_a_later_step_of_the_wall_clock():
    office = OfficeObservation(offset_s=-3 * 3600.0, wall=T0, mono_s=1000.0)
    # an hour later by the monotonic clock, NTP has stepped the wall clock 3 h forward: right again
    corrected = T0 + timedelta(hours=4)
    trust = assess(corrected, synchronised=True, office=office, mono_s=1000.0 + 3600)
    assert trust.code is TrustCode.TRUSTED and trust.office_offset_s == pytest.approx(0.0)
    # not stepped: still 3 h behind the office
    trust = assess(T0 + timedelta(hours=1), synchronised=True, office=office, mono_s=1000.0 + 3600)
    assert trust.code is TrustCode.OFF_OFFICE and trust.office_offset_s == pytest.approx(-3 * 3600)


def test_within_the_office_tolerance_is_trusted():
    office = OfficeObservation(offset_s=119.0, wall=T0, mono_s=0.0)
    assert assess(T0, synchronised=True, office=office, mono_s=0.0).code is TrustCode.TRUSTED
    strict = OfficeObservation(offset_s=30.0, wall=T0, mono_s=0.0, tolerance_s=10.0)
    assert assess(T0, synchronised=True, office=strict, mono_s=0.0).code is TrustCode.OFF_OFFICE


def test_backwards_after_a_boot_then_recovering():
    """A power cut: the Pi comes back with fake-hwclock's time, hours behind what it journaled; NTP fixes it."""
    source = FakeClockSource(T0, synchronised=True)
    clock = GateClock(source, sync_cache_s=0)
    newest = T0  # the last event before the power cut
    assert clock.stamp(newest_ts=newest).clock == "trusted"
    before = clock.stamp()
    source.reboot("boot-2", wall=T0 - timedelta(hours=5), synchronised=False)
    stamp = clock.stamp(newest_ts=newest)
    assert (stamp.boot, stamp.clock) == ("boot-2", "behind_journal")
    assert stamp.mono_ms == 5000 and before.mono_ms == 100_000 and before.boot == "boot-1"
    source.advance(60)
    assert clock.assess(newest_ts=newest).behind_s == pytest.approx(5 * 3600 - 60)
    # NTP reaches a server: the wall clock is stepped to the right time and the kernel says synchronised
    source.step(T0 + timedelta(minutes=10))
    source.sync = True
    assert clock.stamp(newest_ts=newest).clock == "trusted"


def test_far_from_the_office_at_the_heartbeat():
    source = FakeClockSource(T0, synchronised=True)
    clock = GateClock(source)
    clock.observe_office({"clock_offset_s": 7200.0, "clock_off": True}, source.wall(), source.monotonic_s())
    assert clock.assess().code is TrustCode.OFF_OFFICE
    source.advance(30)
    assert clock.assess().office_offset_s == pytest.approx(7200.0)
    # the next heartbeat finds it right (someone set it)
    source.step(source.wall() - timedelta(hours=2))
    assert clock.assess().code is TrustCode.TRUSTED  # the step itself is seen before the next beat
    clock.observe_office({"clock_offset_s": 0.4, "clock_off": False}, source.wall(), source.monotonic_s())
    assert clock.assess().code is TrustCode.TRUSTED


def test_the_office_may_name_its_own_tolerance_and_a_bad_answer_is_ignored():
    source = FakeClockSource(T0, synchronised=True)
    clock = GateClock(source)
    clock.observe_office({"clock_offset_s": 30.0, "clock_tolerance_s": 10.0}, source.wall(), source.monotonic_s())
    assert clock.assess().code is TrustCode.OFF_OFFICE
    for bad in ({}, {"clock_offset_s": "7200"}, {"clock_offset_s": True}, {"clock_offset_s": 1.0, "clock_tolerance_s": 0},
                {"clock_offset_s": float("inf")}):
        clock.observe_office(bad, source.wall(), source.monotonic_s())
        assert clock.assess().code is TrustCode.OFF_OFFICE  # the last good answer stands


def test_a_recent_heartbeat_within_tolerance_vouches_for_an_unsynchronised_clock():
    """An office LAN without internet: NTP never synchronises, the office's clock is the reference."""
    office = OfficeObservation(offset_s=0.8, wall=T0, mono_s=500.0)
    assert assess(T0, synchronised=False, office=office, mono_s=500.0).code is TrustCode.TRUSTED
    later = T0 + timedelta(seconds=VOUCH_S)
    assert assess(later, synchronised=False, office=office, mono_s=500.0 + VOUCH_S).code is TrustCode.TRUSTED
    later += timedelta(seconds=1)
    assert assess(later, synchronised=False, office=office, mono_s=501.0 + VOUCH_S).code is TrustCode.UNSYNCHRONISED


def test_not_synchronised_and_the_cache():
    source = FakeClockSource(T0, synchronised=False)
    clock = GateClock(source, sync_cache_s=10)
    assert clock.assess().code is TrustCode.UNSYNCHRONISED
    source.sync = True
    assert clock.assess().code is TrustCode.UNSYNCHRONISED  # read again only after 10 s
    source.advance(11)
    assert clock.assess().code is TrustCode.TRUSTED


def test_the_real_source_reads_this_machine():
    source = ClockSource()
    boot = source.boot_id()
    assert boot is None or (0 < len(boot) <= 64 and boot == source.boot_id())
    assert source.synchronised() in (True, False, None)
    assert source.wall().tzinfo is UTC
    clock = GateClock(source)
    first = clock.mono_ms()
    assert 0 <= first <= clock.mono_ms() <= 2**53
    assert clock.stamp().clock in {c.value for c in TrustCode}
