"""The words for disinfection areas and agents (kiosk/disinfection_codes.py's codes) on both apps' screens.

A stored area or agent that is not a code is the community's own words and is shown as it is (``say``).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

AREAS: dict[str, Any] = {
    "gate": _l("Gate and entrance"),
    "stairwells": _l("Stairwells"),
    "lifts": _l("Lifts"),
    "bins": _l("Refuse point"),
    "public_areas": _l("Public areas"),
    "delivery_point": _l("Parcel point"),
}
AGENTS: dict[str, Any] = {
    "chlorine": _l("Chlorine disinfectant"),
    "alcohol": _l("75% alcohol"),
    "peracetic_acid": _l("Peracetic acid"),
    "chlorine_dioxide": _l("Chlorine dioxide"),
}


def say(table: dict[str, Any], value: str | None) -> str:
    """A stored area or agent in the request's language: a code's words, anything else as written."""
    text = (value or "").strip()
    words = table.get(text)
    return str(words) if words is not None else text
