"""Fan-out of live updates to every open page (server-sent events at the gate and at the office)."""

from __future__ import annotations

import queue
import threading


class Broadcaster:
    """Every subscriber gets every published item; one that stops reading is dropped, not allowed to hold memory."""

    def __init__(self, backlog: int = 1000):
        self.backlog = backlog
        self._subscribers: set[queue.Queue] = set()
        self._lock = threading.Lock()

    def subscribe(self) -> queue.Queue:
        """A new subscriber's queue; ``None`` in it means "you were dropped"."""
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
        """How many subscribers are listening."""
        with self._lock:
            return len(self._subscribers)

    def publish(self, items: list[dict]) -> None:
        """Offer items to every subscriber."""
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
                try:
                    subscriber.get_nowait()  # make room for the goodbye
                    subscriber.put_nowait(None)
                except (queue.Empty, queue.Full):
                    pass
