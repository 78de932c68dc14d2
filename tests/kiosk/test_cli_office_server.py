"""``kiosk office add-gate|revoke-gate|add-user|gates``: provisioning files, tokens shown once, clean errors."""

from __future__ import annotations

import json
import stat

import pytest
from click.testing import CliRunner

from kiosk.cli import main
from kiosk.keys import init_keys
from kiosk.office.store import OfficeStore
from kiosk.provisioning import ProvisioningError, read_provisioning


@pytest.fixture
def office_yaml(tmp_path):
    init_keys(tmp_path / "keys")
    path = tmp_path / "office.yaml"
    path.write_text(f"office: {{data_dir: {tmp_path / 'data'}, keys_dir: {tmp_path / 'keys'}}}\n"
                    "server: {public_url: 'http://127.0.0.1:8443'}\n", encoding="utf-8")
    return path


def run(*args, **kw):
    return CliRunner().invoke(main, [str(a) for a in args], **kw)


def test_add_gate_writes_a_private_provisioning_file_and_the_token_works(office_yaml, tmp_path):
    out = tmp_path / "north.json"
    result = run("office", "add-gate", "north", "--config", office_yaml, "--name", "北门", "--out", out)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    document = read_provisioning(out)
    assert document["office_url"] == "http://127.0.0.1:8443" and document["gate_id"] == "north"
    assert document["token"] in result.output  # shown once
    store = OfficeStore(tmp_path / "data" / "office.db")
    assert store.authenticate(document["token"]).name == "north"
    again = run("office", "add-gate", "north", "--config", office_yaml, "--out", out)
    assert again.exit_code == 2 and "already exists" in again.output
    assert run("office", "revoke-gate", "north", "--config", office_yaml).exit_code == 0
    assert store.authenticate(document["token"]) is None
    listed = json.loads(run("office", "gates", "--config", office_yaml, "--json").output)
    assert listed["gates"][0]["revoked"] is True


def test_add_gate_usage_errors(office_yaml, tmp_path):
    assert run("office", "add-gate", "North Gate", "--config", office_yaml).exit_code == 2
    bare = tmp_path / "bare.yaml"
    bare.write_text(f"office: {{data_dir: {tmp_path / 'd2'}, keys_dir: {tmp_path / 'keys'}}}\n")
    result = run("office", "add-gate", "east", "--config", bare, "--out", tmp_path / "e.json")
    assert result.exit_code == 2 and "--url" in result.output
    assert run("office", "revoke-gate", "nobody", "--config", office_yaml).exit_code == 2


def test_add_user(office_yaml, tmp_path):
    result = run("office", "add-user", "li", "--config", office_yaml, "--role", "admin", input="s3cret pass\ns3cret pass\n")
    assert result.exit_code == 0 and "staff_" in result.output
    store = OfficeStore(tmp_path / "data" / "office.db")
    assert store.check_password("li", "s3cret pass").role == "admin"


def test_provisioning_reader_errors(tmp_path):
    with pytest.raises(ProvisioningError, match="add-gate"):
        read_provisioning(tmp_path / "missing.json")
    (tmp_path / "x.json").write_text('{"format": "other"}')
    with pytest.raises(ProvisioningError, match="not a gate provisioning file"):
        read_provisioning(tmp_path / "x.json")
