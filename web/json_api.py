"""What the office and gate JSON APIs share: the error answer and strict request bodies.

Every error answer is ``{"error": sentence, "code": code, …}``. ``code`` is
stable (pages and gates branch on it; tests match it); ``error`` is words.

A body that does not fit its schema (``parse_body``) is a 400 with
``field`` (the JSON name of the first field in trouble), ``code`` (what is
wrong: missing, too_long, format, choice … — see web/common/problems.py) and
``problems`` (every ``{field, code}``, so a page can mark each field).

Who reads ``error`` decides its language:

* A page's API (the gate's ``/api/v1``, read by the touchscreen; the desk's
  JSON): ``parse_body(model)`` — one sentence in the request's language
  (flask_babel's current locale: the page's cookie), naming the field by the
  label the schema owns. Labels: a ``field_labels`` ClassVar on the body model
  (``{"name": _l("Name")}``), and ``field_hints`` for a whole sentence where
  the generic one is poor (``{("phone", "format"): _l("…")}``); see
  web/gate/schemas.py. Add a label for every field a person fills in.
* A machine's API (the office's ``/api/v1``, read by gates syncing):
  ``parse_body(model, people=False)`` — English, the pydantic wording, as
  before (``since: Input should be …  (1 problem(s) in all)``): logs read it,
  and its words never reach a screen.
"""

from __future__ import annotations

from typing import TypeVar

from flask import jsonify, request
from pydantic import BaseModel, ValidationError


class ApiError(Exception):
    """An error answer: HTTP status, a message for the person reading the screen (or the log), and extra fields."""

    def __init__(self, status: int, message: str, **extra):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


M = TypeVar("M", bound=BaseModel)

MAX_PROBLEMS = 20  # problems listed in one answer: enough to mark a form's fields, bounded for a hostile body


def error_response(exc: ApiError):
    """The JSON answer for an ApiError: ``{"error": message, **extra}``."""
    response = jsonify({"error": exc.message, **exc.extra})
    response.status_code = exc.status
    return response


def parse_body(model: type[M], *, people: bool = True) -> M:
    """The request's JSON body as ``model``; a 415 or 400 ApiError naming the first problem otherwise.

    ``people``: the answer's ``error`` is a sentence in the request's language (False: English for machines).
    """
    from web.common import problems

    if not request.is_json:
        message = str(problems.SENTENCES["not_json"]) if people else "expected Content-Type: application/json"
        raise ApiError(415, message, code="not_json")
    try:
        return model.model_validate_json(request.get_data())
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        found = []
        for error in errors[:MAX_PROBLEMS]:
            code, bound = problems.code_of(error)
            found.append((str(error["loc"][0]) if error["loc"] else "", code, bound))
        field, code, bound = found[0]
        if people:
            message = problems.sentence(model, field, code, bound) if field else str(problems.SENTENCES[code])
        else:
            first = errors[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            message = f"{where}: {first['msg']} ({exc.error_count()} problem(s) in all)"
        raise ApiError(400, message, code=code, field=field or None,
                       problems=[{"field": f or None, "code": c} for f, c, _ in found]) from None
