"""``kiosk keys``: the office's card-signing key and the keyset gates trust.

With ``--config office.yaml`` (the default) the keys are in ``office.keys_dir``
and every change also goes into the office registry, which is how running
gates learn it at their next sync. ``--dir DIR`` alone works on a key folder
outside any office and leaves every registry alone.
"""

from __future__ import annotations

from pathlib import Path

import click

from kiosk.cli.common import clean_errors, fail, print_json
from kiosk.keys import KEYSET_FILE, PRIVATE_KEY_FILE, load_keyset

_CONFIG = click.option("--config", "config_path", default="office.yaml", show_default=True,
                       type=click.Path(dir_okay=False),
                       help="The office's config file: keys in office.keys_dir, the registry gates sync from in "
                            "office.data_dir.")
_DIR = click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
                    help="A key folder outside any office (private key 0600 + keyset.json); without --config no "
                         "registry is changed.")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


def _target(config_path: str, directory: Path | None):
    """(key folder, master registry or None) from --config / --dir: --dir alone means no office registry."""
    source = click.get_current_context().get_parameter_source("config_path")
    if directory is not None and source is not click.core.ParameterSource.COMMANDLINE:
        return directory, None
    from kiosk.config import load_office_config
    from kiosk.office.paths import OfficePaths
    from kiosk.office.registry_master import RegistryMaster

    paths = OfficePaths.of(load_office_config(config_path))
    if directory is not None and directory.resolve() != paths.keys_dir.resolve():
        fail(f"--dir {directory} is not office.keys_dir ({paths.keys_dir}) in {config_path}: the office signs "
             "cards with office.keys_dir; drop --dir or change office.keys_dir")
    try:
        paths.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"office.data_dir {paths.data_dir}: cannot create it: {exc.strerror or exc}; "
             "set office.data_dir in office.yaml to a folder you can write")
    return paths.keys_dir, RegistryMaster(paths.registry)


def _report(update, keys_dir: Path, master, as_json: bool) -> None:
    """Say where the keys are and whether (and from which registry version) gates trust them."""
    if as_json:
        print_json({**update.to_dict(), "keys_dir": str(keys_dir), "registry": str(master.path) if master else None})
        return
    click.echo(f"signing key {update.kid}; trusted keys: {', '.join(update.kids)}")
    if master is None:
        click.echo(f"key folder {keys_dir} only: no office registry changed (gates learn these keys from the "
                   "office registry: use --config office.yaml)")
    elif update.version is None:
        click.echo(f"the office registry already trusts exactly these keys ({master.path})")
    else:
        click.echo(f"office registry version {update.version}: running gates trust these keys after their next sync")


@click.group()
def keys() -> None:
    """Create, rotate, retire and show the card-signing keys.

    With --config (default office.yaml) every change also goes into the office registry: gates learn the keys by
    registry sync. --dir alone works on a key folder outside any office.
    """


@keys.command("init")
@_CONFIG
@_DIR
@_JSON
def init(config_path: str, directory: Path | None, as_json: bool) -> None:
    """Create the signing key and the public keyset (refuses to overwrite either) and trust it in the registry."""
    from kiosk.office.keyring import init_office_keys

    with clean_errors():
        keys_dir, master = _target(config_path, directory)
        update = init_office_keys(keys_dir, master)
    if not as_json:
        click.echo(f"private key  {keys_dir / PRIVATE_KEY_FILE}  (mode 0600 — keep it at the office, back it up offline)")
        click.echo(f"keyset       {keys_dir / KEYSET_FILE}  (goes into each gate's provisioning file)")
        if master is not None:
            from kiosk.office.personal_data import SEALING_KEY_FILE

            click.echo(f"sealing key  {master.path.parent / SEALING_KEY_FILE}  (mode 0600 — opens visitors' ID numbers; "
                       "never leaves the office, back it up offline; gates get only its public half)")
    _report(update, keys_dir, master, as_json)


@keys.command("rotate")
@_CONFIG
@_DIR
@_JSON
def rotate(config_path: str, directory: Path | None, as_json: bool) -> None:
    """Make a new signing key; the old one is retired but stays trusted, so printed cards keep verifying."""
    from kiosk.office.keyring import rotate_office_keys

    with clean_errors():
        keys_dir, master = _target(config_path, directory)
        update = rotate_office_keys(keys_dir, master)
    _report(update, keys_dir, master, as_json)


@keys.command("retire")
@click.argument("kid")
@_CONFIG
@_DIR
@_JSON
def retire(kid: str, config_path: str, directory: Path | None, as_json: bool) -> None:
    """Stop trusting key KID: gates refuse the cards it signed (unknown_key) after their next sync."""
    from kiosk.office.keyring import retire_office_key

    with clean_errors():
        keys_dir, master = _target(config_path, directory)
        update = retire_office_key(keys_dir, master, kid)
    if not as_json:
        click.echo(f"key {update.retired[0]} retired: cards it signed are refused from now on")
    _report(update, keys_dir, master, as_json)


@keys.command("publish")
@_CONFIG
@_JSON
def publish(config_path: str, as_json: bool) -> None:
    """Make the office registry trust exactly office.keys_dir's keyset (after a hand edit, or an older install)."""
    from kiosk.office.keyring import publish_office_keys

    with clean_errors():
        keys_dir, master = _target(config_path, None)
        update = publish_office_keys(keys_dir, master)
    _report(update, keys_dir, master, as_json)


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
