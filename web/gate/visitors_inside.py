"""Who is still inside, on the touchscreen: ``GET /api/v1/visitors/inside`` and ``POST …/inside/<entry>/exit``.

Nested in the gate's ``/api/v1`` blueprint (web/gate/api.py), so its error handlers answer here too. The list
and the exit are kiosk/gate/visitors_inside.py's; this module gives them HTTP and words: every refusal is a 409
with a ``code`` and a sentence in the page's language (``ERRORS``), never English on a Chinese screen. The
screen is templates/screen_inside.html with static/inside.js; ``words()`` goes into the page's catalog as
``T.inside``.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask_babel import lazy_gettext as _l

from kiosk.gate.ledger import local_midnight
from kiosk.gate.visitors_inside import VisitorExitError
from web.json_api import ApiError

blueprint = Blueprint("gate_visitors_inside", __name__, url_prefix="/visitors/inside")

# VisitorExitError.code → what the volunteer reads
ERRORS = {
    "unknown": _l("This visitor is not on the list of visitors inside."),
    "already_out": _l("This visitor's exit is already recorded."),
    "not_signed_in": _l("Sign in first: a visitor's exit is recorded by the volunteer on duty."),
}

MAX_SEQ = 2**53


def words() -> dict:
    """The inside screen's words in the current request's language (the page's ``T.inside``)."""
    return {
        "title": str(_l("Visitors inside")), "leave": str(_l("Left")), "none": str(_l("No visitors inside")),
        "since": str(_l("In since %(time)s", time="{time}")), "for": str(_l("Inside for %(d)s", d="{d}")),
        "long": str(_l("Long stay")), "overnight": str(_l("Overnight")), "pass": str(_l("Visitor pass")),
        "done": str(_l("Exit recorded: %(name)s", name="{name}")), "count": str(_l("%(n)s inside", n="{n}")),
        "sign_in": str(_l("Sign in")), "errors": {code: str(text) for code, text in ERRORS.items()},
    }


def _gate():
    return current_app.config["GATE"]


@blueprint.get("")
def inside():
    """Visitors who came in here and have not left (last ``visitors_inside.days`` days), longest inside first."""
    gate = _gate()
    now = gate.clock()
    rows = gate.checkpoint.inside.listing(now, local_midnight(now, gate.checkpoint.config.gate.timezone))
    return jsonify({"visitors": rows, "count": len(rows), "long_stay_h": gate.checkpoint.inside.long_stay_h,
                    "signed_in": gate.volunteer_id is not None})


@blueprint.post("/<int:entry>/exit")
def record_exit(entry: int):
    """The volunteer on duty records that the visitor of entry ``entry`` left: 201, or 409 with ``code`` and words."""
    gate = _gate()
    if entry > MAX_SEQ:
        raise ApiError(409, str(ERRORS["unknown"]), code="unknown")
    try:
        event = gate.visitor_exit(entry)
    except VisitorExitError as exc:
        raise ApiError(409, str(ERRORS.get(exc.code, ERRORS["unknown"])), code=exc.code) from None
    return jsonify({"ok": True, "seq": event.seq, "count": gate.checkpoint.inside.count(gate.clock())}), 201
