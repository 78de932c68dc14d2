"""What the office streams to staff: alarms and passages as gates deliver them (see web.sse)."""

from __future__ import annotations

# Kinds staff watch live; measurements and shift changes stay in the ledger only.
STREAMED = {"alarm_raised", "alarm_acknowledged", "passage", "vehicle", "visitor_registration", "sensor_fault"}


def office_items(gate_id: str, events: list[dict]) -> list[dict]:
    """The new events staff watch live, each marked with its gate."""
    return [{**e, "gate_id": gate_id} for e in events if e.get("kind") in STREAMED]
