"""``kiosk office``: manage the office registry from the command line (a dashboard comes later).

import-roster, cards issue|revoke, quarantine add|end|list, volunteers add,
visitors add; add-user, users and audit (staff accounts of the desk and its
audit log, in office.db). Every command reads ``--config office.yaml``: the registry is
``<office.data_dir>/registry.db``, the signing key is in ``office.keys_dir``.

Other modules add their subcommands to the same group by listing them in
``EXTRA_COMMANDS`` (lazy, "module:attribute") or with ``office.add_command``.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from kiosk.cli import LazyGroup
from kiosk.cli.common import EXIT_USAGE, clean_errors, fail, print_json
from kiosk.registry import RevocationReason

if TYPE_CHECKING:  # imported when a command runs, so `kiosk office --help` stays light
    from kiosk.config.office import OfficeConfig
    from kiosk.office.registry_master import RegistryMaster

# Subcommands living in other modules, imported only when used (so registry chores never load
# Flask or waitress): name → "module:attribute". The office server's commands join here.
EXTRA_COMMANDS: dict[str, str] = {
    "serve": "kiosk.cli.officeserver:serve",
    "add-gate": "kiosk.cli.officeserver:add_gate",
    "revoke-gate": "kiosk.cli.officeserver:revoke_gate",
    "gates": "kiosk.cli.officeserver:gates",
    "tls-init": "kiosk.cli.officeserver:tls_init",
    "export": "kiosk.cli.officeexport:export",
    "report": "kiosk.cli.officeexport:report",
    "disinfection": "kiosk.cli.officedisinfection:disinfection",
    "residents": "kiosk.cli.officeregistry:residents",
    "households": "kiosk.cli.officeregistry:households",
    "vehicles": "kiosk.cli.officeregistry:vehicles",
    "screening": "kiosk.cli.officescreening:screening",
    "backup": "kiosk.cli.officebackup:backup",
    "backups": "kiosk.cli.officebackup:backups",
    "restore": "kiosk.cli.officebackup:restore",
}

def _default_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in this environment (getpass raises OSError or KeyError): still audited
        return "cli"


_BY = click.option("--by", "actor", default=_default_actor, show_default="cli:<user>",
                   help="Who makes the change (written to the audit log).")


_CONFIG = click.option("--config", "config_path", default="office.yaml", show_default=True,
                       type=click.Path(dir_okay=False), help="The office's config file.")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


@dataclass
class _Office:
    """The loaded office.yaml and the master registry it names."""

    config: OfficeConfig
    data_dir: Path
    keys_dir: Path
    tz: ZoneInfo
    master: RegistryMaster

    def today(self) -> date:
        """Today in the office's time zone."""
        return datetime.now(self.tz).date()


def _open(config_path: str) -> _Office:
    from kiosk.config import load_office_config
    from kiosk.office.registry_master import RegistryMaster

    config = load_office_config(config_path)
    data_dir = Path(config.office.data_dir)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"office.data_dir {data_dir}: cannot create it: {exc.strerror or exc}; "
             "set office.data_dir in office.yaml to a folder you can write")
    return _Office(config, data_dir, Path(config.office.keys_dir), ZoneInfo(config.office.timezone),
                   RegistryMaster(data_dir / "registry.db"))


def _signing_key(office: _Office):
    from kiosk.keys import load_signing_key

    return load_signing_key(office.keys_dir)


def _cards_dir(office: _Office, out: Path | None) -> Path:
    return out or office.data_dir / "cards"


@click.group("office", cls=LazyGroup, lazy=EXTRA_COMMANDS)
def office() -> None:
    """The community office: the server, gates and staff, and the registry (roster, cards, quarantine …)."""


# -- roster ----------------------------------------------------------------------


@office.command("import-roster")
@click.argument("file", type=click.Path(dir_okay=False))
@_CONFIG
@click.option("--dry-run", is_flag=True, help="Print the preview (added, changed, removed; every problem), change nothing.")
@click.option("--remove", type=click.Choice(["buildings", "none", "all"]), default="buildings", show_default=True,
              help="Who missing from the roster is removed: the buildings it lists, nobody, or the whole community.")
@_JSON
def import_roster_cmd(file: str, config_path: str, dry_run: bool, remove: str, as_json: bool) -> None:
    """Import households, residents and vehicles from a .csv or .xlsx roster (one row = one resident).

    The same calls as the desk's /roster page: a preview (plan_import), then all of it as one registry version
    (apply_import). If any row is bad, nothing is imported: every bad row is listed with its row number and the
    command exits 2. See docs/office.md.
    """
    from kiosk.office.roster import RosterError, apply_import, load_id_hash_key, plan_import, read_roster_file

    with clean_errors():
        office_ = _open(config_path)
        key = load_id_hash_key(office_.data_dir)
        try:
            preview = plan_import(office_.master, read_roster_file(file), file, id_key=key, remove=remove)
            if preview.problems:
                raise RosterError(file, preview.problems)
            version = office_.master.version if dry_run else apply_import(office_.master, preview, actor="cli")
        except RosterError as exc:
            if as_json:
                print_json({"ok": False, "file": file, "problems": [p.to_dict() for p in exc.problems]})
            for problem in exc.problems:
                click.echo(f"{file}: {problem}", err=True)
            click.echo(f"{file}: 未导入任何内容 nothing imported ({len(exc.problems)} problem(s)); "
                       "fix the rows and run again", err=True)
            raise click.exceptions.Exit(EXIT_USAGE) from None
    if as_json:
        print_json({"ok": True, **preview.summary.to_dict(), **preview.to_dict(), "dry_run": dry_run, "version": version})
        return
    words = {"households": "户 households", "residents": "人 residents", "vehicles": "车 vehicles"}
    summary = preview.summary
    verb = "would add" if dry_run else "added"
    click.echo(f"{file}: {preview.rows} rows; {verb} {summary.households_added} households, "
               f"{summary.residents_added} residents, {summary.vehicles_added} vehicles; "
               f"updated {summary.residents_updated} residents, {summary.vehicles_updated} vehicles; "
               f"{summary.residents_unchanged} unchanged")
    for kind, counts in preview.counts().items():
        click.echo(f"  {words[kind]}: +{counts['added']} added, ~{counts['changed']} changed, "
                   f"-{counts['removed']} removed")
    if dry_run:
        for kind in ("households", "residents", "vehicles"):
            for what, entries in getattr(preview, kind).__dict__.items():
                for entry in entries:
                    text = " ".join(str(entry[k]) for k in ("label", "household", "name", "plate") if entry.get(k))
                    row = f"第 {entry['row']} 行 " if entry.get("row") else ""
                    click.echo(f"  {what} {kind[:-1]}: {row}{text}")
    if preview.ignored_columns:
        click.echo(f"ignored columns: {', '.join(preview.ignored_columns)}")
    click.echo("dry run: registry not changed (预览，未修改)" if dry_run else f"registry version {version}")


# -- cards -------------------------------------------------------------------------


@office.group("cards", cls=LazyGroup, lazy={"print": "kiosk.cli.officecards:cards_print"})
def cards_group() -> None:
    """Issue, revoke and print entry cards recorded in the registry."""


@cards_group.command("issue")
@_CONFIG
@click.option("--resident", help="Resident id or household:name, e.g. 3-2-501:王小山.")
@click.option("--vehicle", help="Vehicle plate, e.g. 京A12345.")
@click.option("--volunteer", type=int, help="Volunteer id.")
@click.option("--visitor", type=int, help="Visitor pass id.")
@click.option("--valid-from", type=click.DateTime(["%Y-%m-%d"]), help="First valid day (default: today).")
@click.option("--valid-until", type=click.DateTime(["%Y-%m-%d"]),
              help="Last valid day (default: registry.card_validity_days on).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the card image (default: <data_dir>/cards).")
@click.option("--keep-old", is_flag=True,
              help="Keep the holder's earlier cards of this kind valid (e.g. a spare) instead of revoking them.")
@_JSON
def cards_issue(config_path, resident, vehicle, volunteer, visitor, valid_from, valid_until, out, keep_old,
                as_json) -> None:
    """Issue a card for one registered resident, vehicle, volunteer or visitor pass; writes its PNG.

    The holder's earlier cards of the same kind are revoked as replaced (gates refuse them after their next
    sync), unless --keep-old.
    """
    from kiosk.cards import CardKind
    from kiosk.office.admin import find_resident, issue_registry_card, vehicle_id_by_plate

    given = [(k, v) for k, v in (("resident", resident), ("vehicle", vehicle), ("volunteer", volunteer),
                                 ("visitor", visitor)) if v is not None]
    if len(given) != 1:
        fail("give exactly one of --resident, --vehicle, --volunteer, --visitor")
    kind, ref = given[0]
    with clean_errors():
        office_ = _open(config_path)
        master = office_.master
        if kind == "resident":
            subject = find_resident(master, ref)["id"]
        elif kind == "vehicle":
            subject = vehicle_id_by_plate(master, ref)
        else:
            subject = ref
        issued = issue_registry_card(
            master, _signing_key(office_), CardKind(kind), subject, out_dir=_cards_dir(office_, out), tz=office_.tz,
            validity_days=office_.config.registry.card_validity_days,
            valid_from=valid_from.date() if valid_from else None,
            valid_until=valid_until.date() if valid_until else None, keep_old=keep_old,
        )
    if as_json:
        print_json(issued.to_dict())
        return
    card = issued.card
    click.echo(f"card {card.card_id} ({card.kind.value}) valid {card.valid_from}…{card.valid_until}: {issued.image}")
    if issued.revoked:
        click.echo(f"revoked (replaced): card {', '.join(str(c) for c in issued.revoked)} "
                   f"(registry version {issued.version}; use --keep-old to keep earlier cards)")


@cards_group.command("revoke")
@click.argument("card_id", type=click.IntRange(1, 2**32 - 1))
@_CONFIG
@click.option("--reason", required=True, type=click.Choice([r.value for r in RevocationReason]),
              help="What the gate tells the holder: lost (reported lost, 已挂失), replaced (a new card), moved_out, "
                   "withdrawn (any other reason).")
def cards_revoke(card_id: int, config_path: str, reason: str) -> None:
    """Revoke CARD_ID: gates refuse it after their next registry sync."""
    from kiosk.office.admin import revoke_card

    with clean_errors():
        office_ = _open(config_path)
        version = revoke_card(office_.master, card_id, reason=reason, now=datetime.now(office_.tz))
    click.echo(f"card {card_id} revoked: {reason} (registry version {version})")


# -- quarantine ----------------------------------------------------------------------


# The follow-up commands (temperature checks, what is due, extend, lift) live in kiosk.cli.officequarantine.
QUARANTINE_COMMANDS = {
    "check": "kiosk.cli.officequarantine:check",
    "due": "kiosk.cli.officequarantine:due",
    "extend": "kiosk.cli.officequarantine:extend",
    "lift": "kiosk.cli.officequarantine:lift",
}


@office.group("quarantine", cls=LazyGroup, lazy=QUARANTINE_COMMANDS)
def quarantine_group() -> None:
    """Home-quarantine orders (居家隔离) that keep a resident or household from leaving, and their follow-up:
    twice-daily temperature checks, what is due, extending and lifting an order."""


@quarantine_group.command("add")
@_CONFIG
@click.option("--resident", help="Resident id or household:name, e.g. 3-2-501:王小山.")
@click.option("--household", help="A whole household, building-unit-room, e.g. 3-2-501.")
@click.option("--from", "starts_on", type=click.DateTime(["%Y-%m-%d"]), help="First day (default: today).")
@click.option("--days", type=click.IntRange(1, 366), help="Length in days, inclusive (default: registry.quarantine_days).")
@click.option("--until", "ends_on", type=click.DateTime(["%Y-%m-%d"]), help="Last day instead of --days.")
@click.option("--note", default="", help="E.g. where the person came back from.")
@_JSON
def quarantine_add(config_path, resident, household, starts_on, days, ends_on, note, as_json) -> None:
    """Order home quarantine for one resident or a whole household (its history starts here: see quarantine lift)."""
    from kiosk.office.admin import find_household, find_resident
    from kiosk.office.quarantine import add_order
    from kiosk.office.store import OfficeStore

    if (resident is None) == (household is None):
        fail("give exactly one of --resident or --household")
    if days is not None and ends_on is not None:
        fail("--days and --until: choose one")
    with clean_errors():
        office_ = _open(config_path)
        master = office_.master
        kwargs = ({"resident_id": find_resident(master, resident)["id"]} if resident
                  else {"household_id": find_household(master, household)["id"]})
        store = OfficeStore(office_.data_dir / "office.db")
        try:
            row, version = add_order(
                store, master, **kwargs, by="cli", tz=office_.tz,
                starts_on=starts_on.date() if starts_on else office_.today(),
                days=days or office_.config.registry.quarantine_days,
                ends_on=ends_on.date() if ends_on else None, note=note,
            )
        finally:
            store.close()
    if as_json:
        print_json({"order": row, "version": version})
    else:
        click.echo(f"quarantine order {row['id']}: {row['starts_on']} … {row['ends_on']} (registry version {version})")


@quarantine_group.command("end")
@click.argument("order_id", type=int)
@_CONFIG
@click.option("--on", "lifted_on", type=click.DateTime(["%Y-%m-%d"]),
              help="The first day the person may go out again (default: today).")
def quarantine_end(order_id: int, config_path: str, lifted_on) -> None:
    """End quarantine order ORDER_ID early."""
    from kiosk.office.admin import end_quarantine

    with clean_errors():
        office_ = _open(config_path)
        row, version = end_quarantine(office_.master, order_id,
                                      lifted_on=lifted_on.date() if lifted_on else office_.today())
    if row is None:
        click.echo(f"quarantine order {order_id} removed: it had not started (registry version {version})")
    else:
        click.echo(f"quarantine order {order_id} now ends on {row['ends_on']} (registry version {version})")


@quarantine_group.command("list")
@_CONFIG
@click.option("--all", "show_all", is_flag=True, help="Every order, not only those in force today.")
@_JSON
def quarantine_list(config_path: str, show_all: bool, as_json: bool) -> None:
    """List quarantine orders in force today (or all of them)."""
    from kiosk.office.admin import list_quarantine

    with clean_errors():
        office_ = _open(config_path)
        rows = list_quarantine(office_.master, on=None if show_all else office_.today())
    if as_json:
        print_json({"orders": rows})
        return
    if not rows:
        click.echo("no quarantine orders" + ("" if show_all else " in force today"))
    for row in rows:
        click.echo(f"{row['id']:>4}  {row['starts_on']} … {row['ends_on']}  {row['who']}  {row['note'] or ''}".rstrip())


# -- volunteers and visitors ------------------------------------------------------------


@office.group("volunteers", cls=LazyGroup, lazy={"reset-pin": "kiosk.cli.officeregistry:volunteers_reset_pin",
                                                 "remove": "kiosk.cli.officeregistry:volunteers_remove"})
def volunteers_group() -> None:
    """Volunteers who sign in at the gate with a PIN."""


@volunteers_group.command("add")
@click.argument("name")
@_CONFIG
@click.option("--pin", prompt=True, hide_input=True, confirmation_prompt=True,
              help="4 to 8 digits (asked when not given; stored only as a hash).")
@click.option("--resident", help="Link to a resident: id or household:name.")
@_BY
def volunteers_add(name: str, config_path: str, pin: str, resident: str | None, actor: str) -> None:
    """Register volunteer NAME with a PIN (one registry version and one audit entry)."""
    from kiosk.cli.officeregistry import _editor
    from kiosk.office.admin import find_resident

    with clean_errors(), _editor(config_path, actor) as editor:
        resident_id = find_resident(editor.master, resident)["id"] if resident else None
        edit = editor.add_volunteer(name=name, pin=pin, resident=resident_id)
    row, version = edit.row, edit.version
    click.echo(f"volunteer {row['id']} {row['name']} added (registry version {version}); "
               f"issue a card with: kiosk office cards issue --volunteer {row['id']}")


def _moment(text: str | None, option: str, tz: ZoneInfo) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option}: expected a date or date-time such as 2026-03-01T09:00, got {text!r}")
    return value if value.tzinfo else value.replace(tzinfo=tz)


@office.group("visitors", cls=LazyGroup, lazy={"revoke": "kiosk.cli.officeregistry:visitors_revoke"})
def visitors_group() -> None:
    """Visitor passes pre-registered at the office."""


@visitors_group.command("add")
@click.argument("name")
@_CONFIG
@click.option("--host", required=True, help="The household visited, building-unit-room, e.g. 3-2-501.")
@click.option("--phone", default="", help="The visitor's phone (stored masked).")
@click.option("--from", "valid_from", help="Start, ISO date or date-time in the office time zone (default: now).")
@click.option("--until", "valid_until",
              help="End, ISO date-time (default: the end of the start day, and at least 4 hours after the start).")
@click.option("--reason", default="", help="Why they come (送药, 维修 …).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the card image (default: <data_dir>/cards).")
@_BY
@_JSON
def visitors_add(name, config_path, host, phone, valid_from, valid_until, reason, out, actor, as_json) -> None:
    """Pre-register visitor NAME for household --host and issue the pass's card (audited)."""
    from kiosk.cli.officeregistry import _editor

    with clean_errors():
        office_ = _open(config_path)
        start = _moment(valid_from, "--from", office_.tz) or datetime.now(office_.tz).replace(second=0, microsecond=0)
        end = _moment(valid_until, "--until", office_.tz)
        if end is None:
            from kiosk.office.admin import default_pass_window

            start, end = default_pass_window(start)
        elif valid_until and "T" not in valid_until and " " not in valid_until:
            end = end + timedelta(days=1, minutes=-1)  # a bare date means the whole of that day
        key, cards_dir = _signing_key(office_), _cards_dir(office_, out)
        office_.master.close()
        with _editor(config_path, actor) as editor:
            edit = editor.add_visitor(key, name=name, phone=phone, host=host, valid_from=start, valid_until=end,
                                      reason=reason, out_dir=cards_dir)
    row, issued = edit.row, edit.card
    assert issued is not None  # add_visitor always issues the pass's card
    if as_json:
        print_json({"pass": row, **issued.to_dict()})
    else:
        click.echo(f"visitor pass {row['id']} for {row['name']}: {row['valid_from']} … {row['valid_until']}; "
                   f"card {issued.card.card_id}: {issued.image}")


@visitors_group.command("inside")
@_CONFIG
@click.option("--gate", "gate_id", help="Only this gate's visitors (its id).")
@_JSON
def visitors_inside(config_path: str, gate_id: str | None, as_json: bool) -> None:
    """Visitors inside now across the gates (entered, no exit recorded), longest inside first; names masked."""
    from kiosk.office.queries.visitors_inside import inside_now
    from kiosk.office.store import OfficeStore

    with clean_errors():
        office_ = _open(config_path)
        store = OfficeStore(office_.data_dir / "office.db")
        try:
            rows = inside_now(store, office_.master, datetime.now(office_.tz), office_.config.office.timezone,
                              gate_id=gate_id)
        finally:
            store.close()
            office_.master.close()
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("没有在场访客 / nobody inside")
    for row in rows:
        hours, rest = divmod(int(row["inside_s"]), 3600)
        where = (row["household"] or {}).get("label") or "-"
        mark = "  长时间 / long" if row["long"] else ""
        click.echo(f"{row['gate']['id']:<10} {row['name'] or '-':<6} {where:<10} {hours} h {rest // 60:02d} min{mark}")


# -- personal data ------------------------------------------------------------------------


@office.command("open-id")
@click.argument("gate_id")
@click.argument("seq", type=click.IntRange(1, 2**63 - 1))
@_CONFIG
@click.option("--staff", required=True, help="Who asks (written to the audit log).")
@click.option("--reason", required=True, help="Why: the contact-tracing case (written to the audit log).")
@_JSON
def open_id(gate_id: str, seq: int, config_path: str, staff: str, reason: str, as_json: bool) -> None:
    """Open the sealed ID number of a visitor registered at GATE_ID (event SEQ) for contact tracing.

    Every opening is logged first (data_dir/id-openings.log: who, why, which
    event, when; never the number). See docs/office.md, Security.
    """
    from kiosk.office.personal_data import PersonalDataError, open_visitor_id
    from kiosk.office.store import OfficeStore

    with clean_errors():
        office_ = _open(config_path)
        store = OfficeStore(office_.data_dir / "office.db")
        try:
            opened = open_visitor_id(store, office_.data_dir, gate_id, seq, staff=staff, reason=reason)
        except PersonalDataError as exc:
            fail(str(exc))
        finally:
            store.close()
    if as_json:
        print_json(opened.to_dict())
        return
    click.echo(f"gate {gate_id} event {seq}: {opened.id_number}  (opened by {opened.staff}; logged in id-openings.log)")


# -- staff accounts and the audit log (office.db) ---------------------------------


def _office_store(config_path: str):
    """The office.yaml's OfficeStore and time zone (no registry: account chores never open it)."""
    from kiosk.config import load_office_config
    from kiosk.office.paths import OfficePaths
    from kiosk.office.store import OfficeStore

    config = load_office_config(config_path)
    paths = OfficePaths.of(config)
    try:
        paths.store.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"office.data_dir {paths.store.parent}: cannot create it: {exc.strerror or exc}")
    return OfficeStore(paths.store), ZoneInfo(config.office.timezone)


@office.command("add-user")
@click.argument("name")
@_CONFIG
@click.option("--role", type=click.Choice(["viewer", "staff", "admin"]), default="staff", show_default=True,
              help="viewer: read only; staff: registry and alarms; admin: also staff accounts, gates and keys.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="The desk password, 8 characters or more (asked when not given; stored only as a hash).")
def add_user(name: str, config_path: str, role: str, password: str) -> None:
    """Add (or reset) desk account NAME; prints its API token once.

    A reset gives a new password and token and ends the account's desk
    sessions. The first admin is made here.
    """
    from kiosk.office.accounts import Accounts, check_new_password

    with clean_errors():
        store, _ = _office_store(config_path)
        token = Accounts(store).add_user(name, role, check_new_password(password), actor="cli")
    click.echo(f"{role} {name.strip()} added; API token (shown once): {token}")


@office.command("users")
@_CONFIG
@_JSON
def users_cmd(config_path: str, as_json: bool) -> None:
    """List desk accounts: role, whether locked (until when), open sessions."""
    from kiosk.office.accounts import Accounts

    with clean_errors():
        store, tz = _office_store(config_path)
        rows = Accounts(store).users()
    if as_json:
        print_json({"users": rows})
        return
    for row in rows:
        locked = ""
        if row["locked_until"]:
            locked = f"  LOCKED until {datetime.fromisoformat(row['locked_until']).astimezone(tz):%Y-%m-%d %H:%M}"
        password = "" if row["has_password"] else "  (no password: API token only)"
        click.echo(f"{row['name']:<16} {row['role']:<7} sessions {row['sessions']}{locked}{password}")
    if not rows:
        click.echo("no accounts yet: make the first admin with `kiosk office add-user NAME --role admin`")


@office.command("audit")
@_CONFIG
@click.option("--actor", help="Only what this staff member (or name tried at sign-in) did.")
@click.option("--action", help="An action code (auth.sign_in), or a prefix ending in '.' or '.*' (auth.*).")
@click.option("--since", help="From this date or time (office time zone unless given), e.g. 2026-12-01T08:00.")
@click.option("--until", help="Before this date or time.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500))
@click.option("--before-id", type=click.IntRange(0), help="Older than this entry id (paging on).")
@_JSON
def audit_cmd(config_path: str, actor: str | None, action: str | None, since: str | None, until: str | None,
              limit: int, before_id: int | None, as_json: bool) -> None:
    """The audit log, newest first (sign-ins, accounts, alarms, registry).

    Sign-ins, failures, lockouts and sign-outs, account changes, and what other
    modules record (alarm handling, registry changes), as action codes.
    """
    from kiosk.office import audit

    with clean_errors():
        store, tz = _office_store(config_path)
        page = audit.search(store, actor=actor, action=action, since=_moment(since, "--since", tz),
                            until=_moment(until, "--until", tz), limit=limit, before_id=before_id)
    if as_json:
        print_json({"entries": page.entries, "next_before_id": page.next_before_id})
        return
    for entry in page.entries:
        at = datetime.fromisoformat(entry["at"]).astimezone(tz)
        detail = " ".join(f"{k}={v}" for k, v in entry["detail"].items())
        click.echo(f"{entry['id']:>6} {at:%Y-%m-%d %H:%M:%S} {entry['actor']:<12} {entry['action']:<28} "
                   f"{entry['target'] or ''} {detail} {('from ' + entry['address']) if entry['address'] else ''}".rstrip())
    if page.next_before_id is not None:
        click.echo(f"(more: --before-id {page.next_before_id})")
