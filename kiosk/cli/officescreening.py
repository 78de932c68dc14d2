"""``kiosk office screening``: door-to-door screening rounds (逐户排查) from the command line.

start NAME, mark HOUSEHOLD --outcome visited|phone|not_reached, coverage, missing, close: thin layers over
kiosk.office.screening, the same calls as the desk's /screening page. Reads office.db and registry.db of
``--config office.yaml``.
"""

from __future__ import annotations

import getpass

import click

from kiosk.cli.common import clean_errors, fail, print_json

_CONFIG = click.option("--config", "config_path", default="office.yaml", show_default=True,
                       type=click.Path(dir_okay=False), help="The office's config file.")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
_ROUND = click.option("--round", "round_id", type=click.IntRange(1, None),
                      help="The round's number (default: the open one, else the latest).")


def _open(config_path: str):
    """(store, master, time zone, office name) of the office.yaml; a clear error when its registry is missing."""
    from kiosk.config import load_office_config
    from kiosk.office.paths import OfficePaths
    from kiosk.office.registry_master import RegistryMaster
    from kiosk.office.store import OfficeStore

    config = load_office_config(config_path)
    paths = OfficePaths.of(config)
    if not paths.registry.exists():
        fail(f"没有登记册 {paths.registry} / no registry.db there: import the roster first "
             f"(kiosk office import-roster), or check office.data_dir in {config_path}")
    return OfficeStore(paths.store), RegistryMaster(paths.registry), config.office.timezone, config.office.name


def _by(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "cli"


@click.group("screening")
def screening() -> None:
    """Door-to-door screening (逐户排查): start a round, mark households, coverage, the missing list, close."""


@screening.command("start")
@click.argument("name")
@click.option("--by", help="Who starts it (default: your login name).")
@click.option("--note", default="", help="A note on the round.")
@_CONFIG
@_JSON
def start(name: str, by: str | None, note: str, config_path: str, as_json: bool) -> None:
    """Start a round named NAME (e.g. 第三轮排查): it covers every household in the registry."""
    from kiosk.office import screening as lib

    with clean_errors():
        store, _master, tz, _name = _open(config_path)
        started = lib.start_round(store, name, by=_by(by), tz=tz, note=note)
    if as_json:
        print_json(started)
        return
    click.echo(f"开始第 {started['id']} 轮：{started['name']} / round {started['id']} started")


@screening.command("mark")
@click.argument("household")
@click.option("--outcome", required=True, type=click.Choice(["visited", "phone", "not_reached"]),
              help="visited (入户), phone (电话确认) or not_reached (未联系上).")
@click.option("--by", help="Who screened it (default: your login name).")
@click.option("--note", default="", help="What was found (at most 200 characters).")
@click.option("--back-from-elsewhere", is_flag=True, help="Someone in the household is back from elsewhere.")
@click.option("--unwell", is_flag=True, help="Someone in the household is unwell.")
@_CONFIG
@_JSON
def mark_cmd(household: str, outcome: str, by: str | None, note: str, back_from_elsewhere: bool, unwell: bool,
             config_path: str, as_json: bool) -> None:
    """Mark HOUSEHOLD (5-1-101, 5号楼1单元101室 or its id) in the open round; replaces its earlier mark."""
    from kiosk.office import screening as lib

    with clean_errors():
        store, master, _tz, name = _open(config_path)
        visit = lib.mark(store, master, household, outcome, by=_by(by), note=note,
                         back_from_elsewhere=back_from_elsewhere, unwell=unwell, office_name=name)
    if as_json:
        print_json(visit)
        return
    flags = "".join(f"，{lib.FLAG_ZH[f]}" for f in lib.FLAGS if visit[f])
    click.echo(f"{visit['household']}：{lib.OUTCOME_ZH[outcome]}{flags} / {outcome}")


@screening.command("coverage")
@_ROUND
@_CONFIG
@_JSON
def coverage_cmd(round_id: int | None, config_path: str, as_json: bool) -> None:
    """Coverage per compound and building: households, visited, phone, not reached, unmarked, % reached."""
    from kiosk.office import screening as lib

    with clean_errors():
        store, master, _tz, name = _open(config_path)
        cover = lib.coverage(store, master, round_id, office_name=name)
    if as_json:
        print_json(cover)
        return
    r = cover["round"]
    click.echo(f"第 {r['id']} 轮 {r['name']}（{'进行中 open' if r['open'] else '已结束 closed'}）")
    click.echo("小区/楼栋 compound/building   户 hh  入户 visited  电话 phone  未联系上 not_reached  未排查 unmarked  覆盖 %")

    def line(label: str, c: dict) -> str:
        return (f"{label:<24} {c['households']:>6} {c['visited']:>12} {c['phone']:>11} {c['not_reached']:>21} "
                f"{c['unmarked']:>16} {c['percent']:>6.1f}")

    for compound in cover["compounds"]:
        click.echo(line(compound["compound"], compound))
        for building in compound["buildings"]:
            click.echo(line(f"  {building['building']}号楼", building))
    click.echo(line("合计 total", cover["totals"]))


@screening.command("missing")
@_ROUND
@click.option("--compound", help="Only this compound.")
@_CONFIG
@_JSON
def missing_cmd(round_id: int | None, compound: str | None, config_path: str, as_json: bool) -> None:
    """Every household not reached yet (not_reached or not marked), in building-unit-room order."""
    from kiosk.office import screening as lib

    with clean_errors():
        store, master, _tz, name = _open(config_path)
        rows = lib.missing(store, master, round_id, compound=compound, office_name=name)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        note = f"  {row['note']}" if row["note"] else ""
        click.echo(f"{row['compound']}  {row['household']}  {lib.OUTCOME_ZH[row['outcome']]}{note}")
    click.echo(f"未排查到 {len(rows)} 户 / {len(rows)} household(s) not reached yet", err=True)


@screening.command("close")
@click.option("--by", help="Who closes it (default: your login name).")
@_CONFIG
@_JSON
def close(by: str | None, config_path: str, as_json: bool) -> None:
    """Close the open round: the households it covered are kept as they are now."""
    from kiosk.office import screening as lib

    with clean_errors():
        store, master, _tz, name = _open(config_path)
        closed = lib.close_round(store, master, by=_by(by), office_name=name)
        totals = lib.coverage(store, master, closed["id"], office_name=name)["totals"]
    if as_json:
        print_json({**closed, "totals": totals})
        return
    click.echo(f"第 {closed['id']} 轮已结束 / round {closed['id']} closed: {totals['households']} 户，"
               f"覆盖 {totals['percent']:.1f}%，未联系上 {totals['not_reached']}，未排查 {totals['unmarked']}")
