"""Server-sent events for staff: alarms and passages as gates deliver them.

Each open page holds one waitress thread; a comment line every few seconds
lets the server notice a page that went away, and a subscriber that stops
reading is dropped rather than allowed to hold memory.
"""

from __future__ import annotations

import json
import queue
import threading
from typing import Iterator

# Kinds staff watch live; measurements and shift changes stay in the ledger only.
STREAMED = {"alarm_raised", "alarm_acknowledged", "passage", "vehicle", "visitor_registration", "sensor_fault"}


class Broadcaster:
    """Fan-out of new events to every open stream."""

    def __init__(self, backlog: int = 1000):
        self.backlog = backlog
        self._subscribers: set[queue.Queue] = set()
        self._lock = threading.Lock()

    def subscribe(self) -> queue.Queue:
        """A new subscriber's queue."""
        subscriber: queue.Queue = queue.Queue(maxsize=self.backlog)
        with self._lock:
            self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: queue.Queue) -> None:
        """Forget a subscriber (its page closed)."""
        with self._lock:
            self._subscribers.discard(subscriber)

    @property
    def count(self) -> int:
        """How many streams are open."""
        with self._lock:
            return len(self._subscribers)

    def publish(self, gate_id: str, events: list[dict]) -> None:
        """Offer a batch's new events to every subscriber; a subscriber whose queue is full is dropped."""
        items = [{**e, "gate_id": gate_id} for e in events if e.get("kind") in STREAMED]
        if not items:
            return
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                for item in items:
                    subscriber.put_nowait(item)
            except queue.Full:
                self.unsubscribe(subscriber)
                subscriber.put(None) if subscriber.empty() else None


def sse(subscriber: queue.Queue, heartbeat_s: float, on_close) -> Iterator[str]:
    """The text/event-stream body for one subscriber."""
    try:
        yield ": connected\n\n"
        while True:
            try:
                item = subscriber.get(timeout=heartbeat_s)
            except queue.Empty:
                yield ": heartbeat\n\n"
                continue
            if item is None:  # dropped for not keeping up
                return
            yield f"id: {item['gate_id']}:{item['seq']}\nevent: {item['kind']}\ndata: {json.dumps(item, ensure_ascii=False)}\n\n"
    finally:
        on_close(subscriber)
