"""The gate's web app: its local API (status, scans, live stream) for the touchscreen page, the USB scanner and tests.

Bound to 127.0.0.1 by default: only the kiosk's own browser talks to it.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, request, stream_with_context
from werkzeug.exceptions import HTTPException

from kiosk.gate import Gate


def create_gate_app(gate: Gate, *, heartbeat_s: float = 15.0) -> Flask:
    """The gate app over a running ``Gate``."""
    app = Flask(__name__)
    app.json.ensure_ascii = False

    def error(status: int, message: str):
        response = jsonify({"error": message})
        response.status_code = status
        return response

    @app.get("/api/v1/status")
    def status():
        """The gate's state: journal, registry, thermometer, office link, last decision."""
        return jsonify(gate.status())

    @app.post("/api/v1/scans")
    def scans():
        """As if a code had been scanned: ``{"text": …, "direction"?: "in"|"out", "manual_c"?, "handheld_c"?}``."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return error(400, 'expected a JSON object such as {"text": "GK1:…"}')
        unknown = set(body) - {"text", "direction", "manual_c", "handheld_c"}
        if unknown:
            return error(400, f"unknown fields: {', '.join(sorted(unknown))}")
        text = body.get("text")
        if text is not None and (not isinstance(text, str) or len(text) > 4096):
            return error(400, "text: expected the scanned text (a string of at most 4096 characters) or null")
        direction = body.get("direction")
        if direction not in (None, "in", "out"):
            return error(400, "direction: expected in or out")
        temps = {}
        for key in ("manual_c", "handheld_c"):
            value = body.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not 25 <= value <= 45):
                return error(400, f"{key}: expected a temperature in °C between 25 and 45")
            temps[key] = value
        outcome = gate.scan(text, direction=direction, **temps)
        return jsonify(Gate.screen(outcome))

    @app.get("/api/v1/stream")
    def stream():
        """Server-sent events: every decision as it is made (the page never polls)."""
        from web.sse import sse

        body = sse(gate.updates.subscribe(), heartbeat_s, gate.updates.unsubscribe,
                   name=lambda item: item["type"], ident=lambda item: ",".join(map(str, item.get("seq", []))) or "-")
        return Response(stream_with_context(body), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        response = exc.get_response()
        response.data = jsonify({"error": exc.description or exc.name}).get_data()
        response.content_type = "application/json"
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unexpected error")
        return error(500, "internal error: the gate logged it; the passage was not recorded")

    return app
