"""Table-driven tests of the pure decision policy."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from kiosk.cards import Card, CardCheck, CardKind, Rejection
from kiosk.config import OutingRule, PolicySettings
from kiosk.gate.facts import Facts, Holder, LastPassage
from kiosk.gate.policy import (
    AlarmKind,
    Passage,
    Prompt,
    Reason,
    VehiclePassage,
    Verdict,
    assess_temperature,
    decide,
    decide_vehicle,
    depends_on_direction,
    overdue_returns,
)
from kiosk.measurements import Measurement, MeasurementSource
from kiosk.registry import QuarantineOrder, VisitorPass

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=timezone(timedelta(hours=8)))
S = PolicySettings()
OUTINGS = PolicySettings(outing=OutingRule(enabled=True, max_outings=1, period_days=2, max_hours_out=2))


def card(kind=CardKind.RESIDENT, subject=12):
    return Card(kind, 1001, subject, date(2026, 1, 1), date(2026, 12, 31), "3FA2")


def valid(kind=CardKind.RESIDENT, subject=12):
    return CardCheck(True, None, card(kind, subject))


def rejected(reason):
    return CardCheck(False, reason, None if reason in (Rejection.NOT_A_CARD, Rejection.MALFORMED) else card())


RESIDENT = Holder(CardKind.RESIDENT, 12, "王小山", 7, "3-2-501", resident_id=12)
KNOWN = Facts(holder=RESIDENT, card_known=True)
WENT_OUT = LastPassage("out", NOW - timedelta(hours=1))
CAME_IN = LastPassage("in", NOW - timedelta(hours=5))


def ir(c, ambient=12.0):
    return Measurement(c, ambient, MeasurementSource.SENSOR)


def contact(c):
    return Measurement(c, None, MeasurementSource.HANDHELD_CONTACT)


QUARANTINED = replace(KNOWN, quarantine=(QuarantineOrder(3, 12, None, date(2026, 11, 20), date(2026, 12, 3)),), last_passage=CAME_IN)
VISITOR = Holder(CardKind.VISITOR, 44, "李四", 7, "3-2-501")
PASS = VisitorPass(44, "李四", 7, NOW - timedelta(hours=1), NOW + timedelta(hours=3))


# (name, check, facts, readings, override, settings, verdict, prompt, reasons that must be present, alarm kinds)
CASES = [
    ("resident, valid card, normal temperature", valid(), KNOWN, [ir(36.5)], "in", S,
     Verdict.ADMIT, Prompt.WELCOME, [Reason.CARD_VALID, Reason.TEMPERATURE_NORMAL], []),
    ("no reading yet: measure", valid(), KNOWN, [], "in", S,
     Verdict.REMEASURE, Prompt.MEASURE, [Reason.TEMPERATURE_MISSING], []),
    ("first fever reading: re-measure, no alarm", valid(), KNOWN, [ir(37.6)], "in", S,
     Verdict.REMEASURE, Prompt.REMEASURE_FEVER, [Reason.FEVER_UNCONFIRMED], []),
    ("threshold itself is a fever reading", valid(), KNOWN, [ir(37.3)], "in", S,
     Verdict.REMEASURE, Prompt.REMEASURE_FEVER, [Reason.FEVER_UNCONFIRMED], []),
    ("second fever reading: deny + fever alarm", valid(), KNOWN, [ir(37.6), ir(37.5)], "in", S,
     Verdict.DENY, Prompt.FEVER, [Reason.FEVER], [AlarmKind.FEVER]),
    ("fever then normal: admit", valid(), KNOWN, [ir(37.6), ir(36.8)], "in", S,
     Verdict.ADMIT, Prompt.WELCOME, [Reason.TEMPERATURE_NORMAL], []),
    ("fever twice, handheld normal settles it", valid(), KNOWN, [ir(37.6), ir(37.5), contact(36.6)], "in", S,
     Verdict.ADMIT, Prompt.WELCOME, [Reason.HANDHELD_NORMAL], []),
    ("handheld confirms fever", valid(), KNOWN, [ir(37.6), ir(37.5), contact(38.1)], "in", S,
     Verdict.DENY, Prompt.FEVER, [Reason.FEVER], [AlarmKind.FEVER]),
    ("cold forehead reads low: re-measure, never admit", valid(), KNOWN, [ir(34.2)], "in", S,
     Verdict.REMEASURE, Prompt.REMEASURE_LOW, [Reason.READING_TOO_LOW], []),
    ("implausibly high: re-measure, no fever alarm", valid(), KNOWN, [ir(47.0)], "in", S,
     Verdict.REMEASURE, Prompt.REMEASURE_HIGH, [Reason.READING_TOO_HIGH], []),
    ("ambient below rated range: re-measure even at fever value", valid(), KNOWN, [ir(38.0, ambient=-8.0), ir(38.2, ambient=-8.0)], "in", S,
     Verdict.REMEASURE, Prompt.REMEASURE_AMBIENT, [Reason.AMBIENT_OUT_OF_RANGE], []),
    ("sensor fault: no number, re-measure", valid(), KNOWN, [Measurement(None, None, fault="bad_pec")], "in", S,
     Verdict.REMEASURE, Prompt.REMEASURE_FAULT, [Reason.SENSOR_FAULT], []),
    ("three untrusted readings: hand over to the volunteer", valid(), KNOWN, [ir(34.0), ir(33.9), ir(34.1)], "in", S,
     Verdict.REFER, Prompt.HANDHELD_CHECK, [Reason.TOO_MANY_UNTRUSTED_READINGS], []),
    ("a low reading between two fevers does not break the streak", valid(), KNOWN, [ir(37.8), ir(34.0), ir(37.9)], "in", S,
     Verdict.DENY, Prompt.FEVER, [Reason.FEVER], [AlarmKind.FEVER]),
    ("no card: refer to visitor registration + alarm", None, Facts(), [], None, S,
     Verdict.REFER, Prompt.REGISTER_VISITOR, [Reason.NO_CARD], [AlarmKind.UNKNOWN_VISITOR]),
    ("some other QR: refer to visitor registration + alarm", rejected(Rejection.NOT_A_CARD), Facts(), [], None, S,
     Verdict.REFER, Prompt.REGISTER_VISITOR, [Reason.NOT_A_CARD], [AlarmKind.UNKNOWN_VISITOR]),
    ("unknown visitor alarm can be switched off", None, Facts(), [], None, PolicySettings(alarm_on_unknown_visitor=False),
     Verdict.REFER, Prompt.REGISTER_VISITOR, [Reason.NO_CARD], []),
    ("forged card (bad signature)", rejected(Rejection.BAD_SIGNATURE), Facts(), [ir(36.5)], None, S,
     Verdict.DENY, Prompt.CARD_REJECTED, [Reason.CARD_BAD_SIGNATURE], [AlarmKind.INVALID_CARD]),
    ("card signed by a foreign key: not from this community", rejected(Rejection.UNKNOWN_KEY), Facts(), [ir(36.5)], None, S,
     Verdict.DENY, Prompt.CARD_FOREIGN, [Reason.CARD_UNKNOWN_KEY], [AlarmKind.INVALID_CARD]),
    ("malformed card", rejected(Rejection.MALFORMED), Facts(), [ir(36.5)], None, S,
     Verdict.DENY, Prompt.CARD_REJECTED, [Reason.CARD_MALFORMED], [AlarmKind.INVALID_CARD]),
    ("expired card: says expired", rejected(Rejection.EXPIRED), KNOWN, [ir(36.5)], None, S,
     Verdict.DENY, Prompt.CARD_EXPIRED, [Reason.CARD_EXPIRED], [AlarmKind.INVALID_CARD]),
    ("not yet valid card", rejected(Rejection.NOT_YET_VALID), KNOWN, [ir(36.5)], None, S,
     Verdict.DENY, Prompt.CARD_NOT_YET_VALID, [Reason.CARD_NOT_YET_VALID], [AlarmKind.INVALID_CARD]),
    ("card reported lost: 挂失", valid(), replace(KNOWN, revoked=True, revocation_reason="lost"), [ir(36.5)], None, S,
     Verdict.DENY, Prompt.CARD_LOST, [Reason.CARD_REVOKED], [AlarmKind.INVALID_CARD]),
    ("card replaced by a newer one", valid(), replace(KNOWN, revoked=True, revocation_reason="replaced"), [ir(36.5)], None, S,
     Verdict.DENY, Prompt.CARD_REPLACED, [Reason.CARD_REVOKED], [AlarmKind.INVALID_CARD]),
    ("holder moved out: said so, not lost", valid(), replace(KNOWN, revoked=True, revocation_reason="moved_out"), [ir(36.5)], None, S,
     Verdict.DENY, Prompt.CARD_MOVED_OUT, [Reason.CARD_REVOKED], [AlarmKind.INVALID_CARD]),
    ("revoked card (registry)", valid(), replace(KNOWN, revoked=True), [ir(36.5)], None, S,
     Verdict.DENY, Prompt.CARD_REVOKED, [Reason.CARD_REVOKED], [AlarmKind.INVALID_CARD]),
    ("revoked card (verifier said so)", rejected(Rejection.REVOKED), KNOWN, [ir(36.5)], "in", S,
     Verdict.DENY, Prompt.CARD_REVOKED, [Reason.CARD_REVOKED], [AlarmKind.INVALID_CARD]),
    ("genuine card whose registry record names someone else", valid(), replace(KNOWN, card_matches=False), [ir(36.5)], None, S,
     Verdict.DENY, Prompt.CARD_REJECTED, [Reason.CARD_MISMATCH], [AlarmKind.INVALID_CARD]),
    ("genuine card the replica does not know yet", valid(), Facts(), [ir(36.5)], None, S,
     Verdict.REFER, Prompt.CARD_NOT_IN_REGISTRY, [Reason.CARD_NOT_IN_REGISTRY], []),
    ("quarantined resident going out (volunteer says out): deny + alarm", valid(), QUARANTINED, [], "out", S,
     Verdict.DENY, Prompt.QUARANTINE, [Reason.QUARANTINE], [AlarmKind.QUARANTINE_BREACH]),
    ("quarantined resident, exit only inferred: ask, never admit", valid(), QUARANTINED, [], None, S,
     Verdict.ASK, Prompt.ASK_DIRECTION, [Reason.DIRECTION_UNKNOWN], []),
    ("quarantined resident, first scan (no history): ask", valid(), replace(QUARANTINED, last_passage=None), [ir(36.4)], None, S,
     Verdict.ASK, Prompt.ASK_DIRECTION, [Reason.DIRECTION_UNKNOWN], []),
    ("quarantined resident, return only inferred: ask", valid(), replace(QUARANTINED, last_passage=WENT_OUT), [ir(36.4)], None, S,
     Verdict.ASK, Prompt.ASK_DIRECTION, [Reason.DIRECTION_UNKNOWN], []),
    ("quarantined resident coming home (volunteer says in): admit, office told", valid(), replace(QUARANTINED, last_passage=WENT_OUT), [ir(36.4)], "in", S,
     Verdict.ADMIT, Prompt.QUARANTINE_RETURN, [Reason.QUARANTINE_RETURN], [AlarmKind.QUARANTINE_BREACH]),
    ("quarantined resident by lane: out is denied", valid(), replace(QUARANTINED, last_passage=None), [], ("out", "lane"), S,
     Verdict.DENY, Prompt.QUARANTINE, [Reason.QUARANTINE], [AlarmKind.QUARANTINE_BREACH]),
    ("no history, nobody said: ask (a card with no history has no inferred direction)", valid(), KNOWN, [ir(36.5)], None, S,
     Verdict.ASK, Prompt.ASK_DIRECTION, [Reason.DIRECTION_UNKNOWN], []),
    ("inferred in (was out): measure and admit", valid(), replace(KNOWN, last_passage=WENT_OUT), [ir(36.5)], None, S,
     Verdict.ADMIT, Prompt.WELCOME, [Reason.TEMPERATURE_NORMAL], []),
    ("inferred out would skip the temperature entering needs: ask", valid(), replace(KNOWN, last_passage=CAME_IN), [], None, S,
     Verdict.ASK, Prompt.ASK_DIRECTION, [Reason.DIRECTION_UNKNOWN], []),
    ("inferred out where both ways are measured: no rule depends, go ahead", valid(), replace(KNOWN, last_passage=CAME_IN), [ir(36.5)], None,
     PolicySettings(measure_on=["in", "out"]), Verdict.ADMIT, Prompt.GOODBYE, [Reason.TEMPERATURE_NORMAL], []),
    ("outing rule on: an inferred direction is never enough", valid(), replace(KNOWN, last_passage=WENT_OUT), [ir(36.5)], None, OUTINGS,
     Verdict.ASK, Prompt.ASK_DIRECTION, [Reason.DIRECTION_UNKNOWN], []),
    ("handheld contact reading of exactly the threshold is a fever", valid(), KNOWN, [contact(37.3)], "in", S,
     Verdict.DENY, Prompt.FEVER, [Reason.FEVER], [AlarmKind.FEVER]),
    ("handheld contact just under the threshold is normal", valid(), KNOWN, [contact(37.2)], "in", S,
     Verdict.ADMIT, Prompt.WELCOME, [Reason.HANDHELD_NORMAL], []),
    ("two infrared readings of exactly the threshold are a fever", valid(), KNOWN, [ir(37.3), ir(37.3)], "in", S,
     Verdict.DENY, Prompt.FEVER, [Reason.FEVER], [AlarmKind.FEVER]),
    ("outing rule off: any number of exits", valid(), replace(KNOWN, last_passage=CAME_IN, household_exits=(NOW - timedelta(hours=3),)), [], "out", S,
     Verdict.ADMIT, Prompt.GOODBYE, [Reason.TEMPERATURE_NOT_REQUIRED], []),
    ("outing rule: household already went out → refer", valid(), replace(KNOWN, last_passage=CAME_IN, household_exits=(NOW - timedelta(hours=30),)), [], "out", OUTINGS,
     Verdict.REFER, Prompt.OUTING_LIMIT, [Reason.OUTING_LIMIT], []),
    ("outing rule: first exit of the household → admit", valid(), replace(KNOWN, last_passage=CAME_IN), [], "out", OUTINGS,
     Verdict.ADMIT, Prompt.GOODBYE, [], []),
    ("outing rule: back late → admit + overdue alarm", valid(), replace(KNOWN, last_passage=LastPassage("out", NOW - timedelta(hours=3))), [ir(36.6)], "in", OUTINGS,
     Verdict.ADMIT, Prompt.WELCOME, [Reason.OVERDUE_RETURN], [AlarmKind.OVERDUE_RETURN]),
    ("outing rule: back late, the sweep already raised it → no second alarm", valid(),
     replace(KNOWN, last_passage=LastPassage("out", NOW - timedelta(hours=3), overdue_alarmed=True)), [ir(36.6)], "in", OUTINGS,
     Verdict.ADMIT, Prompt.WELCOME, [Reason.OVERDUE_RETURN], []),
    ("outing rule: back in time → no alarm", valid(), replace(KNOWN, last_passage=WENT_OUT), [ir(36.6)], "in", OUTINGS,
     Verdict.ADMIT, Prompt.WELCOME, [Reason.TEMPERATURE_NORMAL], []),
    ("visitor pass inside its window", valid(CardKind.VISITOR, 44), Facts(holder=VISITOR, card_known=True, visitor_pass=PASS), [ir(36.6)], "in", S,
     Verdict.ADMIT, Prompt.WELCOME_VISITOR, [Reason.VISITOR_PASS_VALID], []),  # not 欢迎回家
    ("visitor pass outside its window", valid(CardKind.VISITOR, 44),
     Facts(holder=VISITOR, card_known=True, visitor_pass=replace(PASS, valid_from=NOW + timedelta(hours=2))), [ir(36.6)], "in", S,
     Verdict.DENY, Prompt.VISITOR_PASS_OUTSIDE_WINDOW, [Reason.VISITOR_PASS_OUTSIDE_WINDOW], []),
    ("visitor leaving after the window may still leave", valid(CardKind.VISITOR, 44),
     Facts(holder=VISITOR, card_known=True, visitor_pass=replace(PASS, valid_until=NOW - timedelta(minutes=5)),
           last_passage=LastPassage("in", NOW - timedelta(hours=4))), [], "out", S,
     Verdict.ADMIT, Prompt.GOODBYE_VISITOR, [], []),
    ("visitor pass outside its window, exit only inferred: ask", valid(CardKind.VISITOR, 44),
     Facts(holder=VISITOR, card_known=True, visitor_pass=replace(PASS, valid_until=NOW - timedelta(minutes=5)),
           last_passage=LastPassage("in", NOW - timedelta(hours=4))), [], None, S,
     Verdict.ASK, Prompt.ASK_DIRECTION, [Reason.DIRECTION_UNKNOWN], []),
    ("temperature on exit is not required by default", valid(), replace(KNOWN, last_passage=CAME_IN), [], "out", S,
     Verdict.ADMIT, Prompt.GOODBYE, [Reason.TEMPERATURE_NOT_REQUIRED], []),
    ("…but can be", valid(), replace(KNOWN, last_passage=CAME_IN), [], "out", PolicySettings(measure_on=["in", "out"]),
     Verdict.REMEASURE, Prompt.MEASURE, [Reason.TEMPERATURE_MISSING], []),
    ("volunteer flips the direction", valid(), replace(KNOWN, last_passage=WENT_OUT), [], "out", S,
     Verdict.ADMIT, Prompt.GOODBYE, [Reason.DIRECTION_OVERRIDDEN], []),
]


@pytest.mark.parametrize(
    "check, facts, readings, override, settings, verdict, prompt, reasons, alarms",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_decide(check, facts, readings, override, settings, verdict, prompt, reasons, alarms):
    direction, source = override if isinstance(override, tuple) else (override, "volunteer" if override else None)
    decision = decide(Passage(check, facts, NOW, tuple(readings), direction, source), settings)
    assert decision.verdict is verdict
    assert decision.prompt is prompt
    for reason in reasons:
        assert reason in decision.reasons
    assert [a.kind for a in decision.alarms] == alarms
    # Never admit on an untrusted reading; never raise a fever alarm without a trusted fever reading.
    if decision.verdict is Verdict.ADMIT and decision.temperature_c is not None:
        assert settings.plausible_floor_c <= decision.temperature_c < settings.fever_threshold_c
    # Nobody under a quarantine order is let out, or let through on a guess.
    if facts.quarantine and decision.verdict is Verdict.ADMIT:
        assert decision.direction == "in" and decision.direction_source in ("lane", "volunteer", "button")


def test_refusals_carry_the_dates_the_words_need():
    expired = decide(Passage(rejected(Rejection.EXPIRED), KNOWN, NOW, ()), S)
    assert expired.detail == {"valid_until": "2026-12-31"}
    early = decide(Passage(rejected(Rejection.NOT_YET_VALID), KNOWN, NOW, ()), S)
    assert early.detail == {"valid_from": "2026-01-01"}


@pytest.mark.parametrize("facts, direction, settings, expected", [
    (KNOWN, "in", S, False),
    (KNOWN, "out", S, True),  # out skips the temperature that in needs
    (KNOWN, "out", PolicySettings(measure_on=["in", "out"]), False),
    (QUARANTINED, "in", S, True),
    (KNOWN, "in", OUTINGS, True),
])
def test_depends_on_direction(facts, direction, settings, expected):
    assert depends_on_direction(CardKind.RESIDENT, facts, direction, NOW, settings) is expected


def test_a_guess_never_releases_a_quarantined_resident():
    """Every combination of history and readings: a quarantined resident is never admitted out, nor on a guess."""
    for last in (None, WENT_OUT, CAME_IN):
        for readings in ((), (ir(36.5),), (contact(36.5),)):
            for settings in (S, OUTINGS, PolicySettings(measure_on=["in", "out"])):
                facts = replace(QUARANTINED, last_passage=last)
                decision = decide(Passage(valid(), facts, NOW, readings), settings)
                assert decision.verdict is not Verdict.ADMIT
                for source in ("inferred", None):
                    guessed = decide(Passage(valid(), facts, NOW, readings, "out", source), settings)
                    assert guessed.verdict is not Verdict.ADMIT


VEHICLE = Holder(CardKind.VEHICLE, 5, "", 7, plate="京A12345")

VEHICLE_CASES = [
    ("known plate entering, disinfected", None, Facts(holder=VEHICLE), True, "in", Verdict.ADMIT, Prompt.VEHICLE_ADMIT),
    ("known plate entering, not disinfected", None, Facts(holder=VEHICLE), False, "in", Verdict.REFER, Prompt.DISINFECT_VEHICLE),
    ("known plate leaving needs no disinfection", None, Facts(holder=VEHICLE, last_passage=LastPassage("in", NOW)), False, "out", Verdict.ADMIT, Prompt.VEHICLE_ADMIT),
    ("leaving only inferred, not disinfected: ask", None, Facts(holder=VEHICLE, last_passage=LastPassage("in", NOW)), False, None, Verdict.ASK, Prompt.ASK_DIRECTION),
    ("no direction at all: ask", None, Facts(holder=VEHICLE), True, None, Verdict.ASK, Prompt.ASK_DIRECTION),
    ("unknown plate", None, Facts(plate="津B99999"), True, None, Verdict.REFER, Prompt.REGISTER_VEHICLE),
    ("vehicle card", valid(CardKind.VEHICLE, 5), Facts(holder=VEHICLE, card_known=True), True, "in", Verdict.ADMIT, Prompt.VEHICLE_ADMIT),
    ("forged vehicle card", rejected(Rejection.BAD_SIGNATURE), Facts(), True, None, Verdict.DENY, Prompt.CARD_REJECTED),
    ("volunteer marks it leaving", None, Facts(holder=VEHICLE), False, "out", Verdict.ADMIT, Prompt.VEHICLE_ADMIT),
]


@pytest.mark.parametrize("check, facts, disinfected, override, verdict, prompt", [c[1:] for c in VEHICLE_CASES], ids=[c[0] for c in VEHICLE_CASES])
def test_decide_vehicle(check, facts, disinfected, override, verdict, prompt):
    decision = decide_vehicle(VehiclePassage(check, facts, NOW, disinfected, override, "volunteer" if override else None), S)
    assert (decision.verdict, decision.prompt) == (verdict, prompt)
    assert decision.vehicle
    assert decision.disinfected is disinfected
    if facts.holder or facts.plate:
        assert decision.plate == (facts.holder.plate if facts.holder else facts.plate)


def test_vehicle_card_at_decide_goes_to_vehicle_policy():
    decision = decide(Passage(valid(CardKind.VEHICLE, 5), Facts(holder=VEHICLE, card_known=True), NOW), S)
    assert decision.vehicle and decision.plate == "京A12345"


def test_inference_is_the_opposite_of_the_last_admitted_passage_and_nothing_without_one():
    from kiosk.gate.direction import infer

    assert (infer("in"), infer("out"), infer(None)) == ("out", "in", None)


def test_overdue_sweep():
    outside = [("resident:1", NOW - timedelta(hours=3)), ("resident:2", NOW - timedelta(minutes=30))]
    alarms = overdue_returns(outside, NOW, OUTINGS)
    assert [(a.kind, a.subject) for a in alarms] == [(AlarmKind.OVERDUE_RETURN, "resident:1")]
    assert overdue_returns(outside, NOW, S) == []


def test_assessment_with_custom_confirmation_count():
    strict = PolicySettings(fever_readings_to_confirm=1)
    assert assess_temperature([ir(37.4)], strict).reason is Reason.FEVER


def test_policy_module_is_pure():
    """The policy reads no clock and does no I/O: it imports nothing that could."""
    import ast
    import inspect

    import kiosk.gate.policy as policy

    tree = ast.parse(inspect.getsource(policy))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in (node.names if isinstance(node, ast.Import) else [type("A", (), {"name": node.module or ""})])}
    assert not imported & {"os", "time", "sqlite3", "sqlite_utils", "socket", "requests", "flask", "random"}
    source = inspect.getsource(policy)
    assert "datetime.now" not in source and "time.time" not in source


def test_decision_to_dict_is_json_ready():
    import json

    decision = decide(Passage(valid(), KNOWN, NOW, (ir(37.6), ir(37.7)), "in", "volunteer"), S)
    data = json.loads(json.dumps(decision.to_dict(), ensure_ascii=False))
    assert data["verdict"] == "deny" and data["alarms"][0]["kind"] == "fever" and data["subject"] == "resident:12"
