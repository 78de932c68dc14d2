"""``kiosk office quarantine check|due|extend|lift``: home-quarantine follow-up on the command line, a thin layer
over kiosk.office.quarantine (the same calls as the desk's /quarantine page).

Hooked into the ``quarantine`` group of kiosk.cli.officecmd (beside add, end and list) by its lazy command list.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from kiosk.cli.common import clean_errors, fail, print_json
from kiosk.cli.officecmd import _CONFIG, _JSON, _Office, _open

if TYPE_CHECKING:
    from kiosk.office.registry_master import RegistryMaster
    from kiosk.office.store import OfficeStore

STATUS_WORDS = {"overdue": "逾期 overdue", "due": "待测 due", "done": "已测 done", "late": "补测 late",
                "not_required": "无需 not required"}
METHOD_WORDS = {"phone": "电话 phone", "door": "上门 door"}


@contextlib.contextmanager
def _office(config_path: str) -> Iterator[tuple[_Office, OfficeStore]]:
    """The office (registry) and its OfficeStore, closed afterwards."""
    from kiosk.office.store import OfficeStore

    office_ = _open(config_path)
    store = OfficeStore(office_.data_dir / "office.db")
    try:
        yield office_, store
    finally:
        store.close()
        office_.master.close()


def _when(text: str | None, tz: ZoneInfo) -> datetime | None:
    """``--at``: ``HH:MM`` today, or a date-time (``2026-12-01T08:30``, ``2026-12-01 08:30``), community time."""
    if not text:
        return None
    text = text.strip()
    try:
        if len(text) <= 5 and ":" in text:
            return datetime.combine(datetime.now(tz).date(), time.fromisoformat(text.zfill(5)), tz)
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--at: 时间须写作 08:30 或 2026-12-01T08:30 / expected HH:MM or a date-time, got {text[:30]!r}")
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def _person(master: RegistryMaster, order_id: int, ref: str | None) -> int:
    """The resident a check is for: ``--person`` (id or name within the order), or the order's only person."""
    from kiosk.office import quarantine as q

    order = q.find_order(master, order_id)
    people = q.people_of(master, order)
    if ref:
        text = ref.strip()
        found = [p for p in people if str(p["id"]) == text or p.get("name") == text]
        if len(found) != 1:
            names = "、".join(f"{p['id']} {p['name']}" for p in people) or "—"
            fail(f"--person: 隔离单 {order_id} 中没有 {text!r}（可选：{names}） / no such person under order {order_id}")
        return int(found[0]["id"])
    if len(people) != 1:
        names = "、".join(f"{p['id']} {p['name']}" for p in people) or "—"
        fail(f"--person: 隔离单 {order_id} 覆盖 {len(people)} 人，请指明是谁（{names}） / the order covers "
             f"{len(people)} people: say whose check this is")
    return int(people[0]["id"])


@click.command("check")
@click.argument("order_id", type=click.IntRange(1, 2**62))
@_CONFIG
@click.option("--temp", "temperature", required=True, help="The reading in °C, e.g. 36.6.")
@click.option("--method", type=click.Choice(["phone", "door"]), required=True,
              help="phone: the person read it out on the phone; door: taken at the door.")
@click.option("--by", "taken_by", required=True, help="Who took it (a staff member, the clinic's doctor …).")
@click.option("--person", help="Whose check (resident id or name) when the order covers a whole household.")
@click.option("--at", "taken_at", help="When it was taken: HH:MM today or 2026-12-01T08:30 (default: now).")
@click.option("--note", default="", help="E.g. 咳嗽 / coughing.")
@_JSON
def check(order_id: int, config_path: str, temperature: str, method: str, taken_by: str, person: str | None,
          taken_at: str | None, note: str, as_json: bool) -> None:
    """Record a temperature check of a person under quarantine order ORDER_ID.

    A reading at or above the fever threshold raises a fever alarm at the office (the desk's alarm list; open
    desk pages show its banner when they next load it).
    """
    from kiosk.office import quarantine as q

    with clean_errors(), _office(config_path) as (office_, store):
        resident_id = _person(office_.master, order_id, person)
        row = q.record_check(store, office_.master, order_id=order_id, resident_id=resident_id,
                             temperature=temperature, method=method, taken_by=taken_by, recorded_by="cli",
                             tz=office_.tz, settings=office_.config.followup, taken_at=_when(taken_at, office_.tz),
                             note=note)
    if as_json:
        print_json({"check": row})
        return
    deadline = office_.config.followup.quarantine_check_deadlines[row["slot"]]
    click.echo(f"check {row['id']}: order {order_id} resident {resident_id} {row['temperature_c']:.1f} °C "
               f"{METHOD_WORDS[method]} by {row['taken_by']} — {row['slot_day']} slot {row['slot'] + 1} (by {deadline})")
    if row["alarm_event_id"]:
        click.echo(f"发热！FEVER (≥ {q.FEVER_THRESHOLD_C:.1f} °C): alarm {row['alarm_event_id']} raised at the office")


@click.command("due")
@_CONFIG
@_JSON
def due(config_path: str, as_json: bool) -> None:
    """Today's temperature checks still to do: overdue ones first (not recorded by their deadline), then the next."""
    from kiosk.office import quarantine as q

    with clean_errors(), _office(config_path) as (office_, store):
        rows = q.due_now(store, office_.master, office_.tz, office_.config.followup)
    if as_json:
        print_json({"due": rows})
        return
    if not rows:
        click.echo("没有待测 nothing due: every check so far is recorded")
    for row in rows:
        click.echo(f"{STATUS_WORDS[row['status']]:<12} order {row['order_id']:>4}  {row['household']:<10} "
                   f"{row['name']:<6} {row['phone']:<12} by {row['deadline']}")


@click.command("extend")
@click.argument("order_id", type=click.IntRange(1, 2**62))
@_CONFIG
@click.option("--until", required=True, help="The new last day, e.g. 2026-12-20.")
@click.option("--note", default="", help="Why (e.g. the clinic's advice).")
@click.option("--by", default="cli", show_default=True, help="Who decided (written to the history and audit log).")
@_JSON
def extend(order_id: int, config_path: str, until: str, note: str, by: str, as_json: bool) -> None:
    """Extend quarantine order ORDER_ID to a later last day (gates get it at their next sync)."""
    from kiosk.office import quarantine as q

    with clean_errors(), _office(config_path) as (office_, store):
        done = q.extend_order(store, office_.master, order_id, until=until, by=by, tz=office_.tz, note=note)
    if as_json:
        print_json(done)
        return
    click.echo(f"quarantine order {order_id}: now ends on {done['order']['ends_on']} (was {done['ends_on_before']}; "
               f"registry version {done['version']})")


@click.command("lift")
@click.argument("order_id", type=click.IntRange(1, 2**62))
@_CONFIG
@click.option("--note", required=True, help="Why it is lifted, e.g. 社区卫生服务中心解除隔离通知 (the clinic's release).")
@click.option("--on", "lifted_on", help="The day it is lifted (default: today); on or after the order's end.")
@click.option("--by", default="cli", show_default=True, help="Who lifted it (written to the history and audit log).")
@_JSON
def lift(order_id: int, config_path: str, note: str, lifted_on: str | None, by: str, as_json: bool) -> None:
    """Lift quarantine order ORDER_ID on or after its end date, with a note (to end one early: quarantine end)."""
    from kiosk.office import quarantine as q

    with clean_errors(), _office(config_path) as (office_, store):
        done = q.lift_order(store, office_.master, order_id, note=note, by=by, tz=office_.tz, on=lifted_on)
    if as_json:
        print_json(done)
        return
    if done["version"] is None:
        click.echo(f"quarantine order {order_id} lifted on {done['lifted_on']} (it had ended on "
                   f"{done['ends_on_before']}: the registry needs no change)")
    else:
        click.echo(f"quarantine order {order_id} lifted on {done['lifted_on']}: out from today "
                   f"(registry version {done['version']})")
