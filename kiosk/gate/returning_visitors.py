"""A returning visitor found again by phone (回访): the last registration at this gate, masked for the screen.

The volunteer types the phone first; when it matches an earlier visitor registration in this gate's journal
(the full phone is in the event data, for the office's contact tracing), the form offers that visit's details in
one tap. What the page gets is masked: the name as 张*, never the full name, the phone or the ID number. The
registration that follows names the earlier one (``known_seq``) and the gate copies the full name from it
(``known_name``), so a full name never goes to the screen and back.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from kiosk.events import Event, EventKind
from kiosk.gate.journal import JournalReader
from kiosk.privacy import mask_name, normalise_phone
from kiosk.registry import Registry
from kiosk.visitor_reasons import reason_code


def last_registration(journal: JournalReader, phone: str, now: datetime, days: int) -> Event | None:
    """The newest visitor registration here with this phone within ``days`` (None: a first visit)."""
    digits = normalise_phone(phone)
    if not digits:
        return None
    return journal.newest_with(EventKind.VISITOR_REGISTRATION, "phone", digits, now - timedelta(days=days))


def recent_places(journal: JournalReader, now: datetime, days: int, *, limit: int = 6, scan: int = 500) -> list[str]:
    """Where this gate's visitors came from lately, the commonest first (ties: the most recent first).

    The hanzi keyboard offers them when 来自何处 is still empty: a courier company or the next town is one tap
    instead of a word spelt in pinyin. Only the newest ``scan`` registrations within ``days`` are read, so the
    answer stays cheap on a busy gate.
    """
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for i, event in enumerate(journal.newest((EventKind.VISITOR_REGISTRATION,), now - timedelta(days=days), scan)):
        place = " ".join(str(event.data.get("coming_from") or "").split())[:60]
        if place:
            counts[place] += 1
            first_seen.setdefault(place, i)
    return sorted(counts, key=lambda p: (-counts[p], first_seen[p]))[:limit]


def known_visitor(event: Event, registry: Registry) -> dict:
    """What the form shows and fills for an earlier registration: masked name, where from, host, reason, when."""
    data = event.data
    host = data.get("host_household_id")
    if host is not None and registry.household(host) is None:
        host = None  # the household is gone from the registry: the volunteer picks the host again
    return {"seq": event.seq, "ts": event.ts, "name": mask_name(str(data.get("name") or "")),
            "coming_from": str(data.get("coming_from") or ""), "host_household_id": host,
            "household": registry.household_label_of(host) if host is not None else "",
            "reason": reason_code(data.get("reason"))}


def known_name(journal: JournalReader, seq: int, phone: str) -> str | None:
    """The full name of registration ``seq`` when it is a visitor registration with this phone (else None)."""
    event = journal.get(seq)
    if event is None or event.kind is not EventKind.VISITOR_REGISTRATION:
        return None
    if normalise_phone(str(event.data.get("phone") or "")) != normalise_phone(phone):
        return None
    return str(event.data.get("name") or "") or None


def restore_name(journal: JournalReader, known_seq: int | None, phone: str, name: str) -> str:
    """The name to register: the earlier registration's full name when the form still shows its masked form (the
    volunteer tapped the offer and did not retype the name), else ``name`` as typed."""
    if known_seq is None:
        return name
    full = known_name(journal, known_seq, phone)
    return full if full is not None and mask_name(full) == name.strip() else name
