"""web.sse.StreamHub: one broadcaster's items to many open streams, urgent ones at once, the rest gathered."""

from __future__ import annotations

import asyncio
import time

from kiosk.broadcast import Broadcaster
from web.office.stream import is_urgent
from web.sse import FAN_OUT_SLICE, StreamHub


async def _batches(queue: asyncio.Queue, until: float) -> list[tuple[float, bytes]]:
    got = []
    while (left := until - time.monotonic()) > 0:
        try:
            got.append((time.monotonic(), await asyncio.wait_for(queue.get(), left)))
        except TimeoutError:
            break
    return got


def _run(coro):
    """asyncio.run on a thread of its own: the browser tests' Playwright keeps a loop running on the main thread."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=60)


def _item(kind: str, seq: int) -> dict:
    return {"kind": kind, "gate_id": "north", "seq": seq}


def test_an_alarm_goes_out_at_once_while_passages_wait_for_the_long_window() -> None:
    async def scenario() -> tuple[list, list]:
        broadcaster = Broadcaster()
        hub = StreamHub(broadcaster, asyncio.get_running_loop(), gather_s=0.05, quiet_gather_s=1.5, urgent=is_urgent)
        try:
            stream = hub.open()
            start = time.monotonic()
            broadcaster.publish([_item("passage", 1)])
            quiet = await _batches(stream, start + 0.6)  # a passage alone: still gathering after 0.6 s
            broadcaster.publish([_item("alarm_raised", 2)])
            urgent = await _batches(stream, time.monotonic() + 0.6)
            return quiet, urgent
        finally:
            hub.close()

    quiet, urgent = _run(scenario())
    assert quiet == []
    assert len(urgent) == 1  # the alarm took the waiting passage with it, in order, in one write
    body = urgent[0][1].decode()
    assert body.index("id: north:1") < body.index("id: north:2")
    assert "event: alarm_raised" in body


def test_every_item_is_urgent_without_an_urgency_rule() -> None:
    async def scenario() -> list:
        broadcaster = Broadcaster()
        hub = StreamHub(broadcaster, asyncio.get_running_loop(), gather_s=0.0, quiet_gather_s=5.0)
        try:
            stream = hub.open()
            broadcaster.publish([_item("passage", 1)])
            return await _batches(stream, time.monotonic() + 0.5)
        finally:
            hub.close()

    assert len(_run(scenario())) == 1


def test_many_streams_each_get_every_batch_in_order_though_the_fan_out_is_paced() -> None:
    count = FAN_OUT_SLICE * 5 + 3

    async def scenario() -> list[list[bytes]]:
        broadcaster = Broadcaster()
        hub = StreamHub(broadcaster, asyncio.get_running_loop(), gather_s=0.0)
        try:
            streams = [hub.open() for _ in range(count)]
            for seq in range(1, 6):
                broadcaster.publish([_item("alarm_raised", seq)])
                await asyncio.sleep(0.01)
            gone = streams.pop()  # a page that closes mid fan-out is skipped, not written to
            hub.close_queue(gone)
            results = await asyncio.gather(*(_batches(s, time.monotonic() + 0.8) for s in streams))
            return [[batch for _, batch in got] for got in results]
        finally:
            hub.close()

    for got in _run(scenario()):
        text = b"".join(got).decode()
        seqs = [int(line.rsplit(":", 1)[1]) for line in text.splitlines() if line.startswith("id: ")]
        assert seqs == [1, 2, 3, 4, 5]
