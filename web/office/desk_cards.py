"""The desk's printed cards (``/cards``, staff): residents' entry cards as an A4 PDF, and a lost card reissued.

Print for one resident, a household, a building, a compound, or everyone whose card is missing or expiring within
N days. Choosing is a GET (``/cards?by=household&household=5-1-101``) that changes nothing and shows how many cards
the PDF will hold, how many are new and how many are reprints; the button under it POSTs the same choice (with
CSRF and the count shown) to ``/cards/print``, which issues what is missing and answers with the PDF. Reissuing a
lost card (补办) is the same two steps with ``by=reissue`` and ``/cards/reissue``: the old card is revoked as
``lost`` and the new one printed. The library calls are kiosk.office.card_sheets', as ``kiosk office cards print``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, make_response, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from web.office.desk_auth import current_user, desk_login_required

desk_cards = Blueprint("desk_cards", __name__, template_folder="templates")
blueprint = desk_cards  # web.office.desk.PARTS
NAV = [("desk_cards.cards_form", _l("Print cards"), "staff")]

CHOICES = ("resident", "household", "building", "compound", "missing")
"""How the cards to print are chosen (the form's ``by``); ``reissue`` is the lost-card form's."""
MAX_FIELD = 60  # characters of a typed resident, household, building or compound: longer is not one
MAX_DAYS = 366
LIST_LIMIT = 200  # residents listed under the count; the count is always whole

# Issuing is one registry version per new card and not one transaction for the whole sheet: two staff printing
# "missing cards" at the same moment would each issue a card to the same people. One print at a time, per office.
_printing = threading.Lock()


class _Problem(Exception):
    """A choice the desk cannot print: the message (naming the field) is shown above the forms."""


@dataclass
class _Choice:
    """A validated choice: what the form said (to send again) and the residents it picks."""

    by: str
    fields: dict[str, str]
    residents: list[dict]
    days: int = 0

    @property
    def reissue(self) -> bool:
        return self.by == "reissue"


def _field(name: str) -> str:
    source = request.form if request.method == "POST" else request.args
    return " ".join(source.get(name, "").split())[: MAX_FIELD + 1]


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))


def _now() -> datetime:
    return datetime.now(_tz())


def _default_compound() -> str:
    from kiosk.office.compounds import office_compound

    config = current_app.config["OFFICE_CONFIG"]
    return office_compound(current_app.config["STORE"].path, config.office.name)


def _bounded(name: str, label: Any) -> str:
    value = _field(name)
    if not value:
        raise _Problem(_("%(field)s: fill it in", field=label))
    if len(value) > MAX_FIELD:
        raise _Problem(_("%(field)s: at most %(n)d characters", field=label, n=MAX_FIELD))
    return value


def _choose(by: str) -> _Choice:
    """The residents a form's choice picks; _Problem naming the field when it picks nobody or is not one."""
    from kiosk.office.admin import AdminError, find_household, find_resident
    from kiosk.office.card_sheets import CardSheetError, select_residents

    master = current_app.config["REGISTRY"]
    today = _now().date()
    default = _default_compound()
    if by in ("resident", "reissue"):
        text = _bounded("resident", _("Resident"))
        try:
            resident = find_resident(master, text)
        except (AdminError, LookupError, ValueError):
            raise _Problem(_("Resident: nobody %(text)s in the registry; write the household and name, e.g. "
                             "5-1-101:王小山, or the resident's number", text=text)) from None
        residents = select_residents(master, resident_id=resident["id"], today=today)
        return _Choice(by, {"resident": text}, residents)
    if by == "household":
        text = _bounded("household", _("Household"))
        try:
            household = find_household(master, text)
        except (AdminError, LookupError, ValueError):
            raise _Problem(_("Household: no household %(text)s in the registry; write building-unit-room, "
                             "e.g. 5-1-101", text=text)) from None
        try:
            residents = select_residents(master, household_id=household["id"], today=today)
        except CardSheetError:
            raise _Problem(_("Household: nobody is registered in %(text)s", text=text)) from None
        return _Choice(by, {"household": text}, residents)
    if by in ("building", "compound"):
        label = _("Building") if by == "building" else _("Compound")
        text = _bounded(by, label)
        try:
            residents = select_residents(master, today=today, default_compound=default,
                                         building=text if by == "building" else None,
                                         compound=text if by == "compound" else None)
        except CardSheetError:
            message = (_("Building: no building %(text)s in the registry", text=text) if by == "building"
                       else _("Compound: no compound %(text)s in the registry", text=text))
            raise _Problem(message) from None
        if not residents:
            raise _Problem(_("%(field)s: nobody is registered there", field=label))
        return _Choice(by, {by: text}, residents)
    if by == "missing":
        raw = _field("days") or "0"
        if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_DAYS:
            raise _Problem(_("Expiring within: a whole number of days from 0 to %(n)d", n=MAX_DAYS))
        days = int(raw)
        residents = select_residents(master, missing=True, expiring_days=days, today=today)
        return _Choice(by, {"days": str(days)}, residents, days)
    raise _Problem(_("Choose whose cards to print"))


def _plan(choice: _Choice):
    from kiosk.office.card_sheets import CardSheetError, plan_cards

    try:
        return plan_cards(current_app.config["REGISTRY"], choice.residents, today=_now().date(),
                          renew_within_days=choice.days, reissue=choice.reissue)
    except CardSheetError:
        from kiosk.office.card_sheets import MAX_CARDS

        raise _Problem(_("At most %(n)d cards in one PDF: print a building at a time", n=MAX_CARDS)) from None


def _rows(choice: _Choice, plan: Any) -> list[dict]:
    """The first LIST_LIMIT residents with what printing does for each (reprint card N, or a new card)."""
    master = current_app.config["REGISTRY"]
    return [{"id": resident["id"], "name": resident["name"] or "",
             "household": master.household_label_of(resident["household_id"]),
             "card": plan.reprint_of.get(resident["id"])} for resident in choice.residents[:LIST_LIMIT]]


def _page(status: int = 200, **context: Any) -> tuple[str, int]:
    from web.office.desk import render_page

    context.setdefault("by", "")
    context.setdefault("fields", {})
    return render_page("cards.html", "cards", _l("Print cards"), choices=CHOICES, max_field=MAX_FIELD,
                       max_days=MAX_DAYS, list_limit=LIST_LIMIT, default_compound=_default_compound(),
                       **context), status


@desk_cards.get("/cards")
@desk_login_required("staff")
def cards_form():
    """The forms; with ``by``, the count of cards that choice prints (nothing changes)."""
    by = request.args.get("by", "")[:20]
    if not by:
        return _page()
    fields = {name: _field(name)[:MAX_FIELD] for name in ("resident", "household", "building", "compound", "days")}
    try:
        choice = _choose(by)
        if not choice.residents:  # only "missing" gets here empty
            return _page(by=by, fields=fields, nothing=True)
        plan = _plan(choice)
    except _Problem as exc:
        return _page(400, by=by, fields=fields, message=str(exc))
    return _page(by=by, fields=fields, choice=choice, plan=plan, rows=_rows(choice, plan))


def _signing_key():
    from kiosk.exc import KioskError
    from kiosk.keys import load_signing_key

    keys_dir = current_app.config["OFFICE_CONFIG"].office.keys_dir
    try:
        return load_signing_key(keys_dir)
    except (KioskError, OSError) as exc:
        current_app.logger.warning("cards: no signing key: %s", exc)
        raise _Problem(_("The office's signing key is not in %(dir)s (office.keys_dir): the administrator creates "
                         "it with kiosk keys init", dir=keys_dir)) from None


def _print(by: str):
    """Check the choice again, issue what is missing, draw the PDF, audit; the PDF as a download."""
    from kiosk.office import audit
    from kiosk.office.card_sheets import CardSheetError, check_font, prepare_cards, render_pdf

    fields = {name: _field(name)[:MAX_FIELD] for name in ("resident", "household", "building", "compound", "days")}
    user = current_user()
    assert user is not None
    config = current_app.config["OFFICE_CONFIG"]
    master = current_app.config["REGISTRY"]
    try:
        try:
            check_font()  # before any card is issued: a missing font must not leave new cards unprinted
        except CardSheetError:
            current_app.logger.warning("cards: the Chinese font is missing")
            raise _Problem(_("The Chinese font for cards is missing: the administrator installs Debian's "
                             "fonts-wqy-microhei")) from None
        key = _signing_key()
        with _printing:
            choice = _choose(by)
            if not choice.residents:
                return _page(by=by, fields=fields, nothing=True)
            plan = _plan(choice)
            shown = request.form.get("expected", "")[:8]
            if shown != str(plan.cards):  # the registry changed (or someone printed) since the count was shown
                message = _("The choice now prints %(n)d cards, not the %(shown)s shown: check the count and print "
                            "again", n=plan.cards, shown=shown or "?")
                return _page(409, by=by, fields=fields, choice=choice, plan=plan, rows=_rows(choice, plan),
                             message=message)
            now = _now()
            job = prepare_cards(master, key, choice.residents, tz=_tz(), out_dir=Path(master.path).parent / "cards",
                                validity_days=config.registry.card_validity_days, renew_within_days=choice.days,
                                reissue=choice.reissue, now=now, default_compound=_default_compound())
        pdf = render_pdf(job.faces, community_name=config.office.name)
    except _Problem as exc:
        return _page(400, by=by, fields=fields, message=str(exc))
    target = next(iter(choice.fields.values()), by)
    audit.record(current_app.config["STORE"], user.name, "cards.reissue" if choice.reissue else "cards.print",
                 f"{by}:{target}", {"cards": len(job.faces), "pages": job.pages,
                                    "issued": [i.card.card_id for i in job.issued], "reprinted": job.reprinted,
                                    "revoked_lost": job.revoked_lost,
                                    "version": job.issued[-1].version if job.issued else master.version},
                 address=request.remote_addr)
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f"attachment; filename=cards-{by}-{now:%Y%m%d-%H%M%S}.pdf"
    response.headers["Cache-Control"] = "no-store"  # residents' names and valid cards: not for a shared cache
    return response


@desk_cards.post("/cards/print")
@desk_login_required("staff")
def cards_print():
    """Print the chosen residents' cards: reprints as they are, new cards where none is usable (audit cards.print)."""
    by = request.form.get("by", "")[:20]
    if by not in CHOICES:
        return _page(400, message=_("Choose whose cards to print"))
    return _print(by)


@desk_cards.post("/cards/reissue")
@desk_login_required("staff")
def cards_reissue():
    """A lost card (补办): revoke the resident's cards as lost, print the new one (audit cards.reissue)."""
    return _print("reissue")
