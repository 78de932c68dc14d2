"""Every word the office desk's scripts show, through the office's translation catalogs (web/office/translations).

Codes (alarm kinds, outcomes, verdicts, directions) get their words from
web/common/words.py, shared with the gate; the desk's own labels are here.
Templates translate their own text with ``_()``.
"""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from web.common.words import ACK_OUTCOMES, ALARMS, DIRECTIONS, VERDICTS_SHORT, words

ROLES = {"admin": _l("Administrator"), "staff": _l("Staff"), "viewer": _l("Viewer")}

SUBJECTS = {"resident": _l("Resident"), "visitor": _l("Visitor"), "vehicle": _l("Vehicle"), "gate": _l("Gate")}

PARTS = {"thermometer": _l("Thermometer"), "camera": _l("Camera"), "disk": _l("Disk"), "usb_scanner": _l("USB scanner"),
         "clock": _l("Clock")}

LEDGER_KINDS = {"passage": _l("Passages"), "visitor": _l("Visitors"), "vehicle": _l("Vehicles"),
                "temperature_exception": _l("Temperature exceptions")}


def catalog() -> dict:
    """The desk's words in the current request's language, for its scripts (rendered into #catalog)."""
    from flask import current_app

    return {
        "timezone": current_app.config.get("TIMEZONE", "Asia/Shanghai"),
        "alarms": words(ALARMS), "outcomes": words(ACK_OUTCOMES), "directions": words(DIRECTIONS),
        "verdicts": words(VERDICTS_SHORT), "subjects": words(SUBJECTS), "parts": words(PARTS), "roles": words(ROLES),
        "ui": {
            "error": gettext("Something went wrong: please try again"),
            "offline": gettext("The office server cannot be reached: check the network"),
            "sound_on": gettext("Sound on"), "sound_off": gettext("Sound off"),
            "banner": gettext("%(alarm)s at %(gate)s, %(time)s", alarm="{alarm}", gate="{gate}", time="{time}"),
            "open": gettext("Open"), "handled": gettext("Handled"),
            "who": gettext("Who"), "where": gettext("Where"), "when": gettext("When"),
            "readings": gettext("Readings"), "gate_did": gettext("The gate"), "handling": gettext("Handled as"),
            "outcome": gettext("What was done"), "note": gettext("Note (optional)"), "handle": gettext("Confirm handling"),
            "choose_outcome": gettext("Choose what was done first"),
            "by_volunteer": gettext("volunteer %(name)s at the gate", name="{name}"),
            "by_staff": gettext("%(name)s at the office", name="{name}"),
            "online": gettext("Online"), "never_heard": gettext("Never heard from"),
            "silent_for": gettext("Offline: silent for %(d)s", d="{d}"),
            "gate_revoked": gettext("Revoked"), "unstaffed": gettext("No volunteer signed in"),
            "volunteer": gettext("On duty"), "nobody_on_duty": gettext("Nobody signed in"),
            "on_duty_since": gettext("%(name)s since %(time)s", name="{name}", time="{time}"),
            "today_in_out": gettext("Today"), "in_out": gettext("%(i)s in, %(o)s out", i="{i}", o="{o}"),
            "last_heard": gettext("Last heard"), "backlog": gettext("Waiting to sync"),
            "clock": gettext("Clock"), "clock_ok": gettext("Right"),
            "clock_off": gettext("Off by %(s)s s", s="{s}"), "faults": gettext("Faults"),
            # the gate's own word on its clock at its last heartbeat (kiosk.gate.clock's codes; "trusted" says nothing)
            "clock_behind_journal": gettext("Not trusted: earlier than its last record"),
            "clock_off_office": gettext("Not trusted: far from the office's time"),
            "clock_unsynchronised": gettext("Not trusted: not synchronised"),
            "leaf": gettext("Gate leaf"), "leaf_shut": gettext("Shut"),
            "leaf_open": gettext("Open for %(n)s min", n="{n}"),
            "updated_at": gettext("Updated %(time)s", time="{time}"),
            "date": gettext("%(y)s-%(m)s-%(d)s", y="{y}", m="{m}", d="{d}"),
            "short_date": gettext("%(m)s/%(d)s", m="{m}", d="{d}"),
            "minutes_seconds": gettext("%(m)s min %(s)s s", m="{m}", s="{s}"),
            "hours_minutes": gettext("%(h)s h %(m)s min", h="{h}", m="{m}"),
            "seconds": gettext("%(s)s s", s="{s}"),
        },
    }
