"""``kiosk office screening``: start, mark, coverage, missing, close against a real office.db and registry.db."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kiosk.cli.officecmd import office
from kiosk.office import audit
from kiosk.office.registry_master import RegistryMaster
from kiosk.office.store import OfficeStore

HOUSES = [("5", "1", "101"), ("5", "1", "102"), ("12", "2", "301")]


@pytest.fixture
def config(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    with RegistryMaster(data / "registry.db") as master:
        master.change([{"op": "upsert", "table": "households",
                        "row": {"id": i, "building": b, "unit": u, "room": r, "note": ""}}
                       for i, (b, u, r) in enumerate(HOUSES, 1)])
    path = tmp_path / "office.yaml"
    path.write_text(f"office:\n  name: 幸福里社区\n  data_dir: {data}\n  keys_dir: {tmp_path / 'keys'}\n",
                    encoding="utf-8")
    return path


def run(config, *args):
    return CliRunner().invoke(office, ["screening", *[str(a) for a in args], "--config", str(config)])


def test_a_round_from_start_to_close(config):
    started = run(config, "start", "第一轮排查", "--by", "李主任")
    assert started.exit_code == 0, started.output
    assert "开始第 1 轮：第一轮排查" in started.output
    marked = run(config, "mark", "5号楼1单元101室", "--outcome", "visited", "--by", "赵志愿", "--note", "家中 3 人",
                 "--back-from-elsewhere")
    assert marked.exit_code == 0, marked.output
    assert "5-1-101：已入户，外地返回" in marked.output
    phone = run(config, "mark", "12-2-301", "--outcome", "not_reached", "--json")
    assert phone.exit_code == 0 and json.loads(phone.output)["outcome"] == "not_reached"

    cover = json.loads(run(config, "coverage", "--json").output)
    assert cover["totals"]["households"] == 3 and cover["totals"]["visited"] == 1
    assert cover["compounds"][0]["compound"] == "幸福里社区"  # no gates, no compounds: the office's name
    assert [b["building"] for b in cover["compounds"][0]["buildings"]] == ["5", "12"]
    table = run(config, "coverage")
    assert table.exit_code == 0 and "5号楼" in table.output and "合计" in table.output and "33.3" in table.output

    missing = run(config, "missing")
    assert missing.exit_code == 0
    assert missing.stdout.splitlines() == ["幸福里社区  5-1-102  未排查", "幸福里社区  12-2-301  未联系上"]
    assert "未排查到 2 户" in missing.stderr
    assert [r["household"] for r in json.loads(run(config, "missing", "--json").stdout)] == ["5-1-102", "12-2-301"]

    closed = run(config, "close", "--by", "李主任")
    assert closed.exit_code == 0 and "第 1 轮已结束" in closed.output and "覆盖 33.3%" in closed.output
    store = OfficeStore(config.parent / "data" / "office.db")
    actions = [e["action"] for e in audit.search(store, action="screening.").entries]
    assert actions == ["screening.round_closed", "screening.marked", "screening.marked", "screening.round_started"]


def test_bad_input_gets_one_clear_line(config):
    no_round = run(config, "mark", "5-1-101", "--outcome", "visited")
    assert no_round.exit_code == 2 and "没有进行中的排查轮次" in no_round.output and "Traceback" not in no_round.output
    assert run(config, "start", "甲").exit_code == 0
    twice = run(config, "start", "乙")
    assert twice.exit_code == 2 and "还在进行中" in twice.output
    unknown = run(config, "mark", "9-9-999", "--outcome", "visited")
    assert unknown.exit_code == 2 and "登记册中没有住户" in unknown.output
    bad = run(config, "mark", "5-1-101", "--outcome", "maybe")
    assert bad.exit_code == 2 and "visited" in bad.output
    long_note = run(config, "mark", "5-1-101", "--outcome", "visited", "--note", "长" * 300)
    assert long_note.exit_code == 2 and "备注最多 200 字" in long_note.output
    no_round_number = run(config, "coverage", "--round", "7")
    assert no_round_number.exit_code == 2 and "没有第 7 轮排查" in no_round_number.output


def test_no_registry(tmp_path):
    path = tmp_path / "office.yaml"
    path.write_text(f"office:\n  data_dir: {tmp_path / 'nothing'}\n", encoding="utf-8")
    result = run(path, "coverage")
    assert result.exit_code == 2 and "没有登记册" in result.output
