"""``kiosk keys`` and ``kiosk cards`` from the command line: output, --json shapes and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from click.testing import CliRunner

from kiosk.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_keys_init_show_rotate(tmp_path):
    keys = tmp_path / "keys"
    result = run("keys", "init", "--dir", keys)
    assert result.exit_code == 0 and "signing key" in result.output and "no office registry changed" in result.output
    again = run("keys", "init", "--dir", keys)
    assert again.exit_code == 2 and "refusing to overwrite" in again.output and "Traceback" not in again.output
    shown = run("keys", "show", "--keyset", keys / "keyset.json", "--json")
    assert shown.exit_code == 0 and len(json.loads(shown.output)["keys"]) == 1
    rotated = run("keys", "rotate", "--dir", keys, "--json")
    assert rotated.exit_code == 0 and json.loads(rotated.output)["registry"] is None
    kids = json.loads(rotated.output)["kids"]
    assert len(run("keys", "show", "--keyset", keys / "keyset.json").output.splitlines()) == 2
    current = json.loads(rotated.output)["kid"]
    refused = run("keys", "retire", current, "--dir", keys)
    assert refused.exit_code == 2 and "kiosk keys rotate" in refused.output
    old = next(kid for kid in kids if kid != current)
    retired = run("keys", "retire", old.lower(), "--dir", keys)
    assert retired.exit_code == 0 and f"key {old} retired" in retired.output
    assert json.loads(run("keys", "show", "--keyset", keys / "keyset.json", "--json").output)["keys"][0]["kid"] == current
    unknown = run("keys", "retire", old, "--dir", keys)
    assert unknown.exit_code == 2 and f"no key {old}" in unknown.output


def test_issue_and_verify(tmp_path):
    keys = tmp_path / "keys"
    run("keys", "init", "--dir", keys)
    issued = run("cards", "issue", "--keys", keys, "--kind", "resident", "--subject", 12, "--card-id", 77,
                 "--valid-from", "2026-01-01", "--valid-until", "2026-12-31", "--svg", tmp_path / "c.svg", "--json")
    assert issued.exit_code == 0, issued.output
    data = json.loads(issued.output)
    assert data["card"]["card_id"] == 77 and (tmp_path / "c.svg").exists()
    text = data["text"]
    ok = run("cards", "verify", text, "--keyset", keys / "keyset.json", "--at", "2026-06-01T09:00", "--json")
    assert ok.exit_code == 0
    assert json.loads(ok.output) == {"valid": True, "reason": None, "card": data["card"]}
    expired = run("cards", "verify", text, "--keyset", keys / "keyset.json", "--at", "2027-01-01T00:00")
    assert expired.exit_code == 1 and expired.output.startswith("rejected: expired")
    human = run("cards", "verify", text, "--keyset", keys / "keyset.json", "--at", "2026-06-01")
    assert human.exit_code == 0 and human.output.startswith("valid: resident card 77")


def test_verify_checks_revocation_in_a_registry(tmp_path):
    from kiosk.registry import Registry

    keys = tmp_path / "keys"
    run("keys", "init", "--dir", keys)
    text = run("cards", "issue", "--keys", keys, "--kind", "resident", "--subject", 1, "--card-id", 5).output.strip()
    with Registry(tmp_path / "registry.db") as registry:
        registry.apply_changes([{"op": "upsert", "table": "revocations", "row": {"card_id": 5}}], from_version=0, to_version=1)
    result = run("cards", "verify", text, "--keyset", keys / "keyset.json", "--registry", tmp_path / "registry.db", "--json")
    assert result.exit_code == 1 and json.loads(result.output)["reason"] == "revoked"


def test_usage_errors_exit_2(tmp_path):
    keys = tmp_path / "keys"
    run("keys", "init", "--dir", keys)
    keyset = keys / "keyset.json"
    cases = [
        ("cards", "issue", "--keys", keys, "--kind", "tourist", "--subject", 1),
        ("cards", "issue", "--keys", keys, "--kind", "resident", "--subject", -1),
        ("cards", "issue", "--keys", keys, "--kind", "resident", "--subject", 1, "--valid-from", "yesterday"),
        ("cards", "issue", "--keys", keys, "--kind", "resident", "--subject", 1, "--png", tmp_path / "a.png", "--svg", tmp_path / "a.svg"),
        ("cards", "issue", "--keys", tmp_path / "nokeys", "--kind", "resident", "--subject", 1),
        ("cards", "issue", "--keys", keys, "--kind", "resident", "--subject", 1, "--valid-from", "2026-02-01", "--valid-until", "2026-01-01"),
        ("cards", "verify", "GK1:X", "--keyset", tmp_path / "missing.json"),
        ("cards", "verify", "GK1:X", "--keyset", keyset, "--at", "soon"),
        ("cards", "verify", "GK1:X", "--keyset", keyset, "--tz", "Mars/Base"),
        ("cards", "verify"),
    ]
    for args in cases:
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output


def test_installed_command_end_to_end(tmp_path):
    """The real console entry point in a subprocess: init → issue --png → verify; tampered → exit 1."""
    cmd = [sys.executable, "-m", "kiosk.cli"]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}

    def sh(*args):
        return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, env=env, timeout=60)

    keys = tmp_path / "keys"
    assert sh("keys", "init", "--dir", keys).returncode == 0
    issued = sh("cards", "issue", "--keys", keys, "--kind", "visitor", "--subject", 3, "--png", tmp_path / "card.png")
    assert issued.returncode == 0 and (tmp_path / "card.png").stat().st_size > 0
    text = issued.stdout.strip()
    assert sh("cards", "verify", text, "--keyset", keys / "keyset.json").returncode == 0
    tampered = text[:30] + ("A" if text[30] != "A" else "B") + text[31:]
    rejected = sh("cards", "verify", tampered, "--keyset", keys / "keyset.json", "--json")
    assert rejected.returncode == 1 and json.loads(rejected.stdout)["valid"] is False
