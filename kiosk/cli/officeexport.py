"""``kiosk office export`` and ``kiosk office report``: the ledgers and the daily report as files.

Thin layers over kiosk.office.exports.export and kiosk.office.daily_report;
both read office.db and registry.db from ``--config office.yaml``.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import click

from kiosk.cli.common import clean_errors, fail

_CONFIG = click.option("--config", "config_path", default="office.yaml", show_default=True,
                       type=click.Path(dir_okay=False), help="The office's config file.")


def _day(text: str, option: str) -> date:
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            return date.fromisoformat(text.strip())
    except ValueError:
        pass  # not a real date (2026-13-01): the one-line error below says how to write one
    fail(f"{option} 须为日期 YYYY-MM-DD，收到 {text[:40]!r} / {option} must be a date such as 2026-11-28")


def _open(config_path: str):
    """(store, master, time zone, community name) of the office.yaml; a clear error when its data is missing."""
    from kiosk.config import load_office_config
    from kiosk.office.paths import OfficePaths
    from kiosk.office.registry_master import RegistryMaster
    from kiosk.office.store import OfficeStore

    config = load_office_config(config_path)
    paths = OfficePaths.of(config)
    if not paths.store.exists():
        fail(f"没有办公室数据库 {paths.store} / no office.db there: check office.data_dir in {config_path}")
    return (OfficeStore(paths.store), RegistryMaster(paths.registry), config.office.timezone, config.office.name)


def _check_out(out: str) -> Path:
    path = Path(out)
    if path.is_dir():
        fail(f"--out {out} 是文件夹，请给出文件名 / --out is a folder: give a file name")
    if not path.parent.is_dir():
        fail(f"--out 的文件夹不存在：{path.parent} / the folder of --out does not exist")
    return path


@click.command("export")
@click.option("--from", "first", required=True, help="First day, YYYY-MM-DD (the community's time zone).")
@click.option("--to", "last", required=True, help="Last day, YYYY-MM-DD (inclusive; at most 92 days in all).")
@click.option("--out", required=True,
              help="FILE.xlsx (a sheet per ledger), FILE.zip (a CSV per ledger) or FILE.csv (FILE-<ledger>.csv each).")
@_CONFIG
@click.option("--quiet", is_flag=True, help="No progress line.")
def export(first: str, last: str, out: str, config_path: str, quiet: bool) -> None:
    """Export every ledger of a day or a range: 出入记录, 外来人员登记, 车辆登记, 体温异常, 居家隔离, 志愿者值守 …

    One Chinese header row per sheet, times in the community's time zone;
    every cell text-safe (a name like "=…" never runs as a formula). The file
    appears whole or not at all.
    """
    from kiosk.office.exports import check_range, format_of
    from kiosk.office.exports import export as run_export

    a, b = _day(first, "--from"), _day(last, "--to")
    path = _check_out(out)
    with clean_errors():
        check_range(a, b)
        format_of(path)
        store, master, tz, name = _open(config_path)
        shown = [-1]

        def progress(done: int, total: int) -> None:
            tenth = 10 * done // total if total else 10
            if not quiet and tenth > shown[0]:
                shown[0] = tenth
                click.echo(f"导出 / exporting: {10 * tenth}%  ({done:,}/{total:,} 行 rows)", err=True)

        try:
            written = run_export(store, master, a, b, path, tz=tz, progress=progress, office_name=name)
        except OSError as exc:
            fail(f"无法写入 {path}：{exc.strerror or exc} / cannot write the export")
    for file in written:
        click.echo(str(file))


@click.command("report")
@click.option("--day", required=True, help="The day, YYYY-MM-DD (the community's time zone).")
@click.option("--out", required=True, help="FILE.pdf (one A4 page, Chinese font embedded) or FILE.xlsx.")
@_CONFIG
def report(day: str, out: str, config_path: str) -> None:
    """The daily report (日报) for one day: per compound in/out, visitors, vehicles, fevers and their handling,
    home quarantine (total, new, lifted, checks), screening coverage, disinfection rounds, gates staffed."""
    from kiosk.config import load_office_config
    from kiosk.office import daily_report

    the_day = _day(day, "--day")
    path = _check_out(out)
    if path.suffix.lower() not in (".pdf", ".xlsx"):
        fail(f"日报须为 .pdf 或 .xlsx：{path.name} / --out must end in .pdf or .xlsx")
    with clean_errors():
        store, master, tz, name = _open(config_path)
        settings = load_office_config(config_path).followup
        figures = daily_report.compute(store, master, the_day, tz=tz, settings=settings, office_name=name)
        writer = daily_report.write_pdf if path.suffix.lower() == ".pdf" else daily_report.write_xlsx
        try:
            click.echo(str(writer(figures, path, community=name)))
        except OSError as exc:
            fail(f"无法写入 {path}：{exc.strerror or exc} / cannot write the report")
