"""The touchscreen page: one HTML document whose screens the script switches, fed by the gate's event stream."""

from __future__ import annotations

from flask import Blueprint, current_app, make_response, redirect, render_template, url_for
from flask_babel import get_locale

from kiosk.gate.visitors import VisitorReason
from web.gate import LANGUAGE_COOKIE, LANGUAGES
from web.gate.messages import VISITOR_REASONS, catalog

ui = Blueprint("gate_ui", __name__, template_folder="templates", static_folder="static", static_url_path="/static/gate")

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
"""Plate prefixes (省份简称) in the order plate keyboards usually show them."""
PLATE_KEYS = "1234567890ABCDEFGHJKLMNPQRSTUVWXYZ"
"""A plate's letters and digits (I and O are never used on plates)."""


@ui.get("/")
def page():
    """The kiosk page."""
    gate = current_app.config["GATE"]
    locale = str(get_locale())
    language = next((code for code, loc in LANGUAGES.items() if loc == locale), "zh-CN")
    simulation = current_app.config.get("SIMULATION")
    leaf = getattr(simulation, "leaf", None)  # the simulated gate leaf's reed switch, when there is one
    return render_template(
        "gate.html", gate=gate.checkpoint.config.gate, language=language, catalog=catalog(),
        provinces=PROVINCES, plate_keys=PLATE_KEYS, simulated=simulation is not None,
        visitor_reasons=[(r.value, VISITOR_REASONS[r.value]) for r in VisitorReason],
        sim_cards=sorted(simulation.cards) if simulation is not None else [],
        sim_leaf=leaf.is_open if leaf is not None else None)  # the panel's toggle starts as the switch is


@ui.get("/lang/<code>")
def switch_language(code: str):
    """Switch the page's language (remembered in a cookie) and go back to the page."""
    response = make_response(redirect(url_for("gate_ui.page")))
    if code in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=10 * 365 * 24 * 3600, samesite="Strict")
    return response
