"""The desk's JSON for its live screens (``/desk/api/…``), for staff signed in with a desk session.

Each route reads and bounds its arguments, calls one query of
kiosk.office.queries (or the handling of an alarm) and answers JSON; a refusal
is ``{"error": words, "code": code}`` with a 4xx, the words in the desk's language (a refusal from
kiosk/office still comes as its own "中文 / English" text). State changes need a staff role
and the CSRF token (checked by web.office.desk_auth for every unsafe request)
and are written to the audit log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext

from kiosk.office.store import OfficeStoreError
from web.office.desk_auth import current_user, desk_login_required

desk_api = Blueprint("desk_api", __name__, url_prefix="/desk/api")

# Alarm kinds that bring the banner and the sound to every page (desk.js has the same list for stream items).
LOUD = ("fever", "quarantine_breach", "invalid_card")
MAX_TOKEN = 200


def _problem(message: str, status: int = 400, code: str = "refused"):
    response = jsonify({"error": message, "code": code})
    response.status_code = status
    return response


def _arg(name: str, maximum: int = MAX_TOKEN) -> str | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if len(value) > maximum:
        raise OfficeStoreError(gettext("The address asks for too much (%(name)s): please reload the page.", name=name))
    return value


def _with_outcomes(alarm: dict) -> dict:
    from kiosk.alarm_outcomes import office_outcomes

    # The office may record its own handling once, also after the gate's (a gate's "reported to the office" is
    # where the office's work starts).
    by_office = any(a.get("by_kind") == "office" for a in alarm.get("acknowledgements") or [])
    return {**alarm, "outcomes": [] if by_office else list(office_outcomes(alarm["kind"] or ""))}


@desk_api.errorhandler(OfficeStoreError)
def _refused(exc: OfficeStoreError):
    return _problem(str(exc))


@desk_api.get("/alarms")
@desk_login_required("viewer")
def alarms():
    """Alarms newest first (``status`` open|handled|all, ``gate``, ``kind``, ``before`` from the last page)."""
    from kiosk.office.queries.alarms import list_alarms

    kind = _arg("kind", 40)
    page = list_alarms(current_app.config["STORE"], current_app.config["REGISTRY"],
                       status=_arg("status", 10) or "open", kinds=[kind] if kind else None, gate=_arg("gate", 40),
                       before=_arg("before"), limit=50)
    return jsonify({"alarms": [_with_outcomes(a) for a in page["alarms"]], "next": page["next_before"]})


@desk_api.get("/alarms/summary")
@desk_login_required("viewer")
def alarms_summary():
    """What every page's top bar shows: how many alarms are open, and the newest open loud one (fever …)."""
    from kiosk.office.queries.alarms import count_alarms, list_alarms

    store, master = current_app.config["STORE"], current_app.config["REGISTRY"]
    # a fever first: the banner must not show a card problem while a fever waits
    loud = (list_alarms(store, master, status="open", kinds=["fever"], limit=1)["alarms"]
            or list_alarms(store, master, status="open", kinds=list(LOUD), limit=1)["alarms"])
    latest: dict[str, Any] | None = None
    if loud:
        a = loud[0]
        latest = {"event_id": a["event_id"], "kind": a["kind"], "raised_at": a["raised_at"],
                  "gate_id": a["gate"]["id"], "gate_name": a["gate"].get("name") or a["gate"]["id"]}
    return jsonify({"open": count_alarms(store, status="open"), "latest_loud": latest})


@desk_api.post("/alarms/<path:event_id>/handle")
@desk_login_required("staff")
def handle(event_id: str):
    """Staff handle an alarm: ``{"outcome": code, "note": text}``; written to the audit log."""
    from kiosk.office import audit
    from kiosk.office.queries.alarms import handle_alarm

    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("outcome"), str) or not isinstance(body.get("note", ""), str):
        return _problem(gettext("Choose what was done first"), code="outcome_missing")
    if len(event_id) > MAX_TOKEN:
        return _problem(gettext("There is no such alarm: please reload the page."), 404, "no_alarm")
    user = current_user()
    assert user is not None  # desk_login_required
    store = current_app.config["STORE"]
    handled = handle_alarm(store, event_id, user=user.name, outcome=body["outcome"], note=body.get("note", ""))
    audit.record(store, user.name, "alarm.handle", event_id, {"outcome": handled["outcome"], "note": handled["note"]},
                 address=request.remote_addr)
    current_app.config["BROADCASTER"].publish([{"kind": "alarm_acknowledged", "gate_id": "office", "seq": 0,
                                                "ts": handled["at"], "data": {"alarm_event_id": event_id,
                                                                              "outcome": handled["outcome"]}}])
    return jsonify(handled)


@desk_api.get("/gates")
@desk_login_required("viewer")
def gates():
    """Every gate: online or silent, backlog, clock, faults, who is on duty, in/out today."""
    from kiosk.office.queries.gates import overview

    config = current_app.config
    rows = overview(config["STORE"], now=datetime.now(UTC), offline_after_s=config.get("OFFLINE_AFTER_S", 120),
                    tz=config.get("TIMEZONE", "Asia/Shanghai"), master=config["REGISTRY"])
    return jsonify({"gates": rows})
