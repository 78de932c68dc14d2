"""Writes docs/cli.md from the commands' own help, so the reference can never drift from the code.

Run ``python -m kiosk.cli.docs > docs/cli.md``; a test fails when the file is stale.
"""

from __future__ import annotations

from typing import Any

import click

from kiosk.cli import main

# A fixed width, so the file does not depend on the terminal it was made in.
_WIDTH: dict[str, Any] = {"terminal_width": 88, "max_content_width": 88}


def _walk(command: click.Command, path: list[str], ctx: click.Context):
    yield path, command, ctx
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _walk(sub, path + [name], click.Context(sub, info_name=name, parent=ctx, **_WIDTH))


def render() -> str:
    """The whole CLI reference as Markdown: one section per command with its ``--help``."""
    root = click.Context(main, info_name="kiosk", **_WIDTH)
    parts = [
        "# `kiosk` command reference\n",
        "Generated from the commands' own help by `python -m kiosk.cli.docs > docs/cli.md`.",
        "Exit codes everywhere: 0 success, 1 a negative result (card rejected, a check failed), 2 usage or configuration error.\n",
    ]
    for path, command, ctx in _walk(main, ["kiosk"], root):
        title = " ".join(path)
        parts.append(f"## {title}\n\n```\n{command.get_help(ctx).rstrip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    click.echo(render(), nl=False)
