"""Roster preview then apply on a real RegistryMaster: added/changed/removed, problems by row, all or nothing, stale."""

from __future__ import annotations

import json

import openpyxl
import pytest

from kiosk.office.registry_master import RegistryMaster
from kiosk.office.roster import (
    RosterError,
    StalePreviewError,
    apply_import,
    load_id_hash_key,
    plan_import,
)
from kiosk.privacy import _ID_CHECK, _ID_WEIGHTS


def id_number(seventeen: str) -> str:
    return seventeen + _ID_CHECK[sum(int(d) * w for d, w in zip(seventeen, _ID_WEIGHTS, strict=True)) % 11]


ID1, ID2, ID3 = id_number("11010519491231002"), id_number("11010519800101003"), id_number("11010519900307004")
HEADER = "楼栋,单元,房间号,姓名,手机号,身份证号,车牌号\n"


def csv_bytes(*lines: str, encoding: str = "utf-8-sig") -> bytes:
    return (HEADER + "".join(line + "\n" for line in lines)).encode(encoding)


FIRST = csv_bytes(f"5号楼,1单元,101室,王小山,13812345678,{ID1},京A12345", "5,1,101,李红,,,",
                  f"6栋,2,302,张三,,{ID2},")


@pytest.fixture
def master(tmp_path):
    with RegistryMaster(tmp_path / "registry.db") as registry:
        yield registry


@pytest.fixture
def key(tmp_path):
    return load_id_hash_key(tmp_path)


def test_first_import_previews_then_applies_as_one_version(master, key):
    preview = plan_import(master, FIRST, "roster.csv", id_key=key)
    assert preview.ok and master.version == 0  # a preview changes nothing
    assert preview.counts() == {"households": {"added": 2, "changed": 0, "removed": 0},
                                "residents": {"added": 3, "changed": 0, "removed": 0},
                                "vehicles": {"added": 1, "changed": 0, "removed": 0}}
    # 5号楼/1单元/101室 and 5/1/101 are one household, shown normalised
    assert [h["label"] for h in preview.households.added] == ["5-1-101", "6-2-302"]
    assert {a["label"] for a in preview.addresses} == {"5-1-101", "6-2-302"}
    assert ID1 not in json.dumps(preview.to_dict(), ensure_ascii=False)  # the preview shows masks only
    assert apply_import(master, preview, actor="li") == master.version == 1
    assert master.counts()["residents"] == 3 and master.counts()["households"] == 2


def test_second_roster_adds_changes_and_removes(master, key):
    apply_import(master, plan_import(master, FIRST, "roster.csv", id_key=key), actor="li")
    wang = next(r for r in master.snapshot()["residents"] if r["name"] == "王小山")
    card = {"id": 7, "kind": "resident", "subject_id": wang["id"], "valid_from": "2026-01-01",
            "valid_until": "2027-01-01", "issued_at": "2026-01-01T00:00:00+00:00"}
    master.upsert("cards", card)
    # 王小山 left 5-1-101 (and his car with him); 张三 moved within building 6; 赵六 is new
    second = csv_bytes("5-1-101,,,李红,13900001111,,", f"6/2/303,,,张三,,{ID2},", f"6-2-303,,,赵六,,{ID3},")
    preview = plan_import(master, second, "roster.csv", id_key=key)
    assert preview.ok, preview.problems
    counts = preview.counts()
    assert counts["residents"] == {"added": 1, "changed": 2, "removed": 1}
    assert counts["households"] == {"added": 1, "changed": 0, "removed": 1}  # 6-2-302 is empty now
    assert counts["vehicles"]["removed"] == 1
    assert [r["name"] for r in preview.residents.removed] == ["王小山"]
    moved = next(r for r in preview.residents.changed if r["name"] == "张三")
    assert moved["was"]["household"] == "6-2-302" and moved["household"] == "6-2-303" and "household" in moved["fields"]
    version = apply_import(master, preview, actor="li")
    assert version == master.version == 3  # one version for the whole roster
    snap = master.snapshot()
    assert sorted(r["name"] for r in snap["residents"]) == ["张三", "李红", "赵六"]
    assert snap["vehicles"] == []
    assert [(r["card_id"], r["reason"]) for r in snap["revocations"]] == [(7, "moved_out")]  # his card no longer opens


def test_one_building_sheet_leaves_the_other_buildings_alone(master, key):
    apply_import(master, plan_import(master, FIRST, "roster.csv", id_key=key), actor="li")
    preview = plan_import(master, csv_bytes("6,2,302,张三,,,"), "b6.csv", id_key=key)
    assert preview.counts()["residents"]["removed"] == 0 and preview.counts()["households"]["removed"] == 0
    everyone = plan_import(master, csv_bytes("6,2,302,张三,,,"), "b6.csv", id_key=key, remove="all")
    assert everyone.counts()["residents"]["removed"] == 2
    nobody = plan_import(master, csv_bytes("7,1,101,钱七,,,"), "b7.csv", id_key=key, remove="none")
    assert nobody.counts()["residents"] == {"added": 1, "changed": 0, "removed": 0}


def test_every_problem_by_row_in_chinese_and_nothing_applied(master, key):
    bad_month = id_number("11010519901301002")
    bad_check = ID1[:17] + ("0" if ID1[17] != "0" else "1")
    roster = csv_bytes("5,1,101,王小山,,,", f"5,1,102,李红,,{bad_check},", "东区,,,张三,,,",
                       f"5,1,103,赵六,,{bad_month},", "5,1,104,,,,")
    preview = plan_import(master, roster, "roster.csv", id_key=key)
    rows = {p.row: str(p) for p in preview.problems}
    assert sorted(rows) == [3, 4, 5, 6]
    assert rows[3].startswith("第 3 行：身份证号校验位不对")
    assert rows[4].startswith("第 4 行：") and "地址“东区”无法识别" in rows[4]
    assert rows[5].startswith("第 5 行：身份证号中的出生日期不存在")
    assert rows[6].startswith("第 6 行：姓名为空")
    with pytest.raises(RosterError):
        apply_import(master, preview, actor="li")
    assert master.version == 0 and master.counts()["residents"] == 0


def test_lower_case_x_is_accepted(master, key):
    with_x = next(n for n in (id_number(f"11010519900101{i:03d}") for i in range(300)) if n.endswith("X"))
    preview = plan_import(master, csv_bytes(f"5,1,101,王小山,,{with_x.lower()},"), "r.csv", id_key=key)
    assert preview.ok and preview.residents.added[0]["id_masked"].endswith("X")


def test_a_stale_preview_is_refused(master, key):
    preview = plan_import(master, FIRST, "roster.csv", id_key=key)
    master.upsert("households", {"id": 99, "building": "9", "unit": "9", "room": "909", "note": ""})
    with pytest.raises(StalePreviewError) as caught:
        apply_import(master, preview, actor="li")
    assert "请重新上传预览" in str(caught.value) and master.version == 1 and master.counts()["residents"] == 0


def test_a_failing_change_applies_nothing(master, key):
    preview = plan_import(master, FIRST, "roster.csv", id_key=key)
    preview.changes.append({"op": "upsert", "table": "no_such_table", "row": {"id": 1}})
    with pytest.raises(Exception):  # noqa: B017 - whatever the registry raises, nothing of the roster stays
        apply_import(master, preview, actor="li")
    assert master.version == 0 and master.counts()["residents"] == 0 and master.counts()["households"] == 0


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_encodings(master, key, encoding):
    preview = plan_import(master, csv_bytes("5号楼,1单元,101室,王小山,,,", encoding=encoding), "r.csv", id_key=key)
    assert preview.ok and preview.residents.added[0]["name"] == "王小山"


def test_xlsx_upload_and_unreadable_file(master, key, tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["楼栋", "单元", "房间号", "姓名"])
    book.active.append(["5号楼", "1单元", "101室", "王小山"])
    book.save(tmp_path / "r.xlsx")
    preview = plan_import(master, (tmp_path / "r.xlsx").read_bytes(), "r.xlsx", id_key=key)
    assert preview.ok and preview.addresses == [{"row": 2, "label": "5-1-101"}]
    broken = plan_import(master, b"PK\x03\x04garbage", "r.xlsx", id_key=key)
    assert not broken.ok and broken.problems[0].row == 0 and ".xlsx" in broken.problems[0].message
    assert not plan_import(master, b"x", "r.pdf", id_key=key).ok


def test_cli_dry_run_prints_the_preview(tmp_path):
    from click.testing import CliRunner

    from kiosk.cli.officecmd import office
    from kiosk.keys import init_keys

    init_keys(tmp_path / "keys")
    config = tmp_path / "office.yaml"
    config.write_text(f"office:\n  data_dir: {tmp_path / 'data'}\n  keys_dir: {tmp_path / 'keys'}\n", encoding="utf-8")
    roster = tmp_path / "r.csv"
    roster.write_bytes(FIRST)
    dry = CliRunner().invoke(office, ["import-roster", str(roster), "--config", str(config), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "+3 added" in dry.output and "第 2 行 5-1-101" in dry.output and "dry run" in dry.output
    with RegistryMaster(tmp_path / "data" / "registry.db") as registry:
        assert registry.version == 0
    real = CliRunner().invoke(office, ["import-roster", str(roster), "--config", str(config), "--json"])
    assert real.exit_code == 0 and json.loads(real.output)["version"] == 1
    roster.write_bytes(csv_bytes("5,1,101,,,,"))
    bad = CliRunner().invoke(office, ["import-roster", str(roster), "--config", str(config), "--dry-run"])
    assert bad.exit_code == 2 and "第 2 行：姓名为空" in bad.output and "nothing imported" in bad.output


def test_find_household_takes_any_spelling(master, key):
    from kiosk.office.admin import AdminError, find_household

    apply_import(master, plan_import(master, FIRST, "roster.csv", id_key=key), actor="li")
    for text in ("5-1-101", "5号楼1单元101室", "5/1/101", "５－１－１０１", "5栋1单元101"):
        assert find_household(master, text)["room"] == "101"
    with pytest.raises(AdminError):
        find_household(master, "东区")


# -- compounds (小区) ---------------------------------------------------------------------------------------------

COMPOUND_HEADER = "楼栋,单元,房间号,姓名,小区\n"


def compound_csv(*lines: str, header: str = COMPOUND_HEADER) -> bytes:
    return (header + "".join(line + "\n" for line in lines)).encode("utf-8-sig")


WITH_COMPOUNDS = compound_csv("5,1,101,王小山,东苑", "5,1,101,李红,", '6,2,302,张三,"西苑  \n 二期"')


def _compounds(master) -> dict[str, str | None]:
    return {f"{h['building']}-{h['unit']}-{h['room']}": h["compound"] for h in master.snapshot()["households"]}


def test_new_households_get_the_roster_compound(master, key):
    preview = plan_import(master, WITH_COMPOUNDS, "roster.csv", id_key=key)
    assert preview.ok, preview.problems
    # a cell on two lines is one line with one space; 李红's empty cell is not a second compound
    assert [(h["label"], h["compound"]) for h in preview.households.added] == [("5-1-101", "东苑"),
                                                                                ("6-2-302", "西苑 二期")]
    apply_import(master, preview, actor="li")
    assert _compounds(master) == {"5-1-101": "东苑", "6-2-302": "西苑 二期"}
    # every header spelling of the column is read
    for header in ("小区名称", "院落", "Compound"):
        again = plan_import(master, compound_csv("5,1,101,王小山,东苑", header=f"楼栋,单元,房间号,姓名,{header}\n"),
                            "roster.csv", id_key=key, remove="none")
        assert again.ok and not again.changes and not again.ignored_columns


def test_a_changed_compound_is_a_changed_household_and_applied(master, key):
    apply_import(master, plan_import(master, WITH_COMPOUNDS, "roster.csv", id_key=key), actor="li")
    moved = compound_csv("5,1,101,王小山,北苑", "5,1,101,李红,北苑", "6,2,302,张三,西苑 二期")
    preview = plan_import(master, moved, "roster.csv", id_key=key)
    assert preview.ok, preview.problems
    assert preview.counts()["households"] == {"added": 0, "changed": 1, "removed": 0}  # once, though on two rows
    assert preview.counts()["residents"] == {"added": 0, "changed": 0, "removed": 0}
    assert preview.households.changed == [{"row": 2, "label": "5-1-101", "compound": "北苑",
                                           "was": {"compound": "东苑"}, "fields": ["compound"]}]
    assert preview.summary.households_updated == 1
    assert _compounds(master)["5-1-101"] == "东苑"  # shown before it is applied
    version = apply_import(master, preview, actor="li")
    assert version == master.version == 2
    assert _compounds(master) == {"5-1-101": "北苑", "6-2-302": "西苑 二期"}
    assert not plan_import(master, moved, "roster.csv", id_key=key).changes  # importing it again changes nothing


def test_a_household_without_a_compound_gets_one_as_a_change(master, key):
    apply_import(master, plan_import(master, FIRST, "roster.csv", id_key=key), actor="li")  # no 小区 column
    assert set(_compounds(master).values()) == {None}
    preview = plan_import(master, compound_csv("6,2,302,张三,西苑"), "b6.csv", id_key=key)
    assert preview.ok and preview.households.changed[0]["was"] == {"compound": ""}
    apply_import(master, preview, actor="li")
    assert _compounds(master) == {"5-1-101": None, "6-2-302": "西苑"}


def test_a_roster_without_the_column_keeps_every_compound(master, key):
    apply_import(master, plan_import(master, WITH_COMPOUNDS, "roster.csv", id_key=key), actor="li")
    without = compound_csv("5,1,101,王小山", "5,1,101,李红", "6,2,302,张三,", header="楼栋,单元,房间号,姓名\n")
    preview = plan_import(master, without, "roster.csv", id_key=key)
    assert preview.ok and preview.counts()["households"]["changed"] == 0 and not preview.changes
    # empty 小区 cells are not a compound either: nothing is cleared
    blank = plan_import(master, compound_csv("5,1,101,王小山,", "5,1,101,李红,", "6,2,302,张三,"), "r.csv", id_key=key)
    assert blank.ok and not blank.changes
    # a change of something else rewrites the household row as it is, compound kept
    phone = plan_import(master, csv_bytes("5,1,101,王小山,13812345678,,", "5,1,101,李红,,,", "6,2,302,张三,,,"),
                        "r.csv", id_key=key)
    apply_import(master, phone, actor="li")
    assert _compounds(master) == {"5-1-101": "东苑", "6-2-302": "西苑 二期"}


def test_one_household_in_two_compounds_is_a_row_problem(master, key):
    roster = compound_csv("5,1,101,王小山,东苑", "5号楼,1单元,101室,李红,西苑", "5,1,102,赵六,西苑")
    preview = plan_import(master, roster, "roster.csv", id_key=key)
    assert [p.row for p in preview.problems] == [3]  # the same household however it is spelt
    message = str(preview.problems[0])
    assert message.startswith("第 3 行：同一户出现两个小区") and "5-1-101" in message and "第 2 行" in message
    assert "东苑" in message and "西苑" in message
    with pytest.raises(RosterError):
        apply_import(master, preview, actor="li")
    assert master.version == 0


def test_an_over_long_compound_is_a_row_problem(master, key):
    from kiosk.office.roster import MAX_COMPOUND_CHARS

    fits = "苑" * MAX_COMPOUND_CHARS
    preview = plan_import(master, compound_csv(f"5,1,101,王小山,{fits}", f"5,1,102,李红,{fits}苑"), "r.csv", id_key=key)
    assert [p.row for p in preview.problems] == [3]
    message = str(preview.problems[0])
    assert message.startswith("第 3 行：第 5 列（小区）的小区名称超过 40 个字符") and "column 5" in message
    assert not preview.ok


def test_gates_never_get_the_compound(master, key):
    apply_import(master, plan_import(master, WITH_COMPOUNDS, "roster.csv", id_key=key), actor="li")
    moved = compound_csv("5,1,101,王小山,北苑", "5,1,101,李红,北苑", "6,2,302,张三,西苑 二期")
    apply_import(master, plan_import(master, moved, "roster.csv", id_key=key), actor="li")
    office = master.changes_since(0)
    assert any("compound" in c.get("row", {}) for c in office if c["table"] == "households")  # the office keeps it
    gate = master.gate_changes_since(0)
    households = [c for c in gate if c["table"] == "households"]
    assert len(households) == 3 and all("compound" not in c["row"] for c in households)
    assert "东苑" not in json.dumps(gate, ensure_ascii=False) and "北苑" not in json.dumps(gate, ensure_ascii=False)
    assert all("compound" not in h for h in master.gate_snapshot()["households"])
