"""``kiosk run``: the gate process — sensors, decisions, journal, signals, sync and the touchscreen web app in one."""

from __future__ import annotations

import faulthandler
import signal
from collections.abc import Callable
from pathlib import Path

import click

from kiosk.cli.common import clean_errors, fail
from kiosk.gate.process import GateProcess, ListenError
from kiosk.memory import install_debug_dump, limit_malloc_arenas


@click.command()
@click.option("--config", "config_path", default="config.yaml", show_default=True, type=click.Path(dir_okay=False),
              help="The gate's config file.")
@click.option("--simulate", is_flag=True, help="Use the simulated hardware: fake thermometer, replay camera, mock pins.")
@click.option("--replay-dir", type=click.Path(file_okay=False, path_type=Path),
              help="With --simulate: the folder to drop card images into (default: DATA_DIR/replay).")
@click.option("--cards", "cards_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="With --simulate: card images (PNG) the on-page simulation panel can show to the camera.")
def run(config_path: str, simulate: bool, replay_dir: Path | None, cards_dir: Path | None) -> None:
    """Run the gate until SIGTERM or Ctrl-C; the touchscreen page and local API listen on web.host:web.port."""
    from kiosk.config import load_gate_config

    limit_malloc_arenas()
    install_debug_dump()  # only with KIOSK_MEMORY_DUMP set (bench/gate_memory_bench.py --profile)
    with clean_errors():
        config = load_gate_config(config_path)
        try:
            process = GateProcess(config, simulate=simulate, replay_dir=replay_dir, cards_dir=cards_dir)
        except ListenError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"{exc} (or run with --simulate to try the gate without its hardware)")
    serve_until_signal(process, lambda: click.echo(
        f"gate {config.gate.id} ready on {process.url}"
        + (f"  (simulated hardware; drop card images into {process.replay_dir})" if simulate else "")))


def serve_until_signal(process: GateProcess, ready: Callable[[], None]) -> None:
    """Start the gate, serve until SIGTERM or Ctrl-C, then close it in order."""

    def stop(signum, frame):
        # The server loop ends cleanly on KeyboardInterrupt (closing its socket from here would break select()).
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # `kill -USR1 <pid>` prints every thread's stack to stderr (the journal under systemd): how a gate that hangs
    # (or will not stop) is looked into on a Pi, and what the tests ask of a demo that outlives its SIGTERM.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        process.start()
        ready()
        process.serve()
    except KeyboardInterrupt:
        pass
    finally:
        process.close()
        click.echo("gate stopped; journal closed")
