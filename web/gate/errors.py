"""Every refusal and error the gate's API answers, in the page's language: one catalog, keyed by stable codes.

How to add an error
-------------------
1. Raise it where the rule lives, with a code, English for the log and the
   fields the words need: ``raise GateError("plate_unknown", f"no plate {plate}", plate=plate)``
   (GateError, AlarmError, ShiftError and PersonalDataError are kiosk.exc.Refusal:
   code + English + fields; kiosk/ never holds the words a person reads).
2. Add the code here to ``ERRORS`` with an English msgid written for the
   volunteer: what happened and what to do, ``%(plate)s`` for a field
   (``_l("No vehicle %(plate)s in the registry: call the office.")``).
3. Put the Chinese in your /work/briefs/zh/<you>.json and run po_add.py (see
   docs/glossary.md for the words to use), and add the code to a test.

The answer is ``{"error": words, "code": code, "detail": English, **fields}``:
the page shows ``error`` as it is (already in its language) and may branch on
``code``; ``detail`` is for the log. A code missing here still answers, with
the generic ``refused`` words (and tests/web/test_error_words.py fails, so the
code gets its words). Body problems (a field missing, too long …) are
web/json_api.py's, with the field's label from the schema.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from web.json_api import ApiError

ERRORS = {
    # the passage worker (kiosk/gate/passages.py)
    "busy": _l("The gate is busy: please scan again."),
    "nothing_waiting": _l("Scan the card first"),
    "direction_first": _l("Tap In or Out first."),
    "vehicle_needs_plate": _l("Type the plate number or scan the vehicle card."),
    "no_sealing_key": _l("This gate cannot keep ID numbers yet: register the visitor without the ID number, and tell the office."),
    "no_thermometer": _l("This gate has no thermometer: type the reading."),
    "id_check_digit": _l("The ID number is not valid: ask the visitor to show the ID card again."),
    "no_household": _l("There is no such household: pick the host household again."),
    # the vehicle form (kiosk/gate/vehicle_form.py, web/gate/vehicle_driver.py)
    "driver_not_scanned": _l("The driver's card is no longer held: please scan it again."),
    "too_many_occupants": _l("At most 9 people can be scanned for one vehicle."),
    "driver_phone_missing": _l("Type the driver's phone number."),
    "driver_host_missing": _l("Pick the household the driver visits."),
    # the visitor form (kiosk/gate/passages.py Gate.visitor, web/gate/api.py /visitors/known)
    "host_required": _l("Choose the household the visitor is visiting."),
    "phone_digits": _l("The phone number is not valid: type digits only (a mobile number has 11)."),
    # alarms (kiosk/gate/ledger.py)
    "ack_needs": _l("Choose what was done, or write a note"),
    "not_signed_in": _l("Sign in first: only the volunteer on duty can do this."),
    "no_alarm": _l("This alarm is not open at this gate: reload the alarms."),
    "already_acknowledged": _l("This alarm has already been acknowledged."),
    # signing in (kiosk/gate/shifts.py)
    "unknown": _l("This volunteer is not on this gate's list: call the office."),
    "wrong_pin": _l("Wrong PIN: %(n)s tries left"),
    "locked": _l("Too many wrong PINs: please wait and try again later."),
    # disinfection rounds (kiosk/gate/disinfection.py)
    "missing": _l("%(field)s is missing."),
    "too_long": _l("%(field)s is too long: at most %(n)s characters."),
    # anything else
    "refused": _l("The gate could not do this: please try again, or call the office."),
    "not_found": _l("Not found at this gate: please reload the page."),
    "internal": _l("Something went wrong at the gate: nothing was recorded. Please try again."),
}

# fields a refusal names (body fields are labelled by their schema instead)
FIELDS = {"area": _l("Area"), "agent": _l("Agent"), "note": _l("Note")}


def words(code: str, **fields: Any) -> str:
    """The sentence for ``code`` in the current request's language (the generic one for an unknown code)."""
    template = ERRORS.get(code, ERRORS["refused"])
    values = {k: (str(FIELDS[v]) if k == "field" and v in FIELDS else v) for k, v in fields.items()}
    try:
        return str(template) % values if "%(" in str(template) else str(template)
    except (KeyError, TypeError, ValueError):  # a field the words need was not given: say it without
        return str(ERRORS["refused"])


def refusal(exc: Exception, status: int = 409) -> ApiError:
    """The API's answer for a refusal raised in kiosk/ (a kiosk.exc.Refusal, or any exception: code ``refused``)."""
    code = getattr(exc, "code", None) or "refused"
    fields = {k: v for k, v in (getattr(exc, "fields", None) or {}).items() if v is not None}
    return ApiError(status, words(code, **fields), code=code, detail=str(exc), **fields)


def failure(code: str, status: int, detail: str = "", **fields: Any) -> ApiError:
    """An error the web layer itself answers (no household, not found, internal): words, code and English detail."""
    return ApiError(status, words(code, **fields), code=code, detail=detail or code, **fields)
