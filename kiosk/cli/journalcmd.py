"""``kiosk journal``: inspect a gate's journal (the ledger, 台账) without changing it.

Both commands open the file read-only through ``kiosk.gate.journal.JournalReader``,
so they are safe to run beside a running gate and never create a file.
"""

from __future__ import annotations

import json

import click

from kiosk.cli.common import EXIT_NEGATIVE, clean_errors, print_json
from kiosk.events import Event
from kiosk.gate.journal import JournalReader

_DB_OPTION = click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The journal file, e.g. /var/lib/kiosk/journal.db.",
)


@click.group()
def journal() -> None:
    """Inspect a gate's journal (read-only)."""


@journal.command("stats")
@_DB_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def stats(db_path: str, as_json: bool) -> None:
    """Show a journal's counters, backlog, time span and integrity.

    last seq, acked seq, backlog, events held, oldest and newest timestamp
    (UTC) and SQLite's integrity check. Exits 1 when the integrity check fails.
    """
    with clean_errors(), JournalReader(db_path) as reader:
        figures = reader.stats().to_dict()
        figures["integrity"] = reader.integrity_check()
    if as_json:
        print_json(figures)
    else:
        labels = {
            "path": "journal", "gate_id": "gate", "last_seq": "last seq", "acked_seq": "acked seq",
            "backlog": "backlog", "count": "events held", "oldest_ts": "oldest", "newest_ts": "newest",
            "integrity": "integrity",
        }
        for key, label in labels.items():
            value = figures[key]
            click.echo(f"{label:<12} {'-' if value is None else value}")
    if figures["integrity"] != "ok":
        raise click.exceptions.Exit(EXIT_NEGATIVE)


def _line(event: Event) -> str:
    data = json.dumps(event.data, ensure_ascii=False, sort_keys=True)
    return (
        f"{event.seq:>8}  {event.ts}  {event.kind.value:<20}  {event.subject or '-':<16}"
        f"  {event.volunteer_id or '-':<8}  {data}"
    )


@journal.command("tail")
@_DB_OPTION
@click.option("-n", "count", type=click.IntRange(min=0), default=10, show_default=True, help="How many events.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event and line.")
def tail(db_path: str, count: int, as_json: bool) -> None:
    """Print the newest N events, oldest first.

    One line each: seq, time (UTC), kind, subject, volunteer, data as JSON.
    """
    with clean_errors(), JournalReader(db_path) as reader:
        events = reader.tail(count)
    for event in events:
        if as_json:
            print_json(event.to_dict())
        else:
            click.echo(_line(event))
