"""The gate's local API (``/api/v1``): used by the touchscreen page, the USB scanner, the simulator and tests.

Every answer is JSON; a wrong body is a 400 naming the field; nothing here
can leave a half-written record (the gate journals each decision in one
transaction).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context

from kiosk.exc import PersonalDataError
from kiosk.gate import returning_visitors
from kiosk.gate.ledger import AlarmError
from kiosk.gate.passages import Gate, GateError
from kiosk.gate.shifts import ShiftError
from kiosk.gate.visitors import VisitorReason, VisitorRegistration
from kiosk.privacy import phone_rule
from web.gate import errors, schemas, vehicle_driver
from web.gate.visitors_inside import blueprint as visitors_inside
from web.json_api import ApiError, error_response, parse_body

api = Blueprint("gate_api", __name__, url_prefix="/api/v1")
api.register_blueprint(visitors_inside)  # /api/v1/visitors/inside: who is still inside, and their exit


def _gate() -> Gate:
    return current_app.config["GATE"]


@api.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_response(exc)


@api.errorhandler(GateError)
@api.errorhandler(AlarmError)
def _refused(exc: Exception):
    return error_response(errors.refusal(exc, 409))  # words in the page's language (web/gate/errors.py)


@api.errorhandler(PersonalDataError)
def _personal_data(exc: Exception):
    return error_response(errors.refusal(exc, 400))


@api.get("/status")
def status():
    """The gate's state: journal, registry, sensors, office link, volunteer on duty, last decision."""
    return jsonify(_gate().status())


@api.post("/scans")
def scans():
    """As if a code had been scanned: ``{"text": …, "direction"?, "manual_c"?, "handheld_c"?}``; answers the decision."""
    body = parse_body(schemas.ScanIn)
    outcome = _gate().scan(body.text, direction=body.direction, manual_c=body.manual_c, handheld_c=body.handheld_c)
    return jsonify(Gate.screen(outcome))


@api.post("/direction")
def direction():
    """The volunteer's 进 / 出: held for the next passages; a passage asking 进还是出? continues with it."""
    body = parse_body(schemas.DirectionIn)
    return jsonify({"direction": _gate().choose_direction(body.direction, hold=body.hold)})


@api.get("/rules")
def rules():
    """The rules the page works by (quick outcomes, how long a direction holds, thresholds): one definition, here."""
    gate = _gate()
    return jsonify({**gate.rules(), "visitor_reasons": [r.value for r in VisitorReason],
                    "visitor_form": {"host_required": gate.checkpoint.config.visitors.host_required,
                                     "phone": phone_rule()}})


@api.post("/readings")
def readings():
    """A typed temperature for the passage waiting on screen (thermometer down, or a handheld confirmation)."""
    body = parse_body(schemas.ReadingIn)
    return jsonify(Gate.screen(_gate().add_reading(body.celsius, body.source)))


@api.post("/measure")
def measure():
    """One thermometer reading of whoever stands in front (for the visitor form)."""
    reading = _gate().measure_once()
    return jsonify({"reading": reading.to_dict() if reading is not None else None})


@api.post("/vehicles")
def vehicles():
    """A vehicle's passage from a typed plate or a vehicle card; answers the decision."""
    body = parse_body(schemas.VehicleIn)
    gate = _gate()
    visitor = vehicle_driver.registration(body, gate)  # a driver registered as a visitor on the form, or None
    outcome = gate.vehicle(plate=body.plate, text=body.text, disinfected=body.disinfected,
                           passengers=body.passengers, driver=body.driver, direction=body.direction,
                           visitor=visitor, temperatures=body.temperatures_c, source=body.source,
                           supersedes_seq=body.supersedes_seq)
    return jsonify(vehicle_driver.answer(outcome))


@api.post("/vehicle/form")
def vehicle_form():
    """The vehicle form is open (a lease the page renews) or closed: while open, a person card is its driver or a
    passenger, checked and sent as a ``driver`` stream event, and journaled only with the vehicle."""
    body = parse_body(schemas.VehicleFormIn)
    return jsonify(_gate().open_vehicle_form(body.open, body.direction, fresh=body.fresh))


@api.post("/visitors")
def visitors():
    """Register a visitor; ``remeasure`` in the answer asks for one more temperature (send all taken so far)."""
    body = parse_body(schemas.VisitorIn)
    gate = _gate()
    if body.host_household_id is not None and gate.checkpoint.registry.household(body.host_household_id) is None:
        raise errors.failure("no_household", 400, f"host_household_id: no household {body.host_household_id} in the registry",
                             field="host_household_id")
    reason = body.reason.value if body.reason is not None else ""
    name = returning_visitors.restore_name(gate.checkpoint.journal, body.known_seq, body.phone, body.name)
    registration = VisitorRegistration(name, body.phone, body.coming_from, body.host_household_id, reason,
                                       body.temperatures_c[-1] if body.temperatures_c else None, body.id_number or None)
    outcome = gate.visitor(registration, body.temperatures_c, body.source, body.direction, alarm_seq=body.alarm_seq)
    return jsonify({**Gate.screen(outcome, kind="visitor")})


@api.get("/visitors/known")
def known_visitor():
    """A returning visitor by phone (``?phone=`` digits only, ≤ 15): their last registration here, masked, or null."""
    phone = request.args.get("phone", "")
    if not (phone.isascii() and phone.isdigit() and len(phone) <= 15):
        raise errors.failure("phone_digits", 400, "phone: digits only, at most 15", field="phone")
    gate = _gate()
    found = returning_visitors.last_registration(gate.checkpoint.journal, phone, gate.clock(),
                                                 gate.checkpoint.config.visitors.known_days)
    return jsonify({"visitor": returning_visitors.known_visitor(found, gate.checkpoint.registry) if found else None})


@api.get("/visitors/places")
def visitor_places():
    """Where this gate's visitors came from lately, commonest first (the keyboard's one-tap words for 来自何处)."""
    gate = _gate()
    places = returning_visitors.recent_places(gate.checkpoint.journal, gate.clock(),
                                              gate.checkpoint.config.visitors.known_days)
    return jsonify({"places": places})


@api.get("/households")
def households():
    """Every household, for the host picker (building → unit → room)."""
    return jsonify(_gate().checkpoint.registry.households())


@api.get("/volunteers")
def volunteers():
    """Who may sign in here (names only)."""
    return jsonify(_gate().shifts.volunteers())


@api.post("/shift")
def sign_in():
    """Sign in by PIN: 401 with the tries left, or 423 while locked out after 5 wrong PINs."""
    body = parse_body(schemas.SignInIn)
    try:
        return jsonify(_gate().sign_in(body.volunteer_id, body.pin))
    except ShiftError as exc:
        if exc.code == "locked":
            raise errors.failure("locked", 423, "too many wrong PINs: locked out",
                                 locked_until=exc.locked_until.isoformat() if exc.locked_until else None) from None
        if exc.code == "wrong_pin":
            raise errors.failure("wrong_pin", 401, "wrong PIN", tries_left=exc.tries_left, n=exc.tries_left) from None
        raise errors.refusal(exc, 404) from None


@api.delete("/shift")
def sign_out():
    """Sign the volunteer on duty out."""
    _gate().sign_out()
    return jsonify({"ok": True})


@api.get("/alarms")
def alarms():
    """Alarms raised at this gate in the last 48 hours and not yet acknowledged, newest first."""
    gate = _gate()
    return jsonify(gate.ledger.open_alarms(gate.clock()))


@api.post("/alarms/<int:seq>/acknowledge")
def acknowledge(seq: int):
    """The volunteer on duty acknowledges an alarm with a note (409 if nobody is signed in)."""
    body = parse_body(schemas.AcknowledgeIn)
    if seq > 2**53:
        raise errors.failure("no_alarm", 404, f"no alarm with seq {seq} at this gate")
    event = _gate().acknowledge(seq, body.note, body.outcome)
    return jsonify({"ok": True, "seq": event.seq})


@api.get("/today")
def today():
    """Today at this gate: counts in / out, recent passages (names masked), open alarms."""
    gate = _gate()
    return jsonify(gate.ledger.today(gate.clock()))


@api.get("/stream")
def stream():
    """Server-sent events: decisions, measuring prompts and status changes as they happen (the page never polls)."""
    from web.sse import sse

    gate = _gate()
    # Under web.serving the server's event loop carries the stream (no thread per page: POST /scans never waits).
    body = sse(gate.updates.subscribe(), current_app.config["HEARTBEAT_S"], gate.updates.unsubscribe,
               name=lambda item: item["type"], ident=lambda item: ",".join(map(str, item.get("seq", []))) or "-",
               source=gate.updates)
    return Response(stream_with_context(body), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _simulation():
    hardware = current_app.config.get("SIMULATION")
    if hardware is None:
        raise ApiError(404, "not a simulated gate (start it with kiosk run --simulate)")
    return hardware


@api.get("/simulation")
def simulation_cards():
    """Simulated hardware only: the card images the panel can show to the camera."""
    return jsonify({"cards": sorted(_simulation().cards)})


@api.get("/simulation/voice")
def simulation_voice():
    """Simulated hardware only: what the gate said (oldest first, the last 200) and whether the panel muted it."""
    audio = _simulation().audio
    return jsonify({"muted": audio.muted, "played": audio.record()} if audio is not None else {"muted": True, "played": []})


@api.post("/simulation")
def simulation():
    """Simulated hardware only: who stands at the thermometer, its cable, and a card held up to the camera."""
    hardware = _simulation()
    body = parse_body(schemas.SimulationIn)
    given = body.model_fields_set  # only what the panel sent changes: a card shown leaves the person standing
    if "thermometer_fault" in given:
        hardware.thermometer_fault(body.thermometer_fault)
    if "person_c" in given:
        hardware.stand(body.person_c)
    if "gate_open" in given:
        hardware.set_leaf(body.gate_open)
    if "voice_muted" in given and hardware.audio is not None:
        hardware.audio.muted = body.voice_muted  # the panel's mute: nothing is played (or recorded) while set
    if body.card is not None:
        if body.card not in hardware.cards:
            raise ApiError(404, f"no card image named {body.card}")
        hardware.show_card(body.card)
    return jsonify({"ok": True})
