"""``kiosk run``: the gate process — sensors, decisions, journal, signals, sync and the touchscreen web app in one."""

from __future__ import annotations

import faulthandler
import os
import signal
from collections.abc import Callable
from pathlib import Path

import click

from kiosk.cli.common import clean_errors, fail
from kiosk.gate.process import GateProcess, ListenError
from kiosk.memory import install_debug_dump, limit_malloc_arenas
from kiosk.service_notify import ServiceNotice, gate_health, http_answers

# Test-only: with --simulate, the passage worker is handed a job that blocks until the gate stops, once READY is
# sent — how tests/kiosk/test_service_notify.py shows that a hung passage loop stops the watchdog keep-alives.
HANG_PASSAGES_ENV = "KIOSK_TEST_HANG_PASSAGES"
SERVING = "闸机运行中 / gate serving"


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
    """Start the gate, serve until SIGTERM or Ctrl-C, then close it in order.

    Under systemd (``Type=notify``): READY=1 once the started gate's status URL answers, watchdog keep-alives
    while the passage loop turns and the journal writer answers (kiosk.service_notify), STOPPING=1 on the way out.
    """

    def stop(signum, frame):
        # Serving: the server closes in order through its loop (no traceback per open connection); still starting:
        # KeyboardInterrupt ends start() and the parts started so far are closed below.
        process.server.stop_on_signal()

    def hang_if_asked() -> None:
        if process.simulation is not None and os.environ.get(HANG_PASSAGES_ENV) == "1":
            worker = process.gate.worker
            worker.submit(lambda: worker.stopping.wait())

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # `kill -USR1 <pid>` prints every thread's stack to stderr (the journal under systemd): how a gate that hangs
    # (or will not stop) is looked into on a Pi, and what the tests ask of a demo that outlives its SIGTERM.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    notice = ServiceNotice(http_answers(process.config.web.host, process.server.port, "/api/v1/status",
                                        tls=False, timeout_s=2.0),
                           lambda interval: gate_health(process, interval), SERVING, on_ready=hang_if_asked)
    try:
        process.start()
        ready()
        notice.start()  # READY=1 from its own thread once the status URL answers, while serve() runs the server
        process.serve()
    except KeyboardInterrupt:
        pass
    finally:
        notice.close()  # STOPPING=1 and no more keep-alives, before the parts they judge are closed
        process.close()
        click.echo("gate stopped; journal closed")
