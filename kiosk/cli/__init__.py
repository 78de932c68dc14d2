"""The ``kiosk`` command: one entry point, each command a thin layer over a library call.

Exit codes: 0 success, 1 a negative result (card rejected, a check failed),
2 usage or configuration error.

Command groups are imported only when used (click's lazy-loading pattern), so
``kiosk cards verify`` does not pay for Flask or the camera stack on a Pi.
"""

from __future__ import annotations

import importlib

import click

from kiosk import __version__

# command name → "module:attribute" of its click command or group
COMMANDS = {
    "keys": "kiosk.cli.keys:keys",
    "cards": "kiosk.cli.cards:cards",
    "config": "kiosk.cli.configcmd:config",
    "journal": "kiosk.cli.journalcmd:journal",
    "migrate": "kiosk.cli.upgrade:migrate",
    "demo": "kiosk.cli.demo:demo",
    "calibrate": "kiosk.cli.calibrate:calibrate",
    "decode": "kiosk.cli.decode:decode",
    "doctor": "kiosk.cli.doctor:doctor",
    "office": "kiosk.cli.officecmd:office",
    "run": "kiosk.cli.run:run",
    "upgrade": "kiosk.cli.upgrade:upgrade",
    "voice": "kiosk.cli.voice:voice",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def __init__(self, *args, lazy: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attribute = self.lazy[name].split(":")
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, lazy=COMMANDS)
@click.version_option(__version__, prog_name="kiosk")
def main() -> None:
    """Checkpoint gate kiosk: entry cards, temperature screening and the gate ledger."""
