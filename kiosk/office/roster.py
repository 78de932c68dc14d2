"""Import households, residents and vehicles from the roster (花名册) the office already keeps in Excel or CSV.

One spreadsheet row is one resident. The household is found or created by
building + unit + room; a plate on the row adds a vehicle for that household. An optional 小区 column sets the
household's compound (office-only ``households.compound``, never sent to gates); without it compounds stay as they are.
Every row is checked first; if any row is bad, nothing is imported and every
problem is reported with its row number as the spreadsheet shows it. The good
rows then go in as ONE registry version (``RegistryMaster.change``).

ID numbers are never stored in clear: only the keyed hash and the masked form
(``kiosk.privacy.protect_id_number``), with a community secret kept in
``<data_dir>/id-hash.key``. Phones are stored masked (what screens show) and in full in the office-only column
``residents.phone`` (staff call people in home quarantine); gates get neither (kiosk.registry.WITHHELD).

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
from kiosk.office.addresses import AddressError, address_of, normalise_parts, parse_address
from kiosk.office.registry_master import RegistryMaster
from kiosk.privacy import (
    ID_PROBLEMS,
    id_number_problem,
    mask_phone,
    normalise_id_number,
    normalise_phone,
    phone_problem_code,
    protect_id_number,
)
from kiosk.registry import RevocationReason, household_label, normalise_plate

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
    "address": ("地址", "住址", "家庭住址", "门牌", "address"),  # the whole address in one cell: 5号楼1单元101室
    "compound": ("小区", "小区名称", "院落", "compound"),  # optional: households.compound (office-only)
}
REQUIRED = ("name", "room")  # the room may instead be in an address column (_has_required)


def _has_required(fields: Iterable[str]) -> bool:
    """A header names at least the person and where they live (a room column or a whole-address column)."""
    present = set(fields)
    return "name" in present and ("room" in present or "address" in present)

# How many rows from the top to search for the header: office rosters often
# start with a title row such as "XX社区居民花名册" above it.
_HEADER_SEARCH_ROWS = 10

# Reader limits: a community's roster is a few thousand rows of short cells. Past these it is not a roster, and the
# reader says so (row and column) within a second and a few tens of MB, whatever the file holds.
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_ROWS = 100_000
MAX_COLUMNS = 256
MAX_CELL_CHARS = 1_000  # a name, an address, a note: longer is a pasted document
MAX_COMPOUND_CHARS = 40  # a compound's name (小区/院落) as lists and reports show it


def clean_compound(text: str) -> str:
    """A compound's name as stored: one line, runs of whitespace (newlines too) made one space."""
    return " ".join(str(text or "").split())


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
        return f"第 {self.row} 行：{self.message}" if self.row else self.message

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


# -- phone numbers ---------------------------------------------------------------

# normalise_phone and the rule itself are kiosk.privacy's (one rule for the office and the gate's visitor form).


def phone_problem(phone: str) -> str | None:
    """Why ``phone`` is not a phone number (kiosk.privacy.phone_problem_code: 5 to 15 digits once separators are gone,
    a mobile 11), Chinese first; None when it is.

    The one rule for a phone the office stores (roster import, the desk's and the CLI's registry edits, visitor
    passes)."""
    if phone_problem_code(phone) is None:
        return None
    shown = str(phone)[:40]
    return (f"电话“{shown}”不是电话号码，只写数字，如 13812345678 "
            f"(phone {shown!r} is not a phone number: digits only, e.g. 13812345678)")


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
            problems.append(RowProblem(row, "身份证号被存成了数字，已丢失末几位：请把该列设为文本后重新输入 "
                                            "(the ID number is stored as a number and has lost digits; "
                                            "format the ID column as text in Excel and type it again)"))
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


def _too_big(source: str) -> RosterError:
    megabytes = MAX_FILE_BYTES // (1024 * 1024)
    return RosterError(source, [RowProblem(0, f"文件超过 {megabytes} MB，不像花名册 "
                                              f"(the file is over {megabytes} MB: is it the roster?)")])


def _read_csv(data: bytes, source: str) -> Iterator[tuple[int, list[Any]]]:
    if len(data) > MAX_FILE_BYTES:
        raise _too_big(source)
    # Excel saves CSV as UTF-8 with a BOM or, on Chinese Windows, as GBK; GB18030 is a superset of GBK.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes almost anything
        raise RosterError(source, [RowProblem(0, "无法按 UTF-8 或 GBK 读取文件，请另存为 CSV UTF-8 "
                                                 "(cannot read the file as UTF-8 or GBK text; save it as CSV UTF-8)")])
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
            raise RosterError(source, [RowProblem(row, message)]) from None
        number += 1
        yield number, cells


def _read_xlsx(data: bytes, source: str) -> Iterator[tuple[int, list[Any]]]:
    if len(data) > MAX_FILE_BYTES:
        raise _too_big(source)
    try:
        import openpyxl
    except ImportError:
        raise RosterError(source, [RowProblem(0, "读取 .xlsx 需要 openpyxl，或另存为 CSV "
                                                 "(reading .xlsx needs openpyxl, or save the sheet as CSV)")]) from None
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (zipfile, KeyError, InvalidFileException)
        raise RosterError(source, [RowProblem(0, f"无法打开这个 .xlsx 工作簿，请在 Excel 中另存为 .xlsx 或 CSV "
                                                 f"(not a readable .xlsx workbook ({type(exc).__name__}); "
                                                 "open it in Excel and save as .xlsx or CSV)")]) from None
    try:
        sheet = book.worksheets[0]
        # max_col: a sheet whose dimension claims 16,384 columns is read only as far as a roster could go
        for number, values in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS + 1), start=1):
            yield number, list(values)
    except RosterError:
        raise
    except Exception as exc:  # a damaged sheet fails part-way (zipfile, XML, KeyError ...)
        raise RosterError(source, [RowProblem(0, f"无法读取工作表 (the sheet cannot be read: {type(exc).__name__}); "
                                                 "open it in Excel and save as .xlsx or CSV")]) from None
    finally:
        book.close()


def _bounded(source: str, rows: Iterator[tuple[int, list[Any]]]) -> Iterator[tuple[int, list[Any]]]:
    """Rows as read, refused at the first one past MAX_ROWS, MAX_COLUMNS or MAX_CELL_CHARS (row and column named)."""
    header: dict[int, str] = {}  # once the header row has gone by, a column is named by what it holds
    for number, cells in rows:
        if number > MAX_ROWS:
            raise RosterError(source, [RowProblem(number, f"超过 {MAX_ROWS} 行，不像一个社区的花名册 "
                                                          f"(more than {MAX_ROWS:,} rows: split the file)")])
        while cells and (cells[-1] is None or cells[-1] == ""):
            cells = cells[:-1]  # trailing empty cells (Excel pads rows to the widest one)
        if len(cells) > MAX_COLUMNS:
            raise RosterError(source, [RowProblem(number, f"超过 {MAX_COLUMNS} 列，不像花名册 "
                                                          f"(more than {MAX_COLUMNS} columns: is it the roster?)")])
        for column, value in enumerate(cells):
            if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                raise RosterError(source, [RowProblem(number, (
                    f"{_column_label(column, header)}的单元格超过 {MAX_CELL_CHARS} 个字符，不像花名册 "
                    f"(column {column + 1}: a cell over {MAX_CELL_CHARS:,} characters: is it the roster?)"))])
        if not header and number <= _HEADER_SEARCH_ROWS:
            mapping = {i: _ALIASES[_header_key(c)] for i, c in enumerate(cells) if _header_key(c) in _ALIASES}
            if _has_required(mapping.values()):
                header = mapping
        yield number, cells


def read_roster_bytes(data: bytes, filename: str) -> Iterator[tuple[int, list[Any]]]:
    """``(row number, cells)`` for every row of an uploaded .csv or .xlsx roster (first sheet), header included.

    ``filename`` only says which kind of file it is (its suffix) and names it in messages.
    """
    source = filename or "roster"
    suffix = Path(source).suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return _bounded(source, _read_csv(data, source))
    if suffix in (".xlsx", ".xlsm"):
        return _bounded(source, _read_xlsx(data, source))
    if suffix == ".xls":
        raise RosterError(source, [RowProblem(0, "不读取旧的 .xls 工作簿，请另存为 .xlsx 或 CSV "
                                                 "(old .xls workbooks are not read; save it as .xlsx or CSV)")])
    raise RosterError(source, [RowProblem(0, f"应为 .csv 或 .xlsx 文件 (expected a .csv or .xlsx file, "
                                             f"got {suffix or 'no suffix'})")])


def read_roster_file(path: str | os.PathLike[str]) -> bytes:
    """A roster file's bytes, refused (RosterError) when missing or past MAX_FILE_BYTES, without reading it all."""
    path = Path(path)
    if not path.is_file():
        raise RosterError(str(path), [RowProblem(0, "找不到文件 (file not found)")])
    with path.open("rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise _too_big(str(path))
    return data


def read_roster(path: str | os.PathLike[str]) -> Iterator[tuple[int, list[Any]]]:
    """``(row number, cells)`` for every row of a .csv or .xlsx roster (first sheet), header included."""
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".txt", ".tsv", ".xlsx", ".xlsm"):
        return read_roster_bytes(b"", str(path))  # says which suffixes are read
    return read_roster_bytes(read_roster_file(path), str(path))


@dataclass
class RosterRow:
    """One validated roster row, in the form it is stored (ID already protected, phone masked, plate normalised)."""

    row: int
    building: str
    unit: str
    room: str
    name: str
    phone: str  # the full number, digits only: office-only (residents.phone, withheld from gates)
    phone_masked: str
    id_hash: str
    id_masked: str
    plate: str
    note: str
    compound: str = ""  # the household's compound (小区) when the roster has one; "" leaves the registry's as it is

    @property
    def household_key(self) -> tuple[str, str, str]:
        """What identifies the household: building, unit, room."""
        return (self.building, self.unit, self.room)


def _find_header(rows: list[tuple[int, list[Any]]]) -> tuple[int, dict[int, str], list[str]] | None:
    """The header row's index, its column → field map and the headers that map to nothing."""
    for index, (_, cells) in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        mapping = {i: _ALIASES[_header_key(c)] for i, c in enumerate(cells) if _header_key(c) in _ALIASES}
        if _has_required(mapping.values()):
            ignored = [str(c).strip() for i, c in enumerate(cells) if i not in mapping and _header_key(c)]
            return index, mapping, ignored
    return None


def _validate(rows: list[tuple[int, list[Any]]], source: str,
              id_key: bytes) -> tuple[list[RosterRow], list[str], list[RowProblem], bool]:
    """Every row checked: (good rows, ignored headers, problems by row, whether the roster has a plate column)."""
    found = _find_header(rows)
    if found is None:
        names = "/".join(COLUMNS["name"][:2] + COLUMNS["name"][-1:])
        rooms = "/".join(COLUMNS["room"][:2] + COLUMNS["room"][-2:-1])
        return [], [], [RowProblem(1, f"前 {_HEADER_SEARCH_ROWS} 行中没有表头：至少要有姓名列（{names}）和房间号列（{rooms}） "
                                      f"(no header row with a name column and a room column in the first "
                                      f"{_HEADER_SEARCH_ROWS} rows)")], False
    header_index, mapping, ignored = found
    header_row = rows[header_index][0]
    problems: list[RowProblem] = []
    seen_fields: dict[str, int] = {}
    for column, name in mapping.items():
        if name in seen_fields:
            problems.append(RowProblem(header_row, f"第 {seen_fields[name] + 1} 列和第 {column + 1} 列都是"
                                                   f"{COLUMNS[name][0]}，请只留一列 (two columns mean {name}: "
                                                   f"column {seen_fields[name] + 1} and column {column + 1}; keep one)"))
        seen_fields.setdefault(name, column)

    parsed: list[RosterRow] = []
    first_seen: dict[tuple[str, str, str, str], int] = {}
    id_seen: dict[str, int] = {}
    plate_seen: dict[str, tuple[int, tuple[str, str, str]]] = {}
    compound_seen: dict[tuple[str, str, str], tuple[int, str]] = {}  # household → (first row, its compound)
    for number, cells in rows[header_index + 1:]:
        values = {name: "" for name in COLUMNS}
        for column, name in mapping.items():
            if column < len(cells) and seen_fields[name] == column:
                values[name] = _cell_text(cells[column], name, number, problems)
        if not any(values.values()) and not any(_cell_text(c, "", number, []) for c in cells):
            continue  # a blank line between blocks of the sheet
        wrong: list[str] = []
        if not values["name"]:
            wrong.append("姓名为空 (the name is empty)")
        household: tuple[str, str, str] | None = None
        if not (values["room"] or values["address"] or values["building"]):
            wrong.append("房间号为空 (the room is empty)")
        else:
            try:
                if values["address"] and not (values["building"] or values["unit"] or values["room"]):
                    household = parse_address(values["address"]).as_tuple()
                else:
                    household = normalise_parts(values["building"], values["unit"], values["room"]).as_tuple()
            except AddressError as exc:
                wrong.append(str(exc))
        phone = values["phone"]
        phone_digits = normalise_phone(phone)
        if phone and phone_problem(phone):
            wrong.append(phone_problem(phone) or "")
        id_number = normalise_id_number(values["id_number"])
        id_problem = id_number_problem(id_number) if id_number else None
        if id_problem:
            zh, en = ID_PROBLEMS[id_problem]
            wrong.append(f"{zh}，请与身份证核对 ({en}; check it against the ID card)")
        plate = normalise_plate(values["plate"]) if values["plate"] else ""
        if values["plate"] and not 5 <= len(plate) <= 10:
            wrong.append(f"车牌“{values['plate']}”不是车牌号，如 京A12345 "
                         f"(plate {values['plate']!r} is not a licence plate, e.g. 京A12345)")
        if values["name"] and household is not None:
            key = (*household, values["name"])
            if key in first_seen:
                wrong.append(f"{values['name']}（{household_label(*household)}）已在第 {first_seen[key]} 行 "
                             f"(already on row {first_seen[key]})")
            else:
                first_seen[key] = number
        if id_number and not id_problem:
            if id_number in id_seen:
                wrong.append(f"同一身份证号已在第 {id_seen[id_number]} 行 (the same ID number is already on row "
                             f"{id_seen[id_number]})")
            else:
                id_seen[id_number] = number
        if plate and len(plate) >= 5 and household is not None:
            earlier = plate_seen.get(plate)
            if earlier is not None and earlier[1] != household:
                wrong.append(f"车牌 {plate} 已在第 {earlier[0]} 行登记给另一户（{household_label(*earlier[1])}） "
                             f"(plate {plate} is already on row {earlier[0]} for another household)")
            plate_seen.setdefault(plate, (number, household))
        compound = clean_compound(values["compound"])
        if len(compound) > MAX_COMPOUND_CHARS:
            where = _column_label(seen_fields["compound"], mapping)
            wrong.append(f"{where}的小区名称超过 {MAX_COMPOUND_CHARS} 个字符（{len(compound)} 个），请写小区的简称 "
                         f"(column {seen_fields['compound'] + 1}: the compound's name is {len(compound)} characters, "
                         f"over {MAX_COMPOUND_CHARS}: use its short name)")
        elif compound and household is not None:
            # Households stay identified by building-unit-room: one household cannot be in two compounds.
            earlier_compound = compound_seen.setdefault(household, (number, compound))
            if earlier_compound[1] != compound:
                wrong.append(f"同一户出现两个小区：{household_label(*household)} 在第 {earlier_compound[0]} 行是"
                             f"“{earlier_compound[1]}”，本行是“{compound}”，请只写一个 "
                             f"(household {household_label(*household)} is in compound {earlier_compound[1]!r} on "
                             f"row {earlier_compound[0]} and {compound!r} here: one household, one compound)")
        if wrong or household is None:
            problems.append(RowProblem(number, "；".join(wrong)))
            continue
        protected = protect_id_number(id_number, id_key) if id_number else {"id_hash": "", "id_masked": ""}
        parsed.append(RosterRow(
            row=number, building=household[0], unit=household[1], room=household[2],
            name=values["name"], phone=phone_digits if phone else "", phone_masked=mask_phone(phone_digits) if phone else "",
            id_hash=protected["id_hash"], id_masked=protected["id_masked"], plate=plate, note=values["note"],
            compound=compound,
        ))
    problems.sort(key=lambda p: p.row)
    return parsed, ignored, problems, "plate" in seen_fields


def parse_roster(path: str | os.PathLike[str], id_key: bytes) -> tuple[list[RosterRow], list[str]]:
    """Read and validate every row; returns (rows, ignored column headers) or raises RosterError listing every problem."""
    parsed, ignored, problems, _ = _validate(list(read_roster(path)), str(path), id_key)
    if problems:
        raise RosterError(str(path), problems)
    return parsed, ignored


# -- the preview ------------------------------------------------------------------

REMOVE_SCOPES = ("buildings", "none", "all")
"""What a roster stands for, so what is missing from it is removed: ``buildings`` (default: everyone of the buildings
it lists, so one building's sheet never empties the others), ``none`` (only add and change), ``all`` (the whole
community)."""


@dataclass
class Changes:
    """What the roster does to one kind of registry row: each entry a dict to show (label, name, fields …)."""

    added: list[dict] = field(default_factory=list)
    changed: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """``{"added": n, "changed": n, "removed": n}``."""
        return {"added": len(self.added), "changed": len(self.changed), "removed": len(self.removed)}


@dataclass
class RosterPreview:
    """What importing one roster would do to the registry at ``base_version``, and every problem with its row.

    ``changes`` are the registry changes ``apply_import`` makes as one version; it refuses while ``problems`` is not
    empty or once the registry has moved past ``base_version``.
    """

    filename: str
    base_version: int
    rows: int
    households: Changes
    residents: Changes
    vehicles: Changes
    problems: list[RowProblem]
    changes: list[dict]
    ignored_columns: list[str] = field(default_factory=list)
    addresses: list[dict] = field(default_factory=list)  # {"row", "written", "label"}: how each address was read
    remove: str = "buildings"
    summary: ImportSummary = field(default_factory=ImportSummary)

    @property
    def ok(self) -> bool:
        """True when nothing stands in the way of applying it."""
        return not self.problems

    def counts(self) -> dict[str, dict[str, int]]:
        """Added/changed/removed per kind."""
        return {"households": self.households.counts(), "residents": self.residents.counts(),
                "vehicles": self.vehicles.counts()}

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``--json``, the desk): what is shown, never the ID hashes."""
        return {"filename": self.filename, "base_version": self.base_version, "rows": self.rows,
                "counts": self.counts(), "problems": [p.to_dict() for p in self.problems],
                "ignored_columns": self.ignored_columns, "remove": self.remove,
                **{kind: getattr(self, kind).__dict__ for kind in ("households", "residents", "vehicles")}}


def _plan(master: RegistryMaster, rows: list[RosterRow], *, has_plates: bool,
          remove: str) -> tuple[list[dict], ImportSummary, list[RowProblem], dict[str, Changes]]:
    """The registry changes that bring ``rows`` in, what they amount to, and the conflicts with the registry.

    Empty cells never erase what the registry already holds (a roster without a phone column does not wipe the
    phones imported earlier; without a compound column, no household's compound changes). Registry households are
    matched by their normalised address, however they were spelt; a compound the roster gives is set on the household
    (a "changed" household when it had another).
    """
    snapshot = master.snapshot()
    households: dict[tuple[str, str, str], dict] = {}
    for h in snapshot["households"]:
        households.setdefault(address_of(h).as_tuple(), dict(h))
    household_by_id = {h["id"]: dict(h) for h in snapshot["households"]}
    residents = [dict(r) for r in snapshot["residents"]]
    by_hash = {r["id_hash"]: r for r in residents if r["id_hash"]}
    by_name = {(r["household_id"], r["name"]): r for r in residents}
    vehicles = {v["plate"]: dict(v) for v in snapshot["vehicles"]}
    next_ids = {table: master.next_id(table) for table in ("households", "residents", "vehicles")}
    changes: list[dict] = []
    summary = ImportSummary(rows=len(rows))
    problems: list[RowProblem] = []
    shown = {kind: Changes() for kind in ("households", "residents", "vehicles")}
    touched_residents: set[int] = set()
    homes: dict[int, int] = {}  # resident on the roster → the household the roster puts them in
    roster_households: set[int] = set()
    roster_plates: set[str] = set()
    # _validate has refused two compounds for one household: the first row that names one speaks for it
    compounds: dict[tuple[str, str, str], str] = {}
    for roster_row in rows:
        if roster_row.compound:
            compounds.setdefault(roster_row.household_key, roster_row.compound)

    def new_id(table: str) -> int:
        value = next_ids[table]
        next_ids[table] += 1
        return value

    def label_of(household_id: Any) -> str:
        house = household_by_id.get(household_id)
        return household_label(house["building"], house["unit"], house["room"]) if house else ""

    for row in rows:
        household = households.get(row.household_key)
        compound = compounds.get(row.household_key, "")
        if household is None:
            household = {"id": new_id("households"), "building": row.building, "unit": row.unit,
                         "room": row.room, "note": ""}
            if compound:
                household["compound"] = compound
            households[row.household_key] = household
            household_by_id[household["id"]] = household
            changes.append({"op": "upsert", "table": "households", "row": dict(household)})
            summary.households_added += 1
            shown["households"].added.append({"row": row.row, "label": label_of(household["id"]),
                                              "compound": compound})
        elif compound and household.get("compound") != compound:
            # NULL (the office's one compound) to a named one counts too: the roster names it from now on
            was = household.get("compound") or ""
            household = {**household, "compound": compound}
            households[row.household_key] = household
            household_by_id[household["id"]] = household
            changes.append({"op": "upsert", "table": "households", "row": dict(household)})
            summary.households_updated += 1
            shown["households"].changed.append({"row": row.row, "label": label_of(household["id"]),
                                                "compound": compound, "was": {"compound": was},
                                                "fields": ["compound"]})
        roster_households.add(household["id"])

        resident = by_hash.get(row.id_hash) if row.id_hash else None
        if resident is None:
            resident = by_name.get((household["id"], row.name))
        if resident is not None and resident["id"] in touched_residents:
            problems.append(RowProblem(row.row, f"{row.name} 与本表另一行是同一人（身份证号相同），请核对两行 "
                                                "(matches a resident another row of this roster already updated)"))
            continue
        if resident is None:
            resident = {"id": new_id("residents"), "household_id": household["id"], "name": row.name,
                        "phone": row.phone, "phone_masked": row.phone_masked, "id_hash": row.id_hash, "id_masked": row.id_masked,
                        "note": row.note}
            changes.append({"op": "upsert", "table": "residents", "row": dict(resident)})
            summary.residents_added += 1
            shown["residents"].added.append({"row": row.row, "household": label_of(household["id"]),
                                             "name": row.name, "id_masked": row.id_masked,
                                             "phone_masked": row.phone_masked})
        else:
            updated = dict(resident)
            # A matched ID number with another household or name means the person moved or the name was corrected.
            updated.update(household_id=household["id"], name=row.name)
            for column in ("phone", "phone_masked", "id_hash", "id_masked", "note"):
                if getattr(row, column):
                    updated[column] = getattr(row, column)
            if updated != resident:
                changes.append({"op": "upsert", "table": "residents", "row": updated})
                summary.residents_updated += 1
                fields = [c for c in ("household_id", "name", "phone_masked", "id_masked", "note")
                          if updated[c] != resident[c]]
                shown["residents"].changed.append({
                    "row": row.row, "household": label_of(household["id"]), "name": row.name,
                    "was": {"household": label_of(resident["household_id"]), "name": resident["name"]},
                    "fields": ["household" if c == "household_id" else c for c in fields]})
                by_name.pop((resident["household_id"], resident["name"]), None)
                resident = updated
            else:
                summary.residents_unchanged += 1
        touched_residents.add(resident["id"])
        homes[resident["id"]] = household["id"]
        by_name[(household["id"], row.name)] = resident
        if resident["id_hash"]:
            by_hash[resident["id_hash"]] = resident

        if row.plate:
            roster_plates.add(row.plate)
            vehicle = vehicles.get(row.plate)
            if vehicle is None:
                vehicle = {"id": new_id("vehicles"), "plate": row.plate, "household_id": household["id"],
                           "owner_resident_id": resident["id"], "note": ""}
                vehicles[row.plate] = vehicle
                changes.append({"op": "upsert", "table": "vehicles", "row": dict(vehicle)})
                summary.vehicles_added += 1
                shown["vehicles"].added.append({"row": row.row, "plate": row.plate,
                                                "household": label_of(household["id"]), "owner": row.name})
            elif vehicle["household_id"] != household["id"]:
                where = label_of(vehicle["household_id"]) or "另一户 (another household)"
                problems.append(RowProblem(row.row, f"车牌 {row.plate} 已登记给 {where}，请先修改或删除那辆车 "
                                                    f"(plate {row.plate} is registered to {where}; "
                                                    "change or remove that vehicle first)"))
            elif vehicle["owner_resident_id"] is None:
                # The first resident listed with the car becomes its owner; later rows do not take it over.
                vehicle = {**vehicle, "owner_resident_id": resident["id"]}
                vehicles[row.plate] = vehicle
                changes.append({"op": "upsert", "table": "vehicles", "row": dict(vehicle)})
                summary.vehicles_updated += 1
                shown["vehicles"].changed.append({"row": row.row, "plate": row.plate,
                                                  "household": label_of(household["id"]), "owner": row.name})

    if remove != "none":
        _plan_removals(snapshot, rows, remove, roster_households, homes, roster_plates, has_plates,
                       label_of, changes, shown, problems)
    return changes, summary, problems, shown


def _plan_removals(snapshot: dict[str, list[dict]], rows: list[RosterRow], remove: str, roster_households: set[int],
                   homes: dict[int, int], roster_plates: set[str], has_plates: bool, label_of: Any,
                   changes: list[dict], shown: dict[str, Changes], problems: list[RowProblem]) -> None:
    """Who is no longer on the roster, within its scope: removed, their cards revoked (moved out) in the same version.

    A person under a home-quarantine order that has not ended is not removed silently: that is a problem to settle
    first (lift the order, or put the person back on the roster).
    """
    from datetime import UTC, datetime

    buildings = {row.building for row in rows}
    in_scope = {h["id"] for h in snapshot["households"]
                if remove == "all" or address_of(h).building in buildings}
    today = datetime.now(UTC).date().isoformat()
    live_orders = [q for q in snapshot["quarantine_orders"] if (q.get("ends_on") or "9999") >= today]
    revoked = {r["card_id"] for r in snapshot["revocations"]}
    now = datetime.now(UTC).isoformat(timespec="seconds")

    def revoke_cards(kind: str, subject_id: int) -> None:
        for card in snapshot["cards"]:
            if card["kind"] == kind and card["subject_id"] == subject_id and card["id"] not in revoked:
                changes.append({"op": "upsert", "table": "revocations",
                                "row": {"card_id": card["id"], "revoked_at": now, "reason": RevocationReason.MOVED_OUT.value}})

    gone_residents: set[int] = set()
    for resident in snapshot["residents"]:
        if resident["id"] in homes or resident["household_id"] not in in_scope:
            continue
        where = label_of(resident["household_id"])
        if any(q.get("resident_id") == resident["id"] for q in live_orders):
            problems.append(RowProblem(0, f"{where} {resident['name']} 不在花名册中，但正在居家隔离：请先解除隔离，或把此人加回花名册 "
                                          f"({where} {resident['name']} is not on the roster but under a home-quarantine "
                                          "order: lift it first, or keep the person on the roster)"))
            continue
        gone_residents.add(resident["id"])
        changes.append({"op": "delete", "table": "residents", "key": resident["id"]})
        revoke_cards("resident", resident["id"])
        shown["residents"].removed.append({"household": where, "name": resident["name"],
                                           "id_masked": resident.get("id_masked") or ""})
    for volunteer in snapshot["volunteers"]:
        if volunteer.get("resident_id") in gone_residents:  # the volunteer stays, no longer linked to a resident
            changes.append({"op": "upsert", "table": "volunteers", "row": {**volunteer, "resident_id": None}})
    left = {homes.get(r["id"], r["household_id"]) for r in snapshot["residents"] if r["id"] not in gone_residents}
    gone_households: set[int] = set()
    for household in snapshot["households"]:
        hid = household["id"]
        if hid not in in_scope or hid in roster_households or hid in left:
            continue
        if any(q.get("household_id") == hid for q in live_orders):
            problems.append(RowProblem(0, f"{label_of(hid)} 不在花名册中，但正在居家隔离：请先解除隔离 "
                                          f"({label_of(hid)} is not on the roster but under a home-quarantine order)"))
            continue
        gone_households.add(hid)
    for vehicle in snapshot["vehicles"]:
        household_gone = vehicle["household_id"] in gone_households
        plate_gone = has_plates and vehicle["household_id"] in in_scope and vehicle["plate"] not in roster_plates
        if household_gone or plate_gone:
            changes.append({"op": "delete", "table": "vehicles", "key": vehicle["id"]})
            revoke_cards("vehicle", vehicle["id"])
            shown["vehicles"].removed.append({"plate": vehicle["plate"], "household": label_of(vehicle["household_id"])})
        elif vehicle.get("owner_resident_id") in gone_residents:
            changes.append({"op": "upsert", "table": "vehicles", "row": {**vehicle, "owner_resident_id": None}})
    compound_by_id = {h["id"]: h.get("compound") or "" for h in snapshot["households"]}
    for hid in sorted(gone_households):
        changes.append({"op": "delete", "table": "households", "key": hid})
        shown["households"].removed.append({"label": label_of(hid), "compound": compound_by_id.get(hid, "")})


def plan_import(master: RegistryMaster, file_bytes: bytes, filename: str, *, id_key: bytes,
                remove: str = "buildings") -> RosterPreview:
    """What importing this roster (the uploaded file's bytes) would do, and every problem by row, changing nothing.

    A file that cannot be read at all is a preview with that one problem (row 0: the file), not an exception.
    ``remove`` says what the roster stands for (REMOVE_SCOPES).
    """
    if remove not in REMOVE_SCOPES:
        raise ValueError(f"remove: expected one of {', '.join(REMOVE_SCOPES)}, got {remove!r}")
    base_version = master.version
    empty = {kind: Changes() for kind in ("households", "residents", "vehicles")}
    try:
        cells = list(read_roster_bytes(file_bytes, filename))
    except RosterError as exc:
        return RosterPreview(filename, base_version, 0, empty["households"], empty["residents"], empty["vehicles"],
                             problems=exc.problems, changes=[], remove=remove)
    rows, ignored, problems, has_plates = _validate(cells, filename, id_key)
    changes, summary, conflicts, shown = _plan(master, rows, has_plates=has_plates, remove=remove)
    problems = sorted(problems + conflicts, key=lambda p: p.row)
    summary.ignored_columns = ignored
    addresses = [{"row": r.row, "label": household_label(*r.household_key)} for r in rows]
    counted = {r.row for r in rows} | {p.row for p in problems if p.row}  # a row with two problems is one row
    return RosterPreview(filename, base_version, len(counted), shown["households"],
                         shown["residents"], shown["vehicles"], problems=problems, changes=changes, ignored_columns=ignored, addresses=addresses,
                         remove=remove, summary=summary)


class StalePreviewError(RosterError):
    """The registry changed after the preview was made: preview the roster again."""


def apply_import(master: RegistryMaster, preview: RosterPreview, *, actor: str) -> int:
    """Apply a preview as ONE registry version (all or nothing) and return the registry's version after it.

    Refused (RosterError, nothing changed) while the preview has problems, and (StalePreviewError) when the registry
    is no longer at the version the preview was made from. A preview that changes nothing leaves the version as it
    is. ``actor`` is who applies it (the desk writes it into the audit log).
    """
    if preview.problems:
        raise RosterError(preview.filename, preview.problems)
    db = master._db()
    with db.atomic():  # the version check and the change in one transaction: no other change slips in between
        if master.version != preview.base_version:
            raise StalePreviewError(preview.filename, [RowProblem(0, (
                f"预览之后登记册已被修改（版本 {preview.base_version} → {master.version}），请重新上传预览 "
                f"(the registry changed since the preview, version {preview.base_version} → {master.version}: "
                f"preview the roster again; {actor or '?'} applied nothing)"))])
        if not preview.changes:
            return master.version
        return master.change(preview.changes)


def import_roster(master: RegistryMaster, path: str | os.PathLike[str], id_key: bytes, *,
                  dry_run: bool = False, remove: str = "buildings", actor: str = "cli") -> ImportSummary:
    """Import a .csv or .xlsx roster file as ONE registry version; RosterError (nothing imported) when any row is bad.

    ``plan_import`` then ``apply_import``. With ``dry_run`` everything is checked and counted but the registry is
    not touched. Importing the same roster again changes nothing and does not bump the version.
    """
    source = Path(path)
    preview = plan_import(master, read_roster_file(source), str(source), id_key=id_key, remove=remove)
    if preview.problems:
        raise RosterError(str(path), preview.problems)
    summary = preview.summary
    summary.dry_run = dry_run
    summary.version = master.version if dry_run else apply_import(master, preview, actor=actor)
    return summary
