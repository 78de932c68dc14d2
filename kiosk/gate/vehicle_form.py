"""The vehicle form while it is open on the touchscreen: cards scanned then are the vehicle's people, not passages.

The page opens the form with a lease (``POST /api/v1/vehicle/form``) and
renews it while the form is on screen; a page that vanishes lets it lapse, so
the gate never keeps treating cards as drivers. While the lease holds, a
person card scanned is checked (signature, revocation, quarantine: the
walking rules) and shown on the form as the driver (the first) or a passenger,
and nothing is journaled: the vehicle's passage, once saved, is the only
record. The cards scanned stay held after the lease lapses until the form is
opened afresh, closed, or its vehicle passes, so a save a little late still
knows its driver.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kiosk.config.base import Direction
from kiosk.exc import Refusal

# How long one open (or renewal) holds: the page renews every 10 s, so a lost page frees the scanner within this.
LEASE_S = 30.0
# A car's driver and passengers whose cards can be scanned on one form (bounded: a hostile scanner cannot grow it).
MAX_OCCUPANTS = 9


class VehicleFormError(Refusal):
    """The vehicle form cannot do what was asked (a driver whose card is not held any more): code + English."""


@dataclass
class VehicleForm:
    """The open form's lease, its direction (for the occupants' checks) and the cards scanned on it (driver first)."""

    monotonic: Callable[[], float]
    until: float = 0.0
    direction: Direction | None = None
    held: dict[str, str] = field(default_factory=dict)  # subject → the card text scanned on this form
    names: dict[str, str] = field(default_factory=dict)  # subject → the masked name, for the vehicle's result

    def open(self, direction: Direction | None, *, fresh: bool = False) -> None:
        """Open (``fresh``: forget the cards scanned before) or renew the lease; the form's direction now."""
        if fresh:
            self.held.clear()
            self.names.clear()
        self.until = self.monotonic() + LEASE_S
        self.direction = direction

    def close(self) -> None:
        """The volunteer left the form: cards are passages again and nothing scanned is held."""
        self.until = 0.0
        self.held.clear()
        self.names.clear()

    @property
    def holds_cards(self) -> bool:
        """True while the lease holds: the next person card is one of this vehicle's people."""
        return self.monotonic() < self.until

    def expires_in_s(self) -> float:
        """Seconds the lease has left (0 when lapsed)."""
        return round(max(0.0, self.until - self.monotonic()), 1)

    def hold(self, subject: str, text: str, name: str = "") -> str:
        """Keep a checked card for the save; returns its role on the form: ``driver`` (the first) or ``passenger``."""
        if subject not in self.held and len(self.held) >= MAX_OCCUPANTS:
            raise VehicleFormError("too_many_occupants", f"at most {MAX_OCCUPANTS} people in one vehicle")
        self.held[subject] = text
        if name:
            self.names[subject] = name
        return "driver" if next(iter(self.held)) == subject else "passenger"

    def occupants(self, driver: str | None) -> tuple[str | None, list[str], list[str]]:
        """For a save: the driver's subject (the page's, else the first card held), every card text to check
        (the driver's first) and the passengers' subjects."""
        if driver is not None and driver not in self.held:
            raise VehicleFormError("driver_not_scanned", "scan the driver's card again")
        driver = driver if driver is not None else next(iter(self.held), None)
        ordered = ([driver] if driver is not None else []) + [s for s in self.held if s != driver]
        return driver, [self.held[s] for s in ordered], [s for s in ordered if s != driver]
