"""The vehicle form's driver without a card: a visitor registered in the same flow as the plate (POST /vehicles).

The registration is the visitor form's (``kiosk.gate.visitors.VisitorRegistration``,
journaled by ``Checkpoint`` beside the vehicle); here the vehicle's body
fields become one, with the same checks the visitor form's endpoint makes
(a host household that exists, required when the gate's config says so).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.gate.passages import Gate
from kiosk.gate.visitors import VisitorRegistration
from web.gate import errors

if TYPE_CHECKING:
    from kiosk.gate.checkpoint import Outcome
    from web.gate.schemas import VehicleIn


def registration(body: VehicleIn, gate: Gate) -> VisitorRegistration | None:
    """The driver as a visitor registration when the form registered one (``visitor_name``), else None.

    Raises a 400 ApiError naming the field: a phone or host household missing, or no such household.
    """
    if body.visitor_name is None:
        return None
    if not body.visitor_phone:
        raise errors.failure("driver_phone_missing", 400, "visitor_phone: the driver's phone is missing",
                             field="visitor_phone")
    host = body.visitor_host_household_id
    registry = gate.checkpoint.registry
    if host is None and gate.checkpoint.config.visitors.host_required:
        raise errors.failure("driver_host_missing", 400, "visitor_host_household_id: pick the household visited",
                             field="visitor_host_household_id")
    if host is not None and registry.household(host) is None:
        raise errors.failure("no_household", 400, f"visitor_host_household_id: no household {host} in the registry",
                             field="visitor_host_household_id")
    reason = body.visitor_reason.value if body.visitor_reason is not None else ""
    return VisitorRegistration(body.visitor_name, body.visitor_phone, body.visitor_from, host, reason,
                               body.temperatures_c[-1] if body.temperatures_c else None)


def answer(outcome: Outcome) -> dict:
    """The vehicle's decision as the form shows it: the screen's fields and the vehicle event's seq (what a
    corrected save supersedes) and its link to the visitor registration."""
    shown = Gate.screen(outcome)
    decision = outcome.decision
    if not decision.vehicle:  # a visitor driver's remeasure: the visitor's own decision, nothing journaled
        shown["kind"] = "vehicle"
    vehicle_event = next((e for e in outcome.events if e.kind.value == "vehicle"), None)
    shown["vehicle_seq"] = vehicle_event.seq if vehicle_event is not None else None
    shown["visit_ref"] = vehicle_event.data.get("visit_ref") if vehicle_event is not None else None
    return shown
