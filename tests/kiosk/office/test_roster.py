"""Roster import: CSV and XLSX, Chinese and English headers, bad rows refused as a whole, idempotent re-import."""

from __future__ import annotations

import csv
import os

import openpyxl
import pytest

from kiosk.office.registry_master import RegistryMaster
from kiosk.office.roster import RosterError, import_roster, load_id_hash_key
from kiosk.privacy import _ID_CHECK, _ID_WEIGHTS


def id_number(seventeen: str) -> str:
    """A valid 18-character ID number from its first 17 digits."""
    return seventeen + _ID_CHECK[sum(int(d) * w for d, w in zip(seventeen, _ID_WEIGHTS, strict=True)) % 11]


ID1 = id_number("11010519491231002")
ID2 = id_number("11010519800101003")
ZH = ["楼栋", "单元", "房间号", "姓名", "手机号", "身份证号", "车牌号", "备注"]
EN = ["Building", "Unit", "Room", "Name", "Phone", "ID Number", "Plate", "Note"]
ROWS = [
    ["3", "2", "501", "王小山", "138 1234 5678", ID1, "京a·12345", ""],
    ["3", "2", "501", "李红", "13900001111", "", "", "独居老人"],
    ["5", "1", "302", "张三", "", ID2, "", ""],
]


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8-sig") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def write_xlsx(path, header, rows, title=None):
    book = openpyxl.Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


@pytest.fixture
def master(tmp_path):
    with RegistryMaster(tmp_path / "registry.db") as registry:
        yield registry


@pytest.fixture
def key(tmp_path):
    return load_id_hash_key(tmp_path)


def test_id_hash_key_created_once_private(tmp_path):
    key = load_id_hash_key(tmp_path)
    assert len(key) == 32 and load_id_hash_key(tmp_path) == key
    assert os.stat(tmp_path / "id-hash.key").st_mode & 0o777 == 0o600


@pytest.mark.parametrize("header", [ZH, EN], ids=["chinese", "english"])
def test_csv_import(tmp_path, master, key, header):
    summary = import_roster(master, write_csv(tmp_path / "roster.csv", header, ROWS), key)
    assert (summary.households_added, summary.residents_added, summary.vehicles_added) == (2, 3, 1)
    assert summary.version == master.version == 1
    wang = [r for r in master.snapshot()["residents"] if r["name"] == "王小山"][0]
    assert wang["phone_masked"] == "138****5678" and wang["id_masked"].startswith("110") and "*" in wang["id_masked"]
    vehicle = master.vehicle_by_plate("京A12345")
    assert vehicle["owner_resident_id"] == wang["id"] and vehicle["household_id"] == wang["household_id"]


def test_xlsx_import_with_title_row_and_numbers(tmp_path, master, key):
    rows = [[3, 2, 501, "王小山", 13812345678, ID1, "京A12345", None]]
    path = write_xlsx(tmp_path / "roster.xlsx", ZH, rows, title="昆吾社区居民花名册")
    summary = import_roster(master, path, key)
    assert summary.residents_added == 1
    household = master.snapshot()["households"][0]
    assert (household["building"], household["unit"], household["room"]) == ("3", "2", "501")  # no "501.0"


def test_xlsx_id_typed_as_number_is_refused(tmp_path, master, key):
    path = write_xlsx(tmp_path / "roster.xlsx", ZH, [[3, 2, 501, "王小山", None, float(ID1[:17] + "0"), None, None]])
    with pytest.raises(RosterError) as caught:
        import_roster(master, path, key)
    assert caught.value.problems[0].row == 2 and "as text" in caught.value.problems[0].message


def test_reimport_is_idempotent(tmp_path, master, key):
    path = write_csv(tmp_path / "roster.csv", ZH, ROWS)
    import_roster(master, path, key)
    before = master.snapshot()
    again = import_roster(master, path, key)
    assert (again.residents_added, again.residents_updated, again.residents_unchanged) == (0, 0, 3)
    assert again.version == master.version == 1 and master.snapshot() == before


def test_reimport_matches_by_id_hash_when_person_moved(tmp_path, master, key):
    import_roster(master, write_csv(tmp_path / "a.csv", ZH, ROWS), key)
    moved = [["7", "1", "101", "张三", "", ID2, "", ""]]
    summary = import_roster(master, write_csv(tmp_path / "b.csv", ZH, moved), key)
    assert (summary.residents_added, summary.residents_updated, summary.households_added) == (0, 1, 1)
    assert len(master.snapshot()["residents"]) == 3


def test_dry_run_changes_nothing(tmp_path, master, key):
    summary = import_roster(master, write_csv(tmp_path / "roster.csv", ZH, ROWS), key, dry_run=True)
    assert summary.residents_added == 3 and master.version == 0 and master.counts()["residents"] == 0


@pytest.mark.parametrize(("row", "expected"), [
    (["3", "2", "501", "", "13812345678", "", "", ""], "name"),
    (["3", "2", "", "王小山", "", "", "", ""], "room"),
    (["3", "2", "501", "王小山", "1381234abcd", "", "", ""], "phone"),
    (["3", "2", "501", "王小山", "", ID1[:17] + ("0" if ID1[17] != "0" else "1"), "", ""], "check digit"),
    (["3", "2", "501", "王小山", "", "", "X1", ""], "plate"),
])
def test_bad_row_refuses_whole_file(tmp_path, master, key, row, expected):
    path = write_csv(tmp_path / "roster.csv", ZH, [ROWS[2], row])
    with pytest.raises(RosterError) as caught:
        import_roster(master, path, key)
    (problem,) = caught.value.problems
    assert problem.row == 3 and expected in problem.message
    assert master.version == 0 and master.counts()["residents"] == 0


def test_duplicate_in_file_reported_with_both_rows(tmp_path, master, key):
    path = write_csv(tmp_path / "roster.csv", ZH, [ROWS[0], ROWS[1], ROWS[0][:5] + ["", "", ""]])
    with pytest.raises(RosterError) as caught:
        import_roster(master, path, key)
    assert [p.row for p in caught.value.problems] == [4] and "第 2 行" in caught.value.problems[0].message


def test_unknown_columns_ignored_and_reported(tmp_path, master, key):
    path = write_csv(tmp_path / "roster.csv", ["姓名", "门牌号", "民族"], [["王小山", "101", "汉"]])
    summary = import_roster(master, path, key)
    assert summary.residents_added == 1 and summary.ignored_columns == ["民族"]


def test_missing_required_column(tmp_path, master, key):
    path = write_csv(tmp_path / "roster.csv", ["姓名", "手机号"], [["王小山", "13812345678"]])
    with pytest.raises(RosterError, match="第 1 行：前 10 行中没有表头"):
        import_roster(master, path, key)


def test_gbk_csv(tmp_path, master, key):
    path = tmp_path / "roster.csv"
    path.write_bytes("姓名,房间号\n王小山,101\n".encode("gbk"))
    assert import_roster(master, path, key).residents_added == 1


def test_plate_of_another_household_refused(tmp_path, master, key):
    import_roster(master, write_csv(tmp_path / "a.csv", ZH, ROWS), key)
    clash = [["9", "9", "909", "赵六", "", "", "京A12345", ""]]
    with pytest.raises(RosterError, match="第 2 行：车牌 京A12345 已登记给 3-2-501"):
        import_roster(master, write_csv(tmp_path / "b.csv", ZH, clash), key)
    assert master.version == 1


def test_clear_id_number_never_in_database(tmp_path, master, key):
    import_roster(master, write_csv(tmp_path / "roster.csv", ZH, ROWS), key)
    master.close()
    data = b"".join(p.read_bytes() for p in tmp_path.glob("registry.db*"))
    for number in (ID1, ID2):
        assert number.encode() not in data and number[6:14].encode() not in data


# -- reader limits: any file fails with one clear line (row and column), fast and in bounded memory (issue 10) --

def _refused(path, master, key):
    import time

    started = time.perf_counter()
    with pytest.raises(RosterError) as info:
        import_roster(master, path, key)
    assert time.perf_counter() - started < 5
    assert master.version == 0
    return info.value


def test_a_csv_cell_over_the_csv_field_limit_names_row_and_column(tmp_path, master, key):
    rows = [ROWS[0], ROWS[1], ["5", "1", "302", "张三", "", "", "", "x" * 200_000]]
    error = _refused(write_csv(tmp_path / "huge.csv", ZH, rows), master, key)
    assert len(error.problems) == 1
    assert str(error.problems[0]).startswith("第 4 行：第 8 列的单元格超过 131072 个字符")
    assert "column 8" in str(error.problems[0])


def test_a_quoted_huge_cell_spanning_lines_is_found_too(tmp_path, master, key):
    path = tmp_path / "quoted.csv"
    path.write_text(",".join(ZH) + '\n3,2,501,"' + ("a,\n" * 70_000) + '",138\n', encoding="utf-8")
    error = _refused(path, master, key)
    assert str(error.problems[0]).startswith("第 2 行：第 4 列")


def test_a_long_cell_under_the_csv_limit_is_refused_with_its_column(tmp_path, master, key):
    rows = [["3", "2", "501", "王" * 5000, "", "", "", ""]]
    error = _refused(write_csv(tmp_path / "long.csv", ZH, rows), master, key)
    assert str(error.problems[0]).startswith("第 2 行：第 4 列（姓名）的单元格超过 1000 个字符")


@pytest.mark.parametrize("content", [b"", b"\x00" * 1000, bytes(range(256)) * 64, b"\xff\xfe\x00\x00" * 5000])
def test_empty_and_binary_files_fail_with_one_line(tmp_path, master, key, content):
    path = tmp_path / "binary.csv"
    path.write_bytes(content)
    error = _refused(path, master, key)
    assert len(error.problems) == 1 and "\n" not in str(error)


def test_a_file_too_large_is_refused_before_it_is_read(tmp_path, master, key, monkeypatch):
    from kiosk.office import roster

    monkeypatch.setattr(roster, "MAX_FILE_BYTES", 1000)
    error = _refused(write_csv(tmp_path / "big.csv", ZH, ROWS * 20), master, key)
    assert "文件超过" in str(error) and error.problems[0].row == 0


def test_too_many_rows_or_columns(tmp_path, master, key, monkeypatch):
    from kiosk.office import roster

    monkeypatch.setattr(roster, "MAX_ROWS", 5)
    error = _refused(write_csv(tmp_path / "rows.csv", ZH, ROWS * 3), master, key)
    assert error.problems[0].row == 6 and "超过 5 行" in str(error)
    wide = write_csv(tmp_path / "wide.csv", ZH + ["x"] * 300, ROWS)
    assert "超过 256 列" in str(_refused(wide, master, key))


def test_a_damaged_xlsx_fails_with_one_line(tmp_path, master, key):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04" + os.urandom(2000))
    error = _refused(path, master, key)
    assert len(error.problems) == 1 and "xlsx" in str(error)


def test_cli_import_of_a_huge_cell_prints_no_traceback(tmp_path):
    import time

    from click.testing import CliRunner

    from kiosk.cli.officecmd import office
    from kiosk.keys import init_keys

    init_keys(tmp_path / "keys")
    config = tmp_path / "office.yaml"
    config.write_text(f"office:\n  data_dir: {tmp_path / 'data'}\n  keys_dir: {tmp_path / 'keys'}\n", encoding="utf-8")
    roster_file = write_csv(tmp_path / "huge.csv", ZH, [["3", "2", "501", "王小山", "", "", "", "x" * 131_073]])
    started = time.perf_counter()
    result = CliRunner().invoke(office, ["import-roster", str(roster_file), "--config", str(config)])
    assert time.perf_counter() - started < 5
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no exception escaped
    assert "第 2 行：第 8 列的单元格超过 131072 个字符" in result.output and "nothing imported" in result.output
