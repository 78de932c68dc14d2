"""A gate's batch checked and turned into office.db rows on another core, while the app's threads serve.

Checking a 1000-event batch (its body against the sync API's rules, every event's data against its kind's
schema, the rows with their derived columns) is most of the office's work per event, all of it Python and
pydantic-core under one GIL. ``BatchChecker`` sends the body to a checking process and gets the rows back:
the app's process is left the HTTP, the store's transaction and the live stream, and the second core does
the checking. The checks are exactly those of the in-process path (``check_batch`` is the one function both
run), so a batch is accepted, refused and stored the same either way.

A checking process that dies (killed, out of memory) or does not answer in time costs no batch: that batch
is checked in the app's process, and a new checking process is started for the next.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
import threading
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from kiosk.office.ingest import event_row
from kiosk.office.personal_data import VISITOR_KIND
from web.office.schemas import batch_events

log = logging.getLogger(__name__)

# A batch of 1000 is checked in tens of milliseconds; a checking process this late is stuck or starved
ANSWER_WITHIN_S = 30.0
STOP_WITHIN_S = 5.0  # how long a closing checker waits for a checking process to end before it kills it


@dataclass(frozen=True)
class CheckedBatch:
    """A batch whose every event passed the sync API's checks, as rows in ``EVENT_COLUMNS`` order.

    ``sent_data``: for the rows whose stored data may not be the data the gate sent (a visitor's sealed ID
    number gets the office's keyed hash), the gate's data, by seq: what the live stream shows, as before.
    """

    rows: list[list[Any]]
    sent_data: dict[int, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ForeignEvent:
    """The batch holds another gate's event: a gate may send only its own (the API answers 403)."""

    seq: int
    gate_id: str


def check_batch(gate_id: str, body: bytes, received: str, data_dir: str) -> CheckedBatch | ForeignEvent | None:
    """Check a sync body in one pass and build its rows; None when the body breaks a rule (then the documented
    ``EventBatch`` model checks it again, in the app's process, and its 400 names the problem)."""
    events = batch_events(body)
    if events is None:
        return None
    foreign = next((e for e in events if e["gate_id"] != gate_id), None)
    if foreign is not None:
        return ForeignEvent(foreign["seq"], foreign["gate_id"])
    rows = [event_row(gate_id, e, received, data_dir) for e in events]
    return CheckedBatch(rows, {e["seq"]: e.get("data", {}) for e in events if e["kind"] == VISITOR_KIND})


def _warm_up() -> None:
    """Run in each new checking process: the schemas' first use builds their validators, so do it before a gate waits."""
    batch_events(b'{"events": []}')


class BatchChecker:
    """Checks sync bodies in ``processes`` checking processes (0: in the calling thread).

    Thread-safe: the app's threads call ``check`` at once; each waits for its own batch. The processes are
    started with ``spawn`` (the office's process has threads and open databases: a forked copy of those is
    unsafe), when the checker is made, so the first gate does not wait for their start.
    """

    def __init__(self, data_dir: str | os.PathLike[str], processes: int = 0) -> None:
        self.data_dir = str(data_dir)
        self.processes = processes
        self._lock = threading.Lock()
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self.fallbacks = 0  # batches checked here because a checking process failed them (kiosk doctor, tests)
        if processes > 0:
            self._pool = self._start()

    def _start(self) -> concurrent.futures.ProcessPoolExecutor | None:
        """A new pool with its processes starting, or None where this system cannot start one (then batches are
        checked in the serving threads: slower, never refused)."""
        try:
            pool = concurrent.futures.ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("spawn"), initializer=_warm_up)
            for _ in range(self.processes):  # start them now (the executor starts processes on demand)
                pool.submit(_warm_up)
        except (OSError, ImportError, NotImplementedError) as exc:  # no working sem_open (/dev/shm), no processes left
            log.warning("cannot start a checking process (%s: %s); checking batches in the serving threads",
                        type(exc).__name__, exc)
            return None
        return pool

    def check(self, gate_id: str, body: bytes, received: str) -> CheckedBatch | ForeignEvent | None:
        """``check_batch`` of this body, in a checking process when there is one."""
        with self._lock:
            pool = self._pool
        if pool is None:
            return check_batch(gate_id, body, received, self.data_dir)
        try:
            future = pool.submit(check_batch, gate_id, body, received, self.data_dir)
            return future.result(timeout=ANSWER_WITHIN_S)
        except (BrokenProcessPool, concurrent.futures.TimeoutError, RuntimeError, OSError) as exc:
            # RuntimeError: the pool was shut down (closing) or broke between two calls
            why = (f"no answer within {ANSWER_WITHIN_S:.0f} s" if isinstance(exc, concurrent.futures.TimeoutError)
                   else f"{type(exc).__name__}: {exc}")
            log.warning("a checking process failed a batch (%s); checking it here and starting a new one", why)
            self._replace(pool)
            with self._lock:
                self.fallbacks += 1
            return check_batch(gate_id, body, received, self.data_dir)

    def _replace(self, broken: concurrent.futures.ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is not broken:  # another thread replaced it already (or the checker was closed)
                return
            self._pool = self._start()
        processes = _processes(broken)  # a stuck one never reads its queue again: killed, not asked to stop
        broken.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.kill()

    def close(self) -> None:
        """Stop the checking processes; later checks run in the calling thread."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = _processes(pool)
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:  # each ends once its batch is done; a stuck one is killed, so a stop never hangs
            process.join(timeout=STOP_WITHIN_S)
            if process.is_alive():
                process.kill()
                process.join(timeout=STOP_WITHIN_S)


def _processes(pool: concurrent.futures.ProcessPoolExecutor) -> list[multiprocessing.process.BaseProcess]:
    """A pool's processes, from the executor's own record (it forgets them on shutdown, so read it before)."""
    return list((getattr(pool, "_processes", None) or {}).values())
