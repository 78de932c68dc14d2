"""``GET /api/v1/hanzi``: candidate characters for the touchscreen's hanzi keyboard (kiosk/gate/hanzi_candidates.py).

``?pinyin=zhang&page=0&slot=name`` → ``{"pinyin": "zhang", "matched": "zhang", "candidates": ["张", …], "more":
true, "page": 0}``. ``slot`` (surname, given, name, text; default name) says whose order counts first. Anything
but 1–8 letters a–z (ü typed as v), or a page out of range, is a 400 with ``code`` and a sentence in the page's
language. The index is built once per app (on first use, or by the warm-up thread at start) and rebuilt when the
registry replica's version changes.
"""

from __future__ import annotations

import threading

from flask import Blueprint, Flask, current_app, jsonify, request
from flask_babel import lazy_gettext as _l

from kiosk.gate import hanzi_candidates as hc
from web.json_api import ApiError, error_response

blueprint = Blueprint("gate_hanzi", __name__, url_prefix="/api/v1")

EXTENSION = "gate_hanzi"
ERRORS = {
    "pinyin_format": _l("Type 1 to 8 letters of pinyin (ü as v)."),
    "page_range": _l("No such page of characters."),
    "slot_choice": _l("Unknown kind of field for the keyboard."),
}
"""Error code → what the page shows (the touchscreen shows ``error`` as it comes)."""


def _source(app: Flask) -> hc.CandidateSource:
    found = app.extensions.get(EXTENSION)
    if found is None:
        registry = app.config["GATE"].checkpoint.registry
        found = app.extensions.setdefault(EXTENSION, hc.CandidateSource(registry.names, lambda: registry.version))
    return found


@blueprint.record_once
def _warm_up(state) -> None:
    # The base scan takes about half a second here (a few on a Pi): done at start, not on the first visitor's key.
    threading.Thread(target=hc.base, name="hanzi-warm-up", daemon=True).start()


def _refuse(code: str, detail: str):
    # As web/gate/errors.py answers: words in the page's language, the code, English detail for the log.
    return error_response(ApiError(400, str(ERRORS[code]), code=code, detail=detail, field=code.split("_")[0]))


@blueprint.get("/hanzi")
def hanzi():
    """Candidates for typed pinyin, one page at a time."""
    pinyin = request.args.get("pinyin", "")
    try:
        slot = hc.Slot(request.args.get("slot", hc.Slot.NAME.value))
    except ValueError:
        return _refuse("slot_choice", f"slot must be one of {', '.join(s.value for s in hc.Slot)}")
    page_text = request.args.get("page", "0")
    if not (page_text.isascii() and page_text.isdigit() and len(page_text) <= 3):
        return _refuse("page_range", "page must be a number")
    try:
        found = _source(current_app).index().page(pinyin, int(page_text), slot=slot)
    except hc.PinyinError as exc:
        return _refuse("pinyin_format", str(exc))
    except ValueError as exc:
        return _refuse("page_range", str(exc))
    return jsonify({"pinyin": found.pinyin, "matched": found.matched, "candidates": list(found.candidates),
                    "more": found.more, "page": found.page})
