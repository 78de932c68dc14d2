"""The gate leaf (issue 13): the reed switch on gpiozero's mock pins, the watch's journal entries and its
gate-left-open alarm (once per opening, stricter at night, cleared when the leaf shuts), restarts, and the
office's schema for what it journals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kiosk.config.hardware import GateLeafSettings
from kiosk.events import EventKind
from kiosk.gate.gate_leaf import CLOSED_OUTCOME, GateLeafWatch, alarm_after, is_night, leaf_action
from kiosk.gate.journal import Journal, format_ts
from kiosk.office.event_schemas import data_problem

# 2026-11-28 10:00 in Shanghai (UTC+8): day. 14:00 UTC is 22:00 there: night.
DAY = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
NIGHT = datetime(2026, 11, 28, 14, 30, tzinfo=UTC)
TZ = "Asia/Shanghai"
SETTINGS = GateLeafSettings(pin=5, open_alarm_after_min=10, night_open_alarm_after_min=3, settle_s=2)


# -- the rules -----------------------------------------------------------------

@pytest.mark.parametrize("local, night_from, night_until, expected", [
    ("22:00", "22:00", "06:00", True),  # the start is inside
    ("23:59", "22:00", "06:00", True),
    ("00:00", "22:00", "06:00", True),
    ("05:59", "22:00", "06:00", True),
    ("06:00", "22:00", "06:00", False),  # the end is outside
    ("21:59", "22:00", "06:00", False),
    ("12:00", "12:00", "14:00", True),  # a night that does not span midnight
    ("14:00", "12:00", "14:00", False),
    ("03:00", "00:00", "00:00", False),  # the same time twice: no night
])
def test_night(local, night_from, night_until, expected):
    hours, minutes = map(int, local.split(":"))
    assert is_night(datetime(2026, 11, 28, hours, minutes), night_from, night_until) is expected


def test_the_night_is_on_the_gates_clock_in_the_gates_time_zone():
    assert alarm_after(SETTINGS, DAY, TZ) == (timedelta(minutes=10), False)
    assert alarm_after(SETTINGS, NIGHT, TZ) == (timedelta(minutes=3), True)
    # 14:30 UTC is day in London
    assert alarm_after(SETTINGS, NIGHT, "Europe/London") == (timedelta(minutes=10), False)
    never = SETTINGS.model_copy(update={"night_open_alarm_after_min": 0})
    assert alarm_after(never, NIGHT, TZ) == (None, True)


@pytest.mark.parametrize("open_s, alarmed, alarm_open, after_min, expected", [
    (599, False, False, 10, None),  # open, not long enough
    (600, False, False, 10, "raise"),
    (5000, True, True, 10, None),  # once per opening
    (5000, True, False, 10, None),  # acknowledged while open: still once
    (5000, False, False, None, None),  # 0 = never
    (None, True, True, 10, "clear"),  # shut: the alarm clears
    (None, False, False, 10, None),
])
def test_the_rule(open_s, alarmed, alarm_open, after_min, expected):
    since = None if open_s is None else DAY - timedelta(seconds=open_s)
    after = None if after_min is None else timedelta(minutes=after_min)
    assert leaf_action(since, alarmed, alarm_open, DAY, after) == expected


# -- the watch over a real journal, on a simulated clock ---------------------------

class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def station(tmp_path):
    """Build (and rebuild, as a restart does) a watch whose journal and clock share the simulated time."""
    opened: list[Journal] = []
    clock = Clock(DAY)

    def build(settings: GateLeafSettings = SETTINGS) -> GateLeafWatch:
        for journal in opened:
            journal.close()
        journal = Journal(tmp_path / "journal.db", "north", clock=clock)
        opened.append(journal)
        return GateLeafWatch(journal, settings, TZ, clock)

    build.clock = clock  # type: ignore[attr-defined]
    yield build
    for journal in opened:
        journal.close()


def _events(watch: GateLeafWatch, kind: EventKind) -> list:
    return [e for e in watch.journal.events_after(0) if e.kind is kind]


def _open_for(watch: GateLeafWatch, clock: Clock, seconds: float) -> list:
    watch.observe(True)
    journaled = []
    for _ in range(int(seconds)):
        clock.advance(1)
        journaled += watch.check()
    return journaled


def test_open_shorter_than_the_threshold_raises_nothing_and_journals_one_opening_and_one_closing(station):
    watch, clock = station(), station.clock
    watch.observe(False)
    clock.advance(3)
    [first] = watch.check()  # the state the gate started in
    assert first.data["state"] == "closed"
    opened_at = clock() + timedelta(seconds=0)
    journaled = _open_for(watch, clock, 9 * 60)
    assert [e.kind for e in journaled] == [EventKind.GATE_LEAF]
    assert journaled[0].data == {"state": "open", "since": format_ts(opened_at)}
    status = watch.status()
    assert status == {"open": True, "since": format_ts(opened_at), "minutes": 9, "alarm": False, "night": False}
    watch.observe(False)
    shut_at = clock()
    clock.advance(2)
    [closed] = watch.check()
    assert closed.data == {"state": "closed", "since": format_ts(shut_at), "open_s": 9 * 60}
    assert _events(watch, EventKind.ALARM_RAISED) == []
    assert watch.status()["open"] is False and watch.status()["minutes"] == 0
    for event in _events(watch, EventKind.GATE_LEAF):
        assert data_problem(event.kind.value, event.data) is None


def test_open_past_the_day_threshold_raises_once_and_shutting_clears_it(station):
    watch, clock = station(), station.clock
    opened_at = clock()
    journaled = _open_for(watch, clock, 10 * 60 + 5)
    raised = [e for e in journaled if e.kind is EventKind.ALARM_RAISED]
    assert len(raised) == 1
    assert raised[0].data == {"kind": "gate_left_open", "reason": "gate_left_open", "subject": None,
                              "detail": {"since": format_ts(opened_at), "after_s": 600, "night": False}}
    assert raised[0].ts == format_ts(opened_at + timedelta(minutes=10))  # at the threshold, not later
    assert watch.status()["alarm"] is True
    assert [e.kind for e in _open_for(watch, clock, 3600)] == []  # once per opening
    watch.observe(False)
    clock.advance(2)
    closed, cleared = watch.check()
    assert closed.data["state"] == "closed" and closed.data["open_s"] == 10 * 60 + 5 + 3600 - 2 + 2
    assert cleared.kind is EventKind.ALARM_ACKNOWLEDGED
    assert cleared.data == {"alarm_event_id": raised[0].id, "alarm_seq": raised[0].seq, "kind": "gate_left_open",
                            "outcome": CLOSED_OUTCOME, "note": "", "by": "gate"}
    assert watch.status()["alarm"] is False
    for event in (raised[0], cleared):
        assert data_problem(event.kind.value, event.data) is None
    # the next opening raises its own
    assert len([e for e in _open_for(watch, clock, 10 * 60 + 3) if e.kind is EventKind.ALARM_RAISED]) == 1


def test_the_night_threshold_is_stricter(station):
    watch, clock = station(), station.clock
    clock.now = NIGHT
    journaled = _open_for(watch, clock, 3 * 60 + 1)
    [raised] = [e for e in journaled if e.kind is EventKind.ALARM_RAISED]
    assert raised.data["detail"]["night"] is True and raised.data["detail"]["after_s"] == 180
    assert watch.status()["night"] is True


def test_an_opening_that_runs_into_the_night_raises_at_the_nights_threshold(station):
    watch, clock = station(), station.clock
    clock.now = datetime(2026, 11, 28, 13, 55, tzinfo=UTC)  # 21:55 in Shanghai
    assert _open_for(watch, clock, 299)[0].kind is EventKind.GATE_LEAF  # 5 min by day: nothing
    assert _events(watch, EventKind.ALARM_RAISED) == []
    clock.advance(1)  # 22:00: open 5 min, the night allows 3
    [raised] = watch.check()
    assert raised.kind is EventKind.ALARM_RAISED and raised.data["detail"]["night"] is True


def test_bounces_and_rattles_are_one_opening(station):
    watch, clock = station(), station.clock
    watch.observe(False)
    clock.advance(5)
    watch.check()
    # a leaf rattling in the wind: open and shut again within the settle time, many times
    for _ in range(50):
        watch.observe(True)
        clock.advance(0.3)
        watch.check()
        watch.observe(False)
        clock.advance(0.3)
        watch.check()
    clock.advance(5)
    assert watch.check() == []
    assert len(_events(watch, EventKind.GATE_LEAF)) == 1  # only the first "closed"
    # open, then a rattle shut for a moment: the opening goes on and its clock is not restarted
    opened_at = clock()
    _open_for(watch, clock, 60)
    watch.observe(False)
    clock.advance(1)
    watch.check()
    journaled = _open_for(watch, clock, 9 * 60)
    assert [e.kind for e in journaled] == [EventKind.ALARM_RAISED]
    assert journaled[0].data["detail"]["since"] == format_ts(opened_at)
    assert [e.data["state"] for e in _events(watch, EventKind.GATE_LEAF)] == ["closed", "open"]
    # the same state reported twice is no change
    watch.observe(True)
    assert watch.check() == []


def test_a_leaf_shut_but_not_yet_settled_raises_nothing(station):
    watch, clock = station(), station.clock
    _open_for(watch, clock, 10 * 60 - 1)
    watch.observe(False)
    clock.advance(1.5)  # past the threshold, but shut (not yet settled)
    assert watch.check() == []
    clock.advance(1)
    [closed] = watch.check()
    assert closed.data["state"] == "closed" and _events(watch, EventKind.ALARM_RAISED) == []


def test_a_volunteer_acknowledging_it_while_open_means_no_second_alarm_and_no_clearing(station):
    watch, clock = station(), station.clock
    [raised] = [e for e in _open_for(watch, clock, 601) if e.kind is EventKind.ALARM_RAISED]
    watch.journal.append(EventKind.ALARM_ACKNOWLEDGED, {"alarm_event_id": raised.id, "alarm_seq": raised.seq,
                                                        "kind": "gate_left_open", "outcome": "kept_open_on_purpose",
                                                        "note": ""}, volunteer_id="7")
    clock.advance(1)
    assert watch.check() == [] and watch.status()["alarm"] is False
    assert _open_for(watch, clock, 3600) == []
    watch.observe(False)
    clock.advance(3)
    [closed] = watch.check()  # the closing only: the alarm was answered already
    assert closed.kind is EventKind.GATE_LEAF


def test_a_restart_keeps_the_opening_and_raises_no_second_alarm(station):
    watch, clock = station(), station.clock
    opened_at = clock()
    _open_for(watch, clock, 700)
    assert len(_events(watch, EventKind.ALARM_RAISED)) == 1
    watch = station()  # the gate restarts; the leaf is still open
    assert watch.status()["open"] is True and watch.status()["since"] == format_ts(opened_at)
    assert watch.status()["alarm"] is True
    assert _open_for(watch, clock, 600) == []  # no second alarm, no second "open"
    watch.observe(False)
    clock.advance(3)
    assert [e.kind for e in watch.check()] == [EventKind.GATE_LEAF, EventKind.ALARM_ACKNOWLEDGED]


def test_a_restart_before_the_threshold_keeps_counting_from_the_opening(station):
    watch, clock = station(), station.clock
    opened_at = clock()
    _open_for(watch, clock, 300)
    watch = station()
    journaled = _open_for(watch, clock, 301)
    [raised] = [e for e in journaled if e.kind is EventKind.ALARM_RAISED]
    assert raised.data["detail"]["since"] == format_ts(opened_at)


def test_a_closing_whose_clearing_a_crash_cut_off_is_cleared_after_the_restart(station):
    watch, clock = station(), station.clock
    [raised] = [e for e in _open_for(watch, clock, 601) if e.kind is EventKind.ALARM_RAISED]
    watch.journal.append(EventKind.GATE_LEAF, {"state": "closed", "since": format_ts(clock())})  # then the crash
    watch = station()
    watch.observe(False)
    [cleared] = watch.check()
    assert cleared.kind is EventKind.ALARM_ACKNOWLEDGED and cleared.data["alarm_event_id"] == raised.id


def test_never_read_says_nothing_and_zero_never_raises(station):
    watch, clock = station(SETTINGS.model_copy(update={"open_alarm_after_min": 0})), station.clock
    assert watch.status() == {"open": None, "since": None, "minutes": None, "alarm": False, "night": False}
    assert watch.check() == []
    assert [e.kind for e in _open_for(watch, clock, 86400 // 4)] == [EventKind.GATE_LEAF]


def test_the_office_flags_a_malformed_leaf_event():
    assert data_problem("gate_leaf", {"state": "ajar"}) is not None
    assert data_problem("gate_leaf", {"state": "open", "since": "2026-11-28T02:00:00.000Z"}) is None
    assert data_problem("gate_leaf", {"state": "closed", "open_s": -1}) is not None


# -- the driver on gpiozero's mock pins ---------------------------------------------

@pytest.fixture
def factory():
    from gpiozero.pins.mock import MockFactory

    pins = MockFactory()
    yield pins
    pins.close()


@pytest.mark.parametrize("open_when_high", [True, False])
def test_the_driver_reads_the_contact_and_calls_back_on_each_change(factory, open_when_high):
    from sensors.gate_leaf import GateLeaf, drive_leaf

    settings = GateLeafSettings(pin=5, open_when_high=open_when_high)
    seen: list[bool] = []
    with GateLeaf(settings, factory) as leaf:
        leaf.on_change(seen.append)
        drive_leaf(factory, settings, False)
        assert leaf.is_open is False and leaf.pin_high is (not open_when_high)
        drive_leaf(factory, settings, True)
        assert leaf.is_open is True and leaf.pin_high is open_when_high
        drive_leaf(factory, settings, False)
        leaf.on_change(None)
        drive_leaf(factory, settings, True)
    # the pull-up holds an untouched pin high: open for a normally-open switch, so shutting it is the first change
    assert seen == ([False, True, False] if open_when_high else [True, False])


def test_the_driver_uses_the_pull_up_and_the_bounce_time(factory):
    from sensors.gate_leaf import GateLeaf

    with GateLeaf(GateLeafSettings(pin="GPIO6", bounce_s=0.05), factory) as leaf:
        assert leaf.device.pull_up is True and leaf.device.pin.bounce == pytest.approx(0.05)
        # nothing pulls the pin down: a normally-open switch reads open (as an unwired switch does on a Pi)
        assert leaf.is_open is True


def test_a_pin_in_use_is_a_clear_error(factory):
    from gpiozero import LED

    from sensors.gate_leaf import GateLeaf, GateLeafError

    with LED(5, pin_factory=factory):
        with pytest.raises(GateLeafError, match="pin 5"):
            GateLeaf(GateLeafSettings(pin=5), factory)
    with pytest.raises(GateLeafError, match="not set"):
        GateLeaf(GateLeafSettings(), factory)


def test_the_settings_refuse_a_bad_time():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="HH:MM"):
        GateLeafSettings(night_from="25:00")
    assert GateLeafSettings(night_until=" 07:30 ").night_until == "07:30"


def test_the_volunteer_on_duty_goes_on_what_is_journaled(tmp_path):
    clock = Clock(DAY)
    with Journal(tmp_path / "journal.db", "north", clock=clock) as journal:
        on_duty: list[str | None] = ["7"]
        watch = GateLeafWatch(journal, SETTINGS, TZ, clock, on_duty=lambda: on_duty[0])
        journaled = _open_for(watch, clock, 601)
        assert [e.volunteer_id for e in journaled] == ["7", "7"]
        on_duty[0] = None
        watch.observe(False)
        clock.advance(3)
        assert [e.volunteer_id for e in watch.check()] == [None, None]


# -- kiosk doctor ------------------------------------------------------------------

def test_doctor_reads_the_switch_when_one_is_fitted():
    from gpiozero.pins.mock import MockFactory, MockPin

    from kiosk.doctor import Status
    from sensors.gate_leaf import probe_gate_leaf

    class WiredPin(MockPin):
        """A mock pin a closed contact holds low whatever the pull-up (gpiozero's mock lets the pull win)."""

        held_low = False

        def _set_pull(self, value):
            super()._set_pull(value)
            if self.held_low:
                self.drive_low()

    factory = MockFactory(pin_class=WiredPin)
    settings = GateLeafSettings(pin=5)
    assert probe_gate_leaf(GateLeafSettings(), factory) is None  # not fitted: no line
    check = probe_gate_leaf(settings, factory)  # nothing pulls the pin down: open, or not wired
    assert check.status is Status.WARN and "reads open (pin high)" in check.detail and "GND" in check.hint
    factory.pin(5).held_low = True  # the magnet closes the normally-open switch: the gate is shut
    check = probe_gate_leaf(settings, factory)
    assert check.status is Status.OK and check.detail == "reed switch on pin 5: reads shut (pin low)"
    from gpiozero import Button

    with Button(5, pin_factory=factory):  # a second kiosk holds the pin
        check = probe_gate_leaf(settings, factory)
    assert check.status is Status.FAIL and "pin 5" in check.detail and "another" in check.hint
    factory.close()


def test_the_doctor_command_lists_the_gate_leaf_only_when_configured(tmp_path):
    import json

    from click.testing import CliRunner

    from kiosk.cli import main

    def run(extra: str) -> dict:
        path = tmp_path / "config.yaml"
        path.write_text(f"gate: {{id: g, data_dir: {tmp_path / 'data'}}}\ncamera: {{source: replay}}\n{extra}",
                        encoding="utf-8")
        result = CliRunner().invoke(main, ["doctor", "--simulate", "--config", str(path), "--json"])
        assert "Traceback" not in result.output
        return {c["name"]: c for c in json.loads(result.output)["checks"]}

    assert "gate leaf" not in run("")
    leaf = run("gate_leaf: {pin: 5}\n")["gate leaf"]
    assert leaf["status"] == "warn" and leaf["detail"].startswith("reed switch on pin 5")
