"""The community office's web app: the sync API for gates and staff (a dashboard comes later)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from kiosk.config.office import OfficeConfig
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore

if TYPE_CHECKING:
    from web.office.batch_check import BatchChecker

# A full batch of 1000 events is ~400 KB of JSON; anything far bigger is not a gate.
MAX_BODY_BYTES = 4 * 1024 * 1024


def create_app(store: OfficeStore, registry: RegistryMaster, *,
               on_events: Callable[[str, list[dict]], None] | None = None, config: OfficeConfig | None = None,
               checker: BatchChecker | None = None) -> Flask:
    """The office app over its store and master registry; ``on_events`` hears each batch of new events.

    ``config`` (office.yaml) gives the desk the community's name, its time zone and when a gate counts as offline.
    ``checker`` checks the gates' batches (web.office.batch_check; ``kiosk office serve`` gives one with checking
    processes); without one, batches are checked in the thread that serves them.
    """
    from kiosk.broadcast import Broadcaster
    from web.office.api import api
    from web.office.batch_check import BatchChecker
    from web.office.desk_auth import desk_auth, desk_body_allowed
    from web.office.stream import office_items

    broadcaster = Broadcaster()

    def events_hook(gate_id: str, events: list[dict]) -> None:
        broadcaster.publish(office_items(gate_id, events))
        if on_events is not None:
            on_events(gate_id, events)

    app = Flask(__name__)

    def body_allowed(authorization: str, path: str = "", cookie: str = "") -> bool | int:
        # web.serving asks this before reading a request body: an unknown caller's body is refused (401) unread.
        # Without a bearer token: a desk session's body, or the sign-in form's few bytes (web.office.desk_auth).
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return store.authenticate(token.strip()) is not None
        return desk_body_allowed(app.config["ACCOUNTS"], path, cookie)

    app.config.update(STORE=store, REGISTRY=registry, MAX_CONTENT_LENGTH=MAX_BODY_BYTES, BODY_ALLOWED=body_allowed,
                      EVENTS_HOOK=events_hook, BROADCASTER=broadcaster,
                      EVENTS_WANTED=lambda: on_events is not None or broadcaster.count > 0,
                      CHECKER=checker or BatchChecker(store.path.parent), STREAM_HEARTBEAT_S=15.0, JSON_AS_ASCII=False)
    config = config or OfficeConfig()
    app.config.update(OFFICE_CONFIG=config, COMMUNITY=config.office.name, TIMEZONE=config.office.timezone,
                      OFFLINE_AFTER_S=config.alarms.offline_after_s or 120.0)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Flask's default provider: Chinese stays readable
    app.register_blueprint(api)
    app.register_blueprint(desk_auth)  # /signin, /signout, the session and CSRF guard, /desk/api/{me,audit,users}
    from web.office.desk import init_desk

    init_desk(app)  # the desk's pages (/, /gates, /today, …), its JSON (/desk/api/…), languages, web/common

    @app.get("/healthz")
    def healthz():
        """The only route without a token: load balancers and `kiosk doctor` ask it."""
        return jsonify({"ok": True})

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        # Keep werkzeug's headers (a 405's Allow, for one) and swap the HTML body for JSON; a person's browser on a
        # desk address gets a short page in Chinese (and English) with the way back instead.
        response = exc.get_response()
        from flask import request

        if not request.path.startswith(("/api/", "/desk/api/")) and request.accept_mimetypes.accept_html:
            words = {404: ("没有这个页面", "No such page"), 405: ("不能这样访问此页面", "Not allowed here")}
            zh, en = words.get(exc.code or 0, ("出错了", exc.name))
            response.data = (f"<!doctype html><html lang='zh-CN'><meta charset='utf-8'><title>{exc.code}</title>"
                             f"<p>{zh}</p><p lang='en'>{en}</p><p><a href='/'>返回警报页 / Back to the desk</a></p>"
                             "</html>").encode()
            response.content_type = "text/html; charset=utf-8"
            return response
        response.data = json.dumps({"error": exc.description or exc.name}, ensure_ascii=False)
        response.content_type = "application/json"
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unexpected error")
        response = jsonify({"error": "internal error: the office logged it"})
        response.status_code = 500
        return response

    if "common" not in app.blueprints:  # signin.html extends web/common's base.html (the desk may have added it)
        from web.common import register_common

        register_common(app)
    return app
