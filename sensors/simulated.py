"""The simulated hardware bundle: the real drivers on fakes, so the whole gate runs on any PC.

Built only when ``--simulate`` asks for it — never as a fallback. The fake
thermometer is the register-level MLX90614 fake under the real driver; the
camera replays image files (drop a card image into the replay folder); the
pins are gpiozero's MockFactory, so the real LED, buzzer and relay classes run.
"""

from __future__ import annotations

import collections
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.config.gate import GateConfig
from sensors.audio import FakeAudio
from sensors.cameras import ReplaySource, qr_array
from sensors.decoders import make_decoder
from sensors.signals import GateSignals, simulated_signals
from sensors.thermometers import FakeMLX90614, Thermometer, simulated_thermometer


@dataclass
class SimulatedHardware:
    """Everything the gate process needs from hardware, made of fakes, plus handles to script them."""

    thermometer: Thermometer | None
    fake_thermometer: FakeMLX90614 | None
    camera: ReplaySource
    replay_dir: Path
    decoder: Any
    pin_factory: Any
    signals: GateSignals | None = None
    audio: Any = None
    """The fake loudspeaker (sensors.audio.FakeAudio): what the gate said, for tests and the panel's mute."""
    leaf: Any = None
    """The gate leaf's reed switch (sensors.gate_leaf.GateLeaf) on a mock pin, when gate_leaf.pin is set."""
    cards: dict[str, Path] = field(default_factory=dict)
    """Card images the simulation panel can hold up to the camera, by name (file stem)."""
    _closers: list = field(default_factory=list)

    def test_camera(self) -> ReplaySource:
        """A camera that shows a card every frame at the configured rate (for doctor's frame check)."""
        return ReplaySource.from_frames([qr_array("GK1:SIMULATED-CAMERA")], loop=True, fps=30,
                                        size=(self.camera.size or (640, 480)))

    def use_cards(self, folder: str | Path) -> None:
        """Offer the card images (PNG) in ``folder`` to the simulation panel."""
        self.cards = {p.stem: p for p in sorted(Path(folder).glob("*.png"))}

    def show_card(self, name: str, frames: int = 3) -> None:
        """Hold a card's picture up to the replay camera: it goes through the real decoder and scanner."""
        if name not in self.cards:
            raise KeyError(name)
        self.camera.show(self.cards[name], frames=frames)

    def stand(self, celsius: float | None) -> None:
        """Someone with this forehead temperature steps in front of the thermometer (None: they step away)."""
        if self.fake_thermometer is None or self.thermometer is None:
            return
        self.fake_thermometer.set_object(celsius, settle=True)
        # A step change reads as an implausible jump once, as on the real sensor: let that read pass.
        for _ in range(2):
            self.thermometer.measure(require_presence=False)

    def thermometer_fault(self, faulty: bool) -> None:
        """Pull the thermometer's cable (True) or plug it back in (False)."""
        if self.fake_thermometer is None:
            return
        if faulty:
            self.fake_thermometer.disconnect()
        else:
            self.fake_thermometer.reconnect()

    def set_leaf(self, is_open: bool) -> None:
        """Swing the gate leaf open (True) or shut (False): the mock pin changes as the reed switch would."""
        if self.leaf is None:
            return
        from sensors.gate_leaf import drive_leaf

        drive_leaf(self.pin_factory, self.leaf.settings, is_open)

    def close(self) -> None:
        """Close every simulated device; idempotent."""
        for close in (self.camera.close, *(c for c in self._closers)):
            close()
        self._closers.clear()
        if self.thermometer is not None:
            self.thermometer.close()


def simulated_hardware(config: GateConfig, replay_dir: str | Path | None = None, *, signals: bool = True) -> SimulatedHardware:
    """Build the bundle for ``config``: fake thermometer, watched replay folder, mock pins.

    ``signals=False`` leaves the pins unclaimed (doctor checks them as it
    would on a Pi where the gate is not running).
    """
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    class RecentStatesPin(MockPWMPin):
        """A mock PWM pin that remembers only its last 1,000 states: gpiozero's keeps every one, so a
        simulated gate left running (``make demo``) would grow without end."""

        states: Any  # gpiozero's list of (time, state), a deque here

        def clear_states(self) -> None:
            super().clear_states()
            self.states = collections.deque(self.states, maxlen=1000)

    thermometer: Thermometer | None = None
    fake: FakeMLX90614 | None = None
    if config.thermometer.driver != "none":
        thermometer = simulated_thermometer(settings=config.thermometer)
        fake = thermometer.sensor.bus  # type: ignore[attr-defined]  # the MLX90614 driver's bus: the fake chip
    given = replay_dir or config.camera.replay_path
    own_folder = given is None
    folder = Path(tempfile.mkdtemp(prefix="kiosk-replay-")) if given is None else Path(given)
    folder.mkdir(parents=True, exist_ok=True)
    camera = ReplaySource(folder, watch=True, size=(config.camera.width, config.camera.height))
    # PWM-capable mock pins, so a tonal buzzer works as on the Pi's hardware PWM pins.
    factory = MockFactory(pin_class=RecentStatesPin)
    outputs = simulated_signals(config.signals, factory) if signals else None
    hardware = SimulatedHardware(thermometer, fake, camera, folder, make_decoder(config.decoder.engine), factory, outputs,
                                 audio=FakeAudio())
    if outputs is not None:
        hardware._closers.append(outputs.close)
    if signals and config.gate_leaf.pin is not None:
        from sensors.gate_leaf import GateLeaf

        hardware.leaf = GateLeaf(config.gate_leaf, factory)
        hardware.set_leaf(False)  # the demo's gate starts shut (an untouched pulled-up pin would read open)
        hardware._closers.append(hardware.leaf.close)
    hardware._closers.append(factory.close)
    if own_folder:
        hardware._closers.append(lambda: shutil.rmtree(folder, ignore_errors=True))
    return hardware
