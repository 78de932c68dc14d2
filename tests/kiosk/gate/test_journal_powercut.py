"""Kill a process that is appending to the journal, many times: nothing reported as logged is lost.

SIGKILL ends the process at an arbitrary instruction (mid-transaction, mid-fsync,
mid-checkpoint, while opening or migrating a new file). It tests process death,
not the loss of a disk's write cache: see docs/journal.md.
"""

from __future__ import annotations

import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHILD = Path(__file__).with_name("journal_child.py")
KILLS = 30


def run_and_kill(path: Path, seed: int, rng: random.Random) -> list[bytes]:
    """Start a child, SIGKILL it at a random moment, return the complete lines it printed."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(path), str(seed)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    seen = b""
    try:
        if rng.random() < 0.2:
            # Early: while the interpreter starts, or the journal is being created or reopened
            time.sleep(rng.uniform(0.0, 0.25))
        else:
            # After a random number of reported events, not a random time: on a slow machine (arm64 under
            # emulation) a few milliseconds after ready meant almost no events, and the test meant nothing.
            wanted = rng.randint(1, 40) + 1  # lines: "ready", then events and acks
            deadline = time.monotonic() + 120
            while seen.count(b"\n") < wanted:
                ready, _, _ = select.select([child.stdout], [], [], max(0.0, deadline - time.monotonic()))
                assert ready, "child never became ready or stopped reporting"
                chunk = os.read(child.stdout.fileno(), 65536)
                assert chunk, f"child ended by itself: {child.stderr.read().decode()}"
                seen += chunk
            time.sleep(rng.uniform(0.0, 0.01))  # and then at an arbitrary instruction
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    output, errors = seen + child.stdout.read(), child.stderr.read()
    child.stdout.close()
    child.stderr.close()
    assert child.returncode == -signal.SIGKILL, f"child ended by itself ({child.returncode}): {errors.decode()}"
    return output.split(b"\n")[:-1]  # the last piece is empty or a line cut off by the kill


@pytest.mark.slow
def test_no_reported_event_is_lost_when_the_writer_is_killed(tmp_path):
    path = tmp_path / "journal.db"
    rng = random.Random()
    reported: dict[str, int] = {}
    acked = 0
    for kill in range(KILLS):
        for line in run_and_kill(path, kill, rng):
            word, value = line.decode().split(" ") if line != b"ready" else ("ready", "")
            if word == "ack":
                acked = max(acked, int(value))
            elif word != "ready":
                assert value not in reported, "an event id was reported twice"
                reported[value] = int(word)
    assert len(reported) > 100, "too few events to mean anything"

    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = dict(conn.execute("SELECT id, seq FROM events"))
        seqs = [row[0] for row in conn.execute("SELECT seq FROM events ORDER BY seq")]
        meta = dict(conn.execute("SELECT key, value FROM meta"))
    finally:
        conn.close()
    lost = {id_: seq for id_, seq in reported.items() if stored.get(id_) != seq}
    assert lost == {}, f"{len(lost)} reported events lost or renumbered"
    assert seqs == list(range(1, len(seqs) + 1)), "seq has gaps"
    assert meta["last_seq"] == seqs[-1]
    assert acked <= meta["acked_seq"] <= meta["last_seq"]
