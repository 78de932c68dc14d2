"""The desk's disinfection log (``/disinfection``, 消杀): a day per compound — rounds done of those due, a missing
one flagged — every round of the day from the desk and from the gates' touchscreens, and (staff) a form to record one.

Views only read the request and call kiosk.office.disinfection (the CLI's ``kiosk office disinfection`` makes the
same calls); the round and its audit entry are written there.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from web.office.desk_auth import current_user, desk_login_required

blueprint = Blueprint("desk_disinfection", __name__, template_folder="templates")
NAV = [("desk_disinfection.page", _l("Disinfection"), "viewer")]

FIELDS = ("compound", "area", "area_other", "agent", "agent_other", "done_by", "done_at", "note")
OTHER = "_other"  # the select's "other" choice: the typed words are the value then


def _config() -> Any:
    return current_app.config["OFFICE_CONFIG"]


def _tz() -> str:
    return current_app.config.get("TIMEZONE") or _config().office.timezone


def _now_local() -> datetime:
    return datetime.now(UTC).astimezone(ZoneInfo(_tz()))


def _day(text: str) -> tuple[date, str | None]:
    """The day asked for (today when none); a problem when it is not a date."""
    if not text:
        return _now_local().date(), None
    try:
        return date.fromisoformat(text[:10]), None
    except ValueError:
        return _now_local().date(), _("Dates are written 2026-12-01")


def _page(day: date, status: int = 200, problem: str | None = None, values: dict | None = None,
          field: str = "") -> tuple[str, int]:
    from kiosk.disinfection_codes import AGENTS, AREAS
    from kiosk.office.disinfection import compounds, day_status
    from web.common.disinfection_words import AGENTS as AGENT_WORDS
    from web.common.disinfection_words import AREAS as AREA_WORDS
    from web.common.disinfection_words import say
    from web.office.desk import render_page

    config = _config()
    store, master = current_app.config["STORE"], current_app.config["REGISTRY"]
    name = config.office.name
    status_rows = day_status(store, master, day, _tz(), config.followup.disinfection_rounds_per_day, office_name=name)
    today = _now_local().date()
    now_local = _now_local()
    form = {"compound": "", "area": "", "area_other": "", "agent": "", "agent_other": "", "done_by": "",
            "done_at": (now_local if day == today else datetime.combine(day, now_local.time())).strftime(
                "%Y-%m-%dT%H:%M"), "note": ""}
    form.update(values or {})
    return render_page(
        "disinfection.html", "disinfection", _l("Disinfection"), day=day.isoformat(), is_today=day == today,
        status=status_rows, problem=problem, field=field, form=form, compounds=compounds(store, master, name),
        areas=[(code, say(AREA_WORDS, code)) for code in AREAS], agents=[(code, say(AGENT_WORDS, code)) for code in AGENTS],
        area_word=lambda v: say(AREA_WORDS, v), agent_word=lambda v: say(AGENT_WORDS, v), other=OTHER,
        saved=request.args.get("saved") == "1",
        missing=sum(1 for c in status_rows if not c["done"])), status


@blueprint.get("/disinfection")
@desk_login_required("viewer")
def page():
    """A day's disinfection rounds per compound (``?day=YYYY-MM-DD``; today by default)."""
    day, problem = _day(request.args.get("day", "").strip())
    return _page(day, 400 if problem else 200, problem)


@blueprint.post("/disinfection")
@desk_login_required("staff")
def record():
    """Record a round (CSRF-checked by the desk); back to its day, or the form again naming the field at fault."""
    from kiosk.office.disinfection import DisinfectionError, add_round, parse_at

    values = {name: request.form.get(name, "").strip()[:600] for name in FIELDS}
    user = current_user()
    assert user is not None
    config = _config()
    tz = _tz()
    # typed words win over the list (staff who type one mean it); "other" with nothing typed is an empty area
    area = values["area_other"] or ("" if values["area"] == OTHER else values["area"])
    agent = values["agent_other"] or ("" if values["agent"] == OTHER else values["agent"])
    try:
        moment = parse_at(values["done_at"], tz) if values["done_at"] else None
        row = add_round(current_app.config["STORE"], current_app.config["REGISTRY"], compound=values["compound"],
                        area=area, agent=agent, done_by=values["done_by"], note=values["note"], done_at=moment,
                        tz=tz, office_name=config.office.name, recorded_by=user.name, address=request.remote_addr)
    except DisinfectionError as exc:
        shown_day, _problem = _day(values["done_at"][:10])
        return _page(shown_day, 400, str(exc), values, exc.field)
    return redirect(url_for("desk_disinfection.page", day=row["day"], saved=1), code=303)
