"""Address normalisation: every spelling the office types is one (building, unit, room), or a clear Chinese problem."""

from __future__ import annotations

import pytest

from kiosk.office.addresses import Address, AddressError, match_households, normalise_parts, parse_address

FIVE_ONE_101 = Address("5", "1", "101")


@pytest.mark.parametrize("text", [
    "5号楼1单元101室", "5栋1单元101", "5-1-101", "5/1/101", "５－１－１０１", "5号楼 1单元 101", " 5 - 1 - 101 ",
    "5幢1单元101室", "五号楼一单元101室", "05-01-0101", "5号楼-1单元-101室", "5—1—101", "５／１／１０１", "5\\1\\101",
])
def test_spellings_of_one_household(text):
    assert parse_address(text) == FIVE_ONE_101
    assert parse_address(text).label == "5-1-101"


@pytest.mark.parametrize(("text", "expected"), [
    ("101", Address("", "", "101")),
    ("5-101", Address("5", "", "101")),
    ("5栋101", Address("5", "", "101")),
    ("A座3单元1201", Address("A", "3", "1201")),
    ("12栋2单元302", Address("12", "2", "302")),
    ("十二栋2单元302", Address("12", "2", "302")),
    ("b-2-1a", Address("B", "2", "1A")),
])
def test_other_shapes(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "东区", "5-1-101-2", "5--101", "楼上", "x" * 100, "5号楼1单元", None])
def test_what_is_not_an_address_says_so_in_chinese(text):
    with pytest.raises(AddressError) as caught:
        parse_address(text)
    message = str(caught.value)
    assert message.startswith("地址") and "无法识别" in message and "5-1-101" in message and len(message) < 300


@pytest.mark.parametrize(("cells", "expected"), [
    (("5号楼", "1单元", "101室"), FIVE_ONE_101),
    (("5", "1", "101"), FIVE_ONE_101),
    ((5, 1, 101.0), FIVE_ONE_101),  # numbers from Excel
    (("５栋", "１", "１０１"), FIVE_ONE_101),
    (("", "", "5-1-101"), FIVE_ONE_101),  # the whole address in the room column
    (("", "", "5号楼1单元101室"), FIVE_ONE_101),
    (("5", "", "101"), Address("5", "", "101")),
])
def test_separate_columns(cells, expected):
    assert normalise_parts(*cells) == expected


@pytest.mark.parametrize("cells", [("5", "1", ""), ("5号楼", "东", "101"), ("5", "1", "1 0 1 室?")])
def test_separate_columns_refused(cells):
    with pytest.raises(AddressError, match="无法识别|为空"):
        normalise_parts(*cells)


def test_registry_rows_match_whatever_their_spelling():
    rows = [{"id": 1, "building": "5号楼", "unit": "1单元", "room": "101室"},
            {"id": 2, "building": "5", "unit": "1", "room": "102"}]
    assert [r["id"] for r in match_households(rows, "5/1/101")] == [1]
    assert [r["id"] for r in match_households(rows, "5栋1单元102")] == [2]
    assert match_households(rows, "6-1-101") == []
