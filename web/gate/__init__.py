"""The gate's web app: the touchscreen page (zh-CN first, English switchable) and its local API.

Bound to 127.0.0.1 by default: only the kiosk's own browser (and the USB
scanner, the simulator and tests) talk to it. Every asset is served from
here (the page stands on web/common's base template and modules, served
under /static/common/): the gate works with no internet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, request
from flask_babel import Babel
from werkzeug.exceptions import HTTPException

from kiosk.gate.passages import Gate

LANGUAGES = {"zh-CN": "zh_Hans_CN", "en": "en"}
"""The page's languages (as the config and the cookie name them) and their catalog locales."""
LANGUAGE_COOKIE = "lang"


def create_gate_app(gate: Gate, *, heartbeat_s: float = 15.0, language: str = "zh-CN", simulation: Any = None) -> Flask:
    """The gate app over a running ``Gate``; ``simulation`` (a SimulatedHardware) adds the on-page simulation panel."""
    from web.common import register_common
    from web.gate.api import api
    from web.gate.disinfection import blueprint as disinfection
    from web.gate.hanzi import blueprint as hanzi
    from web.gate.ui import ui
    from web.json_api import error_response

    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Flask's default provider: Chinese stays readable
    app.config.update(GATE=gate, HEARTBEAT_S=heartbeat_s, SIMULATION=simulation,
                      DEFAULT_LANGUAGE=language if language in LANGUAGES else "zh-CN")

    def select_locale() -> str:
        chosen = request.cookies.get(LANGUAGE_COOKIE)
        return LANGUAGES.get(chosen or "", LANGUAGES[app.config["DEFAULT_LANGUAGE"]])

    Babel(app, locale_selector=select_locale,
          default_translation_directories=str(Path(__file__).parent / "translations"))
    register_common(app)  # base.html and the shared modules under /static/common/
    app.register_blueprint(api)
    app.register_blueprint(disinfection)  # /api/v1/disinfection: the volunteer's disinfection rounds
    app.register_blueprint(hanzi)  # /api/v1/hanzi: the on-screen hanzi keyboard's candidates
    app.register_blueprint(ui)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if not request.path.startswith("/api/"):
            return exc
        response = exc.get_response()
        from web.gate.errors import failure  # words in the page's language; the English stays as detail

        code = "not_found" if exc.code == 404 else "refused"
        response.data = error_response(failure(code, exc.code or 500, exc.description or exc.name)).get_data()
        response.content_type = "application/json"
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unexpected error")
        from web.gate.errors import failure

        return error_response(failure("internal", 500, "internal error: the gate logged it; the passage was not recorded"))

    return app
