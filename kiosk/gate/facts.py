"""What the registry and the journal know about whoever is at the gate: the policy's second input.

The dataclasses are plain data; ``gather_facts`` is the I/O edge that fills
them from the registry replica and the journal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from kiosk.cards import CardCheck, CardKind
from kiosk.config.base import Direction
from kiosk.events import EventKind, subject_key
from kiosk.registry import QuarantineOrder, VisitorPass, normalise_plate

if TYPE_CHECKING:  # the journal is only needed by gather_facts' caller
    from kiosk.gate.journal import Journal
    from kiosk.registry import Registry


@dataclass(frozen=True)
class Holder:
    """The person or vehicle a card or plate stands for, as the registry knows them."""

    kind: CardKind
    subject_id: int
    name: str = ""
    household_id: int | None = None
    household: str = ""  # e.g. 3-2-501
    plate: str | None = None
    resident_id: int | None = None  # the resident record behind a resident or volunteer card

    @property
    def subject(self) -> str:
        """The journal's key for this holder, e.g. ``resident:12``."""
        return subject_key(self.kind.value, self.subject_id)


@dataclass(frozen=True)
class LastPassage:
    """The holder's most recent admitted passage at this gate (a refused one did not move them)."""

    direction: Direction
    at: datetime
    overdue_alarmed: bool = False  # the gate's sweep already raised the overdue-return alarm for this exit


@dataclass(frozen=True)
class Facts:
    """Everything the policy needs to know beyond the card and the temperature."""

    holder: Holder | None = None
    card_known: bool = False  # the office has a record of this card id
    card_matches: bool = True  # that record names the same kind and subject as the signed card
    revoked: bool = False
    revocation_reason: str | None = None  # lost, replaced, moved_out, withdrawn
    quarantine: tuple[QuarantineOrder, ...] = ()  # active orders on the holder or their household
    last_passage: LastPassage | None = None
    household_exits: tuple[datetime, ...] = ()  # exits by the household within the outing period
    visitor_pass: VisitorPass | None = None
    plate: str | None = None  # a typed plate that matched no vehicle


def _holder(registry: Registry, kind: CardKind, subject_id: int) -> tuple[Holder | None, VisitorPass | None]:
    if kind in (CardKind.RESIDENT,):
        row = registry.resident(subject_id)
        if row is None:
            return None, None
        label = registry.household_label_of(row["household_id"])
        return Holder(kind, subject_id, row["name"] or "", row["household_id"], label, resident_id=subject_id), None
    if kind is CardKind.VOLUNTEER:
        row = registry.volunteer(subject_id)
        if row is None:
            return None, None
        resident = registry.resident(row["resident_id"]) if row["resident_id"] is not None else None
        household_id = resident["household_id"] if resident else None
        return Holder(kind, subject_id, row["name"] or "", household_id, resident_id=row["resident_id"]), None
    if kind is CardKind.VEHICLE:
        row = registry.vehicle(subject_id)
        if row is None:
            return None, None
        return Holder(kind, subject_id, "", row["household_id"], plate=row["plate"]), None
    pass_ = registry.visitor_pass(subject_id)
    if pass_ is None:
        return None, None
    label = registry.household_label_of(pass_.host_household_id)
    return Holder(kind, subject_id, pass_.name, pass_.host_household_id, label), pass_


def _history(journal: Journal | None, holder: Holder, now: datetime, outing_days: int) -> tuple[LastPassage | None, tuple[datetime, ...]]:
    if journal is None:
        return None, ()
    last = None
    event = journal.last_admitted(holder.subject, (EventKind.PASSAGE, EventKind.VEHICLE))
    if event is not None and holder.kind is CardKind.VISITOR and event.data.get("direction") == "in":
        left = journal.last_event(holder.subject, (EventKind.VISITOR_EXIT,))  # 离开 tapped on the inside list
        if left is not None and left.seq > event.seq:
            return LastPassage("out", datetime.fromisoformat(left.ts), False), ()
    if event is not None and event.data.get("direction") in ("in", "out"):
        alarmed = event.data["direction"] == "out" and journal.alarm_raised_since(holder.subject, "overdue_return", event.seq)
        last = LastPassage(event.data["direction"], datetime.fromisoformat(event.ts), alarmed)
    exits: tuple[datetime, ...] = ()
    if holder.household_id is not None and holder.kind is not CardKind.VISITOR:
        since = now - timedelta(days=outing_days)
        exits = tuple(journal.household_exit_times(holder.household_id, since))
    return last, exits


def gather_facts(
    registry: Registry,
    journal: Journal | None,
    check: CardCheck | None,
    now: datetime,
    *,
    timezone: str = "Asia/Shanghai",
    outing_days: int = 2,
    plate: str | None = None,
) -> Facts:
    """Look up what the registry and journal say about a scanned card (or a typed plate)."""
    card = check.card if check is not None else None
    if card is None and plate:
        row = registry.vehicle_by_plate(plate)
        if row is None:
            return Facts(holder=None, plate=normalise_plate(plate))
        holder = Holder(CardKind.VEHICLE, row["id"], "", row["household_id"], plate=row["plate"])
        last, _ = _history(journal, holder, now, outing_days)
        return Facts(holder=holder, card_known=False, last_passage=last)
    if card is None:
        return Facts()
    record = registry.card(card.card_id)
    revocation = registry.revocation(card.card_id)  # with its reason: lost, replaced, moved_out, withdrawn
    holder_of_card, visitor_pass = _holder(registry, card.kind, card.subject_id)
    today = now.astimezone(ZoneInfo(timezone)).date()
    quarantine: tuple[QuarantineOrder, ...] = ()
    if holder_of_card is not None and card.kind in (CardKind.RESIDENT, CardKind.VOLUNTEER):
        quarantine = tuple(registry.quarantine_orders(resident_id=holder_of_card.resident_id, household_id=holder_of_card.household_id, on=today))
    last, exits = _history(journal, holder_of_card, now, outing_days) if holder_of_card is not None else (None, ())
    return Facts(
        holder=holder_of_card,
        card_known=record is not None,
        card_matches=record is None or (record["kind"] == card.kind.value and record["subject_id"] == card.subject_id),
        revoked=revocation is not None,
        revocation_reason=revocation["reason"] if revocation is not None else None,
        quarantine=quarantine,
        last_passage=last,
        household_exits=exits,
        visitor_pass=visitor_pass,
    )
