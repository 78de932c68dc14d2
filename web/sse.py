"""Server-sent events: the text/event-stream body for one subscriber of a kiosk.broadcast.Broadcaster.

Under web.serving's server a stream holds no thread: ``sse()``, called by the
view once it has authorized the request, sees the server's
:class:`StreamHandoff` in the request's environ, gives the view's subscriber
back at once and tells the server what to carry (which broadcaster, the
heartbeat, how items are named). The server's event loop then writes the
stream; a :class:`StreamHub` (one thread per broadcaster, however many pages
are open) brings the broadcaster's items to the loop. Elsewhere (Flask's test
client, any plain WSGI server) ``sse()`` is the body itself, one thread per
open page. Either way a comment line every ``heartbeat_s`` lets the server
notice a page that went away.
"""

from __future__ import annotations

import asyncio
import json
import queue
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kiosk.workers import Worker

# The environ key under which web.serving offers to carry a stream.
HANDOFF_KEY = "kiosk.sse.handoff"

Namer = Callable[[dict], str]
# Which items a page must see at once (an alarm); the others may wait for a longer gathering window.
Urgency = Callable[[dict], bool]

# How many streams a hub hands a batch to before letting the loop serve other connections, and for how long.
# Each write to a TLS page costs the loop ~0.1 ms here; 200 pages at once held a gate's sync ~20 ms. Paced, a
# batch reaches 200 pages in ~125 ms and a sync request waits behind one slice at most.
FAN_OUT_SLICE = 8
FAN_OUT_PAUSE_S = 0.005


def _kind(item: dict) -> str:
    return item["kind"]


def _gate_seq(item: dict) -> str:
    return f"{item['gate_id']}:{item['seq']}"


@dataclass
class StreamHandoff:
    """Filled in by ``sse()`` when the server is to carry the stream; ``source`` stays None otherwise."""

    source: Any = None
    heartbeat_s: float = 15.0
    name: Namer = _kind
    ident: Namer = _gate_seq
    urgent: Urgency | None = None


def format_item(item: dict, name: Namer, ident: Namer) -> str:
    """One event of the stream."""
    return f"id: {ident(item)}\nevent: {name(item)}\ndata: {json.dumps(item, ensure_ascii=False)}\n\n"


def _handoff() -> StreamHandoff | None:
    try:
        from flask import has_request_context, request
    except ImportError:  # pragma: no cover - Flask is a dependency
        return None
    return request.environ.get(HANDOFF_KEY) if has_request_context() else None


def sse(subscriber: queue.Queue, heartbeat_s: float, on_close: Callable[[queue.Queue], None],
        name: Namer = _kind, ident: Namer = _gate_seq, *, source: Any = None,
        urgent: Urgency | None = None) -> Iterator[str]:
    """The text/event-stream body for one subscriber, or (under web.serving) nothing: the server carries it.

    ``source`` is the Broadcaster ``subscriber`` came from; when not given it is
    the one whose ``unsubscribe`` is ``on_close`` (the usual call). ``urgent``
    tells the server which items go out within its short gathering window;
    the rest may wait for the long one (every item is urgent when not given).
    """
    source = source if source is not None else getattr(on_close, "__self__", None)
    handoff = _handoff()
    if handoff is not None and source is not None and hasattr(source, "subscribe"):
        on_close(subscriber)
        handoff.source, handoff.heartbeat_s, handoff.name, handoff.ident = source, heartbeat_s, name, ident
        handoff.urgent = urgent
        return iter(())
    return _body(subscriber, heartbeat_s, on_close, name, ident)


def _body(subscriber: queue.Queue, heartbeat_s: float, on_close: Callable[[queue.Queue], None],
          name: Namer, ident: Namer) -> Iterator[str]:
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
            yield format_item(item, name, ident)
    finally:
        on_close(subscriber)


class StreamHub:
    """One broadcaster's items brought to an asyncio loop for any number of open streams, by one thread.

    The bridge thread encodes each batch of items once (``name`` and
    ``ident`` are the first handoff's: one broadcaster is one route's stream)
    and the loop hands the same bytes to every stream. Each open stream has an
    asyncio queue of ``backlog`` batches; a stream that falls that far behind
    gets ``None`` (its page reconnects), as a Broadcaster's own subscribers do.
    A batch goes out ``gather_s`` after its first urgent item, or
    ``quiet_gather_s`` after its first item when none is urgent: with hundreds
    of pages open, every write to every page is time the loop does not give a
    gate's sync, and a page need not see each passage the instant it happens.
    """

    def __init__(self, broadcaster: Any, loop: asyncio.AbstractEventLoop, name: Namer = _kind,
                 ident: Namer = _gate_seq, backlog: int = 1000, gather_s: float = 0.0,
                 quiet_gather_s: float | None = None, urgent: Urgency | None = None):
        self.broadcaster = broadcaster
        self.loop = loop
        self.gather_s = gather_s
        self.quiet_gather_s = gather_s if quiet_gather_s is None or urgent is None else max(gather_s, quiet_gather_s)
        self.urgent = urgent
        self.name, self.ident = name, ident
        self.backlog = backlog
        self._queues: set[asyncio.Queue] = set()
        self._subscriber = broadcaster.subscribe()
        self._worker = Worker("sse-hub", step=self._bridge).start()

    def open(self) -> asyncio.Queue:
        """A new stream's queue (on the loop's thread)."""
        stream: asyncio.Queue = asyncio.Queue(maxsize=self.backlog)
        self._queues.add(stream)
        return stream

    def close_queue(self, stream: asyncio.Queue) -> None:
        """Forget a stream (on the loop's thread)."""
        self._queues.discard(stream)

    @property
    def count(self) -> int:
        """Open streams."""
        return len(self._queues)

    def close(self) -> None:
        """Stop the bridge thread and unsubscribe. Idempotent."""
        self._worker.stop()
        self.broadcaster.unsubscribe(self._subscriber)

    def _bridge(self) -> float:
        try:
            items = [self._subscriber.get(timeout=0.5)]
        except queue.Empty:
            return 0
        # Items that come within the gathering window go out in the same write to every stream: with hundreds of
        # pages open, the loop writes each page once per batch, not once per item. An urgent item shortens the
        # window to gather_s from its arrival.
        now = time.monotonic()
        deadline = now + (self.gather_s if self._is_urgent(items[0]) else self.quiet_gather_s)
        while len(items) < 500:
            try:
                left = deadline - time.monotonic()
                item = self._subscriber.get(timeout=left) if left > 0 else self._subscriber.get_nowait()
            except queue.Empty:
                break
            items.append(item)
            if self._is_urgent(item):
                deadline = min(deadline, time.monotonic() + self.gather_s)
        batch: bytes | None
        if None in items:  # the bridge itself fell behind: start again, every page reconnects
            self.broadcaster.unsubscribe(self._subscriber)
            self._subscriber = self.broadcaster.subscribe()
            batch = None
        else:
            batch = "".join(format_item(item, self.name, self.ident) for item in items).encode()
        try:
            self.loop.call_soon_threadsafe(self._fan_out, batch)
        except RuntimeError:  # the loop is closed: the server stopped
            return 1.0
        return 0

    def _is_urgent(self, item: Any) -> bool:
        return item is None or self.urgent is None or bool(self.urgent(item))

    def _fan_out(self, batch: bytes | None, streams: list[asyncio.Queue] | None = None) -> None:
        # A slice of the streams at a time, with a pause: the loop serves the other connections (a gate's sync) in
        # between.
        streams = list(self._queues) if streams is None else [s for s in streams if s in self._queues]
        if len(streams) > FAN_OUT_SLICE:
            self.loop.call_later(FAN_OUT_PAUSE_S, self._fan_out, batch, streams[FAN_OUT_SLICE:])
            streams = streams[:FAN_OUT_SLICE]
        for stream in streams:
            try:
                stream.put_nowait(batch)
            except asyncio.QueueFull:
                self._queues.discard(stream)
                while not stream.empty():
                    stream.get_nowait()
                stream.put_nowait(None)
