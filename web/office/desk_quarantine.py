"""The desk's home-quarantine follow-up (``/quarantine``): everyone under an order on a day, day N of the order,
its end, the phone to call, that day's temperature checks per deadline with the overdue ones flagged, and (staff)
a quick check form per person and the forms that extend or lift an order.

Views read the form, call kiosk.office.quarantine (the same calls as ``kiosk office quarantine …``) and render;
a refusal is shown above the list (its message names the field, Chinese first) and nothing is stored. A fever
reading raises the office's fever alarm and publishes it on the live stream, so every open desk page sounds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from web.office.desk_auth import current_user, desk_login_required

desk_quarantine = Blueprint("desk_quarantine", __name__, template_folder="templates")
blueprint = desk_quarantine  # web.office.desk.PARTS
NAV = [("desk_quarantine.quarantine", _l("Home quarantine"), "viewer")]

MAX_FIELD = 600  # any one form field: longer is cut before the library sees it (which refuses over 500 anyway)
SAVED = {"check": _l("Check recorded."), "fever": _l("Check recorded: a fever. The fever alarm is raised."),
         "extend": _l("Order extended: gates get the new end date at their next sync."),
         "lift": _l("Order lifted.")}


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))


def _now() -> datetime:
    return datetime.now(UTC)


def _settings() -> Any:
    from kiosk.config.office import OfficeConfig

    config = current_app.config.get("OFFICE_CONFIG") or OfficeConfig()
    return config.followup


def _form(name: str) -> str:
    return request.form.get(name, "").strip()[:MAX_FIELD]


def _whole(text: str, zh: str, en: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        from kiosk.office.quarantine import QuarantineError

        raise QuarantineError(f"{zh} / {en}")
    return int(text)


def _taken_at(text: str, day: date) -> datetime | None:
    """The form's time: empty (now), ``HH:MM`` on the day shown, or a ``datetime-local`` value; community time."""
    from kiosk.office.quarantine import QuarantineError

    if not text:
        return None
    try:
        if len(text) <= 5:
            return datetime.combine(day, time.fromisoformat(text.zfill(5)), _tz())
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise QuarantineError("测温时间须写作 08:30 / time: expected a time such as 08:30") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=_tz())


def _page(day: date | None = None, *, problem: str | None = None, status: int = 200, form: dict | None = None):
    from kiosk.office import quarantine as q
    from web.office.desk import render_page

    store, master = current_app.config["STORE"], current_app.config["REGISTRY"]
    today = _now().astimezone(_tz()).date()
    day = day or today
    settings = _settings()
    people = q.day_list(store, master, day, _tz(), settings, now=_now())
    seen: set[int] = set()
    for person in people:  # an order's extend and lift forms go with the first of its people
        person["order_first"] = person["order_id"] not in seen
        seen.add(person["order_id"])
    summary = q.day_summary(store, master, day, _tz(), settings, now=_now())
    saved = SAVED.get(request.args.get("saved", ""))
    user = current_user()
    return render_page("quarantine.html", "quarantine", _l("Home quarantine"), people=people, summary=summary,
                       day=day, today=today, problem=problem, saved=saved, form=form or {},
                       can_edit=bool(user and user.role != "viewer"), fever_c=q.FEVER_THRESHOLD_C,
                       deadlines=settings.quarantine_check_deadlines), status


def _day_arg(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


@desk_quarantine.get("/quarantine")
@desk_login_required("viewer")
def quarantine():
    """Everyone under an order on a day (default today) with that day's checks."""
    text = request.args.get("day", "").strip()[:20]
    day = _day_arg(text)
    if text and day is None:
        return _page(problem=_("Dates are written 2026-12-01"), status=400)
    return _page(day)


def _back(day: date, code: str, anchor: str = ""):
    today = _now().astimezone(_tz()).date()
    target = (url_for("desk_quarantine.quarantine", saved=code) if day == today
              else url_for("desk_quarantine.quarantine", saved=code, day=day.isoformat()))
    return redirect(target + (f"#{anchor}" if anchor else ""), 303)


@desk_quarantine.post("/quarantine/check")
@desk_login_required("staff")
def record_check():
    """Record one temperature check (order, person, temperature, method, time, note); audited; a fever alarms."""
    from kiosk.office import quarantine as q

    user = current_user()
    assert user is not None  # desk_login_required
    day = _day_arg(_form("day")) or _now().astimezone(_tz()).date()
    form = {k: _form(k) for k in ("order_id", "resident_id", "temperature", "method", "taken_at", "taken_by", "note")}
    try:
        order_id = _whole(form["order_id"], "隔离单号无效", "order: not an order number")
        resident_id = _whole(form["resident_id"], "居民编号无效", "person: not a resident id")
        check = q.record_check(
            current_app.config["STORE"], current_app.config["REGISTRY"], order_id=order_id, resident_id=resident_id,
            temperature=form["temperature"], method=form["method"], taken_by=form["taken_by"] or user.name,
            recorded_by=user.name, tz=_tz(), settings=_settings(), taken_at=_taken_at(form["taken_at"], day),
            note=form["note"], now=_now(), address=request.remote_addr,
            publish=current_app.config["BROADCASTER"].publish)
    except q.QuarantineError as exc:
        return _page(day, problem=str(exc), status=400, form=form)
    return _back(day, "fever" if check["alarm_event_id"] else "check", f"person-{resident_id}")


@desk_quarantine.post("/quarantine/<int:order_id>/extend")
@desk_login_required("staff")
def extend(order_id: int):
    """Extend an order to a later end date, with a note; a registry version (gates get it by sync); audited."""
    from kiosk.office import quarantine as q

    user = current_user()
    assert user is not None
    day = _day_arg(_form("day")) or _now().astimezone(_tz()).date()
    try:
        q.extend_order(current_app.config["STORE"], current_app.config["REGISTRY"], order_id, until=_form("until"),
                       by=user.name, tz=_tz(), note=_form("note"), now=_now(), address=request.remote_addr)
    except q.QuarantineError as exc:
        return _page(day, problem=str(exc), status=400, form={"order": order_id, "until": _form("until")})
    return _back(day, "extend", f"order-{order_id}")


@desk_quarantine.post("/quarantine/<int:order_id>/lift")
@desk_login_required("staff")
def lift(order_id: int):
    """Lift an order on or after its end date with a note (e.g. the clinic's release); audited."""
    from kiosk.office import quarantine as q

    user = current_user()
    assert user is not None
    day = _day_arg(_form("day")) or _now().astimezone(_tz()).date()
    try:
        q.lift_order(current_app.config["STORE"], current_app.config["REGISTRY"], order_id, note=_form("note"),
                     by=user.name, tz=_tz(), on=_form("on") or None, now=_now(), address=request.remote_addr)
    except q.QuarantineError as exc:
        return _page(day, problem=str(exc), status=400, form={"order": order_id, "lift_note": _form("note")})
    return _back(day, "lift")
