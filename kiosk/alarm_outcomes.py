"""What can be said was done about an alarm: the one list of outcome codes, shared by the gate and the office.

A volunteer at the gate picks one of ``ACK_OUTCOMES_BY_KIND`` (one tap on the
gate's page); staff at the office pick one of ``office_outcomes(kind)`` — the
gate's codes for that kind plus the office's own (误报, 已居家观察 …). Codes are
stored; the words are in the web layer's catalogs (web/gate/messages.py, the
office's messages), zh-CN first. Plain strings: this module imports nothing of
the gate, so the office can use it without the gate's code.
"""

from __future__ import annotations

# The alarm kinds a gate raises today (kiosk.gate.policy.AlarmKind values) and the office's own.
FEVER = "fever"
QUARANTINE_BREACH = "quarantine_breach"
UNKNOWN_VISITOR = "unknown_visitor"
INVALID_CARD = "invalid_card"
OVERDUE_RETURN = "overdue_return"
SENSOR_FAULT = "sensor_fault"
UNSTAFFED_GATE = "unstaffed_gate"
GATE_OFFLINE = "gate_offline"
GATE_LEFT_OPEN = "gate_left_open"  # the gate leaf open too long (kiosk/gate/gate_leaf.py)

# What a volunteer can say was done about each kind of alarm (the gate's page offers these as one-tap outcomes).
ACK_OUTCOMES_BY_KIND: dict[str, tuple[str, ...]] = {
    FEVER: ("remeasured_normal", "sent_to_observation", "called_doctor", "sent_to_clinic"),
    QUARANTINE_BREACH: ("escorted_home", "reported_to_office", "turned_back"),
    UNKNOWN_VISITOR: ("visitor_registered", "turned_back", "reported_to_office"),
    INVALID_CARD: ("identity_checked", "card_kept", "turned_back", "reported_to_office"),
    OVERDUE_RETURN: ("returned", "contacted", "reported_to_office"),
    GATE_LEFT_OPEN: ("gate_closed", "kept_open_on_purpose", "reported_to_office"),
}
ACK_OUTCOMES: tuple[str, ...] = tuple(dict.fromkeys(c for codes in ACK_OUTCOMES_BY_KIND.values() for c in codes))
# For alarms of kinds the table does not list (a newer gate's, say): these always make sense at a gate.
ACK_OUTCOMES_ANY = ("reported_to_office", "turned_back")
# Outcomes a gate records by itself, when the passage answered its own alarm (a handheld reading, a registration),
# or a volunteer's sign-in ended an unstaffed spell (kiosk/gate/unstaffed.py), or the gate leaf shut (gate_leaf.py).
GATE_SELF_OUTCOMES = ("handheld_normal", "visitor_registered", "volunteer_signed_in", "gate_closed")
# Notes the office writes when it closes its own gate_offline alarm (kiosk/office/watch.py, acknowledged_by office:auto).
OFFICE_AUTO_OUTCOMES = ("back_online", "gate_revoked")

# What staff at the office can record, beyond the gate's codes for the same kind: 复测正常 / 已送发热门诊 are the
# gate's remeasured_normal / sent_to_clinic; 已居家观察 is home_observation; 误报 is false_alarm.
OFFICE_EXTRA_BY_KIND: dict[str, tuple[str, ...]] = {
    FEVER: ("home_observation",),
    QUARANTINE_BREACH: ("home_observation", "contacted"),
    UNKNOWN_VISITOR: ("contacted",),
    INVALID_CARD: ("contacted",),
    OVERDUE_RETURN: (),
    SENSOR_FAULT: ("repaired", "contacted"),
    UNSTAFFED_GATE: ("volunteer_arrived", "contacted"),
    GATE_OFFLINE: ("back_online", "repaired", "contacted"),
    GATE_LEFT_OPEN: ("volunteer_arrived",),
}
# For every kind, at the office: 误报 (false alarm) and "handled otherwise, see the note".
OFFICE_OUTCOMES_ANY = ("false_alarm", "other")

OFFICE_OUTCOMES: tuple[str, ...] = tuple(dict.fromkeys(
    [*ACK_OUTCOMES, *(c for codes in OFFICE_EXTRA_BY_KIND.values() for c in codes), *OFFICE_OUTCOMES_ANY]))


def gate_outcomes(kind: str) -> tuple[str, ...]:
    """The codes a gate's volunteer may pick for an alarm of ``kind`` (the table's, else ``ACK_OUTCOMES_ANY``)."""
    return ACK_OUTCOMES_BY_KIND.get(kind, ACK_OUTCOMES_ANY)


def office_outcomes(kind: str) -> tuple[str, ...]:
    """The codes office staff may pick for an alarm of ``kind``: the gate's, the office's extras, then the any-kind ones."""
    return tuple(dict.fromkeys([*gate_outcomes(kind), *OFFICE_EXTRA_BY_KIND.get(kind, ()), *OFFICE_OUTCOMES_ANY]))
