"""Compounds (小区/院落): the one rule for which compound a household or a gate is in.

A household's compound is its registry column ``households.compound`` (office-only); a gate's is the office's
``gates.compound``. A household without one is in the office's one compound: the compound its gates name when
they all name the same one, else the office's name (``office.name``), else 本社区.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

DEFAULT_COMPOUND = "本社区"
"""What a household without a compound is in when neither the gates nor the office's name say more."""


def _gate_compounds(store_or_path: Any) -> set[str]:
    if isinstance(store_or_path, (str, Path)):
        path = Path(store_or_path)
        if not path.is_file():
            return set()  # no office.db yet (a registry chore before the first serve): no gate names a compound
        connect = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return {str(r[0]) for r in connect.execute(
                "SELECT DISTINCT compound FROM gates WHERE compound IS NOT NULL AND compound != ''")}
        finally:
            connect.close()
    return {str(r[0]) for r in store_or_path.database().execute(
        "SELECT DISTINCT compound FROM gates WHERE compound IS NOT NULL AND compound != ''")}


def office_compound(store_or_path: Any, office_name: str = "") -> str:
    """The office's one compound: its gates' one compound, else ``office_name``, else 本社区.

    ``store_or_path`` is the OfficeStore or the path of office.db (read only; a missing file names no compound).
    """
    try:
        names = _gate_compounds(store_or_path)
    except sqlite3.Error:  # an office.db from before gates had compounds (no column): fall back to the office's name
        names = set()
    if len(names) == 1:
        return names.pop()
    return " ".join((office_name or "").split()) or DEFAULT_COMPOUND


def compound_of(household: dict, default_compound: str) -> str:
    """The compound a household row is in: its own, else ``default_compound`` (see ``office_compound``)."""
    return " ".join((household.get("compound") or "").split()) or default_compound
