"""The gate process's memory: glibc malloc settings, giving freed memory back, and a debug dump for the bench.

A long-running, many-threaded Python process on glibc holds freed memory in
per-thread malloc arenas and in the top of each heap; its RSS then creeps and
differs from run to run of the same code. ``limit_malloc_arenas`` and
``trim_malloc`` are the two levers; both are no-ops off glibc.

``KIOSK_MEMORY_DUMP=DIR`` (read by ``kiosk run``) makes SIGUSR2 write what the
process holds into DIR: RSS, the loaded modules and, with
``KIOSK_TRACEMALLOC=FRAMES`` as well, a tracemalloc snapshot that
bench/gate_memory_bench.py --profile diffs between the start and the end of a
run. Nothing of this runs unless asked for.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)


@functools.cache
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    # glibc only (musl and macOS have neither)
    return libc if libc is not None and hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas (as MALLOC_ARENA_MAX does); call before threads start. True when applied.

    Each thread otherwise gets an arena of its own (up to 8 per core), and
    memory freed in one is not reused by another: the gate's dozen threads held
    several MB each, differently every run.
    """
    libc = _libc()
    return bool(libc is not None and libc.mallopt(M_ARENA_MAX, arenas) == 1)


def trim_malloc() -> bool:
    """Give the free memory at the top of glibc's heaps back to the system (``malloc_trim(0)``).

    Returns True when some memory was released. Cheap (a few ms at most), so
    a timer may call it every few seconds on an idle gate.
    """
    libc = _libc()
    return bool(libc is not None and libc.malloc_trim(0))


TRIM_EVERY_S = 10.0  # the gate's malloc_trim timer; KIOSK_MALLOC_TRIM_S overrides it (0: off), for the bench


def trim_every_s(environ: dict[str, str] | os._Environ[str] = os.environ) -> float:
    """How often the gate gives freed heap back (``KIOSK_MALLOC_TRIM_S``, default 10 s; 0 or less: never)."""
    text = environ.get("KIOSK_MALLOC_TRIM_S", "")
    try:
        return float(text) if text else TRIM_EVERY_S
    except ValueError:
        return TRIM_EVERY_S


def malloc_arenas() -> int:
    """How many malloc arenas glibc has made in this process (from ``malloc_info``; 0 off glibc)."""
    libc = _libc()
    if libc is None or not hasattr(libc, "malloc_info"):
        return 0
    import tempfile

    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    with tempfile.NamedTemporaryFile(suffix=".xml") as report:
        stream = libc.fopen(report.name.encode(), b"w")
        if not stream:
            return 0
        libc.malloc_info(0, stream)
        libc.fclose(stream)
        return Path(report.name).read_text(encoding="utf-8", errors="replace").count("<heap nr=")


def rss_kb(pid: int | str = "self") -> int:
    """Resident set size of a process in KiB (0 where /proc is missing)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:  # no /proc (not Linux): the figure is unknown, said as 0
        return 0
    return 0


def install_debug_dump(environ: dict[str, str] | os._Environ[str] = os.environ) -> Path | None:
    """When KIOSK_MEMORY_DUMP names a folder, make SIGUSR2 dump into it (and start tracemalloc if asked).

    Returns the folder, or None when not asked for. Each dump N writes
    ``dump-N.json`` (RSS, malloc arenas, thread names, module names) and, under tracemalloc,
    ``dump-N.tracemalloc`` (a pickled snapshot).
    """
    folder = environ.get("KIOSK_MEMORY_DUMP")
    if not folder:
        return None
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    frames = int(environ.get("KIOSK_TRACEMALLOC") or 0)
    if frames > 0:
        import tracemalloc

        tracemalloc.start(min(frames, 50))
    count = [0]
    lock = threading.Lock()

    def dump() -> None:
        with lock:
            count[0] += 1
            n = count[0]
            if frames > 0:
                import tracemalloc

                tracemalloc.take_snapshot().dump(str(target / f"dump-{n}.tracemalloc"))
            facts = {"rss_kb": rss_kb(), "arenas": malloc_arenas(), "threads": sorted(t.name for t in threading.enumerate()),
                     "modules": sorted(sys.modules)}
            tmp = target / f"dump-{n}.json.tmp"
            tmp.write_text(json.dumps(facts), encoding="utf-8")
            tmp.replace(target / f"dump-{n}.json")  # the bench waits for this name: whole or absent

    def on_signal(signum, frame) -> None:
        # Off the signal handler: a snapshot takes a while and the handler runs between bytecodes of the main thread.
        threading.Thread(target=dump, name="memory-dump", daemon=True).start()

    signal.signal(signal.SIGUSR2, on_signal)
    return target
