"""The simulated hardware bundle: the real drivers on fakes, so the whole gate runs on any PC.

Built only when ``--simulate`` asks for it — never as a fallback. The fake
thermometer is the register-level MLX90614 fake under the real driver; the
camera replays image files (drop a card image into the replay folder); the
pins are gpiozero's MockFactory, so the real LED, buzzer and relay classes run.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.config.gate import GateConfig
from sensors.cameras import ReplaySource, qr_array
from sensors.decoders import make_decoder
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
    signals: Any = None
    _closers: list = field(default_factory=list)

    def test_camera(self) -> ReplaySource:
        """A camera that shows a card every frame at the configured rate (for doctor's frame check)."""
        return ReplaySource.from_frames([qr_array("GK1:SIMULATED-CAMERA")], loop=True, fps=30,
                                        size=(self.camera.size or (640, 480)))

    def close(self) -> None:
        """Close every simulated device; idempotent."""
        for close in (self.camera.close, *(c for c in self._closers)):
            close()
        self._closers.clear()
        if self.thermometer is not None:
            self.thermometer.close()


def simulated_hardware(config: GateConfig, replay_dir: str | Path | None = None) -> SimulatedHardware:
    """Build the bundle for ``config``: fake thermometer (a forehead at 36.5 °C), watched replay folder, mock pins."""
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    thermometer = fake = None
    if config.thermometer.driver != "none":
        thermometer = simulated_thermometer(settings=config.thermometer)
        fake = thermometer.sensor.bus
    folder = Path(replay_dir or config.camera.replay_path or tempfile.mkdtemp(prefix="kiosk-replay-"))
    folder.mkdir(parents=True, exist_ok=True)
    camera = ReplaySource(folder, watch=True, size=(config.camera.width, config.camera.height))
    # PWM-capable mock pins, so a tonal buzzer works as on the Pi's hardware PWM pins.
    factory = MockFactory(pin_class=MockPWMPin)
    hardware = SimulatedHardware(thermometer, fake, camera, folder, make_decoder(config.decoder.engine), factory)
    hardware._closers.append(factory.close)
    return hardware
