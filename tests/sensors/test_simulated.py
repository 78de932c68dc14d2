"""The simulated hardware bundle: real drivers on fakes, scriptable, and closable."""

from __future__ import annotations

import time

from kiosk.config import GateConfig
from sensors.cameras import qr_array
from sensors.simulated import simulated_hardware


def test_bundle_measures_reads_cards_and_closes(tmp_path):
    config = GateConfig.model_validate({"gate": {"id": "g"}})
    hardware = simulated_hardware(config, tmp_path / "replay")
    try:
        # the forehead is scripted at the fake chip's registers; the real driver and sampling read it
        hardware.fake_thermometer.set_object(36.8, settle=True)
        time.sleep(0.1)
        hardware.thermometer.measure(require_presence=False)  # the settle step itself counts as a jump
        measurement = hardware.thermometer.measure(require_presence=False)
        assert measurement is not None and abs(measurement.object_c - 36.8) < 0.3
        # dropping a card image into the replay folder is "holding a card to the camera"
        from PIL import Image

        Image.fromarray(qr_array("GK1:SIMULATED")).save(hardware.replay_dir / "card.png")
        deadline = time.monotonic() + 5
        frame = None
        while frame is None and time.monotonic() < deadline:
            frame = hardware.camera.read()
        assert frame is not None and hardware.decoder.decode(frame) == ["GK1:SIMULATED"]
        hardware.signals.show("deny")  # the real GateSignals on mock pins
        assert hardware.pin_factory.pin(27).state == 1
    finally:
        hardware.close()
        hardware.close()


def test_bundle_without_thermometer(tmp_path):
    config = GateConfig.model_validate({"gate": {"id": "g"}, "thermometer": {"driver": "none"}})
    hardware = simulated_hardware(config, tmp_path)
    assert hardware.thermometer is None and hardware.fake_thermometer is None
    hardware.close()


def test_doctor_leaves_no_temporary_folder(tmp_path):
    import tempfile
    from pathlib import Path

    before = set(Path(tempfile.gettempdir()).glob("kiosk-replay-*"))
    hardware = simulated_hardware(GateConfig.model_validate({"gate": {"id": "g"}}))
    hardware.close()
    assert set(Path(tempfile.gettempdir()).glob("kiosk-replay-*")) == before
