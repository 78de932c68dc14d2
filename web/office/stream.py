"""What the office streams to staff: alarms and passages as gates deliver them (see web.sse)."""

from __future__ import annotations

# Kinds staff watch live; measurements and shift changes stay in the ledger only.
STREAMED = {"alarm_raised", "alarm_acknowledged", "passage", "vehicle", "visitor_registration", "sensor_fault"}
# What a staff page must see at once (within the server's short gathering window); passages may wait a second.
URGENT = {"alarm_raised", "alarm_acknowledged", "sensor_fault"}


def is_urgent(item: dict) -> bool:
    """Whether a streamed item goes to every open page at once (web.sse's ``urgent``)."""
    return item.get("kind") in URGENT


def office_items(gate_id: str, events: list[dict]) -> list[dict]:
    """The new events staff watch live, each marked with its gate."""
    return [{**e, "gate_id": gate_id} for e in events if e.get("kind") in STREAMED]
