"""The sync API's request and answer bodies: validated strictly, and the source of the OpenAPI schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, NotRequired

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from typing_extensions import TypedDict  # pydantic needs this one below Python 3.12

from kiosk.events import EventKind
from kiosk.gate.clock import MAX_BOOT_LEN, MAX_MONO_MS, TRUST_CODES
from kiosk.office.ingest import with_stamp

MAX_BATCH = 1000
INT64_MAX = 2**63 - 1  # the largest integer SQLite stores; nothing a client sends may exceed it


def _integral(value: Any) -> Any:
    # JSON Schema counts 7.0 as an integer; strict mode still refuses true, "7" and 7.5.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Count = Annotated[int, Field(ge=0, le=2**62), BeforeValidator(_integral)]


def _bounded_json(value: dict[str, Any]) -> dict[str, Any]:
    """A small JSON tree: at most 8 levels, 500 values, and every integer within SQLite's 64 bits."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > 500 or depth > 8:
            raise ValueError("expected at most 8 levels and 500 values")
        if isinstance(node, bool):
            continue
        if isinstance(node, int) and not -(2**63) <= node <= INT64_MAX:
            raise ValueError(f"expected integers within ±2^63, got {str(node)[:30]}")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return value


SmallJson = Annotated[dict[str, Any], AfterValidator(_bounded_json)]

# The clock an event or heartbeat was stamped with (kiosk.gate.clock, docs/clock.md); optional: older gates omit it.
Boot = Annotated[str, StringConstraints(min_length=1, max_length=MAX_BOOT_LEN)]
MonoMs = Annotated[int, Field(ge=0, le=MAX_MONO_MS)]
TrustCode = Literal[TRUST_CODES]  # type: ignore[valid-type]  # kiosk.gate.clock.TrustCode's codes


class Body(BaseModel):
    """Strict: unknown fields and wrong types are a 400, never silently coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


class EventIn(Body):
    """One journal event as a gate sends it."""

    seq: Annotated[int, Field(ge=1, le=2**62), BeforeValidator(_integral)]
    id: str = Field(min_length=1, max_length=64)
    ts: datetime
    gate_id: str = Field(min_length=1, max_length=32)
    volunteer_id: str | None = Field(default=None, max_length=64)
    kind: EventKind
    subject: str | None = Field(default=None, max_length=64)
    household_id: Count | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    boot: Boot | None = None
    mono_ms: Annotated[MonoMs, BeforeValidator(_integral)] | None = None
    clock: TrustCode | None = None

    def as_event(self) -> dict[str, Any]:
        """Plain event dict for the store: built from attributes, which costs far less than model_dump per event.

        The clock stamp's keys only when the gate sent one (an older gate's events read as they always did)."""
        event = {"seq": self.seq, "id": self.id, "ts": self.ts.isoformat().replace("+00:00", "Z"), "gate_id": self.gate_id,
                 "volunteer_id": self.volunteer_id, "kind": self.kind.value, "subject": self.subject,
                 "household_id": self.household_id, "data": self.data}
        return with_stamp(event, self.boot, self.mono_ms, self.clock)


class EventBatch(Body):
    """Up to 1000 events of the calling gate, in any order."""

    events: list[EventIn] = Field(max_length=MAX_BATCH)


# -- the batch's fast path -----------------------------------------------------------
# EventBatch above is the contract (and the OpenAPI document's). A batch is first checked against the
# same rules written as TypedDicts, all in pydantic-core: no model per event, no Python validator per
# event (EventIn's integral-number hook), the kind as its code. It accepts only what EventBatch accepts,
# with the same values; what it refuses (a bad batch, or an integral 7.0 for a seq) goes to EventBatch,
# whose answer names the problem exactly as before.

_Limited = Annotated[str, StringConstraints(max_length=64)]


class _FastEvent(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid", strict=True)  # type: ignore[misc]

    seq: Annotated[int, Field(ge=1, le=2**62)]
    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    ts: datetime
    gate_id: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    volunteer_id: NotRequired[_Limited | None]
    kind: Literal[tuple(kind.value for kind in EventKind)]  # type: ignore[valid-type]  # EventKind's codes
    subject: NotRequired[_Limited | None]
    household_id: NotRequired[Annotated[int, Field(ge=0, le=2**62)] | None]
    data: NotRequired[dict[str, Any]]
    boot: NotRequired[Boot | None]
    mono_ms: NotRequired[MonoMs | None]
    clock: NotRequired[TrustCode | None]


class _FastBatch(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid", strict=True)  # type: ignore[misc]

    events: Annotated[list[_FastEvent], Field(max_length=MAX_BATCH)]


_FAST_BATCH = TypeAdapter(_FastBatch)


def batch_events(body: bytes) -> list[dict[str, Any]] | None:
    """A batch's events as ``EventIn.as_event`` gives them, checked in one pass over the raw JSON body; None when
    the fast path refuses the body (validate it with EventBatch then: its error is the answer, or its events)."""
    try:
        batch = _FAST_BATCH.validate_json(body)
    except ValidationError:
        return None
    return [with_stamp({"seq": e["seq"], "id": e["id"], "ts": e["ts"].isoformat().replace("+00:00", "Z"),
                        "gate_id": e["gate_id"], "volunteer_id": e.get("volunteer_id"), "kind": e["kind"],
                        "subject": e.get("subject"), "household_id": e.get("household_id"), "data": e.get("data", {})},
                       e.get("boot"), e.get("mono_ms"), e.get("clock")) for e in batch["events"]]


class SyncAnswer(Body):
    """How many events were new, and the highest seq up to which the office holds every event of this gate."""

    stored: int
    high_water: int


class Heartbeat(Body):
    """A gate's periodic report."""

    software_version: str = Field(max_length=64)
    gate_clock: datetime
    backlog: Count
    sensors: SmallJson = Field(default_factory=dict)
    disk_free_bytes: Count | None = None
    cpu_temp_c: Annotated[float, Field(ge=-50, le=150)] | None = None
    boot: Boot | None = None
    mono_ms: Annotated[MonoMs, BeforeValidator(_integral)] | None = None
    clock: TrustCode | None = None


class HeartbeatAnswer(Body):
    """The office's receive time and how far the gate's clock is off (beyond ``clock_tolerance_s``: ``clock_off``)."""

    server_time: str
    clock_offset_s: float
    clock_off: bool
    clock_tolerance_s: float | None = None


class RegistryAnswer(Body):
    """Registry changes after ``since`` (mode ``changes``), or everything (mode ``snapshot``) when ``since`` is too old."""

    version: int
    mode: Literal["changes", "snapshot"]
    changes: list[dict[str, Any]] | None = None
    tables: dict[str, list[dict[str, Any]]] | None = None


class GateInfo(Body):
    """One gate as staff see it."""

    id: str
    name: str
    revoked: bool
    last_seq: int
    last_heartbeat: str | None
    clock_offset_s: float | None
    clock_off: bool
    clock_trust: str | None = None  # the gate's own word on its clock at the last heartbeat (kiosk.gate.clock)
    backlog: int | None
    software_version: str | None
    sensors: dict[str, Any] | None
    disk_free_bytes: int | None
    cpu_temp_c: float | None


class GateList(Body):
    gates: list[GateInfo]


class CorrectedEvent(Body):
    """A gate's stored event with its time corrected where the gate's clock was not trusted (docs/clock.md)."""

    gate_id: str
    seq: int
    id: str
    ts: str  # the gate's own clock
    received_at: str
    volunteer_id: str | None
    kind: str
    subject: str | None
    household_id: int | None
    data: dict[str, Any]
    flag: str | None
    boot: str | None
    mono_ms: int | None
    clock: str | None
    clock_trusted: bool  # false: the gate said its clock was not trusted when it journaled this
    ts_corrected: str | None  # the best estimate of the true time; None when nothing can date it
    time_source: Literal["gate", "heartbeat", "trusted_event", "none"]


class CorrectedList(Body):
    events: list[CorrectedEvent]


class AlarmInfo(Body):
    """An open alarm."""

    event_id: str
    gate_id: str
    seq: int | None  # None: an alarm the office raised itself (gate_offline), not a gate's event
    kind: str | None
    subject: str | None
    raised_at: str


class AlarmList(Body):
    alarms: list[AlarmInfo]


class FlaggedEvent(Body):
    """An event the office kept but flagged: which one, and what is wrong with it."""

    gate_id: str
    seq: int
    id: str
    ts: str
    received_at: str
    kind: str
    flag: str


class FlaggedList(Body):
    events: list[FlaggedEvent]


class Error(Body):
    """Every error answer: what went wrong, in words, and a stable code (web/json_api.py; a 400 names the field)."""

    error: str
    code: str | None = None
    field: str | None = None
    problems: list[dict] | None = None
    detail: str | None = None
