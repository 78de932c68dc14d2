"""The office's follow-up records in office.db: home-quarantine checks and order history, door-to-door screening
rounds, disinfection rounds. Registry rows (orders, households) stay in the registry; these are what staff record
about them. Times are UTC ISO strings (``…Z``) like the gates' events; ``*_day`` columns are the community's local
date (``office.timezone``). Who did something is a desk user's name (``by``) or a gate volunteer (``gate_id`` with
the volunteer's id). Never edit a shipped migration: add a new one.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("kiosk.office.followup")


@migrations()
def m001_followup(db: sqlite_utils.Database) -> None:
    """Quarantine checks and history, screening rounds and visits, disinfection rounds."""
    # One temperature check of a person under a home-quarantine order (registry quarantine_orders.id).
    db["quarantine_checks"].create(
        {"id": int, "order_id": int, "resident_id": int, "slot_day": str, "slot": int, "taken_at": str,
         "temperature_c": float, "method": str, "taken_by": str, "note": str, "recorded_at": str, "recorded_by": str,
         "alarm_event_id": str},
        pk="id")
    db["quarantine_checks"].create_index(["order_id", "slot_day", "slot"])
    db["quarantine_checks"].create_index(["slot_day"])
    # What happened to an order: added, extended, lifted (the registry row keeps only its current dates).
    db["quarantine_history"].create(
        {"id": int, "order_id": int, "action": str, "at": str, "by": str, "day": str, "starts_on": str,
         "ends_on_before": str, "ends_on": str, "note": str},
        pk="id")
    db["quarantine_history"].create_index(["order_id"])
    db["quarantine_history"].create_index(["day"])
    # A door-to-door screening round (逐户排查) covers every household in the registry when it starts.
    db["screening_rounds"].create(
        {"id": int, "name": str, "started_day": str, "started_at": str, "started_by": str, "closed_at": str,
         "closed_by": str, "note": str},
        pk="id")
    # One household's latest state in a round (visited / phone / not_reached); earlier marks are in the audit log.
    db["screening_visits"].create(
        {"round_id": int, "household_id": int, "outcome": str, "at": str, "by": str, "note": str,
         "back_from_elsewhere": int, "unwell": int},
        pk=("round_id", "household_id"))
    db["screening_visits"].create_index(["round_id", "outcome"])
    # One disinfection round (消杀) of an area of a compound, recorded at the desk (source "office"); rounds a
    # volunteer records at the gate arrive as the gate's ``disinfection`` events and are read from ``events``.
    db["disinfection_rounds"].create(
        {"id": int, "compound": str, "area": str, "agent": str, "done_by": str, "done_at": str, "day": str,
         "note": str, "recorded_at": str, "recorded_by": str},
        pk="id")
    db["disinfection_rounds"].create_index(["day", "compound"])


@migrations()
def m002_screening_closed_households(db: sqlite_utils.Database) -> None:
    """The households a screening round covered, frozen when it closes (kiosk.office.screening.close_round): an open
    round covers the registry as it is, so later roster changes must not rewrite a closed round's coverage."""
    db["screening_closed_households"].create(
        {"round_id": int, "household_id": int, "building": str, "unit": str, "room": str, "compound": str},
        pk=("round_id", "household_id"))
