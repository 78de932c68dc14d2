"""The gate process: registry, journal, devices (or the simulated bundle), scanner, passage worker, sync and the
touchscreen web app wired together. ``kiosk run``, ``kiosk demo`` and the benches all start one of these.

Nothing is imported from hardware libraries or Flask until a process is built.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.memory import trim_every_s, trim_malloc
from kiosk.workers import Every

# kiosk.office.roster.ID_HASH_KEY_FILE, named again here so the gate never loads the office's roster, addresses and
# registry master (~1.5 MB; tests/kiosk/test_gate_imports.py checks the two agree).
ID_HASH_KEY_FILE = "id-hash.key"


def _real_hardware(config):
    """Open the configured devices; any that cannot be opened is an error with its fix (no fallback to fakes)."""
    from sensors.cameras import open_camera
    from sensors.decoders import make_decoder
    from sensors.signals import GateSignals
    from sensors.thermometers import open_thermometer

    thermometer = open_thermometer(config.thermometer)
    return thermometer, open_camera(config.camera), make_decoder(config.decoder.engine), GateSignals(config.signals)


def _id_seal_key(config, data: Path) -> Any:
    """The office's sealing public key from the provisioning file (None without one: visitors then register
    without an ID number). An older file's ID-hash key is removed from it here, at the gate's start, and so is
    the ID-hash key an older gate without a provisioning file made for itself."""
    if (data / ID_HASH_KEY_FILE).exists() and not (data / "office.db").exists():
        (data / ID_HASH_KEY_FILE).unlink()
    if not config.sync.provisioning_file:
        return None
    from kiosk.provisioning import provisioning_sealing_key, scrub_provisioning

    scrub_provisioning(config.sync.provisioning_file)
    return provisioning_sealing_key(config.sync.provisioning_file)


def _sweep_every_s(max_hours_out: float) -> float:
    """How often to look for overdue returns: every minute, or a tenth of a short limit (an alarm within 10 %)."""
    return min(60.0, max(1.0, max_hours_out * 3600 / 10))


def _unstaffed_every_s(after_s: float) -> float:
    """How often to look for an unstaffed gate: every 10 s, or a tenth of a short limit (the alarm within 10 %)."""
    if after_s <= 0:
        return 10.0  # never raised; a check still closes an alarm an earlier setting left open
    return min(10.0, max(0.5, after_s / 10))


def _gate_leaf(config, simulation, closers: list) -> Any:
    """The gate leaf's reed switch when ``gate_leaf.pin`` is set: the simulated bundle's, or one on the Pi's pins."""
    if config.gate_leaf.pin is None:
        return None
    if simulation is not None:
        return simulation.leaf
    from sensors.gate_leaf import GateLeaf

    leaf = GateLeaf(config.gate_leaf)
    closers.append(leaf.close)
    return leaf


class ListenError(OSError):
    """The web app's port cannot be bound (in use, or not allowed)."""


class GateProcess:
    """Everything ``kiosk run`` wires together; ``make demo`` starts one beside the demo office.

    Opening raises OSError (a device or the port) or a KioskError (config, provisioning) with what to fix;
    whatever was opened before the failure is closed again.
    """

    def __init__(self, config: Any, *, simulate: bool = False, replay_dir: Path | None = None, cards_dir: Path | None = None):
        from kiosk.gate.checkpoint import Checkpoint
        from kiosk.gate.journal import Journal
        from kiosk.gate.passages import Gate
        from kiosk.registry import Registry, gate_keyset
        from web.gate import create_gate_app
        from web.serving import Limits, WebServer

        self.config = config
        data = Path(config.gate.data_dir)
        data.mkdir(parents=True, exist_ok=True)
        self.replay_dir = replay_dir or data / "replay"
        self._closers: list[Callable[[], object]] = []
        self.registry = Registry(data / "registry.db")
        self._closers.append(self.registry.close)
        from kiosk.gate.clock import GateClock, HostClockSource

        # The journal's clock stamp and trust (kiosk.gate.clock); a simulated gate runs on a PC that keeps its own time
        self.journal = Journal(data / "journal.db", config.gate.id,
                               gate_clock=GateClock(HostClockSource()) if simulate else None)
        self._closers.append(self.journal.close)
        self.simulation = None
        # Built in start() or below, each only when configured (their modules load lazily, so typed loosely here).
        self.scanner: Any = None
        self.usb_scanner: Any = None
        self.sync: Any = None
        self.monitor: Any = None
        self._timers: list[Every] = []
        self.voice: Any = None  # kiosk.gate.voice_prompts.GateVoice, when voice.enabled
        try:
            if simulate:
                from sensors.simulated import simulated_hardware

                hardware = simulated_hardware(config, self.replay_dir)
                if cards_dir is not None:
                    hardware.use_cards(cards_dir)
                self.simulation = hardware
                thermometer, self.camera, self.decoder, signals = hardware.thermometer, hardware.camera, hardware.decoder, hardware.signals
                self._closers.append(hardware.close)
            else:
                thermometer, self.camera, self.decoder, signals = _real_hardware(config)
                self._closers += [d.close for d in (thermometer, self.camera, signals) if d is not None]
            self.thermometer = thermometer
            self.leaf = _gate_leaf(config, self.simulation, self._closers)  # the reed switch, when fitted
            checkpoint = Checkpoint(config, self.registry, self.journal,
                                    gate_keyset(self.registry, config.sync.provisioning_file))
            if config.sync.provisioning_file:
                from kiosk.gate.sync import SyncClient

                def reload_keys(version: int) -> None:
                    checkpoint.keyset = gate_keyset(self.registry, config.sync.provisioning_file)

                self.sync = SyncClient.from_provisioning(config.sync.provisioning_file, self.journal, self.registry,
                                                         config.sync, on_registry=reload_keys, sensors=self._sensor_states)
                self._closers.append(self.sync.close)
            settings = config.thermometer
            self.gate = Gate(checkpoint, thermometer=thermometer, signals=signals, sync=self.sync,
                             presence_wait_s=settings.step_up_wait_s, remeasure_pause_s=1.0, pending_s=settings.pending_s,
                             id_seal_key=_id_seal_key(config, data))
            if self.leaf is not None:
                from kiosk.gate.gate_leaf import GateLeafWatch

                gate = self.gate
                gate.leaf = GateLeafWatch(self.journal, config.gate_leaf, config.gate.timezone, gate.clock,
                                          on_duty=lambda: gate.volunteer_id)
            app = create_gate_app(self.gate, language=config.web.language, simulation=self.simulation)
            try:
                # Six threads for requests; the pages' event streams live on the server's event loop and hold none.
                self.server = WebServer(app, config.web.host, config.web.port, threads=6,
                                        limits=Limits(max_streams=32, max_streams_per_client=32, stream_gather_s=0.0))
            except OSError as exc:
                raise ListenError(f"cannot listen on {config.web.host}:{config.web.port}: {exc.strerror or exc}") from exc
        except BaseException:
            self.close()
            raise

    @property
    def url(self) -> str:
        """Where the touchscreen page is served."""
        return f"http://{self.config.web.host}:{self.server.port}/"

    def _sensor_states(self) -> dict:
        """What the heartbeat tells the office about the devices."""
        status = self.gate.status()
        return {"thermometer": status["thermometer"], "camera": status["camera"], "faults": status["faults"],
                "gate_leaf": status.get("gate_leaf")}

    def start(self) -> GateProcess:
        """Start the scanner, the thermometer monitor, sync and the timers (the web server runs in ``serve``)."""
        from kiosk.disk import disk_low
        from sensors.scanning import Scanner

        gate = self.gate
        if self.camera is not None:
            def on_status(status) -> None:
                gate.report_fault("camera", "error" if status.state == "error" else None, status.last_error)

            camera_lane = self.config.camera.lane
            # The scanner hands the text to the passage worker and goes on reading frames: it never waits for a passage.
            self.scanner = Scanner(self.camera, self.decoder, on_scan=lambda scan: gate.submit_scan(scan.text, camera_lane),
                                   on_status=on_status, repeat_after_s=self.config.decoder.repeat_after_s)
            gate.scanner_status = lambda: self.scanner.status
            self.scanner.start()
        scanner_settings = self.config.scanner
        if scanner_settings.enabled and scanner_settings.device and self.simulation is None:
            from sensors.keyboard_scanner import KeyboardScanner

            self.usb_scanner = KeyboardScanner(
                scanner_settings.device, lambda scan: gate.submit_scan(scan.text, scanner_settings.lane),
                on_status=lambda state, error: gate.report_fault("usb_scanner", "error" if state == "error" else None, error))
            self.usb_scanner.start()
        if self.thermometer is not None:
            from sensors.thermometers import ThermometerMonitor

            self.monitor = ThermometerMonitor(
                self.thermometer, lambda s: gate.report_fault("thermometer", s.fault, s.detail),
                interval_s=self.config.thermometer.monitor_interval_s)
            self.monitor.start()
        if self.sync is not None:
            self.sync.start()
        gate.start()
        from kiosk.gate.voice_prompts import start_voice

        # The gate speaks from its updates, on threads of its own (a fake output in simulation).
        self.voice = start_voice(self.config, gate, getattr(self.simulation, "audio", None))
        signals = self.gate.signals
        if signals is not None and hasattr(signals, "on_direction"):
            signals.on_direction(lambda direction: gate.choose_direction(direction, "button"))

        if self.leaf is not None and gate.leaf is not None:
            from kiosk.gate.gate_leaf import sweep as sweep_leaf

            gate.leaf.observe(self.leaf.is_open)
            self.leaf.on_change(gate.leaf.observe)
            # Settled changes journaled and the gate-left-open alarm raised within a second (the chip counts minutes).
            self._timers.append(Every("gate-leaf", lambda: sweep_leaf(gate), 1.0).start())

        def check_disk() -> None:
            free = shutil.disk_usage(self.journal.path.parent).free
            gate.report_fault("disk", "low" if disk_low(free) else None, f"{free // 2**20} MB free")

        self._timers += [
            Every("retention", lambda: self.journal.purge(self.config.journal.retention_days), 3600.0).start(),
            Every("disk", check_disk, 60.0).start(),
            # The office link, backlog and a passing thermometer fault change without a passage: the page hears within 1 s.
            Every("status", gate.publish_status_if_changed, 1.0).start(),
            # Someone out past the outing rule raises the alarm while still out, not when they come back.
            Every("overdue", gate.sweep_overdue, _sweep_every_s(self.config.policy.outing.max_hours_out)).start(),
            # Nobody signed in for alarms.unstaffed_after_s: the unstaffed-gate alarm, once per spell (0: never).
            Every("unstaffed", gate.sweep_unstaffed, _unstaffed_every_s(self.config.alarms.unstaffed_after_s)).start(),
        ]
        if trim_every_s() > 0:
            # Frames and decoder buffers come and go many times a second; glibc keeps what they freed in its heaps
            # (tens of MB, differently each run) unless told to give it back. A trim costs about a millisecond.
            self._timers.append(Every("malloc-trim", trim_malloc, trim_every_s()).start())
        return self

    def serve(self) -> None:
        """Serve the web app until KeyboardInterrupt."""
        self.server.run()

    def close(self) -> None:
        """Stop everything: new scans first, then outputs (relay closed), sync, and the journal last."""
        server = getattr(self, "server", None)
        if server is not None:
            server.close()
        for timer in self._timers:
            timer.stop()
        if self.scanner is not None:
            self.scanner.stop()
        if self.usb_scanner is not None:
            self.usb_scanner.close()
        if self.voice is not None:
            self.voice.close()
        gate = getattr(self, "gate", None)
        if gate is not None:
            gate.close()
        if self.monitor is not None:
            self.monitor.stop()
        closers, self._closers = self._closers, []
        for close in reversed(closers):
            close()
