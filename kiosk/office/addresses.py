"""A household's address as the office writes it, in any of its spellings, brought to one (building, unit, room).

Rosters are typed by hand: ``5号楼1单元101室``, ``5栋1单元101``, ``5-1-101``, ``5/1/101``, full-width ``５－１－１０１``
and ``5号楼 1单元 101`` are one household, and so are separate building/unit/room columns holding ``5号楼``, ``1单元``,
``101室``. Pure functions: no registry, no I/O. The household label (``5-1-101``, kiosk.registry.household_label)
is built from the normalised parts, so every spelling finds the same household.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.registry import household_label

MAX_ADDRESS_CHARS = 64  # a building-unit-room address is a few characters; longer is not one

# Markers after each part, longest first so 号楼 wins over 号.
_BUILDING_MARKS = ("号楼", "号栋", "栋", "幢", "楼", "座", "号")
_UNIT_MARKS = ("单元", "门")
_ROOM_MARKS = ("室", "号", "房", "户")
_PART = r"[0-9A-Za-z一二三四五六七八九十〇零两]{1,8}"
_MARKED = re.compile(
    rf"^(?:(?P<building>{_PART})(?:{'|'.join(_BUILDING_MARKS)}))?"
    rf"(?:(?P<unit>{_PART})(?:{'|'.join(_UNIT_MARKS)}))?"
    rf"(?P<room>{_PART})(?:{'|'.join(_ROOM_MARKS)})?$"
)
_SEPARATED = re.compile(r"^[0-9A-Za-z]{1,8}(?:[-/\\.][0-9A-Za-z]{1,8}){0,2}$")
# Dashes NFKC leaves alone (it already turns the full-width －／ into -/).
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−－~～"})
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


class AddressError(ValueError):
    """An address that cannot be read as building, unit and room; the message is Chinese first, then English."""


@dataclass(frozen=True, order=True)
class Address:
    """One household's place: building (楼栋), unit (单元), room (房间); '' for a part the community does not use."""

    building: str
    unit: str
    room: str

    @property
    def label(self) -> str:
        """``5-1-101``: how a household is written on screens, cards and ledgers."""
        return household_label(self.building, self.unit, self.room)

    def as_tuple(self) -> tuple[str, str, str]:
        """(building, unit, room), the registry's columns."""
        return (self.building, self.unit, self.room)


def _clean(text: Any) -> str:
    """NFKC (full-width digits, letters and separators become ASCII), dashes unified, all spaces gone."""
    if text is None:
        return ""
    if isinstance(text, float) and text.is_integer():
        text = int(text)  # a number typed into Excel: 101.0 is room 101
    value = unicodedata.normalize("NFKC", str(text)).translate(_DASHES)
    return "".join(value.split())


def _chinese_number(text: str) -> str:
    """一 … 九十九 as digits (五号楼, 十二栋); anything else unchanged."""
    if not text or any(c not in _CN_DIGITS and c != "十" for c in text):
        return text
    if "十" not in text:
        return "".join(str(_CN_DIGITS[c]) for c in text)
    tens, _, ones = text.partition("十")
    if "十" in ones or len(tens) > 1 or len(ones) > 1:
        return text
    return str((_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0))


def _part(text: str) -> str:
    """One part in its one spelling: Chinese numerals as digits, no leading zeros (05 = 5), letters upper-case."""
    text = _chinese_number(text).upper()
    if text.isdigit():
        return str(int(text))
    return text


def _problem(text: str) -> AddressError:
    shown = text if len(text) <= MAX_ADDRESS_CHARS else text[:MAX_ADDRESS_CHARS] + "…"
    return AddressError(f"地址“{shown}”无法识别，请写成 楼栋-单元-房间，如 5-1-101 或 5号楼1单元101室 "
                        f"(cannot read the address {shown!r}: write building-unit-room, e.g. 5-1-101)")


def parse_address(text: Any) -> Address:
    """The household written in one cell, in any of the office's spellings; AddressError saying why when it is not one.

    Three parts are building, unit and room; two are building and room (a building without units); one is a room.
    """
    raw = str(text if text is not None else "").strip()
    value = _clean(text)
    if not value or len(value) > MAX_ADDRESS_CHARS:
        raise _problem(raw)
    if _SEPARATED.match(value):
        parts = [_part(p) for p in re.split(r"[-/\\.]", value)]
        if len(parts) == 3:
            return Address(*parts)
        if len(parts) == 2:
            return Address(parts[0], "", parts[1])
        return Address("", "", parts[0])
    if value.isascii():
        raise _problem(raw)  # separators only, but not 1-3 parts (5-1-101-2, 5--101)
    # Markers may be mixed with separators: 5号楼-1单元-101室.
    match = _MARKED.match(re.sub(r"[-/\\,，、]", "", value))
    if match is None:
        raise _problem(raw)
    building, unit, room = (_part(match.group(name) or "") for name in ("building", "unit", "room"))
    if not any(c.isdigit() or c.isascii() for c in room):
        raise _problem(raw)
    return Address(building, unit, room)


def _strip_mark(value: str, marks: Iterable[str]) -> str:
    for mark in marks:
        if value.endswith(mark) and len(value) > len(mark):
            return value[: -len(mark)]
    return value


def normalise_parts(building: Any, unit: Any, room: Any) -> Address:
    """An address from separate building, unit and room cells (``5号楼``, ``1单元``, ``101室`` or plain numbers).

    A building or room cell holding a whole address (``5-1-101``) while the others are empty is read as one.
    """
    b, u, r = _clean(building), _clean(unit), _clean(room)
    filled = [value for value in (building, unit, room) if _clean(value)]
    if len(filled) == 1 and not u:
        return parse_address(filled[0])  # one cell holds the whole address (or just the room)
    if not r:
        raise AddressError("房间号为空 (the room is empty)")
    values = (_strip_mark(b, _BUILDING_MARKS), _strip_mark(u, _UNIT_MARKS), _strip_mark(r, _ROOM_MARKS))
    parts = []
    for value, what in zip(values, ("楼栋 (building)", "单元 (unit)", "房间号 (room)"), strict=True):
        if value and not re.fullmatch(_PART, value):
            raise AddressError(f"{what}“{value[:MAX_ADDRESS_CHARS]}”无法识别，应为数字或字母，如 5、1、101 "
                               f"(cannot read {value[:MAX_ADDRESS_CHARS]!r}: a number or letters, e.g. 5, 1, 101)")
        parts.append(_part(value))
    return Address(*parts)


def address_of(row: Mapping[str, Any]) -> Address:
    """A registry household row's address, normalised; its stored parts as they are when they do not parse."""
    try:
        return normalise_parts(row.get("building") or "", row.get("unit") or "", row.get("room") or "")
    except AddressError:
        return Address(row.get("building") or "", row.get("unit") or "", row.get("room") or "")


def match_households(households: Iterable[Mapping[str, Any]], text: Any) -> list[Mapping[str, Any]]:
    """The households (registry rows) at the address ``text``, however either is spelt: a find_household look-up."""
    wanted = parse_address(text)
    return [row for row in households if address_of(row) == wanted]


def normalise_building(text: Any) -> str:
    """A building as typed alone (``5``, ``5号楼``, ``五栋``, ``05``, ``５``) in its one spelling (``5``); "" when it
    is not one. Compare it with ``address_of(row).building``."""
    value = _strip_mark(_clean(text), _BUILDING_MARKS)
    return _part(value) if value and re.fullmatch(_PART, value) else ""
