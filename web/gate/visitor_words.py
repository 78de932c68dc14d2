"""The visitor form's own words for the page (catalog ``T.visitor_form``): the checks it makes before sending say
exactly what the server would (the same sentences: web/common/problems.py with VisitorIn's labels, and
web/gate/errors.py), and the returning-visitor offer."""

from __future__ import annotations

from flask_babel import gettext


def catalog() -> dict:
    """The form's words in the current request's language."""
    from web.common.problems import sentence
    from web.gate.errors import words
    from web.gate.schemas import VisitorIn

    return {
        "name_missing": sentence(VisitorIn, "name", "missing"),
        "phone_missing": sentence(VisitorIn, "phone", "missing"),
        "phone_invalid": sentence(VisitorIn, "phone", "format"),
        "host_missing": words("host_required"),
        "known": gettext("Last visit: %(name)s (from %(place)s, to %(household)s)", name="{name}", place="{place}",
                         household="{household}"),
        "known_no_place": gettext("Last visit: %(name)s (to %(household)s)", name="{name}", household="{household}"),
        "handheld_hint": gettext("Visitor with a fever: type the handheld reading"),
        # saved before any temperature was taken, or the gate asks for another reading (the prompt's title says why)
        "temp_missing": gettext("Take the visitor's temperature first: tap Measure, or Type a handheld reading."),
        "measure_again": gettext("Measure again and enter the new reading (%(why)s).", why="{why}"),
    }
