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


def stream_response():
    """The ``text/event-stream`` answer for one staff page (the API's ``/stream`` and the desk's): the office's live
    items, alarms at once, passages gathered (web.sse; under web.serving the server's loop carries it)."""
    from flask import Response, current_app, stream_with_context

    from web.sse import sse

    broadcaster = current_app.config["BROADCASTER"]
    body = sse(broadcaster.subscribe(), current_app.config["STREAM_HEARTBEAT_S"], broadcaster.unsubscribe,
               urgent=is_urgent)
    return Response(stream_with_context(body), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
