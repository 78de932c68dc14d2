"""Volunteer shifts (PIN lockout, hours on duty) and what the gate's screen reads back from its journal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kiosk.config.policy import PolicySettings
from kiosk.events import Event, EventKind
from kiosk.gate.journal import Journal
from kiosk.gate.ledger import counts, local_midnight, open_alarms
from kiosk.gate.policy import decide_visitor
from kiosk.gate.shifts import PinGuard, hours_on_duty
from kiosk.measurements import Measurement, MeasurementSource

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def event(seq, event_kind, minutes=0, volunteer="1", **data):
    ts = (T0 + timedelta(minutes=minutes)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return Event(seq, f"id{seq}", ts, "north", volunteer, event_kind, data)


def test_five_wrong_pins_lock_out_for_five_minutes_and_a_right_one_resets():
    guard = PinGuard()
    assert [guard.failed(1, T0) for _ in range(4)] == [4, 3, 2, 1]
    guard.succeeded(1)
    assert guard.failed(1, T0) == 4  # the count starts again after a right PIN
    for _ in range(4):
        guard.failed(1, T0)
    assert guard.locked_until(1, T0) == T0 + timedelta(minutes=5)
    assert guard.locked_until(2, T0) is None  # another volunteer is not affected
    assert guard.locked_until(1, T0 + timedelta(minutes=5)) is None
    assert guard.failed(1, T0 + timedelta(minutes=5)) == 4  # a fresh start after the lockout


def test_hours_on_duty_sum_closed_shifts_and_the_open_one():
    events = [event(1, EventKind.SHIFT_SIGN_IN, 0), event(2, EventKind.SHIFT_SIGN_OUT, 90),
              event(3, EventKind.SHIFT_SIGN_IN, 120, volunteer="2"), event(4, EventKind.SHIFT_SIGN_IN, 180)]
    assert hours_on_duty(events, "1", T0 + timedelta(minutes=210)) == 2.0  # 1.5 h + 0.5 h still on duty
    assert hours_on_duty(events, "2", T0 + timedelta(minutes=150)) == 0.5
    assert hours_on_duty(events, "3", T0) == 0


def test_counts_and_open_alarms_from_events(tmp_path):
    journal = Journal(tmp_path / "journal.db", "north", clock=lambda: T0)
    for kind, verdict, direction in [(EventKind.PASSAGE, "admit", "in"), (EventKind.PASSAGE, "admit", "in"),
                                     (EventKind.PASSAGE, "admit", "out"), (EventKind.PASSAGE, "deny", "in"),
                                     (EventKind.VEHICLE, "admit", "in"), (EventKind.VISITOR_REGISTRATION, "admit", "in"),
                                     (EventKind.PASSAGE_ABANDONED, "remeasure", "in"), (EventKind.SHIFT_SIGN_IN, None, None)]:
        journal.append(kind, {"verdict": verdict, "direction": direction})
    tally = journal.tally_since(T0 - timedelta(hours=1), (EventKind.PASSAGE, EventKind.VEHICLE,
                                                          EventKind.VISITOR_REGISTRATION, EventKind.PASSAGE_ABANDONED))
    assert counts(tally) == {"in": 3, "out": 1, "refused": 1, "vehicles": 1, "visitors": 1}
    assert journal.tally_since(T0 + timedelta(seconds=1), (EventKind.PASSAGE,)) == []
    assert [e.seq for e in journal.newest((EventKind.PASSAGE,), T0, 2)] == [4, 3]
    journal.close()
    alarms = [event(7, EventKind.ALARM_RAISED, kind="fever"), event(8, EventKind.ALARM_RAISED, kind="invalid_card"),
              event(9, EventKind.ALARM_ACKNOWLEDGED, alarm_event_id="id7")]
    assert [a.seq for a in open_alarms(alarms)] == [8]


def test_household_exits_count_only_people_let_out(tmp_path):
    journal = Journal(tmp_path / "journal.db", "north", clock=lambda: T0)
    for subject, kind, verdict, direction in [("resident:1", EventKind.PASSAGE, "admit", "out"),
                                              ("resident:2", EventKind.PASSAGE, "deny", "out"),
                                              ("resident:1", EventKind.PASSAGE, "admit", "in"),
                                              ("vehicle:1", EventKind.PASSAGE, "admit", "out"),
                                              ("visitor:3", EventKind.PASSAGE, "admit", "out"),
                                              ("resident:1", EventKind.VEHICLE, "admit", "out")]:
        journal.append(kind, {"verdict": verdict, "direction": direction}, subject=subject, household_id=7)
    journal.append(EventKind.PASSAGE, {"verdict": "admit", "direction": "out"}, subject="resident:9", household_id=8)
    assert journal.household_exit_times(7, T0 - timedelta(days=2)) == [T0]
    assert journal.household_exit_times(7, T0 + timedelta(seconds=1)) == []


def test_local_midnight_is_the_communitys_day():
    # 20:00 UTC on the 28th is already the 29th in Shanghai.
    midnight = local_midnight(datetime(2026, 11, 28, 20, 0, tzinfo=UTC), "Asia/Shanghai")
    assert midnight.astimezone(UTC) == datetime(2026, 11, 28, 16, 0, tzinfo=UTC)


def reading(c, source=MeasurementSource.MANUAL):
    return Measurement(c, None, source)


def test_visitor_policy():
    s = PolicySettings()
    assert decide_visitor([], s).verdict.value == "remeasure"
    assert decide_visitor([reading(36.5)], s).verdict.value == "admit"
    assert decide_visitor([reading(37.8)], s).verdict.value == "remeasure"
    fever = decide_visitor([reading(37.8), reading(37.9)], s)
    assert fever.verdict.value == "deny" and fever.alarms[0].kind.value == "fever"
    assert decide_visitor([reading(38.5, MeasurementSource.HANDHELD_CONTACT)], s).verdict.value == "deny"
    assert decide_visitor([], s, direction="out").verdict.value == "admit"  # leaving is not measured


def test_the_open_alarm_count_matches_the_list(tmp_path):
    from datetime import datetime, timedelta

    from kiosk.events import EventKind
    from kiosk.gate.journal import Journal
    from kiosk.gate.ledger import ALARM_HORIZON, GateLedger
    from kiosk.registry import Registry

    with Journal(tmp_path / "j.db", "north") as journal, Registry(tmp_path / "r.db") as registry:
        raised = [journal.append(EventKind.ALARM_RAISED, {"kind": "fever"}) for _ in range(5)]
        for alarm in raised[:2]:
            journal.append(EventKind.ALARM_ACKNOWLEDGED, {"alarm_event_id": alarm.id, "alarm_seq": alarm.seq})
        ledger = GateLedger(journal, registry, "Asia/Shanghai")
        now = datetime.now(UTC)
        assert ledger.open_alarm_count(now) == len(ledger.open_alarms(now)) == 3
        assert ledger.open_alarm_count(now + ALARM_HORIZON + timedelta(minutes=1)) == 0  # older than 48 h
