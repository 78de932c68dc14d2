"""``kiosk office`` registry commands: output, exit codes, nothing half-imported."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from kiosk.cards import verify_card
from kiosk.cli.officecmd import office
from kiosk.credentials import verify_secret
from kiosk.keys import load_keyset
from kiosk.office.registry_master import RegistryMaster
from tests.office_fixtures import office_folder, run_office

GOOD = [["楼栋", "单元", "房间号", "姓名", "手机号", "身份证号", "车牌号", "民族"],
        ["3", "2", "501", "王小山", "13812345678", "11010519491231002X", "京A12345", "汉"],
        ["3", "2", "501", "李红", "", "", "", "汉"]]


@pytest.fixture
def env(tmp_path):
    return office_folder(tmp_path)


run = run_office


def write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def version(tmp_path):
    with RegistryMaster(tmp_path / "data" / "registry.db") as master:
        return master.version


def test_import_then_reimport(env):
    tmp_path, config = env
    roster = write(tmp_path / "roster.csv", GOOD)
    dry = run(config, "import-roster", roster, "--dry-run", "--json")
    assert dry.exit_code == 0 and json.loads(dry.output)["residents_added"] == 2 and version(tmp_path) == 0
    first = run(config, "import-roster", roster)
    assert first.exit_code == 0 and "2 residents" in first.output and "ignored columns: 民族" in first.output
    again = run(config, "import-roster", roster, "--json")
    assert json.loads(again.output)["residents_unchanged"] == 2 and version(tmp_path) == 1
    assert b"11010519491231002X" not in (tmp_path / "data" / "registry.db").read_bytes()


def test_bad_rows_exit_2_nothing_imported(env):
    tmp_path, config = env
    bad = GOOD + [["3", "2", "502", "", "12ab", "110105194912310021", "", ""]]
    result = run(config, "import-roster", write(tmp_path / "bad.csv", bad))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "第 4 行：姓名为空" in result.output and "nothing imported" in result.output
    assert version(tmp_path) == 0
    as_json = run(config, "import-roster", tmp_path / "bad.csv", "--json")
    assert as_json.exit_code == 2 and json.loads(as_json.stdout)["problems"][0]["row"] == 4


def test_missing_file_and_bad_config(env, tmp_path):
    _, config = env
    missing = run(config, "import-roster", tmp_path / "nope.csv")
    assert missing.exit_code == 2 and "file not found" in missing.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("office:\n  colour: red\n", encoding="utf-8")
    result = run(bad, "quarantine", "list")
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_cards_quarantine_volunteers_visitors(env):
    tmp_path, config = env
    run(config, "import-roster", write(tmp_path / "roster.csv", GOOD))
    issued = run(config, "cards", "issue", "--resident", "3-2-501:王小山", "--json")
    assert issued.exit_code == 0, issued.output
    data = json.loads(issued.output)
    assert data["image"].endswith("3-2-501_王小山_card-1.png")
    keyset = load_keyset(tmp_path / "keys" / "keyset.json")
    from datetime import datetime
    assert verify_card(data["text"], keyset, datetime.now().astimezone()).valid
    assert run(config, "cards", "issue", "--vehicle", "京a12345").exit_code == 0
    assert run(config, "cards", "issue", "--resident", "1", "--vehicle", "x").exit_code == 2
    assert run(config, "cards", "revoke", "1", "--reason", "lost").exit_code == 0
    again = run(config, "cards", "revoke", "1", "--reason", "withdrawn")
    assert again.exit_code == 2 and "already revoked" in again.output
    assert run(config, "cards", "revoke", "2").exit_code == 2  # the reason is what the gate tells the holder
    assert run(config, "cards", "revoke", "2", "--reason", "遗失").exit_code == 2
    with RegistryMaster(tmp_path / "data" / "registry.db") as master:
        assert master.revocation(1)["reason"] == "lost" and not master.is_revoked(2)

    added = run(config, "quarantine", "add", "--household", "3-2-501", "--from", "2026-03-01", "--json")
    order = json.loads(added.output)["order"]
    assert (order["starts_on"], order["ends_on"]) == ("2026-03-01", "2026-03-14")
    listed = run(config, "quarantine", "list", "--all")
    assert "3-2-501 (whole household)" in listed.output
    ended = run(config, "quarantine", "end", str(order["id"]), "--on", "2026-03-05")
    assert ended.exit_code == 0 and "2026-03-04" in ended.output

    vol = run(config, "volunteers", "add", "张志愿", input="1234\n1234\n")
    assert vol.exit_code == 0, vol.output
    with RegistryMaster(tmp_path / "data" / "registry.db") as master:
        assert verify_secret("1234", master.volunteer(1)["pin_hash"])
    assert run(config, "volunteers", "add", "李", "--pin", "12").exit_code == 2

    visitor = run(config, "visitors", "add", "赵六", "--host", "3-2-501", "--phone", "13700001234",
                  "--from", "2026-03-01T09:00", "--until", "2026-03-01", "--json")
    assert visitor.exit_code == 0, visitor.output
    shown = json.loads(visitor.output)
    assert shown["pass"]["valid_until"] == "2026-03-01T23:59:00+08:00" and shown["pass"]["phone_masked"] == "137****1234"
    unknown = run(config, "visitors", "add", "x", "--host", "9-9-9")
    assert unknown.exit_code == 2 and "no household" in unknown.output


def test_group_lists_server_and_registry_commands():
    result = CliRunner().invoke(office, ["--help"])
    assert result.exit_code == 0
    for name in ("import-roster", "cards", "quarantine", "volunteers", "visitors", "serve", "add-gate", "gates"):
        assert name in result.output
    assert CliRunner().invoke(office, ["add-gate", "--help"]).exit_code == 0


def test_reissue_says_which_cards_it_revoked(env):
    tmp_path, config = env
    run(config, "import-roster", write(tmp_path / "roster.csv", GOOD))
    first = json.loads(run(config, "cards", "issue", "--resident", "3-2-501:王小山", "--json").output)
    assert first["revoked"] == []
    second = run(config, "cards", "issue", "--resident", "3-2-501:王小山")
    assert second.exit_code == 0 and "revoked (replaced): card 1 " in second.output
    spare = json.loads(run(config, "cards", "issue", "--resident", "3-2-501:王小山", "--keep-old", "--json").output)
    assert spare["revoked"] == []
    with RegistryMaster(tmp_path / "data" / "registry.db") as master:
        assert master.revocation(1)["reason"] == "replaced" and not master.is_revoked(2) and not master.is_revoked(3)
