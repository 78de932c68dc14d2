"""The kinds of event a gate journals, and the shape every event has."""

from __future__ import annotations

import enum
import json
from dataclasses import FrozenInstanceError
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


_NOT_DECODED = object()  # an Event built from its stored JSON text, not parsed yet


class Event:
    """One stored journal event (immutable).

    ``seq`` is the gate's gap-free sequence number (1, 2, 3, …); ``id`` is
    globally unique; ``ts`` is the gate's wall-clock time (ISO 8601, UTC).
    ``subject`` (e.g. ``resident:12``) and ``household_id`` are copied out of
    ``data`` so the gate can find a holder's last passage quickly.

    Built like the frozen dataclass it was (the same fields, order, equality
    and repr; attributes cannot be set). ``Event.stored`` builds one from its
    row's JSON text instead of its data: ``data`` is then parsed on first
    access (and kept), so it is exactly what a later read of the row returns —
    the journal's batched appends hand their events back that way (docs/journal.md).
    """

    __slots__ = ("seq", "id", "ts", "gate_id", "volunteer_id", "kind", "_data", "subject", "household_id", "boot",
                 "mono_ms", "clock", "_data_json")
    __match_args__ = ("seq", "id", "ts", "gate_id", "volunteer_id", "kind", "data", "subject", "household_id", "boot",
                      "mono_ms", "clock")
    __hash__ = None  # type: ignore[assignment]  # data is a dict: as the frozen dataclass, never hashable

    seq: int
    id: str
    ts: str
    gate_id: str
    volunteer_id: str | None
    kind: EventKind
    subject: str | None
    household_id: int | None
    # The clock it was stamped with (kiosk.gate.clock, docs/clock.md): the boot's id, monotonic ms since that boot,
    # the clock's trust code. None in events journaled before they existed.
    boot: str | None
    mono_ms: int | None
    clock: str | None
    _data: Any
    _data_json: str | None

    def __init__(
        self, seq: int, id: str, ts: str, gate_id: str, volunteer_id: str | None, kind: EventKind,
        data: dict[str, Any], subject: str | None = None, household_id: int | None = None, boot: str | None = None,
        mono_ms: int | None = None, clock: str | None = None,
    ) -> None:
        # What the frozen dataclass's __init__ did: its fields cannot be set the ordinary way
        set_ = object.__setattr__
        set_(self, "seq", seq)
        set_(self, "id", id)
        set_(self, "ts", ts)
        set_(self, "gate_id", gate_id)
        set_(self, "volunteer_id", volunteer_id)
        set_(self, "kind", kind)
        set_(self, "_data", data)
        set_(self, "subject", subject)
        set_(self, "household_id", household_id)
        set_(self, "boot", boot)
        set_(self, "mono_ms", mono_ms)
        set_(self, "clock", clock)
        set_(self, "_data_json", None)

    @staticmethod
    def stored(
        seq: int, id: str, ts: str, gate_id: str, volunteer_id: str | None, kind: EventKind, data_json: str,
        subject: str | None, household_id: int | None, boot: str | None, mono_ms: int | None, clock: str | None,
    ) -> Event:
        """An Event of a stored row, its data still the row's JSON text (parsed when ``data`` is first read).

        No checks: the journal calls it with what it has just checked and stored.
        """
        # Built as a plain slotted object, then made an Event (the same slots, so Python allows the switch):
        # a quarter of what setting each frozen attribute through object.__setattr__ costs, once per event.
        event = _StoredEvent(seq, id, ts, gate_id, volunteer_id, kind, data_json, subject, household_id, boot,
                             mono_ms, clock)
        event.__class__ = Event  # type: ignore[assignment]
        return event  # type: ignore[return-value]

    @property
    def data(self) -> dict[str, Any]:
        """The event's data, as stored (tuples come back as lists)."""
        # The text before the data: a thread that parses it sets _data first, then drops the text, so a text
        # read as None means the data is there. Two threads may both parse it: each gets what the row holds,
        # and one of the equal copies is kept.
        text, data = self._data_json, self._data
        if data is _NOT_DECODED:
            data = json.loads(text)  # type: ignore[arg-type]  # set whenever _data is not
            object.__setattr__(self, "_data", data)
            object.__setattr__(self, "_data_json", None)  # parsed, the text would only double what it holds
        return data

    def _values(self) -> tuple[Any, ...]:
        return (self.seq, self.id, self.ts, self.gate_id, self.volunteer_id, self.kind, self.data, self.subject,
                self.household_id, self.boot, self.mono_ms, self.clock)

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __repr__(self) -> str:
        return f"Event({', '.join(f'{name}={value!r}' for name, value in zip(self.__match_args__, self._values(), strict=True))})"

    def __reduce__(self) -> tuple[Any, ...]:
        # copy and pickle rebuild it through __init__ (its attributes cannot be set one by one)
        return Event, self._values()

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


class _StoredEvent:
    """Event's slots, settable: ``Event.stored`` fills one and makes it an Event. Never seen outside."""

    __slots__ = Event.__slots__

    def __init__(
        self, seq: int, id_: str, ts: str, gate_id: str, volunteer_id: str | None, kind: EventKind, data_json: str,
        subject: str | None, household_id: int | None, boot: str | None, mono_ms: int | None, clock: str | None,
    ) -> None:
        self.seq, self.id, self.ts, self.gate_id, self.volunteer_id, self.kind = seq, id_, ts, gate_id, volunteer_id, kind
        self._data, self._data_json = _NOT_DECODED, data_json
        self.subject, self.household_id, self.boot, self.mono_ms, self.clock = subject, household_id, boot, mono_ms, clock
