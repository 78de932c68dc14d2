"""``kiosk office disinfection add|today``: a round recorded on the command line, the day per compound (with the
gates' rounds), clear one-line errors and nothing stored on bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from kiosk.cli.officedisinfection import disinfection
from kiosk.office.queries.gates import set_gate_compound
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore


@pytest.fixture
def env(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    config = tmp_path / "office.yaml"
    config.write_text(f"office:\n  name: 昆吾社区\n  data_dir: {data}\n  keys_dir: {tmp_path / 'keys'}\n"
                      "followup:\n  disinfection_rounds_per_day: 2\n", encoding="utf-8")
    store, master = OfficeStore(data / "office.db"), RegistryMaster(data / "registry.db")
    master.change([{"op": "upsert", "table": "households", "row": {"id": 1, "building": "5", "unit": "1", "room": "101",
                                                                      "compound": "东苑"}}])
    store.add_gate("north", "北门")
    set_gate_compound(store, "north", "东苑")
    yield store, config
    store.close()


def run(config, *args):
    return CliRunner().invoke(disinfection, [str(a) for a in args] + ["--config", str(config)])


def test_add_then_today_counts_it_with_a_gates_round(env):
    store, config = env
    now = datetime.now(UTC)
    store.ingest("north", [{"seq": 1, "id": "n1", "ts": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
                            "gate_id": "north", "volunteer_id": None, "kind": "disinfection", "subject": None,
                            "household_id": None, "data": {"area": "gate", "agent": "alcohol", "note": ""}}])
    added = run(config, "add", "--compound", "东苑", "--area", "stairwells", "--agent", "chlorine", "--by", "保洁 张师傅",
                "--json")
    assert added.exit_code == 0, added.output
    row = json.loads(added.output)
    assert row["compound"] == "东苑" and row["recorded_by"].startswith("cli:")
    shown = run(config, "today")
    assert shown.exit_code == 0 and "东苑: 2/2  已完成" in shown.output
    assert "楼道  含氯消毒液  保洁 张师傅  (办公室)" in shown.output and "卡口及出入口  75%酒精" in shown.output
    as_json = json.loads(run(config, "today", "--json").output)
    [east] = as_json["compounds"]
    assert (east["rounds"], east["done"]) == (2, True)
    assert sorted(e["source"] for e in east["entries"]) == ["gate", "office"]


def test_a_day_with_a_missing_round_says_so(env):
    store, config = env
    assert run(config, "add", "--compound", "东苑", "--area", "3号楼楼道", "--agent", "alcohol", "--by", "李",
               "--note", "补做").exit_code == 0
    shown = run(config, "today")
    assert shown.exit_code == 0 and "东苑: 1/2  缺 1 次 / 1 missing" in shown.output and "3号楼楼道" in shown.output
    shown = run(config, "today", "--day", "2020-01-01")
    assert shown.exit_code == 0 and "东苑: 0/2  缺 2 次" in shown.output


@pytest.mark.parametrize("args, words", [
    (["--compound", "北苑", "--area", "gate", "--agent", "alcohol", "--by", "李"], "没有小区 '北苑'，可选：东苑"),
    (["--compound", "东苑", "--area", " ", "--agent", "alcohol", "--by", "李"], "消杀区域不能为空"),
    (["--compound", "东苑", "--area", "gate", "--agent", "alcohol", "--by", "李", "--at", "soon"], "08:30"),
    (["--compound", "东苑", "--area", "gate", "--agent", "alcohol", "--by", "李", "--at", "2999-01-01 08:00"],
     "不能晚于现在"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_stored(env, args, words):
    store, config = env
    result = run(config, "add", *args)
    assert result.exit_code == 2 and words in result.output and "Traceback" not in result.output
    assert store.database().execute("SELECT COUNT(*) FROM disinfection_rounds").fetchone()[0] == 0


def test_a_bad_day_and_a_missing_office_are_one_line(env, tmp_path):
    _, config = env
    result = run(config, "today", "--day", "2026-13-01")
    assert result.exit_code == 2 and "--day 须为日期" in result.output
    empty = tmp_path / "empty.yaml"
    empty.write_text(f"office:\n  data_dir: {tmp_path / 'nowhere'}\n", encoding="utf-8")
    result = run(empty, "today")
    assert result.exit_code == 2 and "没有办公室数据库" in result.output


def test_the_office_group_has_the_command(env):
    from kiosk.cli.officecmd import office

    _, config = env
    result = CliRunner().invoke(office, ["disinfection", "today", "--config", str(config)])
    assert result.exit_code == 0 and "东苑: 0/2" in result.output
