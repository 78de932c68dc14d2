"""A registered visitor whose temperature is not settled yet: a fever, or no reliable reading (手持测温 needed).

A resident's passage stays pending on the gate after a fever so the volunteer's handheld reading settles it; a
visitor has no card to continue with, so the gate keeps their registration here instead. The handheld reading the
volunteer types on the fever screen (POST /readings, as for a resident) goes back to it: the gate journals the
registration again with the handheld reading (``supersedes_seq`` names the first one, so the visitor counts
once), raises no alarm a second time, and a normal reading closes the fever alarm (``handheld_normal``) and
admits the visitor.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from kiosk.events import Event, EventKind
from kiosk.gate.checkpoint import Outcome
from kiosk.gate.policy import Prompt
from kiosk.gate.visitors import VisitorRegistration
from kiosk.measurements import Measurement

# The prompts after which a visitor's registration waits for a handheld reading.
NEEDS_HANDHELD = (Prompt.FEVER, Prompt.HANDHELD_CHECK)


@dataclass
class VisitorFollowUp:
    """The visitor the next typed reading is for, with what their registration already journaled."""

    registration: VisitorRegistration
    readings: list[Measurement]
    deadline: float  # monotonic: after this a typed reading is no longer theirs
    registration_seq: int | None = None  # the registration event the handheld one supersedes
    raised: dict[str, Event] = field(default_factory=dict)  # alarm kind → the alarm their registration raised

    def with_reading(self, reading: Measurement) -> tuple[VisitorRegistration, list[Measurement]]:
        """The registration as journaled again with ``reading`` (its temperature the handheld's)."""
        return dataclasses.replace(self.registration, temperature_c=reading.object_c), [*self.readings, reading]


def follow_up(registration: VisitorRegistration, readings: list[Measurement], outcome: Outcome, deadline: float,
              previous: VisitorFollowUp | None = None) -> VisitorFollowUp | None:
    """What to keep after a visitor's decision: a follow-up while a handheld reading is still wanted, else None."""
    if outcome.decision.prompt not in NEEDS_HANDHELD or outcome.decision.direction != "in":
        return None
    raised = dict(previous.raised) if previous is not None else {}
    raised.update({str(e.data.get("kind")): e for e in outcome.events if e.kind is EventKind.ALARM_RAISED})
    seq = next((e.seq for e in outcome.events if e.kind is EventKind.VISITOR_REGISTRATION), None)
    return VisitorFollowUp(registration, list(readings), deadline, seq, raised)
