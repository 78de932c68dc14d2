"""Words both apps show for the same codes: alarm kinds, what was done about an alarm, directions, verdicts.

The domain speaks in codes (kiosk.gate.policy's AlarmKind, kiosk.alarm_outcomes'
outcome codes); this is the one place a code becomes words, in the request's
language, for the gate's page and the office desk alike.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ALARMS = {
    "fever": _l("Fever"),
    "unknown_visitor": _l("Visitor without a card"),
    "invalid_card": _l("Invalid card"),
    "quarantine_breach": _l("Quarantine breach"),
    "quarantine_return": _l("Quarantined resident came home"),
    "overdue_return": _l("Overdue return"),
    "outing_limit": _l("Outing limit reached"),
    "sensor_fault": _l("Sensor fault"),
    "unstaffed_gate": _l("Gate without a volunteer"),
    "gate_offline": _l("Gate offline"),
    "gate_left_open": _l("Gate left open"),
}

# what was done about an alarm, at the gate or at the office
ACK_OUTCOMES = {
    "remeasured_normal": _l("Remeasured: normal"),
    "sent_to_observation": _l("Sent to the observation area"),
    "called_doctor": _l("Community doctor called"),
    "sent_to_clinic": _l("Taken to the fever clinic"),
    "turned_back": _l("Turned back"),
    "escorted_home": _l("Accompanied back home"),
    "reported_to_office": _l("Reported to the office"),
    "visitor_registered": _l("Visitor registered"),
    "identity_checked": _l("Identity checked"),
    "card_kept": _l("Card kept for the office"),
    "returned": _l("Back inside"),
    "contacted": _l("Resident contacted"),
    "home_observation": _l("Home observation"),
    "false_alarm": _l("False alarm"),
    "volunteer_signed_in": _l("A volunteer signed in"),
    "back_online": _l("Gate back online"),
    "gate_revoked": _l("Gate taken out of service"),
    "handheld_normal": _l("Handheld reading normal"),
    "repaired": _l("Repaired"),
    "volunteer_arrived": _l("A volunteer arrived"),
    "gate_closed": _l("Gate shut"),
    "kept_open_on_purpose": _l("Kept open on purpose (delivery, moving house)"),
    "other": _l("Other (see the note)"),
}

DIRECTIONS = {"in": _l("In"), "out": _l("Out")}

VERDICTS_SHORT = {
    "admit": _l("Let in / out"),
    "deny": _l("Refused"),
    "refer": _l("Volunteer to act"),
    "remeasure": _l("Measuring"),
    "ask": _l("Asked for direction"),
}


def words(table: dict) -> dict[str, str]:
    """A table's words in the current request's language (for a page's catalog)."""
    return {code: str(text) for code, text in table.items()}
