"""Outsider registration (外来人员登记): what the ledger keeps of a visitor, with the ID number protected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kiosk.exc import PersonalDataError
from kiosk.privacy import is_valid_id_number, mask_phone, seal_for_office

# The reason codes are shared with the office (its ledger reads old rows too): one definition, re-exported here.
from kiosk.visitor_reasons import VisitorReason, reason_code

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey


__all__ = ["VisitorReason", "VisitorRegistration", "reason_code"]


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
                raise PersonalDataError("id_check_digit", "the ID number's check digit is wrong: ask the visitor to show the card again")
            if seal_key is None:
                raise PersonalDataError("no_sealing_key", "this gate has no office sealing key: register the visitor without the ID number")
            data.update(seal_for_office(self.id_number, seal_key))
        return data
