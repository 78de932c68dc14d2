"""The kinds of event a gate journals, and the shape every event has."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class EventKind(str, enum.Enum):
    """Every kind of event the journal accepts."""

    PASSAGE = "passage"  # a person passed (or was refused) at the gate
    VEHICLE = "vehicle"  # a vehicle passed (or was refused)
    VISITOR_REGISTRATION = "visitor_registration"  # an outsider was registered in the ledger
    MEASUREMENT = "measurement"  # a temperature reading
    ALARM_RAISED = "alarm_raised"
    ALARM_ACKNOWLEDGED = "alarm_acknowledged"
    SHIFT_SIGN_IN = "shift_sign_in"
    SHIFT_SIGN_OUT = "shift_sign_out"
    SENSOR_FAULT = "sensor_fault"  # a part of the gate failed or recovered (data: part, fault, detail)
    PASSAGE_ABANDONED = "passage_abandoned"  # a card was scanned but the person left before a decision
    DISINFECTION = "disinfection"  # the volunteer on duty recorded a disinfection round (data: area, agent, note)
    GATE_LEAF = "gate_leaf"  # the gate leaf's reed switch settled open or shut (data: state, since, open_s)
    VISITOR_EXIT = "visitor_exit"  # a visitor inside left (data: the entry's seq and id, how: list or pass)


def subject_key(kind: str, subject_id: int) -> str:
    """The journal's key for whom an event is about: ``resident``, 12 → ``resident:12`` (the one definition)."""
    return f"{kind}:{subject_id}"


def parse_subject(key: str | None) -> tuple[str, int] | None:
    """``resident:12`` → (``resident``, 12); None for anything else."""
    kind, _, ident = (key or "").partition(":")
    return (kind, int(ident)) if kind and ident.isascii() and ident.isdigit() and len(ident) <= 10 else None


@dataclass(frozen=True)
class Event:
    """One stored journal event.

    ``seq`` is the gate's gap-free sequence number (1, 2, 3, …); ``id`` is
    globally unique; ``ts`` is the gate's wall-clock time (ISO 8601, UTC).
    ``subject`` (e.g. ``resident:12``) and ``household_id`` are copied out of
    ``data`` so the gate can find a holder's last passage quickly.
    """

    seq: int
    id: str
    ts: str
    gate_id: str
    volunteer_id: str | None
    kind: EventKind
    data: dict[str, Any]
    subject: str | None = None
    household_id: int | None = None
    # The clock it was stamped with (kiosk.gate.clock, docs/clock.md): the boot's id, monotonic ms since that boot,
    # the clock's trust code. None in events journaled before they existed.
    boot: str | None = None
    mono_ms: int | None = None
    clock: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form, as sent to the office (the clock's fields only when the event has them)."""
        out = {
            "seq": self.seq,
            "id": self.id,
            "ts": self.ts,
            "gate_id": self.gate_id,
            "volunteer_id": self.volunteer_id,
            "kind": self.kind.value,
            "subject": self.subject,
            "household_id": self.household_id,
            "data": self.data,
        }
        if self.clock is not None or self.mono_ms is not None or self.boot is not None:
            out.update(boot=self.boot, mono_ms=self.mono_ms, clock=self.clock)
        return out
