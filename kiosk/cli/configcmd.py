"""``kiosk config``: check a configuration file before starting a gate or the office."""

from __future__ import annotations

import click

from kiosk.cli.common import clean_errors, print_json
from kiosk.config import GateConfig, OfficeConfig
from kiosk.config.loader import load_settings


@click.group()
def config() -> None:
    """Check configuration files."""


@config.command("check")
@click.argument("path", type=click.Path(dir_okay=False), default=None, required=False)
@click.option("--office", "is_office", is_flag=True, help="Check an office.yaml instead of a gate's config.yaml.")
@click.option("--json", "as_json", is_flag=True, help="Print the full settings, defaults filled in, as JSON.")
def check(path: str | None, is_office: bool, as_json: bool) -> None:
    """Validate PATH (default config.yaml, or office.yaml with --office); exit 2 listing every problem."""
    model = OfficeConfig if is_office else GateConfig
    path = path or ("office.yaml" if is_office else "config.yaml")
    with clean_errors():
        settings = load_settings(path, model)
    if as_json:
        print_json(settings.model_dump(mode="json"))
    else:
        click.echo(f"{path}: ok")
