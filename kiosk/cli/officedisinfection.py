"""``kiosk office disinfection add|today``: the disinfection log (消杀) on the command line.

Thin layers over kiosk.office.disinfection (the desk's /disinfection makes the same calls); both read office.db and
registry.db from ``--config office.yaml``. Rounds volunteers record at the gates are counted with the desk's.
"""

from __future__ import annotations

import click

from kiosk.cli.common import clean_errors, fail, print_json

_CONFIG = click.option("--config", "config_path", default="office.yaml", show_default=True,
                       type=click.Path(dir_okay=False), help="The office's config file.")


def _open(config_path: str):
    """(store, master, config) of the office.yaml; a clear error when its data is missing."""
    from kiosk.config import load_office_config
    from kiosk.office.paths import OfficePaths
    from kiosk.office.registry_master import RegistryMaster
    from kiosk.office.store import OfficeStore

    config = load_office_config(config_path)
    paths = OfficePaths.of(config)
    if not paths.store.exists():
        fail(f"没有办公室数据库 {paths.store} / no office.db there: check office.data_dir in {config_path}")
    return OfficeStore(paths.store), RegistryMaster(paths.registry), config


@click.group("disinfection")
def disinfection() -> None:
    """The disinfection log (消杀): record a round, see a day per compound (rounds done of those due)."""


@disinfection.command("add")
@click.option("--compound", required=True, help="The compound (小区), as `disinfection today` lists them.")
@click.option("--area", required=True, help="Where: a code (gate, stairwells, lifts, bins, public_areas, "
              "delivery_point) or your own words, e.g. 3号楼楼道.")
@click.option("--agent", required=True, help="With what: a code (chlorine, alcohol, peracetic_acid, "
              "chlorine_dioxide) or your own words.")
@click.option("--by", "done_by", required=True, help="Who did it, e.g. 保洁 张师傅.")
@click.option("--at", "done_at", default=None, help="When: 08:30 (today) or 2026-12-01 08:30 (community time); "
              "default now.")
@click.option("--note", default="", help="A note (≤ 500 characters).")
@_CONFIG
@click.option("--json", "as_json", is_flag=True, help="Print the stored round as JSON.")
def add(compound: str, area: str, agent: str, done_by: str, done_at: str | None, note: str, config_path: str,
        as_json: bool) -> None:
    """Record a disinfection round of a compound (recorded by you, the operating-system user, in the audit log)."""
    import getpass

    from kiosk.office.disinfection import add_round, parse_at

    with clean_errors():
        store, master, config = _open(config_path)
        tz = config.office.timezone
        moment = parse_at(done_at, tz) if done_at else None
        row = add_round(store, master, compound=compound, area=area, agent=agent, done_by=done_by, note=note,
                        done_at=moment, tz=tz, office_name=config.office.name,
                        recorded_by=f"cli:{getpass.getuser()}"[:40])
    if as_json:
        print_json(row)
    else:
        click.echo(f"已登记消杀 / recorded: {row['compound']} {row['day']} {row['area']} {row['agent']} {row['done_by']}")


@disinfection.command("today")
@click.option("--day", default=None, help="Another day, YYYY-MM-DD (default: today in the community's time zone).")
@_CONFIG
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def today(day: str | None, config_path: str, as_json: bool) -> None:
    """A day per compound: rounds done of those due (followup.disinfection_rounds_per_day), each round listed."""
    from datetime import UTC, date, datetime
    from zoneinfo import ZoneInfo

    from kiosk.disinfection_codes import AGENTS, AREAS, word
    from kiosk.office.disinfection import day_status

    with clean_errors():
        store, master, config = _open(config_path)
        tz = config.office.timezone
        if day is None:
            the_day = datetime.now(UTC).astimezone(ZoneInfo(tz)).date()
        else:
            try:
                the_day = date.fromisoformat(day.strip()[:10])
            except ValueError:
                fail(f"--day 须为日期 YYYY-MM-DD，收到 {day[:40]!r} / --day must be a date such as 2026-12-01")
        status = day_status(store, master, the_day, tz, config.followup.disinfection_rounds_per_day,
                            office_name=config.office.name)
    if as_json:
        print_json({"day": the_day.isoformat(), "compounds": status})
        return
    click.echo(f"{the_day.isoformat()} 消杀 / disinfection")
    for c in status:
        flag = "已完成 / done" if c["done"] else f"缺 {c['missing']} 次 / {c['missing']} missing"
        click.echo(f"{c['compound']}: {c['rounds']}/{c['required']}  {flag}")
        for e in c["entries"]:
            where = f"门岗 {e['gate']}" if e["source"] == "gate" else "办公室"
            click.echo(f"  {e['at'][11:]}  {word(AREAS, e['area'])}  {word(AGENTS, e['agent'])}  {e['by']}  ({where})"
                       + (f"  {e['note']}" if e["note"] else ""))
