"""The whole chain on real files: scanned text → verify → revocation → facts → policy → journal."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.cards import CardKind, issue_card
from kiosk.config import GateConfig, PolicySettings
from kiosk.events import EventKind
from kiosk.gate.checkpoint import Checkpoint
from kiosk.gate.facts import gather_facts
from kiosk.gate.journal import Journal
from kiosk.gate.policy import AlarmKind, Prompt, Verdict
from kiosk.keys import init_keys, load_keyset
from kiosk.measurements import Measurement
from kiosk.registry import Registry

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=TZ)
TODAY = NOW.date()


@pytest.fixture
def world(tmp_path):
    key = init_keys(tmp_path / "keys")
    registry = Registry(tmp_path / "registry.db")
    journal = Journal(tmp_path / "journal.db", "north-gate")
    keyset = load_keyset(tmp_path / "keys" / "keyset.json")
    registry.apply_snapshot({
        "households": [{"id": 1, "building": "1", "unit": "1", "room": "101"}, {"id": 2, "building": "1", "unit": "1", "room": "102"}],
        "residents": [{"id": 1, "household_id": 1, "name": "王小山"}, {"id": 2, "household_id": 1, "name": "王丽"},
                      {"id": 3, "household_id": 2, "name": "李建国"}],
        "cards": [{"id": 11, "kind": "resident", "subject_id": 1}, {"id": 12, "kind": "resident", "subject_id": 2},
                  {"id": 13, "kind": "resident", "subject_id": 3}, {"id": 21, "kind": "vehicle", "subject_id": 1}],
        "vehicles": [{"id": 1, "plate": "京A12345", "household_id": 1}],
        "quarantine_orders": [{"id": 1, "household_id": 2, "starts_on": "2026-11-20", "ends_on": "2026-12-03"}],
        "keyset": keyset.to_json()["keys"],
    }, version=1)
    config = GateConfig.model_validate({"gate": {"id": "north-gate"}, "policy": {"outing": {"enabled": True}}})

    def card(card_id, subject, kind=CardKind.RESIDENT, start=date(2026, 1, 1), end=date(2026, 12, 31)):
        return issue_card(key, kind, subject, valid_from=start, valid_until=end, card_id=card_id)[1]

    yield Checkpoint(config, registry, journal, keyset), card
    journal.close()
    registry.close()


def ir(c):
    return Measurement(c, 15.0)


def test_a_first_scan_asks_and_the_direction_given_is_journaled_with_its_source(world):
    checkpoint, card = world
    text = card(11, 1)
    asked = checkpoint.passage(text, NOW, [ir(36.5)])
    assert (asked.decision.verdict, asked.decision.prompt, asked.decision.direction) == (Verdict.ASK, Prompt.ASK_DIRECTION, None)
    assert asked.events == () and checkpoint.journal.last_seq == 0  # nothing decided, nothing journaled
    first = checkpoint.passage(text, NOW, [ir(36.5)], direction="in", direction_source="volunteer")
    assert (first.decision.verdict, first.decision.direction) == (Verdict.ADMIT, "in")
    assert [e.kind for e in first.events] == [EventKind.PASSAGE]
    event = first.events[0]
    assert event.subject == "resident:1" and event.household_id == 1 and event.data["verdict"] == "admit"
    assert event.data["card"]["card_id"] == 11 and event.data["readings"][0]["object_c"] == 36.5
    assert (event.data["direction"], event.data["direction_source"]) == ("in", "volunteer")
    # Going out is only a guess now, and a guess would skip the temperature an entry needs: ask again.
    assert checkpoint.passage(text, NOW + timedelta(minutes=5)).decision.verdict is Verdict.ASK
    second = checkpoint.passage(text, NOW + timedelta(minutes=5), direction="out", direction_source="button")
    assert (second.decision.verdict, second.decision.direction) == (Verdict.ADMIT, "out")
    assert second.events[0].seq == event.seq + 1 and second.events[0].data["direction_source"] == "button"


def test_inference_uses_the_last_admitted_passage_not_a_refused_one(world):
    checkpoint, card = world
    checkpoint.config = checkpoint.config.model_copy(update={"policy": PolicySettings()})  # no outing rule here
    text = card(11, 1)
    checkpoint.passage(text, NOW, direction="out")
    # Refused coming back in (fever): they are still outside, so the next guess is still "in".
    refused = checkpoint.passage(text, NOW + timedelta(minutes=30), [ir(37.8), ir(37.9)], direction="in")
    assert refused.decision.verdict is Verdict.DENY
    again = checkpoint.passage(text, NOW + timedelta(minutes=40), [ir(36.5)])
    assert (again.decision.verdict, again.decision.direction, again.decision.direction_source) == (Verdict.ADMIT, "in", "inferred")


def test_a_quarantined_resident_coming_home_is_admitted_and_the_office_told(world):
    checkpoint, card = world
    first_scan = checkpoint.passage(card(13, 3), NOW, [ir(36.5)])
    assert first_scan.decision.verdict is Verdict.ASK  # never a green screen on a guess
    home = checkpoint.passage(card(13, 3), NOW, [ir(36.5)], direction="in", direction_source="volunteer")
    assert home.decision.verdict is Verdict.ADMIT and home.decision.prompt is Prompt.QUARANTINE_RETURN
    assert [e.data.get("kind") for e in home.events[1:]] == ["quarantine_breach"]
    assert home.events[1].data["reason"] == "quarantine_return"


def test_remeasure_is_not_journaled_until_decided(world):
    checkpoint, card = world
    pending = checkpoint.passage(card(12, 2), NOW, [ir(37.8)], direction="in")
    assert pending.decision.verdict is Verdict.REMEASURE and pending.events == ()
    assert checkpoint.journal.last_seq == 0
    fever = checkpoint.passage(card(12, 2), NOW, [ir(37.8), ir(37.9)], direction="in")
    assert fever.decision.verdict is Verdict.DENY
    kinds = [e.kind for e in fever.events]
    assert kinds == [EventKind.PASSAGE, EventKind.ALARM_RAISED]
    assert fever.events[1].data["kind"] == "fever" and fever.events[1].subject == "resident:2"


def test_revocation_in_registry_denies_a_genuine_card(world):
    checkpoint, card = world
    text = card(11, 1)
    assert checkpoint.passage(text, NOW, [ir(36.5)], direction="in").decision.verdict is Verdict.ADMIT
    checkpoint.registry.apply_changes([{"op": "upsert", "table": "revocations", "row": {"card_id": 11, "reason": "lost"}}],
                                      from_version=1, to_version=2)
    outcome = checkpoint.passage(text, NOW + timedelta(hours=1), [ir(36.5)], direction="in")
    # Reported lost: the one refusal the screen calls 挂失.
    assert outcome.decision.verdict is Verdict.DENY and outcome.decision.prompt is Prompt.CARD_LOST
    assert outcome.check.reason.value == "revoked"
    assert outcome.events[1].data["kind"] == AlarmKind.INVALID_CARD.value


def test_quarantined_household_cannot_leave(world):
    checkpoint, card = world
    outcome = checkpoint.passage(card(13, 3), NOW, direction="out")
    assert outcome.decision.verdict is Verdict.DENY and outcome.decision.alarms[0].kind is AlarmKind.QUARANTINE_BREACH


def test_forged_and_foreign_texts(world):
    checkpoint, card = world
    text = card(11, 1)
    forged = text[:-3] + ("AAA" if text[-3:] != "AAA" else "BBB")
    assert checkpoint.passage(forged, NOW, [ir(36.5)]).decision.verdict is Verdict.DENY
    stranger = checkpoint.passage("https://example.com/x", NOW)
    assert stranger.decision.verdict is Verdict.REFER and stranger.decision.prompt is Prompt.REGISTER_VISITOR
    assert [e.data.get("kind") for e in stranger.events[1:]] == ["unknown_visitor"]


def test_expired_card_uses_the_community_time_zone(world):
    checkpoint, card = world
    text = card(11, 1, end=TODAY)
    just_before_midnight = datetime(2026, 11, 28, 23, 59, tzinfo=TZ)
    assert checkpoint.passage(text, just_before_midnight, [ir(36.5)], direction="in").decision.verdict is Verdict.ADMIT
    after = checkpoint.passage(text, just_before_midnight + timedelta(minutes=2), [ir(36.5)], direction="in")
    assert after.decision.reasons[0].value == "card_expired"
    assert after.decision.prompt is Prompt.CARD_EXPIRED and after.decision.detail == {"valid_until": TODAY.isoformat()}


def test_household_outing_rule_counts_journaled_exits(world):
    checkpoint, card = world
    checkpoint.passage(card(11, 1), NOW, direction="out")
    refused = checkpoint.passage(card(12, 2), NOW + timedelta(hours=1), direction="out")
    assert refused.decision.verdict is Verdict.REFER and refused.decision.prompt is Prompt.OUTING_LIMIT
    facts = gather_facts(checkpoint.registry, checkpoint.journal, refused.check, NOW + timedelta(hours=1))
    assert len(facts.household_exits) == 1


def test_vehicle_by_plate_and_card(world):
    checkpoint, card = world
    by_plate = checkpoint.vehicle(NOW, plate="京a·12345", disinfected=True, direction="in")
    assert by_plate.decision.verdict is Verdict.ADMIT and by_plate.events[0].kind is EventKind.VEHICLE
    assert by_plate.events[0].data["plate"] == "京A12345" and by_plate.events[0].data["disinfected"] is True
    by_card = checkpoint.vehicle(NOW + timedelta(minutes=1), text=card(21, 1, CardKind.VEHICLE), disinfected=True)
    assert (by_card.decision.direction, by_card.decision.direction_source) == ("out", "inferred")  # its last passage
    unknown = checkpoint.vehicle(NOW, plate="津B99999", disinfected=True)
    assert unknown.decision.verdict is Verdict.REFER and unknown.decision.plate == "津B99999"
