"""The desk's registry forms (staff): add, edit, move and remove residents, households, vehicles, volunteers (PIN
reset) and visitor passes, reached from the People screen.

``/people/<kind>/new`` adds, ``/people/<kind>/<id>`` edits, ``/people/<kind>/<id>/remove`` asks, then removes (a
visitor pass: revokes). ``/people/residents/<id>/move`` and ``/people/volunteers/<id>/pin`` are the move and the
PIN reset. ``/people/visitors`` lists the visitor passes; ``/people/visitors/<id>/card`` shows a live pass's QR
(where adding one lands) and POSTs to ``/people/visitors/<id>/card.pdf`` for the card alone on an A4 sheet. Every change is one call of
kiosk.office.registry_edit.RegistryEditor (one registry version, one audit entry), as the CLI's; a refused one
shows its reason (Chinese first) above the form, names the field and stores nothing. Viewers get no forms: every
route here but the visitor list needs the staff role, checked on the server.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from web.office.desk_auth import current_user, desk_login_required

desk_registry = Blueprint("desk_registry", __name__, template_folder="templates")
blueprint = desk_registry  # web.office.desk.PARTS
NAV: list[tuple[str, Any, str]] = []  # reached from the People screen, not the top bar

MAX_FIELD_CHARS = 200  # any one form value; the library bounds each field further

TITLES = {
    "residents": (_l("New resident"), _l("Resident")),
    "households": (_l("New household"), _l("Household")),
    "vehicles": (_l("New vehicle"), _l("Vehicle")),
    "volunteers": (_l("New volunteer"), _l("Volunteer")),
    "visitors": (_l("New visitor pass"), _l("Visitor pass")),
}
"""(adding, editing) titles per kind."""

# Each kind's form: (field, label, input type, required when adding). Fields named as RegistryEditor names them.
FIELDS: dict[str, list[tuple[str, Any, str, bool]]] = {
    "residents": [("household", _l("Household (building-unit-room, e.g. 5-1-101)"), "text", True),
                  ("name", _l("Name"), "text", True), ("id_number", _l("ID number"), "text", False),
                  ("phone", _l("Phone"), "tel", False), ("note", _l("Note"), "text", False)],
    "households": [("address", _l("Address (building-unit-room, e.g. 5-1-101)"), "text", True),
                   ("compound", _l("Compound (empty: the community's one compound)"), "text", False),
                   ("note", _l("Note"), "text", False)],
    "vehicles": [("plate", _l("Plate"), "text", True),
                 ("household", _l("Household (building-unit-room, e.g. 5-1-101)"), "text", True),
                 ("owner", _l("Owner (resident number, optional)"), "text", False), ("note", _l("Note"), "text", False)],
    "volunteers": [("name", _l("Name"), "text", True), ("pin", _l("PIN (4 to 8 digits)"), "password", True),
                   ("resident", _l("Resident number (optional)"), "text", False)],
    "visitors": [("name", _l("Visitor's name"), "text", True), ("phone", _l("Phone"), "tel", False),
                 ("host", _l("Household visited (building-unit-room)"), "text", True),
                 ("valid_from", _l("From"), "datetime-local", True), ("valid_until", _l("Until"), "datetime-local", True),
                 ("reason", _l("Reason"), "text", False)],
}
EDIT_FIELDS = {  # what the edit form of each kind changes (a move and a PIN reset have their own small forms)
    "residents": ["name", "id_number", "phone", "note"],
    "households": ["address", "compound", "note"],
    "vehicles": ["plate", "household", "owner", "note"],
    "volunteers": ["name"],
    "visitors": [],
}


def _kind(kind: str) -> str:
    if kind not in FIELDS:
        abort(404)
    return kind


def _editor() -> Any:
    from kiosk.office.registry_edit import RegistryEditor
    from web.office.desk_roster import _id_key

    user = current_user()
    assert user is not None
    return RegistryEditor(current_app.config["REGISTRY"], current_app.config["STORE"], user.name, id_key=_id_key(),
                          address=request.remote_addr)


def _form(*names: str) -> dict[str, str]:
    return {name: request.form.get(name, "").strip()[:MAX_FIELD_CHARS] for name in names}


def _message(exc: Exception) -> str:
    """A refusal in the page's language: the library's Chinese or its English half."""
    from web.office.desk import language

    zh, en = getattr(exc, "zh", None), getattr(exc, "en", None)
    if zh is None or en is None:
        text = str(exc)
        zh, _, en = text.partition(" / ")
        en = en or zh
    return en if language() == "en" else zh


def _render(template: str, title: Any, status: int = 200, **context: Any) -> tuple[str, int]:
    from web.office.desk import render_page

    return render_page(template, "people", title, **context), status


def _tz() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))


def _current(kind: str, item_id: int) -> dict[str, Any]:
    """The row an edit form starts from, as the form shows it (never an ID hash or PIN hash)."""
    master = current_app.config["REGISTRY"]
    if kind == "residents":
        row = master.resident(item_id)
        if row is None:
            abort(404)
        return {**row, "household_label": master.household_label_of(row["household_id"]), "id_number": ""}
    if kind == "households":
        row = master.household(item_id)
        if row is None:
            abort(404)
        return {**row, "address": master.household_label_of(item_id), "compound": row.get("compound") or "",
                "residents": master.residents_of(item_id)}
    if kind == "vehicles":
        row = master.vehicle(item_id)
        if row is None:
            abort(404)
        return {**row, "household": master.household_label_of(row["household_id"]),
                "owner": "" if row["owner_resident_id"] is None else str(row["owner_resident_id"])}
    if kind == "volunteers":
        row = master.volunteer(item_id)
        if row is None:
            abort(404)
        return {k: v for k, v in row.items() if k != "pin_hash"}
    visitor = next((p for p in master.snapshot()["visitor_passes"] if p["id"] == item_id), None)
    if visitor is None:
        abort(404)
    cards = master.cards_of("visitor", item_id)
    return {**visitor, "host": master.household_label_of(visitor["host_household_id"]),
            "cards": [{**c, "revoked": master.is_revoked(c["id"])} for c in cards]}


# -- adding -----------------------------------------------------------------------------------------------------


def _add(kind: str, editor: Any, values: dict[str, str]) -> Any:
    if kind == "residents":
        return editor.add_resident(**values)
    if kind == "households":
        return editor.add_household(**values)
    if kind == "vehicles":
        return editor.add_vehicle(**values)
    if kind == "volunteers":
        return editor.add_volunteer(**values)
    return _add_visitor(editor, values)


def _moment(text: str, field: str, words: tuple[str, str]) -> datetime:
    from kiosk.office.registry_edit import EditError

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise EditError(field, *words) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=_tz())


def _add_visitor(editor: Any, values: dict[str, str]) -> Any:
    from kiosk.keys import KeyFileError, load_signing_key
    from kiosk.office.paths import OfficePaths
    from kiosk.office.registry_edit import EditError

    start = _moment(values["valid_from"], "valid_from", ("开始时间不是时间", "From: not a time"))
    end = _moment(values["valid_until"], "valid_until", ("结束时间不是时间", "Until: not a time"))
    if end <= start:
        raise EditError("valid_until", "结束时间应晚于开始时间", "the pass ends before it starts")
    paths = OfficePaths.of(current_app.config["OFFICE_CONFIG"])
    try:
        key = load_signing_key(paths.keys_dir)
    except (KeyFileError, OSError):
        raise EditError("", "办公室没有签发密钥，无法发卡（kiosk keys init）",
                        "the office has no signing key: cannot issue the card (kiosk keys init)") from None
    return editor.add_visitor(key, name=values["name"], phone=values["phone"], host=values["host"],
                              valid_from=start, valid_until=end, reason=values["reason"],
                              out_dir=Path(paths.data_dir) / "cards")


@desk_registry.get("/people/<kind>/new")
@desk_login_required("staff")
def new_form(kind: str):
    """The empty form for a new resident, household, vehicle, volunteer or visitor pass."""
    kind = _kind(kind)
    values = {name: "" for name, *_ in FIELDS[kind]}
    if kind == "visitors":
        from kiosk.office.admin import default_pass_window

        start, end = default_pass_window(datetime.now(_tz()))
        values.update(valid_from=start.strftime("%Y-%m-%dT%H:%M"), valid_until=end.strftime("%Y-%m-%dT%H:%M"))
    for name in ("household", "host"):  # "add a resident to this household" links
        if name in values and request.args.get("household"):
            values[name] = request.args.get("household", "")[:64]
    return _render("registry_form.html", TITLES[kind][0], kind=kind, item=None, fields=FIELDS[kind], values=values)


@desk_registry.post("/people/<kind>/new")
@desk_login_required("staff")
def add(kind: str):
    """Add one row (one registry version, audited); the form again with the reason when refused."""
    from kiosk.office.registry_edit import EditError

    kind = _kind(kind)
    values = _form(*(name for name, *_ in FIELDS[kind]))
    try:
        edit = _add(kind, _editor(), values)
    except EditError as exc:
        values.pop("pin", None)  # never sent back into the page
        return _render("registry_form.html", TITLES[kind][0], 400, kind=kind, item=None, fields=FIELDS[kind],
                       values=values, problem=_message(exc), problem_field=exc.field)
    if kind == "visitors":  # the new pass's QR at once: the visitor photographs it, or staff print it
        return redirect(url_for("desk_registry.visitor_card", item_id=edit.row["id"], saved=edit.version), 303)
    return redirect(url_for("desk_registry.edit_form", kind=kind, item_id=edit.row["id"], saved=edit.version), 303)


# -- editing ----------------------------------------------------------------------------------------------------


def _edit_page(kind: str, item_id: int, status: int = 200, **context: Any) -> tuple[str, int]:
    item = _current(kind, item_id)
    fields = [f for f in FIELDS[kind] if f[0] in EDIT_FIELDS[kind]]
    values = {name: str(item.get(name) or "") for name, *_ in fields}
    values.update(context.pop("values", {}))
    saved = request.args.get("saved", "")
    return _render("registry_form.html", TITLES[kind][1], status, kind=kind, item=item, fields=fields, values=values,
                   saved=int(saved) if saved.isdigit() and len(saved) < 12 else None, **context)


@desk_registry.get("/people/<kind>/<int:item_id>")
@desk_login_required("staff")
def edit_form(kind: str, item_id: int):
    """One row's edit form, with its move / PIN reset / remove actions."""
    return _edit_page(_kind(kind), item_id)


def _save(kind: str, item_id: int, editor: Any, values: dict[str, str]) -> Any:
    if kind == "residents":
        return editor.edit_resident(item_id, **values)
    if kind == "households":
        return editor.edit_household(item_id, **values)
    if kind == "vehicles":
        return editor.edit_vehicle(item_id, **values)
    if kind == "volunteers":
        return editor.rename_volunteer(item_id, values["name"])
    abort(405)


def _act(kind: str, item_id: int, action: Callable[[Any], Any], values: dict[str, str] | None = None):
    """Run one change; on success back to the row's page (or the list once it is gone), else the page with why."""
    from kiosk.office.registry_edit import EditError

    try:
        edit = action(_editor())
    except EditError as exc:
        return _edit_page(kind, item_id, 400, values=values or {}, problem=_message(exc), problem_field=exc.field)
    if edit.action.endswith("_removed"):
        return redirect(url_for("desk.people", tab=kind, removed=edit.version), 303)
    return redirect(url_for("desk_registry.edit_form", kind=kind, item_id=item_id, saved=edit.version), 303)


@desk_registry.post("/people/<kind>/<int:item_id>")
@desk_login_required("staff")
def save(kind: str, item_id: int):
    """Save the edit form (only what changed; refused when nothing did)."""
    kind = _kind(kind)
    _current(kind, item_id)  # 404 before anything else
    values = _form(*EDIT_FIELDS[kind])
    return _act(kind, item_id, lambda editor: _save(kind, item_id, editor, values), values)


@desk_registry.post("/people/residents/<int:item_id>/move")
@desk_login_required("staff")
def move(item_id: int):
    """Move a resident to another household."""
    _current("residents", item_id)
    target = _form("household")["household"]
    return _act("residents", item_id, lambda editor: editor.move_resident(item_id, target))


@desk_registry.post("/people/volunteers/<int:item_id>/pin")
@desk_login_required("staff")
def reset_pin(item_id: int):
    """Give a volunteer a new PIN."""
    _current("volunteers", item_id)
    pin = _form("pin")["pin"]
    return _act("volunteers", item_id, lambda editor: editor.reset_pin(item_id, pin))


# -- removing ---------------------------------------------------------------------------------------------------


@desk_registry.get("/people/<kind>/<int:item_id>/remove")
@desk_login_required("staff")
def confirm_remove(kind: str, item_id: int):
    """Ask before removing (a visitor pass: revoking); the answer is a POST of this page's form."""
    kind = _kind(kind)
    return _render("registry_confirm.html", TITLES[kind][1], kind=kind, item=_current(kind, item_id))


@desk_registry.post("/people/<kind>/<int:item_id>/remove")
@desk_login_required("staff")
def remove(kind: str, item_id: int):
    """Remove the row (cards revoked in the same version); refused, saying what is in the way, when it cannot be."""
    kind = _kind(kind)
    _current(kind, item_id)
    actions: dict[str, Callable[[Any], Any]] = {
        "residents": lambda editor: editor.remove_resident(item_id),
        "households": lambda editor: editor.remove_household(item_id),
        "vehicles": lambda editor: editor.remove_vehicle(item_id),
        "volunteers": lambda editor: editor.remove_volunteer(item_id),
        "visitors": lambda editor: editor.revoke_visitor(item_id),
    }
    return _act(kind, item_id, actions[kind])


# -- the visitor passes' list -------------------------------------------------------------------------------------

VISITOR_PAGE = 100


@desk_registry.get("/people/visitors")
@desk_login_required("viewer")
def visitors():
    """Visitor passes, newest first (the last VISITOR_PAGE): who, host household, window, card state."""
    from web.office.desk import PEOPLE_TABS

    master = current_app.config["REGISTRY"]
    rows = sorted(master.snapshot()["visitor_passes"], key=lambda p: p["id"], reverse=True)[:VISITOR_PAGE]
    now = datetime.now(_tz())

    def state(row: dict) -> str:
        window = master.visitor_pass(row["id"])
        live = master.cards_of("visitor", row["id"], unrevoked=True)
        return "valid" if window is not None and window.valid_until > now and live else "ended"

    shown = [{**p, "host": master.household_label_of(p["host_household_id"]), "state": state(p)} for p in rows]
    return _render("registry_visitors.html", _l("Visitor passes"), rows=shown, tabs=PEOPLE_TABS, tab="visitors")


# -- a visitor pass's card: its QR on screen, and one card on an A4 sheet to print ---------------------------------


def _visitor_face(item_id: int) -> Any:
    """The live pass's card face (404 without the pass); None, with the reason's words, when it has no QR."""
    from kiosk.office.card_sheets import VisitorCardUnavailable, visitor_face
    from web.office.desk_cards import _Problem, _signing_key

    master = current_app.config["REGISTRY"]
    if master.visitor_pass(item_id) is None:
        abort(404)
    try:
        return visitor_face(master, _signing_key(), item_id, tz=_tz()), None
    except _Problem as exc:
        return None, str(exc)
    except VisitorCardUnavailable as exc:
        words = {"revoked": _("This pass has been revoked: it has no QR code"),
                 "ended": _("This pass has ended: it has no QR code")}
        return None, words.get(exc.code, _("This pass has no QR code"))


def _card_page(item_id: int, face: Any, problem: str | None, status: int) -> Any:
    import segno
    from flask import make_response

    item = _current("visitors", item_id)
    qr = None
    if face is not None:  # as kiosk.cards.render_qr: level Q; the SVG sized by the page, not its own pixels
        qr = segno.make(face.text, error="q", boost_error=False, micro=False).svg_inline(
            scale=4, border=4, dark="#000", light="#fff", omitsize=True)
    saved = request.args.get("saved", "")
    html, code = _render("registry_visitor_card.html", _l("Visitor pass"), status, item=item, face=face, qr=qr,
                         problem=problem, saved=int(saved) if saved.isdigit() and len(saved) < 12 else None)
    response = make_response(html, code)
    response.headers["Cache-Control"] = "no-store"  # a valid pass's QR: not for a shared cache
    return response


@desk_registry.get("/people/visitors/<int:item_id>/card")
@desk_login_required("staff")
def visitor_card(item_id: int):
    """A live pass's QR on screen (the visitor photographs it) and the button to print it; a revoked or ended
    pass: why there is none (409). Changes nothing."""
    face, problem = _visitor_face(item_id)
    return _card_page(item_id, face, problem, 200 if face is not None else 409)


@desk_registry.post("/people/visitors/<int:item_id>/card.pdf")
@desk_login_required("staff")
def visitor_card_pdf(item_id: int):
    """The pass's card alone on an A4 sheet, as a PDF download (audit registry.visitor_card); 409 without a QR."""
    from flask import make_response

    from kiosk.office import audit
    from kiosk.office.card_sheets import CardSheetError, render_pdf

    face, problem = _visitor_face(item_id)
    if face is None:
        return _card_page(item_id, None, problem, 409)
    config = current_app.config["OFFICE_CONFIG"]
    try:
        pdf = render_pdf([face], community_name=config.office.name)
    except CardSheetError:
        current_app.logger.warning("visitor card: the Chinese font is missing")
        return _card_page(item_id, face, _("The Chinese font for cards is missing: the administrator installs "
                                           "Debian's fonts-wqy-microhei"), 500)
    user = current_user()
    assert user is not None
    audit.record(current_app.config["STORE"], user.name, "registry.visitor_card", f"visitor:{item_id}",
                 {"card": face.card_id, "name": face.name, "host": face.household}, address=request.remote_addr)
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f"attachment; filename=visitor-{item_id}-card-{face.card_id}.pdf"
    response.headers["Cache-Control"] = "no-store"
    return response
