"""What is wrong with a request body, in the request's language: the words behind web.json_api.parse_body's 400s.

parse_body turns pydantic's first problem into a stable ``code`` (below) and
the JSON ``field``; this module turns the pair into one sentence for a person
("请填写姓名。" / "Name is missing."). The field's words come from the schema
that owns the field: a ``field_labels`` ClassVar on the body model (JSON name
→ lazy label), and, where the generic sentence is not good enough, a
``field_hints`` ClassVar (``(field, code)`` or ``(field, "*")`` → a whole
sentence). Both are read through the model's MRO, so a subclass adds to its
base. A field without a label is named by its JSON name (a page should not
meet one: label every field a person fills in).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

from flask_babel import lazy_gettext as _l
from pydantic_core.core_schema import ErrorType

# code → sentence; ``%(field)s`` is the field's label, ``%(n)s`` the bound that was crossed (when there is one)
SENTENCES = {
    "missing": _l("%(field)s is missing."),
    "too_short": _l("%(field)s is too short: at least %(n)s characters."),
    "too_long": _l("%(field)s is too long: at most %(n)s characters."),
    "too_small": _l("%(field)s is too low: at least %(n)s."),
    "too_large": _l("%(field)s is too high: at most %(n)s."),
    "too_many": _l("%(field)s: at most %(n)s."),
    "format": _l("%(field)s is not in the right form."),
    "choice": _l("%(field)s: please choose one of the options."),
    "type": _l("%(field)s is not valid."),
    "unknown_field": _l("The page sent something that could not be understood (%(field)s): please reload the page."),
    "invalid_json": _l("The request could not be read: please try again."),
    "not_json": _l("The request could not be read: please try again."),
}

# pydantic error type → our code (anything else is "type")
PYDANTIC_CODES = {
    "missing": "missing",
    "string_too_short": "too_short",
    "string_too_long": "too_long",
    "too_long": "too_many",
    "too_short": "too_short",
    "greater_than_equal": "too_small", "greater_than": "too_small",
    "less_than_equal": "too_large", "less_than": "too_large",
    "string_pattern_mismatch": "format",
    "enum": "choice", "literal_error": "choice",
    "extra_forbidden": "unknown_field",
    "json_invalid": "invalid_json", "json_type": "invalid_json",
}

# the bound pydantic reports for each code (ctx key), shown as %(n)s
_BOUNDS = {"too_short": ("min_length",), "too_long": ("max_length",), "too_many": ("max_length",),
           "too_small": ("ge", "gt"), "too_large": ("le", "lt")}


_BUILTIN = frozenset(get_args(ErrorType))


def code_of(error: Mapping[str, Any]) -> tuple[str, Any]:
    """Our code for one pydantic error, and the bound it crossed (or None).

    A schema's own check (``PydanticCustomError("phone_mobile", …)``) keeps its type as the code.
    """
    kind = str(error.get("type"))
    code = PYDANTIC_CODES.get(kind) or (kind if kind not in _BUILTIN else "type")
    ctx = error.get("ctx") or {}
    if code == "too_short" and ctx.get("min_length") == 1:
        code = "missing"  # an empty required text: the person left it out
    bound = next((ctx[key] for key in _BOUNDS.get(code, ()) if key in ctx), None)
    return code, bound


def _merged(model: type, attribute: str) -> dict:
    merged: dict = {}
    for klass in reversed(getattr(model, "__mro__", (model,))):
        merged.update(vars(klass).get(attribute) or {})
    return merged


def label(model: type, field: str) -> str:
    """The field's words for a person (its JSON name when the schema gives none)."""
    found = _merged(model, "field_labels").get(field)
    return str(found) if found is not None else field


def sentence(model: type, field: str, code: str, bound: Any = None) -> str:
    """One sentence saying what is wrong with ``field``, in the current request's language."""
    hints = _merged(model, "field_hints")
    hint = hints.get((field, code)) or (hints.get((field, "*")) if code not in ("missing", "unknown_field") else None)
    if hint is not None:
        return str(hint)
    n = bound if not isinstance(bound, float) or not bound.is_integer() else int(bound)
    return str(SENTENCES.get(code, SENTENCES["type"])) % {"field": label(model, field), "n": n}
