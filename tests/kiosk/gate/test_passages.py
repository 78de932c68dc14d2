"""The passage as a whole on the passage worker: direction, one passage per person, a gate that never stalls, alarms."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from kiosk.events import EventKind
from kiosk.gate.direction import DirectionChoice, Heading
from kiosk.gate.visitors import VisitorRegistration
from tests.gate_fixtures import card

QUARANTINED = (12, 2)  # card 12 of resident 2, whose household is under a home-quarantine order


def wait_for(condition, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def relay_opened(rig) -> bool:
    return 1 in [s.state for s in rig.hardware.pin_factory.pin(23).states]


# -- direction ------------------------------------------------------------------


def test_a_quarantined_residents_first_scan_asks_and_never_opens_the_barrier(rig):
    rig.stand(36.5)
    asked = rig.gate.scan(card(*QUARANTINED))
    assert asked.decision.verdict.value == "ask" and asked.decision.prompt.value == "ask_direction"
    assert asked.events == () and not relay_opened(rig)
    assert rig.gate.status()["passage"]["state"] == "asking"
    rig.gate.choose_direction("out")  # the volunteer taps 出: the waiting passage goes on with it
    wait_for(lambda: rig.passages(), what="the passage to be journaled")
    denied = rig.passages()[-1]
    assert denied.data["verdict"] == "deny" and denied.data["prompt"] == "quarantine"
    assert denied.data["direction"] == "out" and denied.data["direction_source"] == "volunteer"
    assert [a.data["reason"] for a in rig.alarms("quarantine_breach")] == ["quarantine"]
    assert not relay_opened(rig)


def test_the_scan_after_a_refused_exit_asks_again(rig):
    rig.gate.same_card_window_s = 0.1
    rig.gate.choose_direction("out")
    assert rig.gate.scan(card(*QUARANTINED)).decision.verdict.value == "deny"
    rig.gate.choose_direction(None)  # the choice is cleared (or runs out)
    time.sleep(0.2)
    again = rig.gate.scan(card(*QUARANTINED))
    assert again.decision.verdict.value == "ask"  # never "in" because the exit was refused
    assert not relay_opened(rig)


def test_a_quarantined_resident_coming_home_is_admitted_and_reported(rig):
    rig.stand(36.5)
    home = rig.gate.scan(card(*QUARANTINED), direction="in")
    assert home.decision.verdict.value == "admit" and home.decision.prompt.value == "quarantine_return"
    assert [a.data["reason"] for a in rig.alarms("quarantine_breach")] == ["quarantine_return"]


def test_a_first_scan_without_history_asks_and_the_answer_continues_it(rig):
    rig.stand(36.6)
    assert rig.gate.scan(card()).decision.verdict.value == "ask"
    rig.gate.choose_direction("in")
    wait_for(lambda: rig.passages(), what="the admitted passage")
    passage = rig.passages()[0]
    assert (passage.data["verdict"], passage.data["direction"], passage.data["direction_source"]) == ("admit", "in", "volunteer")
    assert rig.gate.status()["direction"]["chosen"] == "in"  # the choice holds for the next people


def test_a_one_way_lane_never_asks(rig_factory):
    rig = rig_factory(gate={"mode": "out-only"})
    answer = rig.gate.scan(card())
    assert (answer.decision.verdict.value, answer.decision.direction, answer.decision.direction_source) == ("admit", "out", "lane")
    quarantined = rig.gate.scan(card(*QUARANTINED))
    assert quarantined.decision.verdict.value == "deny"


def test_a_scanner_lane_gives_the_direction(rig):
    rig.stand(36.5)
    rig.gate.submit_scan(card(), lane="in")
    wait_for(lambda: rig.passages(), what="the lane's passage")
    assert rig.passages()[0].data["direction_source"] == "lane"


def test_a_direction_choice_holds_while_used_and_then_runs_out():
    now = [0.0]
    choice = DirectionChoice(60, clock=lambda: now[0])
    choice.choose("out")
    now[0] = 50
    assert choice.current(renew=True) == Heading("out", "volunteer")  # a passage used it: 60 s more from now
    now[0] = 100
    assert choice.current() == Heading("out", "volunteer")
    assert choice.to_dict()["expires_in_s"] == 10
    now[0] = 111
    assert choice.current() == Heading()
    choice.choose("in", "button")
    assert choice.current().source == "button"
    choice.choose(None)
    assert choice.current() == Heading()


# -- one passage per person, and a gate that never stalls ---------------------------


def test_a_card_held_in_view_is_one_passage(rig):
    rig.stand(36.5)
    rig.gate.choose_direction("in")
    text = card()
    first = rig.gate.scan(text)
    for _ in range(10):  # the scanner reports the card again and again while it is held up
        rig.gate.submit_scan(text)
        time.sleep(0.05)
    again = rig.gate.scan(text)
    assert [e.seq for e in again.events] == [e.seq for e in first.events]
    assert len(rig.passages()) == 1 and rig.passages()[0].data["direction"] == "in"
    assert rig.gate.ledger.today(datetime.now(UTC))["counts"]["in"] == 1


def test_the_same_card_later_is_a_new_passage(rig):
    rig.stand(36.5)
    rig.gate.same_card_window_s = 0.2
    rig.gate.scan(card(), direction="in")
    time.sleep(0.3)
    rig.gate.scan(card(), direction="out")
    assert [p.data["direction"] for p in rig.passages()] == ["in", "out"]


def test_routes_answer_while_a_passage_measures(rig):
    """A measuring passage waits on the worker: status, vehicles and visitors go on meanwhile."""
    measuring, release = threading.Event(), threading.Event()
    real_measure = rig.gate.thermometer.measure

    def slow_measure(**kwargs):
        measuring.set()
        release.wait(10)  # the person is slow to step up, and the read window long
        return real_measure(**kwargs)

    rig.stand(36.5)
    rig.gate.thermometer.measure = slow_measure
    rig.gate.choose_direction("in")
    rig.gate.submit_scan(card())
    assert measuring.wait(5)
    try:
        assert rig.gate.status()["passage"]["state"] == "measuring"
        vehicle = rig.gate.vehicle(plate="京A12345", disinfected=True, direction="in")
        assert vehicle.decision.verdict.value == "admit" and vehicle.events
        visitor = rig.gate.visitor(VisitorRegistration("孙来访", "13800138000", "朝阳区", 1, "探亲", 36.4), [36.4])
        assert visitor.decision.verdict.value == "admit"
        assert rig.gate.status()["passage"]["state"] == "measuring"  # still measuring: nothing waited for it
    finally:
        release.set()
    wait_for(lambda: rig.passages(), what="the measured passage")


def test_a_late_step_up_is_still_measured(rig_factory):
    rig = rig_factory(presence_wait_s=0.2)
    rig.stand(None)  # nobody at the thermometer yet
    updates = rig.gate.updates.subscribe()
    answer = rig.gate.scan(card(), direction="in")
    assert answer.decision.verdict.value == "remeasure"
    time.sleep(0.6)  # longer than step_up_wait_s: the screen offers a typed reading, the gate keeps watching
    assert rig.gate.status()["passage"]["state"] == "measuring"
    rig.stand(36.4)
    wait_for(lambda: rig.passages(), what="the late step-up to be measured")
    assert rig.passages()[0].data["verdict"] == "admit"
    seen = []
    while not updates.empty():
        seen.append(updates.get_nowait())
    measuring = [u for u in seen if u["type"] == "measuring"]
    assert measuring and measuring[-1]["offer_typed"] is True  # what the screen said matched what the gate did


def test_a_pending_passage_runs_out_and_is_abandoned(rig_factory):
    rig = rig_factory(pending_s=0.3)
    rig.stand(None)
    rig.gate.scan(card(), direction="in")
    wait_for(lambda: rig.journal.latest((EventKind.PASSAGE_ABANDONED,)) is not None, what="abandonment")
    assert rig.gate.status()["passage"] is None


# -- alarms that mean something ------------------------------------------------------


def test_a_handheld_reading_settles_the_fever_alarm_instead_of_raising_another(rig):
    rig.stand(38.2)
    fever = rig.gate.scan(card(), direction="in")
    assert fever.decision.verdict.value == "deny" and len(rig.alarms("fever")) == 1
    assert rig.gate.status()["passage"]["state"] == "awaiting_handheld"
    normal = rig.gate.add_reading(36.6, "handheld_contact")
    assert normal.decision.verdict.value == "admit"
    assert len(rig.alarms("fever")) == 1  # no second alarm
    acks = [e for e in rig.journal.events_after(0) if e.kind is EventKind.ALARM_ACKNOWLEDGED]
    assert [a.data["outcome"] for a in acks] == ["handheld_normal"]
    assert rig.gate.ledger.open_alarms(datetime.now(UTC)) == []
    counts = rig.gate.ledger.today(datetime.now(UTC))["counts"]
    assert (counts["in"], counts["refused"]) == (1, 0)  # one person, counted once, as the handheld decided


def test_a_handheld_confirming_the_fever_keeps_one_alarm(rig):
    rig.stand(38.2)
    rig.gate.scan(card(), direction="in")
    confirmed = rig.gate.add_reading(38.0, "handheld_contact")
    assert confirmed.decision.verdict.value == "deny"
    assert len(rig.alarms("fever")) == 1
    assert len(rig.gate.ledger.open_alarms(datetime.now(UTC))) == 1
    assert rig.passages()[-1].data["supersedes_seq"] == rig.passages()[0].seq


def test_registering_the_visitor_closes_the_walk_up_alarm(rig):
    walk_up = rig.gate.scan(None)
    assert [a.data["kind"] for a in rig.alarms()] == ["unknown_visitor"]
    registration = VisitorRegistration("孙来访", "13800138000", "朝阳区", 1, "探亲", 36.4)
    rig.gate.visitor(registration, [36.4], alarm_seq=walk_up.events[1].seq)
    assert rig.gate.ledger.open_alarms(datetime.now(UTC)) == []
    ack = rig.journal.latest((EventKind.ALARM_ACKNOWLEDGED,))
    assert ack.data["outcome"] == "visitor_registered" and ack.data["alarm_seq"] == walk_up.events[1].seq


def test_registering_without_the_seq_closes_the_newest_walk_up_alarm(rig):
    rig.gate.scan(None)
    rig.gate.visitor(VisitorRegistration("孙来访", "13800138000", "朝阳区", 1, "探亲", 36.4), [36.4])
    assert rig.gate.ledger.open_alarms(datetime.now(UTC)) == []


def test_the_overdue_sweep_raises_once_while_the_person_is_still_out(rig_factory):
    rig = rig_factory(policy={"outing": {"enabled": True, "max_hours_out": 2}}, quarantine=False)
    rig.gate.same_card_window_s = 0.1
    rig.gate.scan(card(), direction="out")
    assert rig.gate.sweep_overdue() == []  # just left
    later = datetime.now(UTC) + timedelta(hours=3)
    rig.gate.clock = lambda: later
    raised = rig.gate.sweep_overdue()
    assert [(e.data["kind"], e.subject) for e in raised] == [("overdue_return", "resident:1")]
    assert rig.gate.sweep_overdue() == []  # once
    rig.stand(36.5)
    time.sleep(0.2)  # past the same-card window: coming back is a new passage
    back = rig.gate.scan(card(), direction="in")
    assert back.decision.verdict.value == "admit" and "overdue_return" in [r.value for r in back.decision.reasons]
    assert len(rig.alarms("overdue_return")) == 1  # coming back does not raise it again


def test_acknowledging_needs_an_outcome_or_a_note(rig):
    from kiosk.gate.ledger import AlarmError

    walk_up = rig.gate.scan(None)
    rig.gate.sign_in(7, "2468")
    with pytest.raises(AlarmError):
        rig.gate.acknowledge(walk_up.events[1].seq)
    event = rig.gate.acknowledge(walk_up.events[1].seq, outcome="turned_back")
    assert event.data["outcome"] == "turned_back" and event.volunteer_id == "7"


def test_the_answer_to_the_question_is_that_persons_only(rig):
    rig.stand(36.5)
    assert rig.gate.scan(card(*QUARANTINED)).decision.verdict.value == "ask"
    rig.gate.choose_direction("out", hold=False)
    wait_for(lambda: rig.passages(), what="the answered passage")
    assert rig.gate.status()["direction"]["chosen"] is None  # the next person is asked again, not taken as 出
    assert rig.gate.scan(card()).decision.verdict.value == "ask"


def test_the_page_gets_the_outcomes_that_fit_each_alarm_from_the_server(rig):
    rules = rig.gate.rules()
    assert "remeasured_normal" in rules["ack_outcomes_by_kind"]["fever"]
    assert "remeasured_normal" not in rules["ack_outcomes_by_kind"]["quarantine_breach"]
    every = {c for codes in rules["ack_outcomes_by_kind"].values() for c in codes}
    assert every == set(rules["ack_outcomes"]) and set(rules["ack_outcomes_any"]) <= every
    assert rules["same_card_window_s"] == rig.gate.same_card_window_s
