"""``kiosk keys`` against an office: every key change is a registry version, which is how gates learn it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kiosk.cli import main
from kiosk.keys import KEYSET_FILE, load_keyset
from kiosk.office.registry_master import RegistryMaster


@pytest.fixture
def office_yaml(tmp_path):
    path = tmp_path / "office.yaml"
    path.write_text(f"office: {{data_dir: {tmp_path / 'data'}, keys_dir: {tmp_path / 'keys'}}}\n", encoding="utf-8")
    return path


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def registry_kids(tmp_path) -> list[str]:
    with RegistryMaster(tmp_path / "data" / "registry.db") as master:
        return master.keyset().kids


def test_init_rotate_retire_change_the_registry_the_gates_sync_from(office_yaml, tmp_path):
    init = run("keys", "init", "--config", office_yaml, "--json")
    assert init.exit_code == 0, init.output
    first = json.loads(init.output)
    assert first["version"] == 1 and first["kids"] == [first["kid"]] == registry_kids(tmp_path)
    assert (tmp_path / "keys" / KEYSET_FILE).exists()

    rotated = json.loads(run("keys", "rotate", "--config", office_yaml, "--json").output)
    assert rotated["version"] == 2 and sorted(registry_kids(tmp_path)) == sorted([first["kid"], rotated["kid"]])

    human = run("keys", "retire", first["kid"], "--config", office_yaml)
    assert human.exit_code == 0 and "office registry version 3" in human.output
    assert registry_kids(tmp_path) == [rotated["kid"]] == load_keyset(tmp_path / "keys" / KEYSET_FILE).kids

    again = run("keys", "publish", "--config", office_yaml)
    assert again.exit_code == 0 and "already trusts exactly these keys" in again.output


def test_publish_repairs_a_key_folder_made_without_the_office(office_yaml, tmp_path):
    assert run("keys", "init", "--dir", tmp_path / "keys").exit_code == 0
    assert not (tmp_path / "data").exists()  # --dir alone touches no office
    published = json.loads(run("keys", "publish", "--config", office_yaml, "--json").output)
    assert published["version"] == 1 and registry_kids(tmp_path) == [published["kid"]]


def test_the_current_key_cannot_be_retired_and_dir_must_match_the_config(office_yaml, tmp_path):
    kid = json.loads(run("keys", "init", "--config", office_yaml, "--json").output)["kid"]
    refused = run("keys", "retire", kid, "--config", office_yaml)
    assert refused.exit_code == 2 and "kiosk keys rotate" in refused.output and "Traceback" not in refused.output
    assert registry_kids(tmp_path) == [kid]
    other = run("keys", "rotate", "--config", office_yaml, "--dir", tmp_path / "elsewhere")
    assert other.exit_code == 2 and "office.keys_dir" in other.output
    same = run("keys", "rotate", "--config", office_yaml, "--dir", tmp_path / "keys")
    assert same.exit_code == 0 and len(registry_kids(tmp_path)) == 2


def test_missing_office_config_is_a_clear_error(tmp_path):
    result = run("keys", "init", "--config", tmp_path / "nope.yaml")
    assert result.exit_code == 2 and "nope.yaml" in result.output and "Traceback" not in result.output
