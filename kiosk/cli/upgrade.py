"""``kiosk migrate`` and ``kiosk upgrade activate|rollback|status``: database migrations and release switches.

The library is kiosk.upgrade; docs/upgrade.md says how an upgrade runs and how to go back by hand.
"""

from __future__ import annotations

from pathlib import Path

import click

from kiosk.cli.common import EXIT_NEGATIVE, clean_errors, fail, print_json

_ROLE = click.option("--role", required=True, type=click.Choice(["gate", "office"]),
                     help="Which service: the gate (kiosk run) or the office (kiosk office serve).")
_CONFIG = click.option("--config", "config_path", type=click.Path(dir_okay=False),
                       help="The role's config file (default: /etc/kiosk/config.yaml or /etc/kiosk/office.yaml).")
_ROOT = click.option("--root", type=click.Path(file_okay=False, path_type=Path), default="/opt/kiosk",
                     show_default=True, help="The install root holding releases/, current and previous.")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


def _config(role: str, config_path: str | None) -> str:
    from kiosk.upgrade import DEFAULT_CONFIG

    return config_path or DEFAULT_CONFIG[role]


@click.command()
@_ROLE
@_CONFIG
@_JSON
def migrate(role: str, config_path: str | None, as_json: bool) -> None:
    """Run this version's database migrations on the role's databases (safe to run again: nothing new, no change).

    Stop the service first. Files that do not exist yet are left to the service, which makes them at its first
    start. Prints each database's migrations before and after.
    """
    from kiosk.upgrade import UpgradeError, role_setup
    from kiosk.upgrade import migrate as run_migrations

    with clean_errors():
        try:
            reports = run_migrations(role_setup(role, _config(role, config_path)))
        except UpgradeError as exc:
            fail(str(exc), EXIT_NEGATIVE)
    if as_json:
        print_json({"role": role, "databases": [report.to_dict() for report in reports]})
        return
    for report in reports:
        if not report.existed:
            click.echo(f"{report.path}: 还没有这个文件，服务首次启动时创建 / not there yet: the service makes it at "
                       "its first start")
        elif report.applied:
            click.echo(f"{report.path}: {len(report.before)} → {len(report.after)} 个迁移 / migrations; "
                       f"新应用 / applied: {', '.join(report.applied)}")
        else:
            click.echo(f"{report.path}: 已是最新（{len(report.after)} 个迁移）/ up to date "
                       f"({len(report.after)} migrations)")


@click.group()
def upgrade() -> None:
    """Switch the installed release: activate a new one (migrate, restart, roll back if it does not come up),
    roll back to the previous one, or show both."""


def _run(action, as_json: bool) -> None:
    from kiosk.upgrade import UpgradeError

    with clean_errors():
        try:
            outcome = action()
        except UpgradeError as exc:
            fail(str(exc), EXIT_NEGATIVE)
    if as_json:
        print_json(outcome.to_dict())


def _upgrade(role: str, config_path: str | None, root: Path, timeout: float, start: bool):
    from kiosk.upgrade import Layout, Upgrade, role_setup

    return Upgrade(Layout(root), role_setup(role, _config(role, config_path)), timeout_s=timeout, start=start)


@upgrade.command()
@click.argument("release_dir", type=click.Path(file_okay=False, path_type=Path))
@_ROLE
@_CONFIG
@_ROOT
@click.option("--no-start", is_flag=True, help="Migrate, switch and enable the units only (no running systemd, "
                                                "e.g. a chroot).")
@click.option("--timeout", type=click.FloatRange(5, 1800), default=120, show_default=True,
              help="Seconds the new release has to come up ready before it is rolled back.")
@_JSON
def activate(release_dir: Path, role: str, config_path: str | None, root: Path, no_start: bool, timeout: float,
             as_json: bool) -> None:
    """Make RELEASE_DIR the running release: snapshot the databases, run its migrations, switch current (and
    previous), restart the units and wait until they are ready; if not, go back and exit 1 saying why."""
    _run(lambda: _upgrade(role, config_path, root, timeout, not no_start).activate(release_dir), as_json)


@upgrade.command()
@_ROLE
@_CONFIG
@_ROOT
@click.option("--timeout", type=click.FloatRange(5, 1800), default=120, show_default=True,
              help="Seconds the previous release has to come up ready.")
@_JSON
def rollback(role: str, config_path: str | None, root: Path, timeout: float, as_json: bool) -> None:
    """Go back to the previous release (it becomes current, the current one previous), by the same safe steps."""
    _run(lambda: _upgrade(role, config_path, root, timeout, True).rollback(), as_json)


@upgrade.command()
@_ROLE
@_ROOT
@_JSON
def status(role: str, root: Path, as_json: bool) -> None:
    """Show the current and previous releases, the releases installed, and the role's units."""
    from kiosk.upgrade import Layout
    from kiosk.upgrade import status as read_status

    shown = read_status(Layout(root), role)
    if as_json:
        print_json(shown)
        return
    for name in ("current", "previous"):
        link = shown[name]
        if link is None:
            click.echo(f"{name}: （无 / none）")
        else:
            missing = "" if link["exists"] else "  （目录不存在 / missing!）"
            click.echo(f"{name}: {link['release']}  version {link['version'] or '?'}  {link['path']}{missing}")
    click.echo(f"releases: {', '.join(shown['releases']) or '（无 / none）'}")
    for unit, state in shown["units"].items():
        if not state:
            click.echo(f"{unit}: 无法询问 systemd / systemd cannot be asked")
        else:
            text = f"  {state['StatusText']}" if state.get("StatusText") else ""
            click.echo(f"{unit}: {state.get('ActiveState', '?')} ({state.get('SubState', '?')}){text}")
