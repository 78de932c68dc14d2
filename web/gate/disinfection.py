"""The gate's disinfection round (消杀): ``GET/POST /api/v1/disinfection`` and what the touchscreen's form offers.

Only the volunteer on duty records a round (409 otherwise); the round is one
``disinfection`` journal event (kiosk/gate/disinfection.py) that syncs to the
office with the rest. The screen (templates/screen_disinfection.html,
static/disinfection.js) offers the gate config's areas and agents as buttons and
the keyboard for anything else.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from flask import Blueprint, current_app, jsonify
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ConfigDict, StringConstraints

from kiosk.gate.disinfection import NotSignedIn, choices, record_round, today_rounds
from kiosk.gate.passages import GateError
from web.gate.errors import refusal
from web.json_api import ApiError, error_response, parse_body

blueprint = Blueprint("gate_disinfection", __name__, url_prefix="/api/v1")

Choice = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class RoundIn(BaseModel):
    """A round the volunteer on duty did: where, with what, and an optional note."""

    model_config = ConfigDict(extra="forbid", strict=True)
    field_labels: ClassVar[dict] = {"area": _l("Area"), "agent": _l("Agent"), "note": _l("Note")}

    area: Choice
    """A code from GET /disinfection's ``areas`` or the community's own words."""
    agent: Choice
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


def _gate():
    return current_app.config["GATE"]


@blueprint.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_response(exc)


@blueprint.get("/disinfection")
def rounds():
    """The areas and agents to offer, this gate's rounds today (newest first), and whether a volunteer is on duty."""
    gate = _gate()
    return jsonify({**choices(gate), "today": today_rounds(gate), "signed_in": gate.volunteer_id is not None})


@blueprint.post("/disinfection")
def record():
    """Record a round: 201 with its seq; 409 when nobody is signed in."""
    body = parse_body(RoundIn)
    gate = _gate()
    try:
        event = record_round(gate, body.area, body.agent, body.note)
    except NotSignedIn as exc:
        raise refusal(exc, 409) from None  # words in the page's language, code not_signed_in
    except GateError as exc:
        raise refusal(exc, 400) from None
    return jsonify({"ok": True, "seq": event.seq, "today": today_rounds(gate)}), 201


@blueprint.app_context_processor
def _words() -> dict:
    """For the touchscreen's template: the configured buttons with their words in the page's language."""
    from web.common.disinfection_words import AGENTS, AREAS, say

    def disinfection_buttons() -> dict:
        gate = current_app.config.get("GATE")
        offered = choices(gate) if gate is not None else {"areas": [], "agents": []}
        return {"areas": [(v, say(AREAS, v)) for v in offered["areas"]],
                "agents": [(v, say(AGENTS, v)) for v in offered["agents"]],
                "words": {"areas": {k: str(v) for k, v in AREAS.items()},
                          "agents": {k: str(v) for k, v in AGENTS.items()}}}

    return {"disinfection_buttons": disinfection_buttons}
