"""Import households, residents and vehicles from the roster (花名册) the office already keeps in Excel or CSV.

One spreadsheet row is one resident. The household is found or created by
building + unit + room; a plate on the row adds a vehicle for that household.
Every row is checked first; if any row is bad, nothing is imported and every
problem is reported with its row number as the spreadsheet shows it. The good
rows then go in as ONE registry version (``RegistryMaster.change``).

ID numbers are never stored in clear: only the keyed hash and the masked form
(``kiosk.privacy.protect_id_number``), with a community secret kept in
``<data_dir>/id-hash.key``. Phones are stored masked only.

See docs/office-registry.md for the column table.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.exc import KioskError
from kiosk.office.registry_master import RegistryMaster
from kiosk.privacy import is_valid_id_number, mask_phone, normalise_id_number, protect_id_number
from kiosk.registry import household_label, normalise_plate

ID_HASH_KEY_FILE = "id-hash.key"
ID_HASH_KEY_BYTES = 32

# Field → header spellings the office may use. Headers are compared after
# _header_key (case, spaces, "*" required-markers and trailing colons ignored).
COLUMNS: dict[str, tuple[str, ...]] = {
    "building": ("楼栋", "楼号", "楼栋号", "栋", "building", "bldg"),
    "unit": ("单元", "单元号", "unit"),
    "room": ("房间号", "门牌号", "房号", "室", "room", "room no", "door"),
    "name": ("姓名", "名字", "name"),
    "phone": ("电话", "手机号", "手机", "联系电话", "电话号码", "phone", "mobile", "tel"),
    "id_number": ("身份证号", "身份证号码", "身份证", "证件号码", "id number", "id_number", "id"),
    "plate": ("车牌号", "车牌", "车牌号码", "plate", "licence plate", "license plate"),
    "note": ("备注", "说明", "note", "notes", "remark", "remarks"),
}
REQUIRED = ("name", "room")

# How many rows from the top to search for the header: office rosters often
# start with a title row such as "XX社区居民花名册" above it.
_HEADER_SEARCH_ROWS = 10

# Reader limits: a community's roster is a few thousand rows of short cells. Past these it is not a roster, and the
# reader says so (row and column) within a second and a few tens of MB, whatever the file holds.
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_ROWS = 100_000
MAX_COLUMNS = 256
MAX_CELL_CHARS = 1_000  # a name, an address, a note: longer is a pasted document


class RosterError(KioskError, ValueError):
    """The roster cannot be imported. ``problems`` holds one RowProblem per bad row (or file-level issue)."""

    def __init__(self, source: str, problems: Iterable[RowProblem]):
        self.source = source
        self.problems = list(problems)
        lines = [f"{source}: {p}" for p in self.problems]
        super().__init__("\n".join(lines) if lines else f"{source}: cannot be imported")


class IdHashKeyError(KioskError, OSError):
    """The community's ID-hash key file is unreadable or damaged."""


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with one spreadsheet row (row 0 = the file as a whole)."""

    row: int
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}" if self.row else self.message

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``--json``."""
        return {"row": self.row, "message": self.message}


@dataclass
class ImportSummary:
    """What an import did (or, with dry_run, would do)."""

    rows: int = 0
    households_added: int = 0
    households_updated: int = 0
    residents_added: int = 0
    residents_updated: int = 0
    residents_unchanged: int = 0
    vehicles_added: int = 0
    vehicles_updated: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    version: int | None = None  # the registry version after the import (unchanged when nothing changed)
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``--json``."""
        return dict(self.__dict__)


# -- the ID-hash key -----------------------------------------------------------


def load_id_hash_key(data_dir: str | os.PathLike[str], *, create: bool = True) -> bytes:
    """The community's secret for ID-number hashes, from ``<data_dir>/id-hash.key``.

    Created on first use with 32 random bytes, mode 0600. Losing it means
    re-imported residents no longer match by ID number (they still match by
    household + name), so it belongs in the office's backups.
    """
    path = Path(data_dir) / ID_HASH_KEY_FILE
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: two imports started at once must not each write a different key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(os.urandom(ID_HASH_KEY_BYTES))
                handle.flush()
                os.fsync(handle.fileno())
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        raise IdHashKeyError(f"{path}: no ID-hash key (it is created by the first roster import)") from None
    except OSError as exc:
        raise IdHashKeyError(f"{path}: cannot read the ID-hash key: {exc.strerror or exc}") from None
    if len(key) != ID_HASH_KEY_BYTES:
        raise IdHashKeyError(
            f"{path}: expected {ID_HASH_KEY_BYTES} bytes, found {len(key)}; restore it from backup "
            "(a new key would stop earlier ID numbers from matching)"
        )
    return key


# -- reading the file ----------------------------------------------------------


def _header_key(text: Any) -> str:
    return "".join(str(text or "").split()).strip("*＊:：").casefold()


_ALIASES = {_header_key(alias): name for name, aliases in COLUMNS.items() for alias in aliases}


def _cell_text(value: Any, column: str, row: int, problems: list[RowProblem]) -> str:
    """A cell as text; numbers typed into Excel come back as int/float and must not gain a ``.0``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if column == "id_number":
            # Excel keeps 15 significant digits: an 18-digit ID typed as a number has already lost its end.
            problems.append(RowProblem(row, "ID number is stored as a number and has lost digits; "
                                            "format the ID column as text in Excel and type it again"))
            return ""
        if value.is_integer():
            return str(int(value))
    return str(value).strip()


def _column_label(column: int, mapping: dict[int, str] | None = None) -> str:
    """``第 3 列（姓名）``: the column as Excel counts it, with what it holds when known (Chinese first)."""
    name = (mapping or {}).get(column)
    return f"第 {column + 1} 列" + (f"（{COLUMNS[name][0]}）" if name else "")


def _too_long_column(record: str, delimiter: str, limit: int) -> int:
    """Which column (from 0) of a CSV record first holds more than ``limit`` characters (quotes understood)."""
    column, length, quoted, i = 0, 0, False, 0
    while i < len(record):
        ch = record[i]
        if quoted:
            if ch == '"' and record[i + 1:i + 2] == '"':
                i += 1
                length += 1
            elif ch == '"':
                quoted = False
            else:
                length += 1
        elif ch == '"':
            quoted = True
        elif ch == delimiter:
            column, length = column + 1, 0
        elif ch in "\r\n":
            break
        else:
            length += 1
        if length > limit:
            return column
        i += 1
    return column


def _read_csv(path: Path) -> Iterator[tuple[int, list[Any]]]:
    with path.open("rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise RosterError(str(path), [RowProblem(0, f"文件超过 {MAX_FILE_BYTES // (1024 * 1024)} MB，不像花名册 "
                                                    f"(the file is over {MAX_FILE_BYTES // (1024 * 1024)} MB: "
                                                    "is it the roster?)")])
    # Excel saves CSV as UTF-8 with a BOM or, on Chinese Windows, as GBK; GB18030 is a superset of GBK.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes almost anything
        raise RosterError(str(path), [RowProblem(0, "cannot read the file as UTF-8 or GBK text; save it as CSV UTF-8")])
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    # Record index = row number as Excel shows it (a quoted cell may span lines, so not line_num).
    stream = io.StringIO(text, newline="")
    reader = csv.reader(stream, delimiter=delimiter)
    number, start = 0, 0
    while True:
        start = stream.tell()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # csv.field_size_limit (131,072 characters by default, and process-wide: left as it is) or a stray quote
            row = number + 1
            if "field larger than field limit" in str(exc):
                stream.seek(start)
                column = _too_long_column(stream.read(csv.field_size_limit() + MAX_COLUMNS * 2 + 2), delimiter,
                                          csv.field_size_limit())
                message = (f"{_column_label(column)}的单元格超过 {csv.field_size_limit()} 个字符，不像花名册 "
                           f"(column {column + 1}: a cell over {csv.field_size_limit():,} characters: is it the roster?)")
            else:
                message = f"无法读取这一行（CSV 格式错误）(not valid CSV: {exc})"
            raise RosterError(str(path), [RowProblem(row, message)]) from None
        number += 1
        yield number, cells


def _read_xlsx(path: Path) -> Iterator[tuple[int, list[Any]]]:
    try:
        import openpyxl
    except ImportError:
        raise RosterError(str(path), [RowProblem(0, "reading .xlsx needs openpyxl (pip install openpyxl), "
                                                    "or save the sheet as CSV")]) from None
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (zipfile, KeyError, InvalidFileException)
        raise RosterError(str(path), [RowProblem(0, f"not a readable .xlsx workbook ({type(exc).__name__}); "
                                                    "open it in Excel and save as .xlsx or CSV")]) from None
    try:
        sheet = book.worksheets[0]
        # max_col: a sheet whose dimension claims 16,384 columns is read only as far as a roster could go
        for number, values in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS + 1), start=1):
            yield number, list(values)
    except RosterError:
        raise
    except Exception as exc:  # a damaged sheet fails part-way (zipfile, XML, KeyError ...)
        raise RosterError(str(path), [RowProblem(0, f"无法读取工作表 (the sheet cannot be read: {type(exc).__name__}); "
                                                    "open it in Excel and save as .xlsx or CSV")]) from None
    finally:
        book.close()


def _bounded(path: Path, rows: Iterator[tuple[int, list[Any]]]) -> Iterator[tuple[int, list[Any]]]:
    """Rows as read, refused at the first one past MAX_ROWS, MAX_COLUMNS or MAX_CELL_CHARS (row and column named)."""
    header: dict[int, str] = {}  # once the header row has gone by, a column is named by what it holds
    for number, cells in rows:
        if number > MAX_ROWS:
            raise RosterError(str(path), [RowProblem(number, f"超过 {MAX_ROWS} 行，不像一个社区的花名册 "
                                                             f"(more than {MAX_ROWS:,} rows: split the file)")])
        while cells and (cells[-1] is None or cells[-1] == ""):
            cells = cells[:-1]  # trailing empty cells (Excel pads rows to the widest one)
        if len(cells) > MAX_COLUMNS:
            raise RosterError(str(path), [RowProblem(number, f"超过 {MAX_COLUMNS} 列，不像花名册 "
                                                             f"(more than {MAX_COLUMNS} columns: is it the roster?)")])
        for column, value in enumerate(cells):
            if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                raise RosterError(str(path), [RowProblem(number, (
                    f"{_column_label(column, header)}的单元格超过 {MAX_CELL_CHARS} 个字符，不像花名册 "
                    f"(column {column + 1}: a cell over {MAX_CELL_CHARS:,} characters: is it the roster?)"))])
        if not header and number <= _HEADER_SEARCH_ROWS:
            mapping = {i: _ALIASES[_header_key(c)] for i, c in enumerate(cells) if _header_key(c) in _ALIASES}
            if all(name in mapping.values() for name in REQUIRED):
                header = mapping
        yield number, cells


def read_roster(path: str | os.PathLike[str]) -> Iterator[tuple[int, list[Any]]]:
    """``(row number, cells)`` for every row of a .csv or .xlsx roster (first sheet), header included."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise RosterError(str(path), [RowProblem(0, "file not found")])
    if suffix in (".csv", ".txt", ".tsv"):
        return _bounded(path, _read_csv(path))
    if suffix in (".xlsx", ".xlsm"):
        if path.stat().st_size > MAX_FILE_BYTES:
            raise RosterError(str(path), [RowProblem(0, f"文件超过 {MAX_FILE_BYTES // (1024 * 1024)} MB，不像花名册 "
                                                        f"(the file is over {MAX_FILE_BYTES // (1024 * 1024)} MB: "
                                                        "is it the roster?)")])
        return _bounded(path, _read_xlsx(path))
    if suffix == ".xls":
        raise RosterError(str(path), [RowProblem(0, "old .xls workbooks are not read; save it as .xlsx or CSV")])
    raise RosterError(str(path), [RowProblem(0, f"expected a .csv or .xlsx file, got {suffix or 'no suffix'}")])


@dataclass
class RosterRow:
    """One validated roster row, in the form it is stored (ID already protected, phone masked, plate normalised)."""

    row: int
    building: str
    unit: str
    room: str
    name: str
    phone_masked: str
    id_hash: str
    id_masked: str
    plate: str
    note: str

    @property
    def household_key(self) -> tuple[str, str, str]:
        """What identifies the household: building, unit, room."""
        return (self.building, self.unit, self.room)


def _find_header(rows: list[tuple[int, list[Any]]]) -> tuple[int, dict[int, str], list[str]] | None:
    """The header row's index, its column → field map and the headers that map to nothing."""
    for index, (_, cells) in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        mapping = {i: _ALIASES[_header_key(c)] for i, c in enumerate(cells) if _header_key(c) in _ALIASES}
        if all(name in mapping.values() for name in REQUIRED):
            ignored = [str(c).strip() for i, c in enumerate(cells) if i not in mapping and _header_key(c)]
            return index, mapping, ignored
    return None


def parse_roster(path: str | os.PathLike[str], id_key: bytes) -> tuple[list[RosterRow], list[str]]:
    """Read and validate every row; returns (rows, ignored column headers) or raises RosterError listing every problem."""
    source = str(path)
    rows = list(read_roster(path))
    found = _find_header(rows)
    if found is None:
        names = "/".join(COLUMNS["name"][:2] + COLUMNS["name"][-1:])
        rooms = "/".join(COLUMNS["room"][:2] + COLUMNS["room"][-2:-1])
        raise RosterError(source, [RowProblem(1, f"no header row with at least a name column ({names}) and a "
                                                 f"room column ({rooms}) in the first {_HEADER_SEARCH_ROWS} rows")])
    header_index, mapping, ignored = found
    header_row = rows[header_index][0]
    problems: list[RowProblem] = []
    seen_fields: dict[str, int] = {}
    for column, name in mapping.items():
        if name in seen_fields:
            problems.append(RowProblem(header_row, f"two columns mean {name}: column {seen_fields[name] + 1} "
                                                   f"and column {column + 1}; keep one"))
        seen_fields.setdefault(name, column)

    parsed: list[RosterRow] = []
    first_seen: dict[tuple[str, str, str, str], int] = {}
    id_seen: dict[str, int] = {}
    plate_seen: dict[str, tuple[int, tuple[str, str, str]]] = {}
    for number, cells in rows[header_index + 1:]:
        values = {name: "" for name in COLUMNS}
        for column, name in mapping.items():
            if column < len(cells) and seen_fields[name] == column:
                values[name] = _cell_text(cells[column], name, number, problems)
        if not any(values.values()) and not any(_cell_text(c, "", number, []) for c in cells):
            continue  # a blank line between blocks of the sheet
        wrong: list[str] = []
        for name in REQUIRED:
            if not values[name]:
                wrong.append(f"{name} ({COLUMNS[name][0]}) is empty")
        phone = values["phone"]
        phone_digits = "".join(ch for ch in phone if ch not in " -()（）")
        if phone_digits.startswith("+86"):
            phone_digits = phone_digits[3:]
        if phone and not (phone_digits.isascii() and phone_digits.isdigit() and 5 <= len(phone_digits) <= 15):
            wrong.append(f"phone {phone!r} is not a phone number (digits only, e.g. 13812345678)")
        id_number = normalise_id_number(values["id_number"])
        if id_number and not is_valid_id_number(id_number):
            wrong.append("ID number is not a valid 18-character ID number (wrong length or check digit); "
                         "check it against the ID card")
        plate = normalise_plate(values["plate"]) if values["plate"] else ""
        if values["plate"] and not 5 <= len(plate) <= 10:
            wrong.append(f"plate {values['plate']!r} is not a licence plate (e.g. 京A12345)")
        household = (values["building"], values["unit"], values["room"])
        if values["name"] and values["room"]:
            key = (*household, values["name"])
            if key in first_seen:
                wrong.append(f"{values['name']} in {household_label(*household)} is already on row {first_seen[key]}")
            else:
                first_seen[key] = number
        if id_number and is_valid_id_number(id_number):
            if id_number in id_seen:
                wrong.append(f"the same ID number is already on row {id_seen[id_number]}")
            else:
                id_seen[id_number] = number
        if plate and len(plate) >= 5:
            earlier = plate_seen.get(plate)
            if earlier is not None and earlier[1] != household:
                wrong.append(f"plate {plate} is already on row {earlier[0]} for another household "
                             f"({household_label(*earlier[1])})")
            plate_seen.setdefault(plate, (number, household))
        if wrong:
            problems.append(RowProblem(number, "; ".join(wrong)))
            continue
        protected = protect_id_number(id_number, id_key) if id_number else {"id_hash": "", "id_masked": ""}
        parsed.append(RosterRow(
            row=number, building=values["building"], unit=values["unit"], room=values["room"],
            name=values["name"], phone_masked=mask_phone(phone_digits) if phone else "",
            id_hash=protected["id_hash"], id_masked=protected["id_masked"], plate=plate, note=values["note"],
        ))
    if problems:
        problems.sort(key=lambda p: p.row)
        raise RosterError(source, problems)
    return parsed, ignored


# -- planning and applying -----------------------------------------------------


def plan_import(master: RegistryMaster, rows: list[RosterRow]) -> tuple[list[dict], ImportSummary, list[RowProblem]]:
    """The registry changes that bring ``rows`` in, and what they amount to; conflicts with the registry as problems.

    Empty cells never erase what the registry already holds (a roster without
    a phone column does not wipe the phones imported earlier).
    """
    snapshot = master.snapshot()
    households = {(h["building"] or "", h["unit"] or "", h["room"] or ""): dict(h) for h in snapshot["households"]}
    residents = [dict(r) for r in snapshot["residents"]]
    by_hash = {r["id_hash"]: r for r in residents if r["id_hash"]}
    by_name = {(r["household_id"], r["name"]): r for r in residents}
    vehicles = {v["plate"]: dict(v) for v in snapshot["vehicles"]}
    next_ids = {table: master.next_id(table) for table in ("households", "residents", "vehicles")}
    changes: list[dict] = []
    summary = ImportSummary(rows=len(rows))
    problems: list[RowProblem] = []
    touched_residents: set[int] = set()

    def new_id(table: str) -> int:
        value = next_ids[table]
        next_ids[table] += 1
        return value

    for row in rows:
        household = households.get(row.household_key)
        if household is None:
            household = {"id": new_id("households"), "building": row.building, "unit": row.unit,
                         "room": row.room, "note": ""}
            households[row.household_key] = household
            changes.append({"op": "upsert", "table": "households", "row": dict(household)})
            summary.households_added += 1

        resident = by_hash.get(row.id_hash) if row.id_hash else None
        if resident is None:
            resident = by_name.get((household["id"], row.name))
        if resident is not None and resident["id"] in touched_residents:
            problems.append(RowProblem(row.row, f"{row.name} matches a resident another row of this roster "
                                                "already updated (same ID number); check both rows"))
            continue
        if resident is None:
            resident = {"id": new_id("residents"), "household_id": household["id"], "name": row.name,
                        "phone_masked": row.phone_masked, "id_hash": row.id_hash, "id_masked": row.id_masked,
                        "note": row.note}
            changes.append({"op": "upsert", "table": "residents", "row": dict(resident)})
            summary.residents_added += 1
        else:
            updated = dict(resident)
            # A matched ID number with another household or name means the person moved or the name was corrected.
            updated.update(household_id=household["id"], name=row.name)
            for column in ("phone_masked", "id_hash", "id_masked", "note"):
                if getattr(row, column):
                    updated[column] = getattr(row, column)
            if updated != resident:
                changes.append({"op": "upsert", "table": "residents", "row": updated})
                summary.residents_updated += 1
                by_name.pop((resident["household_id"], resident["name"]), None)
                resident = updated
            else:
                summary.residents_unchanged += 1
        touched_residents.add(resident["id"])
        by_name[(household["id"], row.name)] = resident
        if resident["id_hash"]:
            by_hash[resident["id_hash"]] = resident

        if row.plate:
            vehicle = vehicles.get(row.plate)
            if vehicle is None:
                vehicle = {"id": new_id("vehicles"), "plate": row.plate, "household_id": household["id"],
                           "owner_resident_id": resident["id"], "note": ""}
                vehicles[row.plate] = vehicle
                changes.append({"op": "upsert", "table": "vehicles", "row": dict(vehicle)})
                summary.vehicles_added += 1
            elif vehicle["household_id"] != household["id"]:
                owner = next((h for h in households.values() if h["id"] == vehicle["household_id"]), None)
                where = household_label(owner["building"], owner["unit"], owner["room"]) if owner else "another household"
                problems.append(RowProblem(row.row, f"plate {row.plate} is registered to {where}; "
                                                    "change or remove that vehicle first"))
            elif vehicle["owner_resident_id"] is None:
                # The first resident listed with the car becomes its owner; later rows do not take it over.
                vehicle = {**vehicle, "owner_resident_id": resident["id"]}
                vehicles[row.plate] = vehicle
                changes.append({"op": "upsert", "table": "vehicles", "row": dict(vehicle)})
                summary.vehicles_updated += 1
    return changes, summary, problems


def import_roster(master: RegistryMaster, path: str | os.PathLike[str], id_key: bytes, *,
                  dry_run: bool = False) -> ImportSummary:
    """Import a .csv or .xlsx roster as ONE registry version; RosterError (nothing imported) when any row is bad.

    With ``dry_run`` everything is checked and counted but the registry is not
    touched. Importing the same roster again changes nothing and does not bump
    the version.
    """
    rows, ignored = parse_roster(path, id_key)
    changes, summary, problems = plan_import(master, rows)
    if problems:
        raise RosterError(str(path), problems)
    summary.ignored_columns = ignored
    summary.dry_run = dry_run
    if changes and not dry_run:
        summary.version = master.change(changes)
    else:
        summary.version = master.version
    return summary
