"""``kiosk demo``: a demo community run through the gate's real decision chain."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from kiosk.cli.common import clean_errors, fail
from kiosk.privacy import mask_name

VERDICT_MARK = {"admit": "✔ admit", "deny": "✘ deny", "refer": "➜ refer", "remeasure": "… remeasure", "ask": "? ask"}


@click.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-data"),
              show_default=True, help="Folder for the demo community (recreated on each run, so nothing is seeded twice).")
@click.option("--serve/--no-serve", default=False, help="Keep the demo office running until Ctrl-C.")
@click.option("--copy-from", "prepared", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Start from a copy of a demo folder made within the hour by `kiosk demo --dir` (and not running) "
                   "instead of seeding anew: a quick start, with that folder's history (the browser tests use it).")
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="Office port (default: any free port).")
@click.option("--gate-port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="With --serve: the simulated gate's touchscreen page (0: any free port).")
@click.option("--offline-after", "offline_after_s", default=120.0, show_default=True, type=click.FloatRange(0.5, 86400),
              help="With --serve: seconds of silence before the office raises a gate-offline alarm.")
@click.option("--unstaffed-after", "unstaffed_after_s", default=600.0, show_default=True, type=click.FloatRange(0, 86400),
              help="With --serve: seconds with nobody signed in before the north gate raises an unstaffed alarm.")
@click.option("--gate-set", "gate_set", multiple=True, metavar="KEY=VALUE",
              help="With --serve: a setting of the north gate's config, e.g. gate_leaf.night_open_alarm_after_min=0.1 "
                   "(repeatable; the value is read as YAML).")
def demo(directory: Path, serve: bool, port: int, gate_port: int, offline_after_s: float, unstaffed_after_s: float,
         gate_set: tuple[str, ...] = (), prepared: Path | None = None) -> None:
    """Seed a demo community at an office with two gates and a few days of history, run scripted passages, sync.

    With --serve, the office (and its desk) keeps running, the simulated north gate (touchscreen page, local API)
    starts beside it, and the south gate keeps syncing.
    """
    from kiosk import demo as demo_lib
    from kiosk import demo_history

    overrides = _gate_settings(gate_set)
    tz = ZoneInfo(demo_lib.TIMEZONE)
    now = datetime.now(tz)
    started = time.perf_counter()
    seeded_at = now
    with clean_errors():
        try:
            if prepared is None:
                community = demo_lib.seed(directory, now)
            else:
                community, seeded_at = demo_lib.copy_prepared(prepared, directory, now)
        except (FileExistsError, demo_lib.PreparedFolderError) as exc:
            fail(str(exc))
        try:
            office, url = demo_lib.start_office(community, port, offline_after_s=offline_after_s if serve else None,
                                                heartbeats=prepared is not None)
        except OSError as exc:
            fail(f"cannot start the demo office on port {port}: {exc.strerror or exc}")
        history: dict[str, int] = {}
        outcomes: list = []
        if prepared is None:
            try:
                history = demo_history.seed_history(community, now, url)
                outcomes = demo_lib.run(community, demo_lib.checkpoint_config(community, demo_lib.NORTH), now, url)
                demo_lib.save_community(community, now)  # the folder is complete: `--copy-from` may start from it
            except BaseException:
                office.close()
                raise
    seconds = time.perf_counter() - started

    click.echo(f"Demo community in {directory}/ — cards as PNG in {community.cards_dir}/, "
               f"volunteers 赵志愿 ({demo_lib.NORTH.name}) and 钱志愿 ({demo_lib.SOUTH.name}), PIN {demo_lib.VOLUNTEER_PIN}")
    names = {gate.id: gate.name for gate in demo_lib.GATES}
    if prepared is None:
        click.echo(f"History of the last {demo_history.DAYS_BACK} days and today, synced to the office: "
                   + ", ".join(f"{names[gate_id]} {n} events" for gate_id, n in history.items())
                   + f" (seeded in {seconds:.1f} s)\n")
    else:
        click.echo(f"Copied from {prepared}/, seeded at {seeded_at:%H:%M:%S} with its history and scripted passages"
                   f" (copied in {seconds:.1f} s)\n")
    for label, outcome in outcomes:
        decision = outcome.decision
        who = mask_name(decision.holder.name) if decision.holder and decision.holder.name else (decision.plate or "—")
        alarms = ", ".join(a.kind.value for a in decision.alarms)
        seqs = ",".join(str(e.seq) for e in outcome.events)
        click.echo(f"{label}")
        click.echo(f"    {VERDICT_MARK[decision.verdict.value]:<11} {decision.direction or '—':<3} {who:<8} "
                   f"prompt={decision.prompt.value}  reasons={','.join(r.value for r in decision.reasons)}"
                   + (f"  ALARM: {alarms}" if alarms else "") + (f"  [journal seq {seqs}]" if seqs else ""))
    click.echo(f"\nGate ledger: {community.journal_path} — try: kiosk journal tail --db {community.journal_path}")
    click.echo(f"Verify a card yourself: kiosk cards verify \"{community.cards['wang-xiaoshan']}\" "
               f"--keyset {community.keys_dir / 'keyset.json'}")
    click.echo(f"\nOffice (synced): {url}/healthz   (API token of the desk user {demo_lib.DESK_USER})")
    click.echo(f"  open alarms:  curl -H 'Authorization: Bearer {community.staff_token}' {url}/api/v1/alarms")
    click.echo(f"  gates:        curl -H 'Authorization: Bearer {community.staff_token}' {url}/api/v1/gates")
    click.echo(f"  live stream:  curl -N -H 'Authorization: Bearer {community.staff_token}' {url}/api/v1/stream")
    click.echo(f"  the office's commands on the demo: kiosk office users --config {demo_lib.office_config_path(community)}")
    if not serve:
        office.close()
        return
    from kiosk.cli.run import serve_until_signal
    from kiosk.gate.process import GateProcess, ListenError

    with clean_errors():
        try:
            config = demo_lib.gate_config(community, url, gate_port, unstaffed_after_s=unstaffed_after_s, overrides=overrides)
        except ValueError as exc:  # a --gate-set the config refuses (pydantic's ValidationError is a ValueError)
            office.close()
            fail(f"--gate-set: {exc}")
        try:
            gate = GateProcess(config, simulate=True, cards_dir=community.cards_dir)
        except (ListenError, OSError) as exc:
            office.close()
            fail(f"{exc} (choose another port with --gate-port)")
    south = demo_lib.SyncingGate(community, demo_lib.SOUTH, url)

    def ready() -> None:
        click.echo(f"\nThe simulated gate's touchscreen:  {gate.url}   (open it in a browser; 800×480 is the Pi's panel)")
        click.echo(f"  volunteer sign-in: 赵志愿, PIN {demo_lib.VOLUNTEER_PIN}")
        click.echo("  scan a card: the page's 模拟 (Simulation) panel shows a card to the camera;")
        click.echo(f"  or copy a card image into {gate.replay_dir}/ (e.g. cp {community.cards_dir}/wang-xiaoshan.png {gate.replay_dir}/)")
        click.echo(f"  or: curl -X POST {gate.url}api/v1/scans -H 'Content-Type: application/json' "
                   f"-d '{{\"text\": \"{community.cards['wang-xiaoshan']}\"}}'")
        click.echo(f"Office and gates keep running ({demo_lib.SOUTH.name} only syncs); Ctrl-C stops them.\n")
        click.echo(demo_lib.desk_line(url))

    try:
        serve_until_signal(gate, ready)
    finally:
        south.close()
        office.close()


def _gate_settings(pairs: tuple[str, ...]) -> dict:
    """``KEY=VALUE`` pairs (the value read as YAML: numbers, true/false, "22:00") as dotted keys and values."""
    from io import StringIO

    from ruamel.yaml import YAML, YAMLError

    settings = {}
    for pair in pairs[:50]:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip() or len(pair) > 500:
            fail(f"--gate-set {pair[:60]!r}: expected KEY=VALUE, e.g. gate_leaf.night_from=00:00")
        try:
            value = YAML(typ="safe").load(StringIO(text)) if text.strip() else None
        except YAMLError:
            value = text
        # "00:00" unquoted is a sexagesimal number in YAML 1.1; ruamel reads YAML 1.2, where it stays a string.
        settings[key.strip()] = value
    return settings
