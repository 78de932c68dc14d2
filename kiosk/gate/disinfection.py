"""A disinfection round (消杀) recorded at the gate by the volunteer on duty: one ``disinfection`` journal event.

The event's data is ``{"area", "agent", "note"}`` (area and agent: a code of
kiosk/disinfection_codes.py or the community's own words); who did it is the
event's ``volunteer_id``, where is the gate (the office puts it in the gate's
compound). It reaches the office with the rest of the journal; the office reads
it from its events table (kiosk/office/disinfection.py), never copying it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.disinfection_codes import MAX_NOTE, MAX_TEXT
from kiosk.events import Event, EventKind
from kiosk.gate.ledger import local_midnight
from kiosk.gate.passages import GateError

if TYPE_CHECKING:
    from kiosk.gate.passages import Gate

MAX_TODAY = 50  # rounds listed on the screen (a gate records a few a day)


class NotSignedIn(GateError):
    """Only the volunteer on duty records a round: nobody is signed in."""


def _text(value: str, what: str, limit: int, *, required: bool = True) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise GateError("missing", f"{what} is empty", field=what)
    if len(text) > limit:
        raise GateError("too_long", f"{what} is longer than {limit} characters", field=what, n=limit)
    return text


def record_round(gate: Gate, area: str, agent: str, note: str = "") -> Event:
    """Journal a round the volunteer on duty did (durable when this returns) and tell the sync client.

    Raises NotSignedIn when nobody is signed in, GateError for an empty or over-long area or agent.
    """
    volunteer = gate.volunteer_id
    if volunteer is None:
        raise NotSignedIn("not_signed_in", "sign in first: the volunteer on duty records rounds")
    data = {"area": _text(area, "area", MAX_TEXT), "agent": _text(agent, "agent", MAX_TEXT),
            "note": _text(note, "note", MAX_NOTE, required=False)}
    event = gate.checkpoint.journal.append(EventKind.DISINFECTION, data, volunteer_id=volunteer)
    if gate.sync is not None:
        gate.sync.poke()
    return event


def today_rounds(gate: Gate) -> list[dict]:
    """This gate's rounds since local midnight, newest first: ``[{"seq", "at", "area", "agent", "note",
    "volunteer_id", "volunteer"}]`` (``at`` the journal's UTC ts; ``volunteer`` the name, '' when unknown)."""
    since = local_midnight(gate.clock(), gate.checkpoint.config.gate.timezone)
    events = gate.checkpoint.journal.events_since(since, [EventKind.DISINFECTION])[-MAX_TODAY:]
    names: dict[str, str] = {}
    out = []
    for event in reversed(events):
        vid = event.volunteer_id or ""
        if vid not in names:
            row = gate.checkpoint.registry.volunteer(int(vid)) if vid.isdigit() and len(vid) <= 12 else None
            names[vid] = str((row or {}).get("name") or "")
        out.append({"seq": event.seq, "at": event.ts, "area": event.data.get("area", ""),
                    "agent": event.data.get("agent", ""), "note": event.data.get("note", ""),
                    "volunteer_id": event.volunteer_id, "volunteer": names[vid]})
    return out


def choices(gate: Gate) -> dict[str, list[str]]:
    """The areas and agents the screen offers as buttons (the gate's config ``disinfection``)."""
    settings = gate.checkpoint.config.disinfection
    return {"areas": list(settings.areas), "agents": list(settings.agents)}
