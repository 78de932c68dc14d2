"""``kiosk cards``: issue entry cards and verify them offline, exactly as a gate does."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from kiosk.cards import DEFAULT_TZ, CardCheck, CardKind, issue_card, render_qr, verify_card
from kiosk.cli.common import EXIT_NEGATIVE, clean_errors, fail, print_json
from kiosk.keys import load_keyset, load_signing_key

_TZ = click.option("--tz", "tz_name", default=DEFAULT_TZ, show_default=True,
                   help="The community's time zone: card dates are calendar dates there.")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"--tz: unknown time zone {name!r} (e.g. Asia/Shanghai)")


@click.group()
def cards() -> None:
    """Issue and verify signed entry cards (居民出入卡)."""


@cards.command("issue")
@click.option("--keys", "keys_dir", required=True, type=click.Path(file_okay=False), help="The office's key folder.")
@click.option("--kind", required=True, type=click.Choice([k.value for k in CardKind]), help="What the card admits.")
@click.option("--subject", "subject_id", required=True, type=click.IntRange(0, 2**32 - 1),
              help="Registry id of the resident, vehicle, visitor pass or volunteer.")
@click.option("--card-id", type=click.IntRange(1, 2**32 - 1), help="Card number (default: random).")
@click.option("--valid-from", type=click.DateTime(["%Y-%m-%d"]), help="First valid day (default: today).")
@click.option("--valid-until", type=click.DateTime(["%Y-%m-%d"]), help="Last valid day (default: one year on).")
@_TZ
@click.option("--png", "png", type=click.Path(dir_okay=False, path_type=Path), help="Also write the QR code as PNG.")
@click.option("--svg", "svg", type=click.Path(dir_okay=False, path_type=Path), help="Also write the QR code as SVG.")
@click.option("--json", "as_json", is_flag=True, help='Print {"text": …, "card": {…}}.')
def issue(keys_dir, kind, subject_id, card_id, valid_from, valid_until, tz_name, png, svg, as_json) -> None:
    """Sign a new card and print its QR text (one line)."""
    if png and svg:
        fail("--png and --svg: choose one")
    start: date = valid_from.date() if valid_from else datetime.now(_zone(tz_name)).date()
    end: date = valid_until.date() if valid_until else start + timedelta(days=364)
    with clean_errors():
        key = load_signing_key(keys_dir)
        card, text = issue_card(key, kind, subject_id, valid_from=start, valid_until=end, card_id=card_id)
        image = png or svg
        if image:
            try:
                render_qr(text, image)
            except OSError as exc:
                fail(f"{image}: cannot write: {exc.strerror or exc}")
    if as_json:
        print_json({"text": text, "card": card.to_dict()})
    else:
        click.echo(text)


def _describe(check: CardCheck) -> str:
    card = check.card
    if check.valid and card is not None:
        return (f"valid: {card.kind.value} card {card.card_id} → subject {card.subject_id}, "
                f"{card.valid_from}…{card.valid_until}, key {card.kid}")
    detail = ""
    if card is not None:
        detail = f" ({card.kind.value} card {card.card_id}, {card.valid_from}…{card.valid_until}, key {card.kid})"
    reason = check.reason.value if check.reason is not None else "invalid"
    return f"rejected: {reason}{detail}"


@cards.command("verify")
@click.argument("text")
@click.option("--keyset", "keyset_path", required=True, type=click.Path(dir_okay=False), help="The keyset.json a gate trusts.")
@click.option("--registry", "registry_path", type=click.Path(dir_okay=False, exists=True),
              help="Also check revocations in this registry replica (registry.db).")
@click.option("--at", "at", help="Verify as of this ISO date-time (default: now); without an offset it is in --tz.")
@_TZ
@click.option("--json", "as_json", is_flag=True, help='Print {"valid": …, "reason": …, "card": {…}}.')
def verify(text, keyset_path, registry_path, at, tz_name, as_json) -> None:
    """Verify a card's QR TEXT offline; exit 0 valid, 1 rejected, 2 usage error."""
    zone = _zone(tz_name)
    if at is None:
        moment = datetime.now(zone)
    else:
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            fail(f"--at: expected an ISO date-time such as 2026-11-28T09:30, got {at!r}")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
    with clean_errors():
        keyset = load_keyset(keyset_path)
        check = verify_card(text, keyset, moment, zone)
        if registry_path:
            from kiosk.registry import Registry

            with Registry(registry_path) as registry:
                check = registry.check_revocation(check)
    if as_json:
        print_json(check.to_dict())
    else:
        click.echo(_describe(check))
    if not check.valid:
        raise click.exceptions.Exit(EXIT_NEGATIVE)
