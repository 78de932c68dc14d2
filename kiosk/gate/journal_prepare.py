"""Drafts to journal rows: every check the journal makes, at as little Python per event as it can.

``prepare_batch`` checks each draft (kind, data a mapping of JSON, no clear ID
number, column types) and encodes its data once; ``new_ids`` makes the
batch's ids from one ``os.urandom`` call (the Events handed back hold the
stored JSON text and parse it when read: kiosk.events.Event.stored). A
batched append spends most of its Python time here, so the
common case (an ``EventKind`` member, a plain ``dict``, ``str``/``None``
columns) takes short paths; anything else goes through the same checks as
always. The stored text is compact JSON, byte for byte what the standard library's ``json.JSONEncoder`` makes
with ``separators=(",", ":")`` (``ENCODER``); python-rapidjson writes it, a quarter of the time (docs/journal.md,
*Stored text*), and whatever it would write otherwise, or not write, goes to ``ENCODER``.
"""

from __future__ import annotations

import json
import os
import re
import struct
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

import rapidjson

from kiosk.events import EventKind
from kiosk.exc import JournalError, PersonalDataError

# Keys that would hold a clear ID-card number. Those numbers may only be
# journaled as a keyed hash plus a masked form, made elsewhere.
FORBIDDEN_KEYS = frozenset({"id_number", "id_card_number"})
# Finds any of them in lower-cased JSON text: faster than one ``in`` per name. prepare_batch looks first
# for "_n" / "_N" in the text as it is, which every name holds (tests/kiosk/gate/test_journal_returned_events.py)
_MENTIONS_FORBIDDEN_KEY = re.compile("|".join(sorted(map(re.escape, FORBIDDEN_KEYS), key=len, reverse=True))).search

# What the stored text is defined by. allow_nan=False: NaN is not JSON, and a made-up reading must not reach the
# office. Compact (no spaces after , and :) since wave 18, as python-rapidjson writes it; older rows keep their spaces
# and read back alike.
ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
# The same text, faster. It refuses by itself what the journal refuses: NaN and ±Infinity, ints it cannot hold,
# bytes, sets, datetimes, UUIDs, Decimals and other objects. It also refuses what the standard library writes (a
# tuple, a dict subclass, a key that is not text, an int beyond 64 bits): those go to ENCODER, which writes them or
# refuses them as the journal always has. Its floats and escapes are the standard library's (tests/kiosk/gate/
# test_journal_stored_text.py), except that it writes a control character as \u001F where ENCODER writes \u001f:
# text holding a \u escape is made by ENCODER too, so every stored text is ENCODER's.
_FAST_ENCODE = rapidjson.Encoder(
    ensure_ascii=False, number_mode=rapidjson.NM_NATIVE, bytes_mode=rapidjson.BM_NONE,
    iterable_mode=rapidjson.IM_ONLY_LISTS, mapping_mode=rapidjson.MM_ONLY_DICTS,
)
# What _FAST_ENCODE raises for data it will not write (RecursionError: nesting deeper than it goes)
_NOT_FAST = (TypeError, ValueError, OverflowError, RecursionError)


_NO_DATA: Mapping[str, Any] = MappingProxyType({})  # a draft's default data: shared, so it must be read-only


class EventDraft(NamedTuple):
    """An event not yet journaled: what ``append_many`` takes, one per event (immutable).

    A named tuple rather than a frozen dataclass: a passage makes a few of them and a backlog thousands, and a
    frozen dataclass sets each field through ``object.__setattr__`` (five times the cost of making a tuple).
    """

    kind: EventKind
    data: Mapping[str, Any] = _NO_DATA
    volunteer_id: str | None = None
    subject: str | None = None
    household_id: int | None = None


# What a checked draft puts in its row, besides seq, id, ts and gate id:
# (kind, volunteer_id, subject, household_id, data as JSON text)
PreparedRow = tuple[EventKind, str | None, str | None, int | None, str]


def prepare_batch(drafts: Iterable[EventDraft]) -> list[PreparedRow]:
    """Check every draft, in order, and encode its data; the first bad draft raises and nothing is kept.

    Raises PersonalDataError for a clear ID number anywhere in a draft's data,
    JournalError for an unknown kind, data that is not a mapping of JSON
    values, or a column of the wrong type.
    """
    fast = _FAST_ENCODE
    rows: list[PreparedRow] = []
    append = rows.append
    for draft in drafts:
        kind = draft.kind
        if kind.__class__ is not EventKind:
            try:
                kind = EventKind(kind)
            except ValueError:
                raise JournalError(f"unknown event kind {draft.kind!r}") from None
        data = draft.data
        if data.__class__ is not dict:
            if not isinstance(data, Mapping):
                raise JournalError(f"event data must be a dict, got {type(data).__name__}")
            data = dict(data)
        try:
            data_json = fast(data)
        except _NOT_FAST:
            data_json = None
        if data_json is None or "\\u" in data_json:  # the standard library's text, for the few it must make
            try:
                data_json = ENCODER.encode(data)
                # A lone surrogate ("\\ud800", which JSON from a browser can carry) is text ENCODER writes but UTF-8,
                # and so SQLite, cannot hold: refused here, as the journal's error, not at the INSERT
                data_json.encode()
            except (TypeError, ValueError) as exc:
                raise JournalError(f"event data is not JSON-serialisable: {exc}") from exc
        # Such a key appears verbatim in the JSON text, so when no name does,
        # the walk over the data can be skipped. Every name holds "_n" once
        # lower-cased, and only "_", "n" and "N" lower to those characters:
        # text with neither "_n" nor "_N" names none, and is not lower-cased
        # (most of this check's cost on text with Chinese in it)
        if ("_n" in data_json or "_N" in data_json) and _MENTIONS_FORBIDDEN_KEY(data_json.lower()):
            _refuse_forbidden_keys(data_json)
        volunteer_id, subject, household_id = draft.volunteer_id, draft.subject, draft.household_id
        if volunteer_id is not None and volunteer_id.__class__ is not str:
            _optional(volunteer_id, str, "volunteer_id")
        if subject is not None and subject.__class__ is not str:
            _optional(subject, str, "subject")
        if household_id is not None and household_id.__class__ is not int:
            _optional(household_id, int, "household_id")
        append((kind, volunteer_id, subject, household_id, data_json))
    return rows


def _refuse_forbidden_keys(data_json: str) -> None:
    # Walked on the parsed copy: it holds only dicts, lists and plain values,
    # so the walk meets neither cycles nor exotic mappings
    found = _walk_for_forbidden_key(json.loads(data_json))
    if found is not None:
        raise PersonalDataError(
            f"event data holds a clear ID number at data{found}: store only its keyed hash and masked form"
        )


def _walk_for_forbidden_key(value: Any) -> str | None:
    # Paths are built on the way back up, only for the one key found
    if isinstance(value, dict):
        for key, item in value.items():
            if key.strip().lower() in FORBIDDEN_KEYS:
                return f".{key}"
            inner = _walk_for_forbidden_key(item)
            if inner is not None:
                return f".{key}{inner}"
    elif isinstance(value, list):
        for index, item in enumerate(value):
            inner = _walk_for_forbidden_key(item)
            if inner is not None:
                return f"[{index}]{inner}"
    return None


def _optional(value: Any, kind: type, name: str) -> Any:
    # bool is an int subclass, but True is never a household id
    if value is None or (isinstance(value, kind) and not isinstance(value, bool)):
        return value
    raise JournalError(f"{name} must be {kind.__name__} or None, got {value!r}")


_TICKS = (1 << 60) - 1  # 48 bits of Unix milliseconds, then the 12-bit counter (rand_a), as one number
_RAND_B = (1 << 62) - 1  # the 62 random bits at the end
_VERSION_HIGH = 7 << 12  # version 7: bits 12–15 of the id's high 64 bits (76–79 of the whole)
_VARIANT_LOW = 0b10 << 62  # RFC 9562 variant 10: the top two bits of its low 64
_SEED = 0x7FF  # a new millisecond's counter starts at random below 2048: room for 2048 ids before it carries


class EventIds:
    """Makes UUIDv7 event ids (RFC 9562), each greater than the one before, in this process.

    An id is 32 lowercase hex digits: 48 bits of Unix time in milliseconds,
    the version nibble 7, a 12-bit counter (rand_a), the variant bits 10 and
    62 random bits. Ids that grow with time land at the end of the journal's
    unique id index, so a commit rewrites a few of its pages rather than one
    per event (docs/journal.md, *Ids*). RFC 9562 6.2 method 1: a millisecond
    later than the last id's starts its counter at a random value below 2048;
    within one millisecond, or when the clock went back (a Pi without a
    battery clock, set by NTP), the counter counts on from the last id, and a
    full counter carries into the millisecond. Uniqueness never rests on the
    clock: within the process, (milliseconds, counter) only ever grows; across
    processes, 62 random bits per id (plus the counter's random start).
    """

    def __init__(self, wall_ms: Callable[[], int] | None = None) -> None:
        # The wall clock, not the journal's: an id's time only orders the index
        self._wall_ms = wall_ms or (lambda: time.time_ns() // 1_000_000)
        self._last = 0  # the last id's 60 bits of milliseconds and counter
        # append_many makes ids before the writer's lock: threads may ask at once
        self._lock = threading.Lock()

    def __call__(self, count: int, now_ms: int | None = None) -> list[str]:
        """``count`` new ids, in increasing order, from one ``os.urandom`` call; ``now_ms`` overrides the clock."""
        if count <= 0:
            return []
        # 8 random bytes per id (62 bits used) and 2 for the counter's start
        drawn = os.urandom(8 * count + 2)
        now = min(max(self._wall_ms() if now_ms is None else now_ms, 0), (1 << 48) - 1)
        with self._lock:
            last = self._last
            if now > last >> 12:
                first = now << 12 | (int.from_bytes(drawn[-2:], "big") & _SEED)
            else:  # the same millisecond as the last id, or the clock went back
                first = last + 1
            if first + count - 1 > _TICKS:  # the year 10889, or 2**60 ids counted ahead of the clock
                raise JournalError("event ids ran out of milliseconds")
            self._last = first + count - 1
        # Each id as two 64-bit words: milliseconds, version and counter; then variant and random bits. Written
        # out as hex in one call and cut into ids: half the time of formatting a 128-bit number per id
        rands = struct.unpack_from(f"<{count}Q", drawn)  # little-endian: the same ids on every machine
        words = [0] * (2 * count)
        words[0::2] = [(tick >> 12) << 16 | _VERSION_HIGH | (tick & 0xFFF) for tick in range(first, first + count)]
        words[1::2] = [rand & _RAND_B | _VARIANT_LOW for rand in rands]
        text = struct.pack(f">{2 * count}Q", *words).hex()
        return [text[start:start + 32] for start in range(0, 32 * count, 32)]


_EVENT_IDS = EventIds()


def new_ids(count: int, now_ms: int | None = None) -> list[str]:
    """``count`` new UUIDv7 event ids (32 hex digits), increasing across calls in this process: see ``EventIds``."""
    return _EVENT_IDS(count, now_ms)

