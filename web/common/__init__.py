"""The one foundation the gate's page and the office desk stand on: a base template and small ES modules.

``web/common/templates/base.html`` is the document every page extends (its
language, its catalog for scripts, its blocks); ``web/common/static/`` holds
the modules both apps' scripts import from ``/static/common/``: the JSON API
client, the event stream, formatting and the catalog. No build step, no CDN,
no web font: everything is served by the app itself and works offline.
Each app keeps its own translations (web/gate/translations,
web/office/translations); the strings of these shared templates are in both.
"""

from __future__ import annotations

from flask import Blueprint, Flask

common = Blueprint("common", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/static/common")


def register_common(app: Flask) -> None:
    """Give an app the base template and the shared modules."""
    app.register_blueprint(common)
