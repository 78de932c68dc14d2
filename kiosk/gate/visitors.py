"""Outsider registration (外来人员登记): what the ledger keeps of a visitor, with the ID number protected."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kiosk.exc import PersonalDataError
from kiosk.privacy import is_valid_id_number, mask_phone, seal_for_office

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey


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


@dataclass(frozen=True)
class VisitorRegistration:
    """One visitor as the volunteer registers them at the gate."""

    name: str
    phone: str
    coming_from: str
    host_household_id: int | None
    reason: str  # a VisitorReason code ("" for none): the ledger stores codes, the screens word them
    temperature_c: float | None = None
    id_number: str | None = None  # optional; never stored in clear

    def event_data(self, seal_key: X25519PublicKey | None) -> dict:
        """The journal's form: the ID number only sealed for the office + masked form (the office computes the
        keyed hash when the event arrives); the phone in full for the office's contact tracing, plus a masked
        copy for screens.

        Raises PersonalDataError for an ID number whose check digit is wrong, so a
        typo is caught at the gate rather than sealed into the ledger, and when
        there is an ID number but no office sealing key to seal it with.
        """
        data = {
            "name": self.name.strip(),
            "phone": "".join(self.phone.split()),
            "phone_masked": mask_phone(self.phone),
            "coming_from": self.coming_from.strip(),
            "host_household_id": self.host_household_id,
            "reason": self.reason.strip(),
            "temperature_c": self.temperature_c,
        }
        if self.id_number:
            if not is_valid_id_number(self.id_number):
                raise PersonalDataError("the ID number's check digit is wrong: ask the visitor to show the card again")
            if seal_key is None:
                raise PersonalDataError("this gate has no office sealing key: register the visitor without the ID number")
            data.update(seal_for_office(self.id_number, seal_key))
        return data
