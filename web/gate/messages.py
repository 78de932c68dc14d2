"""Every sentence the touchscreen shows for a decision, alarm or fault, through the translation catalogs.

The policy speaks in codes (prompts, reasons, alarm kinds, acknowledgement
outcomes, direction sources); this is where a code becomes words for a person
at the gate: a title and what to do next. Keys are the codes as they travel in
JSON, so the page can show a code the server sends; tests check that every
code the policy has is here. ``{valid_until}``-style fields are filled by the
page from the decision's ``detail`` (dates written as the catalog's ``date``).
"""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from web.common.words import ACK_OUTCOMES as COMMON_OUTCOMES
from web.common.words import ALARMS as COMMON_ALARMS
from web.gate import visitor_words

# prompt code → (title, what to do)
PROMPTS = {
    "welcome": (_l("Welcome home"), _l("Please go through.")),
    "goodbye": (_l("Have a safe trip"), _l("Please go through and keep your card with you.")),
    "welcome_visitor": (_l("Welcome"), _l("Please go through.")),
    "goodbye_visitor": (_l("Goodbye"), _l("Please go through.")),
    "vehicle_admit": (_l("Vehicle may pass"), _l("Please drive through.")),
    "measure": (_l("Please step up to the thermometer"), _l("Face the sensor, about 3 cm away.")),
    "remeasure_fever": (_l("High reading: measuring again"), _l("Please wait a moment and hold still.")),
    "remeasure_low": (_l("Please come closer"), _l("Reading too low. Remove your hat, step out of the wind and hold still.")),
    "remeasure_high": (_l("Please hold still"), _l("Reading too high for a forehead. Measuring again.")),
    "remeasure_ambient": (_l("Thermometer too cold or too hot"), _l("Volunteer: shelter the thermometer, or type a handheld reading.")),
    "remeasure_fault": (_l("Thermometer not responding"), _l("Measuring again. Volunteer: type a handheld reading if this repeats.")),
    "handheld_check": (_l("Volunteer: measure by hand"), _l("The thermometer could not get a reliable reading. Take a handheld reading and type it in.")),
    "fever": (_l("Fever: do not let in"), _l("Ask the person to wait in the observation area, take a handheld reading, and call the community doctor.")),
    "ask_direction": (_l("Coming in or going out?"), _l("Volunteer: ask the person, then tap In or Out. Nobody goes through before that.")),
    "register_visitor": (_l("No entry card"), _l("Volunteer: register the visitor before letting them in.")),
    "card_rejected": (_l("Card damaged or forged"), _l("The code on this card cannot be trusted. Check the person's ID and call the office.")),
    "card_expired": (_l("Card expired"), _l("It was valid until {valid_until}. Please get a new card from the community office.")),
    "card_not_yet_valid": (_l("Card not valid yet"), _l("It is valid from {valid_from}. Until then, register the person as a visitor.")),
    "card_lost": (_l("Card reported lost"), _l("This card was reported lost. Keep the card, check the person's ID and call the office.")),
    "card_replaced": (_l("Old card: a new one was issued"), _l("Please use the new card. Keep this one and hand it to the office.")),
    "card_moved_out": (_l("Card stopped: holder moved out"), _l("The holder no longer lives here. Keep the card, register the person as a visitor if they are visiting, and tell the office.")),
    "card_revoked": (_l("Card no longer in use"), _l("The office has stopped this card. Keep the card and call the office.")),
    "card_foreign": (_l("Not a card of this community"), _l("This card was issued elsewhere. Register the person as a visitor.")),
    "card_not_in_registry": (_l("Card not in the registry"), _l("The card is genuine but unknown here. Call the office.")),
    "quarantine": (_l("Home quarantine: may not go out"), _l("This household is under a quarantine order. The office has been alerted.")),
    "quarantine_return": (_l("Home quarantine: back home"), _l("Let in. Please go straight home and stay there. The office has been told.")),
    "outing_limit": (_l("Outing limit reached"), _l("This household has used its outings for now. Check with the office.")),
    "visitor_pass_outside_window": (_l("Visitor pass not valid now"), _l("The pass is for another time. Register the visitor again.")),
    "register_vehicle": (_l("Unknown vehicle"), _l("Scan the driver's card, or register the driver as a visitor.")),
    "disinfect_vehicle": (_l("Disinfect the vehicle"), _l("Spray the vehicle, then record it as disinfected.")),
}

VERDICTS = {
    "admit": _l("Admitted"),
    "deny": _l("Denied"),
    "refer": _l("Volunteer needed"),
    "remeasure": _l("Measuring"),
    "ask": _l("Volunteer: choose In or Out"),
    "abandoned": _l("Left before a decision"),
}

# Alarm kinds and what was done about one: the words both apps share (web/common/words.py), one definition.
ALARMS = COMMON_ALARMS
ACK_OUTCOMES = COMMON_OUTCOMES

# where a passage's direction came from
DIRECTION_SOURCES = {
    "lane": _l("this lane"),
    "volunteer": _l("volunteer's choice"),
    "button": _l("gate button"),
    "inferred": _l("from the card's history"),
}

# why a visitor came: the codes are kiosk.gate.visitors.VisitorReason (the ledger stores the code, never these words)
VISITOR_REASONS = {
    "visiting_family": _l("Visiting family"),
    "delivery": _l("Delivery"),
    "repairs": _l("Repairs"),
    "other": _l("Other"),
}

FAULTS = {
    "thermometer": _l("Thermometer fault: type handheld readings"),
    "camera": _l("Camera fault: type or scan cards with the USB scanner"),
    "disk": _l("Disk nearly full: call the office"),
    "usb_scanner": _l("USB scanner not working: use the camera"),
}


# the clock banner: the codes are kiosk.gate.clock.TrustCode (never shown for "trusted")
CLOCK = {
    "behind_journal": _l("Clock not trusted: it is earlier than the last record. Please call the community office"),
    "off_office": _l("Clock not trusted: it is far from the office's time. Please call the community office"),
    "unsynchronised": _l("Clock not trusted: not synchronised. Please call the community office"),
}


def _inside_words() -> dict:
    from web.gate.visitors_inside import words

    return words()


def catalog() -> dict:
    """All of the above in the current request's language, for the page's script."""
    return {
        "prompts": {code: [str(title), str(todo)] for code, (title, todo) in PROMPTS.items()},
        "verdicts": {k: str(v) for k, v in VERDICTS.items()},
        "alarms": {k: str(v) for k, v in ALARMS.items()},
        "faults": {k: str(v) for k, v in FAULTS.items()},
        "clock": {k: str(v) for k, v in CLOCK.items()},
        "outcomes": {k: str(v) for k, v in ACK_OUTCOMES.items()},
        "sources": {k: str(v) for k, v in DIRECTION_SOURCES.items()},
        "visitor_reasons": {k: str(v) for k, v in VISITOR_REASONS.items()},
        "visitor_form": visitor_words.catalog(),  # the visitor form's checks and returning-visitor offer
        "inside": _inside_words(),  # the visitors-inside screen (web/gate/visitors_inside.py)
        "ui": {
            "in": gettext("In"), "out": gettext("Out"),
            "tries_left": gettext("Wrong PIN: %(n)s tries left", n="{n}"),
            "locked": gettext("Too many wrong PINs: locked until %(time)s", time="{time}"),
            "office": gettext("Office"), "office_offline": gettext("Office offline"),
            "backlog": gettext("%(n)s waiting to sync", n="{n}"),
            "thermometer": gettext("Thermometer"), "thermometer_fault": gettext("Thermometer fault"),
            "camera": gettext("Camera"), "camera_fault": gettext("Camera fault"),
            "sign_in": gettext("Sign in"), "hours": gettext("%(h)s h on duty", h="{h}"),
            "no_alarms": gettext("No open alarms"), "acknowledge": gettext("Acknowledge"),
            "sign_in_first": gettext("Sign in first: alarms are acknowledged by the volunteer on duty"),
            "visitor": gettext("Visitor"), "vehicle": gettext("Vehicle"),
            "saved": gettext("Saved"), "measure_again": gettext("Measure again and enter the new reading"),
            "no_reading": gettext("Nobody in front of the thermometer"),
            "error": gettext("Could not save"), "nobody_waiting": gettext("Scan the card first"),
            "passengers": gettext("Passengers"), "driver": gettext("Driver"),
            "vehicle_plate_first": gettext("Type the plate first"),
            "vehicle_measure_driver": gettext("Measure the driver's temperature, or type it"),
            "disk_low": gettext("Disk nearly full"),
            "leaf_open": gettext("Gate open"), "leaf_open_min": gettext("Gate open %(n)s min", n="{n}"),
            "date": gettext("%(y)s-%(m)s-%(d)s", y="{y}", m="{m}", d="{d}"),
            "minutes_seconds": gettext("%(m)s min %(s)s s", m="{m}", s="{s}"),
            "seconds": gettext("%(s)s s", s="{s}"),
            "hours_minutes": gettext("%(h)s h %(m)s min", h="{h}", m="{m}"),
            "unstaffed": gettext("No volunteer on duty: a volunteer, please sign in (for %(time)s)", time="{time}"),
            "direction_none": gettext("Not chosen: the gate works it out, and asks you when it cannot"),
            "direction_chosen": gettext("%(dir)s for %(left)s more. Tap %(dir)s again to cancel", dir="{dir}", left="{left}"),
            "direction_button": gettext("%(dir)s, set by the gate button, for %(left)s more", dir="{dir}", left="{left}"),
            "direction_lane": gettext("This lane is %(dir)s only", dir="{dir}"),
            "direction_sent": gettext("%(dir)s: please wait…", dir="{dir}"),
            "ack_done": gettext("Acknowledged: %(alarm)s", alarm="{alarm}"),
            "ack_needs": gettext("Choose what was done, or write a note"),
            "closes_alarm": gettext("Closes the alarm of %(time)s", time="{time}"),
        },
    }
