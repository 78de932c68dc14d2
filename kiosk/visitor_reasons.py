"""Why a visitor came: the codes the gate's ledger stores, read by the gate and the office alike."""

from __future__ import annotations

import enum


class VisitorReason(str, enum.Enum):
    """Why a visitor came: the one definition of the codes the ledger stores (their words: web/gate/messages.py)."""

    VISITING_FAMILY = "visiting_family"
    DELIVERY = "delivery"
    REPAIRS = "repairs"
    OTHER = "other"


_CODES = frozenset(r.value for r in VisitorReason)
# Before the codes, the gate stored the button's label in the page's language: these are every label it ever had.
_OLD_LABELS = {
    "探亲": VisitorReason.VISITING_FAMILY, "Visiting family": VisitorReason.VISITING_FAMILY,
    "送货": VisitorReason.DELIVERY, "Delivery": VisitorReason.DELIVERY,
    "维修": VisitorReason.REPAIRS, "Repairs": VisitorReason.REPAIRS,
    "其他": VisitorReason.OTHER, "Other": VisitorReason.OTHER,
}


def reason_code(stored: str | None) -> str | None:
    """A stored visitor reason as its code, for rows written before and after the codes (the journal is never
    rewritten): a code stays itself, an old label becomes its code; anything else (nothing, free text from
    another tool) is None, so a reader shows it as it is or as no reason."""
    text = (stored or "").strip()
    if text in _CODES:
        return text
    old = _OLD_LABELS.get(text)
    return old.value if old is not None else None
