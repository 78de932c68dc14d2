"""Server-sent events: the text/event-stream body for one subscriber of a kiosk.broadcast.Broadcaster.

Each open page holds one server thread; a comment line every few seconds lets
the server notice a page that went away.
"""

from __future__ import annotations

import json
import queue
from collections.abc import Callable, Iterator


def sse(subscriber: queue.Queue, heartbeat_s: float, on_close: Callable[[queue.Queue], None],
        name: Callable[[dict], str] = lambda item: item["kind"],
        ident: Callable[[dict], str] = lambda item: f"{item['gate_id']}:{item['seq']}") -> Iterator[str]:
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
            yield f"id: {ident(item)}\nevent: {name(item)}\ndata: {json.dumps(item, ensure_ascii=False)}\n\n"
    finally:
        on_close(subscriber)
