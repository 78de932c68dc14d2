"""Child process for the power-cut test: appends to a journal until it is killed.

Usage: ``python journal_child.py PATH SEED``. Prints ``ready`` once the journal
is open, then one ``SEQ ID`` line per event and ``ack SEQ`` per acknowledgement,
each written and flushed only after the call returned: a printed line is a
promise that the event (or mark) is durable.
"""

from __future__ import annotations

import random
import sys

from kiosk.events import EventKind
from kiosk.gate.journal import EventDraft, Journal


def main(path: str, seed: int) -> None:
    """Append single events and small batches forever, reporting each after it is logged."""
    rng = random.Random(seed)
    out = sys.stdout
    with Journal(path, "powercut-gate") as journal:
        out.write("ready\n")
        out.flush()
        while True:
            roll = rng.random()
            if roll < 0.5:
                events = [journal.append(EventKind.PASSAGE, {"seed": seed, "名": "张三"}, subject=f"resident:{seed}")]
            elif roll < 0.95:
                batch = [EventDraft(EventKind.MEASUREMENT, {"seed": seed, "t": 36.5}) for _ in range(rng.randint(2, 6))]
                events = journal.append_many(batch)
            else:
                acked = journal.acknowledge(max(0, journal.last_seq - 3))
                out.write(f"ack {acked}\n")
                out.flush()
                continue
            for event in events:
                out.write(f"{event.seq} {event.id}\n")
                out.flush()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
