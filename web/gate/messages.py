"""Every sentence the touchscreen shows for a decision, alarm or fault, through the translation catalogs.

The policy speaks in codes (Prompt, Reason, AlarmKind); this is where a code
becomes words for a person at the gate: a title and what to do next.
"""

from __future__ import annotations

from flask_babel import gettext, lazy_gettext as _l

from kiosk.gate.policy import AlarmKind, Prompt

# prompt → (title, what to do)
PROMPTS = {
    Prompt.WELCOME: (_l("Welcome home"), _l("Please go through.")),
    Prompt.GOODBYE: (_l("Have a safe trip"), _l("Please go through and keep your card with you.")),
    Prompt.MEASURE: (_l("Please step up to the thermometer"), _l("Face the sensor, about 3 cm away.")),
    Prompt.REMEASURE_FEVER: (_l("High reading: measuring again"), _l("Please wait a moment and hold still.")),
    Prompt.REMEASURE_LOW: (_l("Please come closer"), _l("Reading too low. Remove your hat, step out of the wind and hold still.")),
    Prompt.REMEASURE_HIGH: (_l("Please hold still"), _l("Reading too high for a forehead. Measuring again.")),
    Prompt.REMEASURE_AMBIENT: (_l("Thermometer too cold or too hot"), _l("Volunteer: shelter the thermometer, or type a handheld reading.")),
    Prompt.REMEASURE_FAULT: (_l("Thermometer not responding"), _l("Measuring again. Volunteer: type a handheld reading if this repeats.")),
    Prompt.HANDHELD_CHECK: (_l("Volunteer: measure by hand"), _l("The thermometer could not get a reliable reading. Take a handheld reading and type it in.")),
    Prompt.FEVER: (_l("Fever: do not let in"), _l("Ask the person to wait in the observation area, take a handheld reading, and call the community doctor.")),
    Prompt.REGISTER_VISITOR: (_l("No entry card"), _l("Volunteer: register the visitor before letting them in.")),
    Prompt.CARD_REJECTED: (_l("Card not valid"), _l("This card is forged, expired or damaged. Check the person's ID and call the office.")),
    Prompt.CARD_REVOKED: (_l("Card withdrawn"), _l("This card was reported lost or replaced. Keep the card and call the office.")),
    Prompt.CARD_NOT_IN_REGISTRY: (_l("Card not in the registry"), _l("The card is genuine but unknown here. Call the office.")),
    Prompt.QUARANTINE: (_l("Home quarantine: may not go out"), _l("This household is under a quarantine order. The office has been alerted.")),
    Prompt.OUTING_LIMIT: (_l("Outing limit reached"), _l("This household has used its outings for now. Check with the office.")),
    Prompt.VISITOR_PASS_OUTSIDE_WINDOW: (_l("Visitor pass not valid now"), _l("The pass is for another time. Register the visitor again.")),
    Prompt.REGISTER_VEHICLE: (_l("Unknown vehicle"), _l("Record the driver and passengers, and call the office if needed.")),
    Prompt.DISINFECT_VEHICLE: (_l("Disinfect the vehicle"), _l("Spray the vehicle, then record it as disinfected.")),
}

VERDICTS = {
    "admit": _l("Admitted"),
    "deny": _l("Denied"),
    "refer": _l("Volunteer needed"),
    "remeasure": _l("Measuring"),
    "abandoned": _l("Left before a decision"),
}

ALARMS = {
    AlarmKind.FEVER: _l("Fever"),
    AlarmKind.UNKNOWN_VISITOR: _l("Visitor without a card"),
    AlarmKind.INVALID_CARD: _l("Invalid card"),
    AlarmKind.QUARANTINE_BREACH: _l("Quarantine breach"),
    AlarmKind.OVERDUE_RETURN: _l("Overdue return"),
}

FAULTS = {
    "thermometer": _l("Thermometer fault: type handheld readings"),
    "camera": _l("Camera fault: type or scan cards with the USB scanner"),
    "disk": _l("Disk nearly full: call the office"),
    "usb_scanner": _l("USB scanner not working: use the camera"),
}


def catalog() -> dict:
    """All of the above in the current request's language, for the page's script."""
    return {
        "prompts": {p.value: [str(title), str(todo)] for p, (title, todo) in PROMPTS.items()},
        "verdicts": {k: str(v) for k, v in VERDICTS.items()},
        "alarms": {k.value: str(v) for k, v in ALARMS.items()},
        "faults": {k: str(v) for k, v in FAULTS.items()},
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
            "disk_low": gettext("Disk nearly full"),
        },
    }
