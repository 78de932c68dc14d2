"""``kiosk demo``: a demo community run through the gate's real decision chain."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from kiosk.cli.common import clean_errors, fail
from kiosk.config import GateConfig
from kiosk.privacy import mask_name

VERDICT_MARK = {"admit": "✔ admit", "deny": "✘ deny", "refer": "➜ refer", "remeasure": "… remeasure"}


@click.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-data"),
              show_default=True, help="Folder for the demo community (recreated on each run).")
@click.option("--serve/--no-serve", default=False, help="Keep the demo office running until Ctrl-C.")
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="Office port (default: any free port).")
def demo(directory: Path, serve: bool, port: int) -> None:
    """Seed a demo community at an office, sync a simulated gate with it, run scripted passages, sync back."""
    from kiosk import demo as demo_lib

    tz = ZoneInfo(demo_lib.TIMEZONE)
    now = datetime.now(tz)
    config = GateConfig.model_validate({"gate": {"id": "demo-gate", "name": "演示北门", "timezone": demo_lib.TIMEZONE,
                                                 "data_dir": str(directory)}})
    with clean_errors():
        try:
            community = demo_lib.seed(directory, now)
        except FileExistsError as exc:
            fail(str(exc))
        try:
            office, url = demo_lib.start_office(community, port)
        except OSError as exc:
            fail(f"cannot start the demo office on port {port}: {exc.strerror or exc}")
        try:
            outcomes = demo_lib.run(community, config, now, url)
        except BaseException:
            office.close()
            raise

    click.echo(f"Demo community in {directory}/ — cards as PNG in {community.cards_dir}/, "
               f"volunteer 赵志愿 PIN {demo_lib.VOLUNTEER_PIN}\n")
    for label, outcome in outcomes:
        decision = outcome.decision
        who = mask_name(decision.holder.name) if decision.holder and decision.holder.name else (decision.plate or "—")
        alarms = ", ".join(a.kind.value for a in decision.alarms)
        seqs = ",".join(str(e.seq) for e in outcome.events)
        click.echo(f"{label}")
        click.echo(f"    {VERDICT_MARK[decision.verdict.value]:<11} {decision.direction:<3} {who:<8} "
                   f"prompt={decision.prompt.value}  reasons={','.join(r.value for r in decision.reasons)}"
                   + (f"  ALARM: {alarms}" if alarms else "") + (f"  [journal seq {seqs}]" if seqs else ""))
    click.echo(f"\nGate ledger: {community.journal_path} — try: kiosk journal tail --db {community.journal_path}")
    click.echo(f"Verify a card yourself: kiosk cards verify \"{community.cards['wang-xiaoshan']}\" "
               f"--keyset {community.keys_dir / 'keyset.json'}")
    click.echo(f"\nOffice (synced): {url}/healthz")
    click.echo(f"  open alarms:  curl -H 'Authorization: Bearer {community.staff_token}' {url}/api/v1/alarms")
    click.echo(f"  gates:        curl -H 'Authorization: Bearer {community.staff_token}' {url}/api/v1/gates")
    click.echo(f"  live stream:  curl -N -H 'Authorization: Bearer {community.staff_token}' {url}/api/v1/stream")
    click.echo("The touchscreen gate (kiosk run) joins this demo when it is built (issue 5).")
    if not serve:
        office.close()
        return
    click.echo("\nThe office keeps running; Ctrl-C stops it.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        office.close()
