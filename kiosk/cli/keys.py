"""``kiosk keys``: the office's card-signing key and the keyset gates trust."""

from __future__ import annotations

from pathlib import Path

import click

from kiosk.cli.common import clean_errors, print_json
from kiosk.keys import KEYSET_FILE, PRIVATE_KEY_FILE, init_keys, load_keyset, rotate_keys

_DIR = click.option("--dir", "directory", required=True, type=click.Path(file_okay=False, path_type=Path),
                    help="The office's key folder (private key 0600 + keyset.json).")


@click.group()
def keys() -> None:
    """Create, rotate and show the card-signing keys."""


@keys.command("init")
@_DIR
def init(directory: Path) -> None:
    """Create the signing key and the public keyset in DIR; refuses to overwrite either."""
    with clean_errors():
        key = init_keys(directory)
    click.echo(f"key id {key.kid}")
    click.echo(f"private key  {directory / PRIVATE_KEY_FILE}  (mode 0600 — keep it at the office, back it up offline)")
    click.echo(f"keyset       {directory / KEYSET_FILE}  (copy to every gate)")


@keys.command("rotate")
@_DIR
def rotate(directory: Path) -> None:
    """Make a new signing key; the old one is retired but its cards keep verifying."""
    with clean_errors():
        key = rotate_keys(directory)
        kids = load_keyset(directory / KEYSET_FILE).kids
    click.echo(f"new key id {key.kid}; trusted keys: {', '.join(kids)}")
    click.echo(f"give every gate the new {directory / KEYSET_FILE}")


@keys.command("show")
@click.option("--keyset", "keyset_path", required=True, type=click.Path(dir_okay=False), help="A keyset.json file.")
@click.option("--json", "as_json", is_flag=True, help="Print the keyset document.")
def show(keyset_path: str, as_json: bool) -> None:
    """List the key ids a keyset trusts."""
    with clean_errors():
        keyset = load_keyset(keyset_path)
    if as_json:
        print_json(keyset.to_json())
        return
    for entry in keyset.to_json()["keys"]:
        click.echo(f"{entry['kid']}  {entry['alg']}  created {entry['created']}")
