"""``kiosk demo``: a demo community run through the gate's real decision chain."""

from __future__ import annotations

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
def demo(directory: Path) -> None:
    """Seed a demo community (keys, registry, card PNGs) and run scripted passages through the gate's core."""
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
        outcomes = demo_lib.run(community, config, now)

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
    click.echo(f"\nLedger: {community.journal_path} — try: kiosk journal tail --db {community.journal_path}")
    click.echo(f"Verify a card yourself: kiosk cards verify \"{community.cards['wang-xiaoshan']}\" "
               f"--keyset {community.keys_dir / 'keyset.json'}")
    click.echo("The touchscreen gate and the office server join this demo when they are built (see the issues).")
