"""How the gate knows which way someone is going, and where that knowledge came from.

In this order: the **lane** (a one-way gate, or a camera or scanner configured
for one direction), the **volunteer**'s 进 / 出 choice on the touchscreen (or a
physical **button**), and only then **inference** from the holder's history at
this gate. The policy never lets a rule that depends on the direction
(quarantine, outing quota, overdue return) act on an inferred one: it asks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from kiosk.config.base import Direction, GateMode, Lane

DirectionSource = Literal["lane", "volunteer", "button", "inferred"]
"""Where a passage's direction came from; stored with every passage event."""

OPPOSITE: dict[Direction, Direction] = {"in": "out", "out": "in"}


def gate_lane(mode: GateMode) -> Lane:
    """The direction a one-way gate always records, or None for a two-way gate."""
    return {"in-only": "in", "out-only": "out"}.get(mode)  # type: ignore[return-value]


def infer(last_admitted: Direction | None) -> Direction | None:
    """The opposite of the holder's last admitted passage; None when there is no history (never a default)."""
    return OPPOSITE[last_admitted] if last_admitted is not None else None


@dataclass(frozen=True)
class Heading:
    """A direction and where it came from; both None when nobody said and nothing can be inferred."""

    direction: Direction | None = None
    source: DirectionSource | None = None

    @property
    def known(self) -> bool:
        """True when the direction was given (lane, volunteer, button), not guessed."""
        return self.direction is not None and self.source in ("lane", "volunteer", "button")


class DirectionChoice:
    """The volunteer's (or a button's) 进 / 出 choice: it holds ``hold_s`` seconds after the last tap or use.

    Each passage that takes the choice renews it, so a run of people going the
    same way needs one tap. Thread-safe; the clock is injectable for tests.
    """

    def __init__(self, hold_s: float, clock: Callable[[], float] = time.monotonic):
        self.hold_s = hold_s
        self._clock = clock
        self._lock = threading.Lock()
        self._direction: Direction | None = None
        self._source: DirectionSource | None = None
        self._until = 0.0

    def choose(self, direction: Direction | None, source: DirectionSource = "volunteer") -> None:
        """Set (or with None clear) the choice."""
        with self._lock:
            self._direction, self._source = direction, (source if direction else None)
            self._until = self._clock() + self.hold_s

    def current(self, *, renew: bool = False) -> Heading:
        """The choice still in force (renewed when ``renew``: a passage used it), or an empty Heading."""
        with self._lock:
            now = self._clock()
            if self._direction is None or now >= self._until:
                self._direction = self._source = None
                return Heading()
            if renew:
                self._until = now + self.hold_s
            return Heading(self._direction, self._source)

    def to_dict(self, lane: Lane = None) -> dict:
        """For the page: the choice, its source, how long it still holds, and the gate's fixed lane if any."""
        heading = self.current()
        with self._lock:
            left = max(0.0, self._until - self._clock()) if heading.direction else None
        return {"chosen": heading.direction, "source": heading.source,
                "expires_in_s": round(left, 1) if left is not None else None, "lane": lane}
