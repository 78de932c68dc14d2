"""The office desk's pages (``/``, ``/gates``, ``/today``, ``/ledger``, ``/trace``, ``/people``, ``/audit``) and its
live stream (``/desk/stream``): HTML for staff signed in with a desk session (web.office.desk_auth).

Views only read the request, call a query of kiosk.office.queries and render:
no SQL here. Live screens (alarms, gates) fetch JSON from web.office.desk_api.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, make_response, redirect, render_template, request
from flask_babel import Babel, get_locale
from flask_babel import lazy_gettext as _l

from web.office.desk_auth import current_user, desk_login_required

desk = Blueprint("desk", __name__, template_folder="templates", static_folder="static",
                 static_url_path="/static/office")

LANGUAGES = {"zh-CN": "zh_Hans_CN", "en": "en"}
"""The desk's languages (as the cookie names them) and their catalog locales."""
LANGUAGE_COOKIE = "lang"

# (endpoint, label, the least role that sees it), in the order of the top bar
NAV = [
    ("desk.alarms", _l("Alarms"), "viewer"),
    ("desk.gates", _l("Gates"), "viewer"),
    ("desk.today", _l("Today"), "viewer"),
    ("desk.ledger", _l("Ledger"), "viewer"),
    ("desk.trace", _l("Contact trace"), "viewer"),
    ("desk.people", _l("People"), "viewer"),
]
NAV_TAIL = [("desk.audit_log", _l("Audit log"), "admin")]
# The desk's parts beyond its core pages, in top-bar order: each module has ``blueprint`` (a Flask Blueprint) and
# ``NAV`` (entries like the ones above, shown between the core pages and NAV_TAIL). Adding a screen is one line here.
PARTS = [
    "web.office.desk_registry",  # /people/<kind>/new|<id>: add, edit, move, remove registry rows (staff)
    "web.office.desk_visitors",  # /visitors/inside: visitors inside now across the gates (viewer)
    "web.office.desk_quarantine",  # /quarantine: home-quarantine list, checks per deadline, extend and lift (staff)
    "web.office.desk_screening",  # /screening: door-to-door screening coverage, the missing list, marking (staff)
    "web.office.desk_disinfection",  # /disinfection: the disinfection log per compound and day (staff record)
    "web.office.desk_cards",  # /cards: print cards as a PDF, reissue a lost card (staff)
    "web.office.desk_roster",  # /roster: the roster import (staff)
    "web.office.desk_paperwork",  # /paperwork: exports and the daily report (staff)
]
_RANK = {"viewer": 0, "staff": 1, "admin": 2}


def init_desk(app: Flask) -> None:
    """Give the office app its desk: languages (zh-CN first), the shared foundation, the pages and their API."""
    from web.common import register_common
    from web.office.desk_api import desk_api

    def select_locale() -> str:
        chosen = request.cookies.get(LANGUAGE_COOKIE)
        return LANGUAGES.get(chosen or "", LANGUAGES["zh-CN"])

    Babel(app, locale_selector=select_locale,
          default_translation_directories=str(Path(__file__).parent / "translations"))
    register_common(app)
    app.register_blueprint(desk)
    app.register_blueprint(desk_api)
    for module in PARTS:
        app.register_blueprint(importlib.import_module(module).blueprint)


def nav_entries() -> list[tuple[str, Any, str]]:
    """Every top-bar entry: the core pages, each part's, then NAV_TAIL."""
    return [*NAV, *(entry for module in PARTS for entry in importlib.import_module(module).NAV), *NAV_TAIL]


def language() -> str:
    """The page's language code (zh-CN or en)."""
    locale = str(get_locale())
    return next((code for code, loc in LANGUAGES.items() if loc == locale), "zh-CN")


def render_page(template: str, page: str, title: Any, **context: Any) -> str:
    """A desk page with its top bar: the signed-in user, the screens their role sees, the catalog for scripts."""
    from web.common.words import ACK_OUTCOMES, ALARMS, DIRECTIONS, VERDICTS_SHORT, words
    from web.office.messages import ROLES, catalog

    user = current_user()
    rank = _RANK.get(user.role if user else "viewer", 0)
    nav = [(endpoint, label, role) for endpoint, label, role in nav_entries() if rank >= _RANK[role]]
    return render_template(template, page=page, title=title, user=user, nav=nav, role_words=ROLES,
                           community=current_app.config.get("COMMUNITY", ""), language=language(),
                           catalog=catalog(), directions=words(DIRECTIONS), verdicts=words(VERDICTS_SHORT),
                           alarm_words=words(ALARMS), outcome_words=words(ACK_OUTCOMES), **context)


@desk.get("/")
@desk_login_required("viewer")
def alarms():
    """Alarms, live."""
    return render_page("alarms.html", "alarms", _l("Alarms"))


@desk.get("/gates")
@desk_login_required("viewer")
def gates():
    """Every gate on one screen."""
    return render_page("gates.html", "gates", _l("Gates"))


@desk.get("/lang/<code>")
def switch_language(code: str):
    """Switch the desk's language (remembered in a cookie) and go back to where the user was."""
    target = request.args.get("next", "/")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/"  # only a path on this server: never an open redirect
    response = make_response(redirect(target))
    if code in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=10 * 365 * 24 * 3600, samesite="Lax",
                            secure=request.scheme == "https")
    return response


@desk.get("/desk/stream")
@desk_login_required("viewer")
def stream():
    """Server-sent events for desk pages: alarms and passages as gates deliver them (web.sse; carried by the loop)."""
    from web.office.stream import stream_response

    return stream_response()


# -- the read screens: forms in, a query, a table out ------------------------------------------------------------


def _args(*names: str, maximum: int = 100) -> dict[str, str]:
    """The named query arguments, trimmed and bounded (a longer value is cut, never stored)."""
    return {name: request.args.get(name, "").strip()[:maximum] for name in names}


def _tz() -> str:
    return current_app.config.get("TIMEZONE", "Asia/Shanghai")


def _today():
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    return datetime.now(UTC).astimezone(ZoneInfo(_tz())).date()


def _day(text: str, default: Any = None):
    from datetime import date

    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _Problem(_l("Dates are written 2026-12-01")) from None


def _local_moment(text: str, what: Any):
    """A ``datetime-local`` field's value (community time) as an aware datetime."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _Problem(what) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(_tz()))


class _Problem(Exception):
    """A form value the desk cannot use: shown above the form, nothing else happens."""


def _gate_choices() -> list[dict]:
    from kiosk.office.queries.common import gates_by_id

    return sorted(gates_by_id(current_app.config["STORE"]).values(), key=lambda g: g["id"])


@desk.app_template_filter("local")
def local_time(ts: str | None, form: str = "%m-%d %H:%M") -> str:
    """An ISO time as the community's clock shows it (``12-01 08:45``)."""
    from zoneinfo import ZoneInfo

    from kiosk.office.queries.common import parse_ts

    moment = parse_ts(ts)
    return moment.astimezone(ZoneInfo(_tz())).strftime(form) if moment else ""


def _run(query: Any) -> tuple[Any, str | None]:
    """A query's answer, or the message of the refusal it raised (a bad filter), for the page to show."""
    from kiosk.office.store import OfficeStoreError

    try:
        return query(), None
    except _Problem as exc:
        return None, str(exc.args[0])
    except OfficeStoreError as exc:
        return None, str(exc)


@desk.get("/today")
@desk_login_required("viewer")
def today():
    """Today (or any day) per compound and gate: in, out, visitors, vehicles, fevers, refusals; counts by hour."""
    from kiosk.office.queries.today import summary

    args = _args("day")
    today = _today()
    result, problem = _run(lambda: summary(current_app.config["STORE"], current_app.config["REGISTRY"],
                                           day=_day(args["day"], today), tz=_tz()))
    # today's figures follow the gates on the page (static/today.js); another day's stay as they are
    live = result is not None and str(result["day"]) == today.isoformat()
    return render_page("today.html", "today", _l("Today"), result=result, problem=problem, args=args, live=live)


LEDGER_FIELDS = ("day", "from", "to", "compound", "gate", "name", "household", "plate", "card", "visitor", "cursor")


@desk.get("/ledger")
@desk_login_required("viewer")
def ledger():
    """Passages, visitors, vehicles and temperature exceptions, filtered, a page at a time (on the server)."""
    from kiosk.office.queries.ledger import search
    from web.office.messages import LEDGER_KINDS

    args = _args(*LEDGER_FIELDS, maximum=400)
    kinds = [k for k in request.args.getlist("kind")[:8] if k in LEDGER_KINDS] or None

    def query() -> Any:
        start = end = None
        if args["from"] or args["to"]:
            from datetime import datetime, time, timedelta
            from zoneinfo import ZoneInfo

            zone = ZoneInfo(_tz())
            first, last = _day(args["from"], None), _day(args["to"], None)
            start = datetime.combine(first, time(), zone) if first else None
            end = datetime.combine(last + timedelta(days=1), time(), zone) if last else None
        day = None if (start or end) else _day(args["day"], None)
        return search(current_app.config["STORE"], current_app.config["REGISTRY"], kinds=kinds, day=day, start=start,
                      end=end, tz=_tz(), compound=args["compound"] or None, gate=args["gate"] or None,
                      name=args["name"] or None, household=_household(args["household"]), plate=args["plate"] or None,
                      card=_whole(args["card"], _l("A card number is a whole number")),
                      visitor_key=args["visitor"] or None, limit=50, cursor=args["cursor"] or None)

    result, problem = _run(query)
    more = None
    if result and result.get("next_cursor"):
        more = {**{k: v for k, v in args.items() if v and k != "cursor"}, "cursor": result["next_cursor"],
                "kind": kinds or []}
    return render_page("ledger.html", "ledger", _l("Ledger"), result=result, problem=problem, args=args,
                       kinds=kinds or [], kind_words=LEDGER_KINDS, gates=_gate_choices(), more=more)


@desk.post("/ledger/visitor")
@desk_login_required("viewer")
def find_visitor():
    """A visitor by full ID number, sent in a POST body: the number never goes into a URL (history, logs); the
    ledger is then shown for the office's keyed hash of it."""
    from flask import url_for

    from kiosk.office.queries.ledger import visitor_key
    from kiosk.office.store import OfficeStoreError

    number = request.form.get("id_number", "").strip()[:40]
    try:
        key = visitor_key(current_app.config["STORE"], number)
    except OfficeStoreError as exc:
        from web.office.messages import LEDGER_KINDS

        return render_page("ledger.html", "ledger", _l("Ledger"), result=None, problem=str(exc),
                           args=dict.fromkeys(LEDGER_FIELDS, ""), kinds=[], kind_words=LEDGER_KINDS,
                           gates=_gate_choices(), more=None), 400
    return redirect(url_for("desk.ledger", visitor=key, kind="visitor"), 303)


def _whole(text: str, message: Any) -> int | None:
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise _Problem(message)
    return int(text)


def _household(text: str) -> int | None:
    """A household typed as 5-1-101, 5号楼1单元101室 or its number in the registry."""
    if not text:
        return None
    if text.isascii() and text.isdigit() and len(text) <= 9:
        return int(text)
    from kiosk.office.admin import find_household
    from kiosk.office.store import OfficeStoreError

    try:
        return int(find_household(current_app.config["REGISTRY"], text)["id"])
    except (OfficeStoreError, LookupError, ValueError):
        raise _Problem(_l("No such household: write it as building-unit-room, e.g. 5-1-101")) from None


@desk.get("/trace")
@desk_login_required("viewer")
def trace():
    """Contact trace: everyone who passed a gate between two times, or within N minutes of one passage."""
    from kiosk.office.queries.trace import around, between, to_csv

    args = _args("gate", "from", "to", "seq", "minutes")
    store, master = current_app.config["STORE"], current_app.config["REGISTRY"]

    def query() -> Any:
        if not args["gate"]:
            return None
        if args["seq"]:
            seq = _whole(args["seq"], _l("A record number is a whole number"))
            minutes = _whole(args["minutes"] or "30", _l("Minutes are a whole number"))
            return around(store, master, args["gate"], seq or 0, minutes or 30)
        if not (args["from"] and args["to"]):
            raise _Problem(_l("Give a start and an end time"))
        return between(store, master, args["gate"], _local_moment(args["from"], _l("Start: not a time")),
                       _local_moment(args["to"], _l("End: not a time")))

    result, problem = _run(query)
    if result is not None and request.args.get("format") == "csv":
        from kiosk.office import audit

        user = current_user()
        audit.record(store, user.name if user else "?", "trace.export", args["gate"],
                     {k: v for k, v in args.items() if v}, address=request.remote_addr)
        response = make_response(to_csv(result["rows"], tz=_tz()))
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
        response.headers["Content-Disposition"] = f"attachment; filename=trace-{args['gate']}.csv"
        return response
    return render_page("trace.html", "trace", _l("Contact trace"), result=result, problem=problem, args=args,
                       gates=_gate_choices(), csv_args={**{k: v for k, v in args.items() if v}, "format": "csv"})


PEOPLE_TABS = {"residents": _l("Residents"), "households": _l("Households"), "cards": _l("Cards"),
               "vehicles": _l("Vehicles"), "volunteers": _l("Volunteers")}


@desk.get("/people")
@desk_login_required("viewer")
def people():
    """Residents, households, cards, vehicles and volunteers, read only (changing them is the registry's screens)."""
    from kiosk.office.queries import people as q

    args = _args("tab", "q", "after")
    tab = args["tab"] if args["tab"] in PEOPLE_TABS else "residents"
    master = current_app.config["REGISTRY"]

    def query() -> Any:
        after = _whole(args["after"], _l("Not a page of this list"))
        text = args["q"] or None
        if tab == "residents":
            return q.residents(master, name=text, after=after)
        if tab == "households":
            parts = (text or "").replace("/", "-").split("-") if text else []
            building, unit, room = (parts + [None, None, None])[:3] if parts else (None, None, None)
            return q.households(master, building=building, unit=unit, room=room, after=after)
        if tab == "cards":
            return q.cards(master, today=_today(), state=text if text in ("valid", "expired", "revoked", "not_yet_valid") else None,
                           after=after)
        if tab == "vehicles":
            return q.vehicles(master, plate=text, after=after)
        return q.volunteers(master, name=text, after=after)

    result, problem = _run(query)
    return render_page("people.html", "people", _l("People"), result=result, problem=problem, args=args, tab=tab,
                       tabs=PEOPLE_TABS)


@desk.get("/audit")
@desk_login_required("admin")
def audit_log():
    """The audit log for admins: who did what and when, filtered by person, action and time."""
    from kiosk.office import audit

    args = _args("actor", "action", "since", "until", "before_id")

    def query() -> Any:
        since = _local_moment(args["since"], _l("From: not a time")) if args["since"] else None
        until = _local_moment(args["until"], _l("Until: not a time")) if args["until"] else None
        try:
            return audit.search(current_app.config["STORE"], actor=args["actor"] or None, action=args["action"] or None,
                                since=since, until=until, limit=100,
                                before_id=_whole(args["before_id"], _l("Not a page of this list")))
        except audit.AuditError as exc:
            raise _Problem(str(exc)) from None

    result, problem = _run(query)
    return render_page("audit.html", "audit", _l("Audit log"), result=result, problem=problem, args=args)
