"""The desk's door-to-door screening (``/screening``): coverage per compound and building, the households not reached
yet, and a marking flow for staff walking a building with a phone (pick a building, then three big buttons per
household and a note). Starting and closing a round are here too.

Everyone signed in sees coverage and the missing list; marking, starting and closing need the staff role. The
views only read the form and call kiosk.office.screening (the CLI's ``kiosk office screening`` makes the same calls);
each change is audited there. Plain forms, no script: a mark posts and comes back to the building at the next
household, which works on any phone.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, request, url_for
from flask_babel import lazy_gettext as _l

from web.office.desk_auth import current_user, desk_login_required

desk_screening = Blueprint("desk_screening", __name__, template_folder="templates")
blueprint = desk_screening  # web.office.desk.PARTS
NAV = [("desk_screening.overview", _l("Screening"), "viewer")]

MISSING_SHOWN = 500  # the missing list on the page (its count is always whole); the CLI prints all of it
MAX_FIELD = 200


def _lib():
    from kiosk.office import screening

    return screening


def _office_name() -> str:
    return current_app.config.get("COMMUNITY", "") or ""


def _can_mark() -> bool:
    from kiosk.office.accounts import Role

    user = current_user()
    return bool(user and user.role.at_least(Role.STAFF))


def _words() -> dict[str, Any]:
    """Outcome and flag codes → the page's words (the catalog's, so English follows the language switch)."""
    return {"outcomes": {"visited": _l("Visited"), "phone": _l("By phone"), "not_reached": _l("Not reached"),
                         "unmarked": _l("Not marked")},
            "flags": {"back_from_elsewhere": _l("Back from elsewhere"), "unwell": _l("Unwell")}}


def _form(name: str, maximum: int = MAX_FIELD) -> str:
    return request.form.get(name, "").strip()[:maximum + 1]  # one over: the library says it is too long


def _current() -> dict | None:
    """The open round, else the latest one, else None."""
    lib = _lib()
    try:
        return lib.get_round(current_app.config["STORE"])
    except lib.ScreeningError:
        return None


def _overview(status: int = 200, **context: Any) -> tuple[str, int]:
    from web.office.desk import render_page

    lib = _lib()
    store, master = current_app.config["STORE"], current_app.config["REGISTRY"]
    the_round = _current()
    cover = missing = None
    if the_round is not None:
        cover = lib.coverage(store, master, the_round["id"], office_name=_office_name())
        missing = lib.missing(store, master, the_round["id"], office_name=_office_name())
    return render_page("screening.html", "screening", _l("Door-to-door screening"), view="overview",
                       the_round=the_round, cover=cover, missing=missing, missing_shown=MISSING_SHOWN,
                       can_mark=_can_mark(), words=_words(), max_name=lib.MAX_NAME, **context), status


@desk_screening.get("/screening")
@desk_login_required("viewer")
def overview():
    """Coverage per compound and building, the buildings to walk, every household not reached yet."""
    notice = {"started": _l("The round has started: every household is on its list."),
              "closed": _l("The round is closed.")}.get(request.args.get("done", ""))
    return _overview(notice=notice)


@desk_screening.post("/screening/start")
@desk_login_required("staff")
def start():
    """Start a round (refused while another is open)."""
    lib = _lib()
    user = current_user()
    assert user is not None
    try:
        lib.start_round(current_app.config["STORE"], _form("name", lib.MAX_NAME), by=user.name,
                        tz=current_app.config.get("TIMEZONE", "Asia/Shanghai"), address=request.remote_addr)
    except lib.ScreeningError as exc:
        return _overview(409 if isinstance(exc, lib.ScreeningConflict) else 400, problem=str(exc),
                         name=_form("name", 100))
    return redirect(url_for("desk_screening.overview", done="started"), 303)


@desk_screening.post("/screening/close")
@desk_login_required("staff")
def close():
    """Close the open round; the form's checkbox says the missing list was looked at first."""
    lib = _lib()
    user = current_user()
    assert user is not None
    if request.form.get("confirm") != "1":
        return _overview(400, problem=_l("Tick the box to confirm: the households not reached stay on record as such."))
    try:
        lib.close_round(current_app.config["STORE"], current_app.config["REGISTRY"], by=user.name,
                        office_name=_office_name(), address=request.remote_addr)
    except lib.ScreeningError as exc:
        return _overview(409, problem=str(exc))
    return redirect(url_for("desk_screening.overview", done="closed"), 303)


def _building_page(compound: str, building: str, status: int = 200, **context: Any) -> tuple[str, int]:
    from web.office.desk import render_page

    lib = _lib()
    store, master = current_app.config["STORE"], current_app.config["REGISTRY"]
    the_round = _current()
    rows: list[dict] = []
    counts = None
    if the_round is not None:
        rows = lib.households(store, master, the_round["id"], compound=compound, building=building,
                              office_name=_office_name())
        counts = next((b for c in lib.coverage(store, master, the_round["id"], office_name=_office_name())["compounds"]
                       if c["compound"] == compound for b in c["buildings"] if b["building"] == building), None)
    only_missing = request.values.get("missing") == "1"
    shown = [r for r in rows if r["outcome"] in ("not_reached", "unmarked")] if only_missing else rows
    title = f"{building} · {compound}"
    return render_page("screening.html", "screening", title, view="building", the_round=the_round, rows=shown,
                       all_rows=len(rows), counts=counts, compound=compound, building=building,
                       only_missing=only_missing, can_mark=_can_mark() and bool(the_round and the_round["open"]),
                       words=_words(), max_note=lib.MAX_NOTE, **context), status


@desk_screening.get("/screening/building")
@desk_login_required("viewer")
def building():
    """One building's households, each with its state; for staff, three buttons and a note per household."""
    compound, name = request.args.get("compound", "")[:100], request.args.get("building", "")[:40]
    marked = request.args.get("marked", "")
    notice = None
    if marked.isdigit():
        lib = _lib()
        the_round = _current()
        if the_round is not None:
            row = next((r for r in lib.households(current_app.config["STORE"], current_app.config["REGISTRY"],
                                                  the_round["id"], compound=compound, building=name,
                                                  office_name=_office_name()) if r["household_id"] == int(marked)), None)
            if row is not None:
                notice = {"household": row["household"], "outcome": row["outcome"]}
    return _building_page(compound, name, marked_notice=notice)


@desk_screening.post("/screening/mark")
@desk_login_required("staff")
def mark():
    """Record one household's outcome, then back to its building at the next household not reached yet."""
    lib = _lib()
    user = current_user()
    assert user is not None
    compound, name = _form("compound", 100), _form("building", 40)
    household = _form("household_id", 12)
    only_missing = request.form.get("missing") == "1"
    if not (household.isascii() and household.isdigit()):
        return _building_page(compound, name, 400, problem=_l("Not a household of this list"))
    try:
        visit = lib.mark(current_app.config["STORE"], current_app.config["REGISTRY"], int(household),
                         request.form.get("outcome", "")[:20], by=user.name, note=_form("note", lib.MAX_NOTE),
                         back_from_elsewhere=request.form.get("back_from_elsewhere") == "1",
                         unwell=request.form.get("unwell") == "1", office_name=_office_name(),
                         address=request.remote_addr)
    except lib.ScreeningError as exc:
        return _building_page(compound, name, 409 if isinstance(exc, lib.ScreeningConflict) else 400,
                              problem=str(exc), failed=household)
    following = _next_household(lib, visit["household_id"], compound, name)
    args: dict[str, Any] = {"compound": compound, "building": name, "marked": visit["household_id"]}
    if only_missing:
        args["missing"] = "1"
    return redirect(url_for("desk_screening.building", **args) + (f"#h-{following}" if following else ""), 303)


def _next_household(lib: Any, household_id: int, compound: str, building: str) -> int | None:
    """The next household after this one in the building still to be reached (else None): where the page scrolls."""
    rows = lib.households(current_app.config["STORE"], current_app.config["REGISTRY"], compound=compound,
                          building=building, office_name=_office_name())
    ids = [r["household_id"] for r in rows]
    if household_id not in ids:
        return None
    after = rows[ids.index(household_id) + 1:] + rows[:ids.index(household_id)]
    return next((r["household_id"] for r in after if r["outcome"] in ("not_reached", "unmarked")), None)
