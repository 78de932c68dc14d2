"""Visitors inside now, and their exit: the pure rule over events, and a real gate's journal (list and pass exits)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from kiosk.cards import CardKind, issue_card
from kiosk.events import Event, EventKind
from kiosk.gate.ledger import local_midnight
from kiosk.gate.visitors import VisitorRegistration
from kiosk.gate.visitors_inside import VisitorExitError, open_entries, stay
from kiosk.keys import Keyset
from tests.gate_fixtures import COMMUNITY, KEY, make_rig

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def ev(seq: int, kind: EventKind, data: dict, *, subject: str | None = None, hours_ago: float = 1.0,
       household: int | None = None) -> Event:
    ts = (NOW - timedelta(hours=hours_ago)).isoformat().replace("+00:00", "Z")
    return Event(seq, f"e{seq}", ts, "north", "7", kind, data, subject, household)


def registered(seq: int, name: str = "孙来访", *, verdict: str = "admit", direction: str = "in", hours_ago: float = 1.0):
    return ev(seq, EventKind.VISITOR_REGISTRATION, {"name": name, "phone_masked": "138****8000", "verdict": verdict,
                                                    "direction": direction, "host_household_id": 2},
              hours_ago=hours_ago, household=2)


def passage(seq: int, direction: str, *, subject: str = "visitor:5", verdict: str = "admit", hours_ago: float = 1.0):
    return ev(seq, EventKind.PASSAGE, {"verdict": verdict, "direction": direction}, subject=subject, hours_ago=hours_ago,
              household=1)


def left(seq: int, entry_seq: int, method: str = "list"):
    return ev(seq, EventKind.VISITOR_EXIT, {"entry_seq": entry_seq, "method": method}, hours_ago=0.5)


def test_an_admitted_entry_is_open_until_its_exit():
    entries = open_entries([registered(1), registered(2, "钱二"), left(3, 1)])
    assert [(e.seq, e.name, e.how, e.household_id) for e in entries] == [(2, "钱二", "registration", 2)]


def test_refused_or_outgoing_registrations_are_not_entries():
    assert open_entries([registered(1, verdict="deny"), registered(2, direction="out"), registered(3, verdict="refer")]) == []


def test_a_pass_entry_closes_by_its_way_out_and_a_newer_entry_replaces_an_older():
    names = {"visitor:5": "周访客"}
    assert [e.seq for e in open_entries([passage(1, "in"), passage(2, "out")], names)] == []
    assert [e.seq for e in open_entries([passage(1, "in"), passage(2, "out", verdict="deny")], names)] == [1]
    again = open_entries([passage(1, "in", hours_ago=30), passage(2, "in")], names)
    assert [(e.seq, e.name, e.how) for e in again] == [(2, "周访客", "pass")]
    assert open_entries([passage(1, "in", subject="resident:1")]) == []  # residents are not visitors


def test_entries_come_oldest_first_in_any_order_given():
    entries = open_entries([registered(3, hours_ago=1), registered(1, hours_ago=20), left(4, 99)])
    assert [e.seq for e in entries] == [1, 3]


def test_a_stay_is_long_after_the_hours_or_overnight():
    midnight = local_midnight(NOW, "Asia/Shanghai")  # 10 h ago
    short, = open_entries([registered(1, hours_ago=1)])
    assert stay(short, NOW, midnight, 12) == {"inside_s": 3600, "overnight": False, "long": False}
    overnight, = open_entries([registered(1, hours_ago=11)])  # since 23:00: under 12 h, but overnight
    assert stay(overnight, NOW, midnight, 12)["overnight"] and stay(overnight, NOW, midnight, 12)["long"]
    assert stay(short, NOW, midnight, 0.5)["long"]


# -- a real gate --------------------------------------------------------------------------------------------------

def _register(gate, name="孙来访", direction="in"):
    return gate.visitor(VisitorRegistration(name, "13800138000", "朝阳区", 2, "visiting_family", 36.5), [36.5],
                        direction=direction)


class Ticks:
    """The gate's monotonic clock, moved on by hand: the same card a minute later is a new passage."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def gate_rig(tmp_path):
    ticks = Ticks()
    rig = make_rig(tmp_path, start=False, monotonic=ticks)
    rig.ticks = ticks  # type: ignore[attr-defined]
    yield rig
    rig.hardware.close()
    rig.journal.close()
    rig.registry.close()


def test_a_registered_visitor_is_inside_until_the_volunteer_taps_left(gate_rig):
    gate = gate_rig.gate
    entry = _register(gate).events[0]
    _register(gate, "钱二", direction="out")  # registered going out: never inside
    now = gate.clock()
    rows = gate.checkpoint.inside.listing(now, local_midnight(now, "Asia/Shanghai"))
    assert [(r["entry_seq"], r["name"], r["household"], r["phone"], r["long"]) for r in rows] == [
        (entry.seq, "孙*访", "2-1-201", "138****8000", False)]
    assert gate.status()["visitors_inside"] == 1
    with pytest.raises(VisitorExitError) as nobody:
        gate.visitor_exit(entry.seq)
    assert nobody.value.code == "not_signed_in"
    gate.sign_in(7, "2468")
    exit_event = gate.visitor_exit(entry.seq)
    assert exit_event.kind is EventKind.VISITOR_EXIT and exit_event.volunteer_id == "7"
    assert exit_event.household_id == 2 and exit_event.subject is None
    assert exit_event.data == {"entry_seq": entry.seq, "entry_id": entry.id, "entry_gate_id": "north",
                               "entry_kind": "registration", "entry_ts": entry.ts, "name_masked": "孙*访",
                               "host_household_id": 2, "method": "list"}
    assert gate.status()["visitors_inside"] == 0
    with pytest.raises(VisitorExitError) as again:
        gate.visitor_exit(entry.seq)
    assert again.value.code == "already_out"
    with pytest.raises(VisitorExitError) as unknown:
        gate.visitor_exit(entry.seq + 100)
    assert unknown.value.code == "unknown"
    resident = gate.scan(_resident_card(), direction="in", manual_c=36.5).events[0]
    with pytest.raises(VisitorExitError) as not_a_visitor:
        gate.visitor_exit(resident.seq)
    assert not_a_visitor.value.code == "unknown"


def _resident_card():
    from tests.gate_fixtures import card

    return card()


def _with_pass(rig, pass_id=5, card_id=55):
    now = datetime.now(UTC)
    keyset = Keyset()
    keyset.add(KEY.public_key)
    rig.registry.apply_snapshot({
        **COMMUNITY, "cards": [*COMMUNITY["cards"], {"id": card_id, "kind": "visitor", "subject_id": pass_id}],
        "visitor_passes": [{"id": pass_id, "name": "周访客", "phone_masked": "139****0000", "host_household_id": 1,
                            "valid_from": (now - timedelta(days=1)).isoformat(),
                            "valid_until": (now + timedelta(days=1)).isoformat()}],
        "keyset": keyset.to_json()["keys"]}, version=2)
    today = date.today()
    return issue_card(KEY, CardKind.VISITOR, pass_id, valid_from=today - timedelta(days=1),
                      valid_until=today + timedelta(days=1), card_id=card_id)[1]


def test_a_visitor_pass_scanned_going_out_records_the_exit_of_its_entry(gate_rig):
    gate = gate_rig.gate
    text = _with_pass(gate_rig)
    came = gate.scan(text, direction="in", manual_c=36.5)
    assert came.decision.verdict.value == "admit"
    now = gate.clock()
    rows = gate.checkpoint.inside.listing(now, local_midnight(now, "Asia/Shanghai"))
    assert [(r["name"], r["how"], r["household"]) for r in rows] == [("周*客", "pass", "1-1-101")]
    gate_rig.ticks.now += 60
    went = gate.scan(text, direction="out")
    kinds = [e.kind for e in went.events]
    assert kinds == [EventKind.PASSAGE, EventKind.VISITOR_EXIT]  # one transaction
    assert went.events[1].data["method"] == "pass" and went.events[1].data["entry_seq"] == came.events[0].seq
    assert went.events[1].subject == "visitor:5"
    assert gate.checkpoint.inside.count(gate.clock()) == 0
    gate_rig.ticks.now += 60
    assert gate.scan(text, direction="out").events[-1].kind is EventKind.PASSAGE  # nothing left to close


def test_a_pass_holder_let_out_from_the_list_is_expected_back_in(gate_rig):
    gate = gate_rig.gate
    text = _with_pass(gate_rig)
    came = gate.scan(text, direction="in", manual_c=36.5)
    gate.sign_in(7, "2468")
    gate.visitor_exit(came.events[0].seq)
    gate_rig.ticks.now += 60
    # no direction given: the gate infers "in" from the exit the list recorded (not "out" from the old entry)
    back = gate.scan(text, manual_c=36.5)
    assert back.decision.direction == "in"


def test_entries_older_than_the_bound_are_not_listed(tmp_path):
    rig = make_rig(tmp_path, start=False, gate={})
    try:
        gate = rig.gate
        _register(gate)
        later = datetime.now(UTC) + timedelta(days=8)
        assert gate.checkpoint.inside.count(later) == 0
        assert gate.checkpoint.inside.count(datetime.now(UTC)) == 1
    finally:
        rig.hardware.close()
        rig.journal.close()
        rig.registry.close()
