"""``kiosk office backup | backups | restore``: the office's backups (kiosk/office/backup.py, docs/backup.md)."""

from __future__ import annotations

from pathlib import Path

import click

from kiosk.cli.common import EXIT_NEGATIVE, EXIT_USAGE, clean_errors, print_json

_CONFIG = click.option("--config", "config_path", default="office.yaml", show_default=True,
                       type=click.Path(dir_okay=False), help="The office's config file.")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")

# Which failures are the person's to fix (exit 2) rather than the backup's (exit 1, the timer's unit fails).
_USAGE_CODES = {"dest-inside", "not-found", "serving", "busy", "exists"}


def _load(config_path: str):
    from kiosk.config import load_office_config

    return load_office_config(config_path)


def _failed(exc) -> None:
    click.echo(f"Error: {exc}", err=True)
    raise click.exceptions.Exit(EXIT_USAGE if exc.code in _USAGE_CODES else EXIT_NEGATIVE)


def _size(n: int) -> str:
    return f"{n / 1024**2:.1f} MiB" if n >= 1024**2 else f"{n / 1024:.0f} KiB"


class _Progress:
    """A line per 10 % of a database copy, for copies of more than 10 MiB (small ones are done at once)."""

    def __init__(self) -> None:
        self.shown: dict[str, int] = {}

    def __call__(self, name: str, done: int, total: int) -> None:
        if total < 2560 or not total:
            return
        tenth = done * 10 // total
        if tenth > self.shown.get(name, -1):
            self.shown[name] = tenth
            click.echo(f"  {name}: {tenth * 10} %", err=True)


@click.command("backup")
@_CONFIG
@click.option("--to", "to", type=click.Path(file_okay=False, path_type=Path),
              help="Back up into this folder instead of backup.dir (e.g. a USB disk's mount point).")
@_JSON
def backup(config_path: str, to: Path | None, as_json: bool) -> None:
    """Back the office up now: office.db and registry.db (online copies, checked), the keys, the config.

    One folder per run, named by its UTC time, with a manifest of checksums; then old backups beyond
    backup.keep_daily/weekly/monthly are removed (the newest good one always stays). The office may keep
    serving meanwhile. See docs/backup.md.
    """
    from kiosk.backup import BackupError
    from kiosk.office.backup import run_backup

    with clean_errors():
        config = _load(config_path)
        try:
            run = run_backup(config, config_path=Path(config_path), dest=to, progress=_Progress())
        except BackupError as exc:
            _failed(exc)
    if as_json:
        print_json({"ok": True, "path": str(run.folder), "size": run.size, "files": len(run.manifest["files"]),
                    "seconds": round(run.seconds, 3), "removed": [str(p) for p in run.removed]})
        return
    click.echo(f"备份完成 backup done: {run.folder} ({len(run.manifest['files'])} files, {_size(run.size)}, "
               f"{run.seconds:.1f} s); 私钥为 0600 private keys kept at mode 0600")
    for old in run.removed:
        click.echo(f"  轮换删除 rotated out: {old.name}")


@click.command("backups")
@_CONFIG
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="List this folder instead of backup.dir.")
@click.option("--quick", is_flag=True, help="quick_check instead of the full integrity_check of each database.")
@_JSON
def backups(config_path: str, folder: Path | None, quick: bool, as_json: bool) -> None:
    """List the backups, newest first, each verified (checksums, integrity): 完好 ok or 损坏 damaged."""
    from kiosk.office.backup import backup_dir, list_backups, verify

    with clean_errors():
        config = _load(config_path)
        where = folder or backup_dir(config)
        verdicts = [verify(p, quick=quick) for p in list_backups(where)]
    if as_json:
        print_json({"dir": str(where), "backups": [v.to_dict() for v in verdicts]})
        return
    if not verdicts:
        click.echo(f"没有备份 no backups in {where}")
        return
    for verdict in verdicts:
        info = verdict.to_dict()
        word = "完好 ok     " if verdict.ok else "损坏 DAMAGED"
        click.echo(f"{verdict.folder.name}  {word}  {_size(info['size']):>10}  kiosk {info['software'] or '?'}")
        for problem in verdict.problems:
            click.echo(f"    {problem}")


@click.command("restore")
@click.argument("backup_name", metavar="BACKUP")
@_CONFIG
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Look BACKUP up in this folder instead of backup.dir.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore(backup_name: str, config_path: str, folder: Path | None, yes: bool) -> None:
    """Restore BACKUP (a folder, its name in backup.dir, or `latest`) over the office's files.

    Refused while the office serves (stop it first). The backup is verified first; the current files are kept
    as <name>.before-restore-<time> so the restore can be undone. office.yaml itself is not overwritten.
    """
    from kiosk.backup import BackupError
    from kiosk.office.backup import find_backup, office_answers
    from kiosk.office.backup import restore as restore_backup

    with clean_errors():
        config = _load(config_path)
        try:
            chosen = find_backup(config, backup_name, folder)
            if office_answers(config):  # said before asking, and checked again inside restore()
                raise BackupError("serving", f"办公室服务正在运行，请先停止 the office is serving on port "
                                             f"{config.server.port}: stop it first (sudo systemctl stop kiosk-office)")
            if not yes:
                click.confirm(f"用备份 {chosen.name} 替换办公室数据？ Replace the office's data with backup "
                              f"{chosen}?", abort=True)
            done = restore_backup(config, chosen)
        except BackupError as exc:
            _failed(exc)
    click.echo(f"已恢复 restored {len(done.placed)} files from {done.backup}")
    if done.aside:
        click.echo(f"原文件已保留 the files it replaced are kept as *.before-restore-{done.stamp}:")
        for path in done.aside:
            click.echo(f"  {path}")
    click.echo("启动办公室服务 start the office again: sudo systemctl start kiosk-office")
