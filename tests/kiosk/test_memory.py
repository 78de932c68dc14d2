"""kiosk/memory.py: glibc's arena cap and trim, the SIGUSR2 memory dump; the hanzi index's scan kept out of the gate."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from kiosk import memory

REPO = Path(__file__).resolve().parents[2]


def python(code: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter (what a gate process starts as), from the repository."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})}, timeout=120, **kwargs)


ARENAS = """
    import ctypes, threading
    from kiosk import memory
    if {cap}:
        assert memory.limit_malloc_arenas(2)
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    go = threading.Barrier(8)
    def work():
        go.wait()  # all at once, so each would want an arena of its own
        blocks = [libc.malloc(200) for _ in range(2000)]
        go.wait()
        for b in blocks:
            libc.free(b)
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    libc.malloc_stats()  # one "Arena N:" paragraph per arena, on stderr
"""


def test_arena_cap_holds_a_busy_threaded_process_to_two_arenas():
    capped = python(ARENAS.format(cap=True))
    free = python(ARENAS.format(cap=False))
    assert capped.returncode == 0, capped.stderr
    assert free.returncode == 0, free.stderr
    assert capped.stderr.count("Arena ") <= 2
    assert free.stderr.count("Arena ") > 2  # the setting is what made the difference


def test_trim_gives_freed_heap_back():
    done = python("""
        from kiosk import memory
        before = memory.rss_kb()
        junk = [bytearray(100) for _ in range(300_000)]  # ~50 MB of small blocks from malloc's main heap
        high = memory.rss_kb()
        del junk
        memory.trim_malloc()
        print(before, high, memory.rss_kb())
    """)
    before, high, after = map(int, done.stdout.split())
    assert high - before > 30_000
    assert after - before < (high - before) / 2


def test_rss_of_this_process_and_of_no_process():
    assert memory.rss_kb() > 1000
    assert memory.rss_kb(2**22 + 7) == 0  # above pid_max's ceiling: no such process


def test_debug_dump_only_when_asked():
    before = signal.getsignal(signal.SIGUSR2)
    assert memory.install_debug_dump({}) is None
    assert signal.getsignal(signal.SIGUSR2) is before  # no handler installed, nothing traced


def test_sigusr2_dumps_modules_threads_and_a_tracemalloc_snapshot(tmp_path):
    child = subprocess.Popen(
        [sys.executable, "-c", "from kiosk import memory; memory.install_debug_dump(); import time; "
         "print('ready', flush=True); time.sleep(60)"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "KIOSK_MEMORY_DUMP": str(tmp_path), "KIOSK_TRACEMALLOC": "5"})
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        child.send_signal(signal.SIGUSR2)
        deadline = time.monotonic() + 30
        while not (tmp_path / "dump-1.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        facts = json.loads((tmp_path / "dump-1.json").read_text(encoding="utf-8"))
    finally:
        child.kill()
        child.wait()
    assert facts["rss_kb"] > 1000
    assert "kiosk.memory" in facts["modules"] and "MainThread" in facts["threads"]
    import tracemalloc

    snapshot = tracemalloc.Snapshot.load(str(tmp_path / "dump-1.tracemalloc"))
    assert snapshot.traceback_limit == 5


def test_hanzi_index_keeps_pypinyin_out_of_the_process():
    # pypinyin's phrase dictionary is ~55 MB of objects: the scan runs in a child and only its result comes back.
    done = python("""
        import sys
        from kiosk.gate import hanzi_candidates as hc
        base = hc.base()
        print("pypinyin" in sys.modules, len(base.readings), hc.CandidateIndex(["张伟"]).page("zh").candidates[0])
    """)
    assert done.returncode == 0, done.stderr
    loaded, characters, first = done.stdout.split()
    assert loaded == "False" and int(characters) > 40_000 and first == "张"


def test_hanzi_scan_in_a_child_equals_the_scan_in_process():
    from kiosk.gate import hanzi_candidates as hc

    here = hc._compact(hc.scan_pypinyin())
    child = hc._scan_in_child()
    assert child is not None
    assert child["readings"] == here["readings"] and child["by_syllable"] == here["by_syllable"]
    assert len(here["readings"]) > 40_000 and here["readings"]["张"] == ("zhang",)
    assert here["readings"].usual("长") == {"chang", "zhang"}
    # A character outside GB2312 and the name list (kept in the compact text, not as objects) is found too.
    rare = next(ch for ch in scanned_chars(hc) if hc.gb2312_level(ch) is None and ch not in here["readings"]._common)
    assert rare in here["readings"] and here["readings"][rare] and here["readings"].usual(rare)
    assert "a" not in here["readings"] and here["readings"].usual("a") == frozenset()


def test_hanzi_scan_falls_back_to_the_process_when_the_child_fails(monkeypatch):
    from kiosk.gate import hanzi_candidates as hc

    monkeypatch.setattr(hc.sys, "executable", "/nonexistent/python")
    assert hc._scan_in_child() is None
    base = hc._Base()
    assert "张" in base.readings and "zhang" in base.readings.usual("张")


def scanned_chars(hc) -> list[str]:
    """Every character of pypinyin's table, as the scan saw them."""
    return list(hc.scan_pypinyin()["readings"])


def test_trim_interval_from_the_environment():
    assert memory.trim_every_s({}) == memory.TRIM_EVERY_S
    assert memory.trim_every_s({"KIOSK_MALLOC_TRIM_S": "0"}) == 0
    assert memory.trim_every_s({"KIOSK_MALLOC_TRIM_S": "2.5"}) == 2.5
    assert memory.trim_every_s({"KIOSK_MALLOC_TRIM_S": "often"}) == memory.TRIM_EVERY_S  # a typo keeps the default


def test_running_gate_caps_arenas_trims_and_keeps_pypinyin_out(tmp_path):
    # What `kiosk run` sets up for its memory, seen from inside a running simulated gate (~20 threads).
    from tests.office_fixtures import free_port

    data, dumps, port = tmp_path / "data", tmp_path / "dumps", free_port()
    config = tmp_path / "config.yaml"
    config.write_text(f"gate: {{id: north, name: 北门, data_dir: {data}}}\nweb: {{port: {port}}}\n", encoding="utf-8")
    gate = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "run", "--simulate", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO), "KIOSK_MEMORY_DUMP": str(dumps)})
    try:
        assert gate.stdout is not None and "ready on" in gate.stdout.readline()
        facts: dict = {}
        deadline = time.monotonic() + 60
        for n in range(1, 200):  # until the hanzi warm-up (a thread at start) has finished
            gate.send_signal(signal.SIGUSR2)
            while not (dumps / f"dump-{n}.json").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            facts = json.loads((dumps / f"dump-{n}.json").read_text(encoding="utf-8"))
            if "hanzi-warm-up" not in facts["threads"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        gate.send_signal(signal.SIGTERM)
        gate.communicate(timeout=30)
    assert "hanzi-warm-up" not in facts["threads"]
    assert len(facts["threads"]) > 10 and "malloc-trim" in facts["threads"]
    assert 1 <= facts["arenas"] <= 2
    assert "pypinyin" not in facts["modules"] and "kiosk.gate.hanzi_candidates" in facts["modules"]
