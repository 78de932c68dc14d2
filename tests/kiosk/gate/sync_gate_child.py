"""A gate process for the chaos test: journals N events at a steady pace while its sync client runs.

Usage: python sync_gate_child.py JOURNAL GATE_ID OFFICE_URL TOKEN N
Prints "done" once every event is acknowledged by the office.
"""

import random
import sys
import time
from pathlib import Path

from kiosk.events import EventKind
from kiosk.gate.journal import EventDraft, Journal
from kiosk.gate.sync import SyncClient
from kiosk.registry import Registry


def main() -> None:
    path, gate_id, url, token, total = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    rng = random.Random(gate_id)
    journal = Journal(path, gate_id)
    registry = Registry(Path(path).with_name("registry.db"))
    client = SyncClient(journal, registry, office_url=url, token=token, interval_s=0.05, timeout_s=2,
                        batch=rng.choice([50, 100, 250]), max_backoff_s=0.5).start()
    while journal.last_seq < total:
        n = min(rng.randint(1, 20), total - journal.last_seq)
        journal.append_many(EventDraft(EventKind.PASSAGE, {"n": journal.last_seq + i}) for i in range(n))
        if rng.random() < 0.1:
            journal.append(EventKind.ALARM_RAISED, {"kind": "fever"}) if journal.last_seq < total else None
            client.poke()
        time.sleep(0.02)  # spread the run over several seconds, across the office restarts
    deadline = time.monotonic() + 120
    while journal.backlog() and time.monotonic() < deadline:
        time.sleep(0.05)
    client.close()
    print("done" if journal.backlog() == 0 else f"backlog {journal.backlog()}", flush=True)
    journal.close()


if __name__ == "__main__":
    main()
