"""``kiosk run``: the gate process — sensors, decisions, journal, signals, sync and the local web app in one."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from kiosk.cli.common import clean_errors, fail


def _real_hardware(config):
    """Open the configured devices; any that cannot be opened is an error with its fix (no fallback to fakes)."""
    from sensors.cameras import open_camera
    from sensors.decoders import make_decoder
    from sensors.signals import GateSignals
    from sensors.thermometers import open_thermometer

    thermometer = open_thermometer(config.thermometer)
    return thermometer, open_camera(config.camera), make_decoder(config.decoder.engine), GateSignals(config.signals)


class _RetentionTimer:
    """Purges what the office has acknowledged and the retention period has passed: at start, then hourly."""

    def __init__(self, journal, days: int, every_s: float = 3600.0):
        self.journal, self.days, self.every_s = journal, days, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)

    def _run(self) -> None:
        from kiosk.exc import JournalError

        while True:
            try:
                self.journal.purge(self.days)
            except JournalError:
                pass  # a busy or closing journal: the next round tries again; unacknowledged events are never at risk
            if self._stop.wait(self.every_s):
                return

    def start(self) -> "_RetentionTimer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@click.command()
@click.option("--config", "config_path", default="config.yaml", show_default=True, type=click.Path(dir_okay=False),
              help="The gate's config file.")
@click.option("--simulate", is_flag=True, help="Use the simulated hardware: fake thermometer, replay camera, mock pins.")
@click.option("--replay-dir", type=click.Path(file_okay=False, path_type=Path),
              help="With --simulate: the folder to drop card images into (default: DATA_DIR/replay).")
def run(config_path: str, simulate: bool, replay_dir: Path | None) -> None:
    """Run the gate until SIGTERM or Ctrl-C; the local API listens on web.host:web.port."""
    from kiosk.checkpoint import Checkpoint
    from kiosk.config import load_gate_config
    from kiosk.gate import Gate
    from kiosk.journal import Journal
    from kiosk.keys import Keyset
    from kiosk.registry import Registry
    from sensors.scanning import Scanner
    from web.gate import create_gate_app
    from web.serving import WebServer

    with clean_errors():
        config = load_gate_config(config_path)
        data = Path(config.gate.data_dir)
        data.mkdir(parents=True, exist_ok=True)
        registry = Registry(data / "registry.db")
        journal = Journal(data / "journal.db", config.gate.id)
        if simulate:
            from sensors.simulated import simulated_hardware

            hardware = simulated_hardware(config, replay_dir or data / "replay")
            thermometer, camera, decoder, signals = hardware.thermometer, hardware.camera, hardware.decoder, hardware.signals
            closers = [hardware.close]
        else:
            try:
                thermometer, camera, decoder, signals = _real_hardware(config)
            except OSError as exc:
                journal.close()
                fail(f"{exc} (or run with --simulate to try the gate without its hardware)")
            closers = [d.close for d in (signals, camera, thermometer) if d is not None]
        checkpoint = Checkpoint(config, registry, journal, Keyset.from_json(registry.keyset_json()))
        sync = None
        if config.sync.provisioning_file:
            from kiosk.sync import SyncClient

            def reload_keys(version: int) -> None:
                checkpoint.keyset = Keyset.from_json(registry.keyset_json())

            def sensor_states() -> dict:
                return {"thermometer": thermometer.status.to_dict() if thermometer is not None else None}

            sync = SyncClient.from_provisioning(config.sync.provisioning_file, journal, registry, config.sync,
                                                on_registry=reload_keys, sensors=sensor_states)
        gate = Gate(checkpoint, thermometer=thermometer, signals=signals, sync=sync)
        try:
            server = WebServer(create_gate_app(gate), config.web.host, config.web.port, threads=8)
        except OSError as exc:
            for close in closers:
                close()
            journal.close()
            fail(f"cannot listen on {config.web.host}:{config.web.port}: {exc.strerror or exc}")

    scanner = None
    if camera is not None:
        scanner = Scanner(camera, decoder, on_scan=lambda scan: gate.scan(scan.text),
                          repeat_after_s=config.decoder.repeat_after_s)
        scanner.start()
    if sync is not None:
        sync.start()
    retention = _RetentionTimer(journal, config.journal.retention_days).start()
    def stop(signum, frame):
        # The server loop ends cleanly on KeyboardInterrupt (closing its socket from here would break select()).
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        click.echo(f"gate {config.gate.id} ready on http://{config.web.host}:{server.port}"
                   + ("  (simulated hardware; drop card images into " + str(replay_dir or data / "replay") + ")" if simulate else ""),
                   )
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        retention.stop()
        # Release order: stop new scans, then outputs (relay closed), then sync, then the journal last.
        if scanner is not None:
            scanner.stop()
        for close in closers:
            close()
        if sync is not None:
            sync.close()
        journal.close()
        registry.close()
        click.echo("gate stopped; journal closed")
