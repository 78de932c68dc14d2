"""Every command is documented: docs/cli.md is the commands' own help, regenerated and compared."""

from __future__ import annotations

from click.testing import CliRunner

from kiosk.cli import COMMANDS, main
from kiosk.cli.docs import render


def test_cli_reference_is_current(repo):
    current = (repo / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == render(), "docs/cli.md is stale: run  .venv/bin/python -m kiosk.cli.docs > docs/cli.md"


def test_every_command_has_help_and_a_section(repo):
    text = (repo / "docs" / "cli.md").read_text(encoding="utf-8")
    runner = CliRunner()
    for name in COMMANDS:
        assert f"## kiosk {name}\n" in text
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, result.output


def test_top_level_help_lists_everything():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output
