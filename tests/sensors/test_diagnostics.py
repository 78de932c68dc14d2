"""Doctor's hardware probes against the fakes: each passes on healthy fakes and fails on each injected fault."""

from __future__ import annotations

import pytest
from gpiozero import LED
from gpiozero.pins.mock import MockFactory

from kiosk.config.hardware import SignalSettings, ThermometerSettings
from kiosk.doctor import Status
from sensors.cameras import CameraError, ReplaySource, qr_array
from sensors.diagnostics import SPEED_HINT, probe_camera, probe_decoders, probe_gpio, probe_thermometer
from sensors.thermometers import MLX90614, FakeMLX90614

SETTINGS = ThermometerSettings()


@pytest.fixture
def fake():
    return FakeMLX90614(0x5A, ambient_c=18.0, object_c=18.0, seed=1)


def test_thermometer_ok(fake):
    check = probe_thermometer(SETTINGS, MLX90614(fake, 0x5A, sleep=lambda s: None))
    assert check.status is Status.OK and "ambient 18" in check.detail


@pytest.mark.parametrize("fault, hint", [("nack", "i2cdetect"), ("bad_pec", SPEED_HINT), ("error_flag", "i2cdetect")])
def test_thermometer_faults_fail_with_a_hint(fake, fault, hint):
    fake.fail(fault)
    check = probe_thermometer(SETTINGS, MLX90614(fake, 0x5A, sleep=lambda s: None))
    assert check.status is Status.FAIL and hint in check.hint


def test_thermometer_disconnected(fake):
    fake.disconnect()
    check = probe_thermometer(SETTINGS, MLX90614(fake, 0x5A, sleep=lambda s: None))
    assert check.status is Status.FAIL and "wiring" in check.hint


def test_thermometer_wrong_address_answers_nothing():
    fake = FakeMLX90614(0x5B, seed=1)
    check = probe_thermometer(SETTINGS, MLX90614(fake, 0x5A, sleep=lambda s: None))
    assert check.status is Status.FAIL


def test_thermometer_implausible_ambient_warns(fake):
    fake.set_ambient(75.0)
    check = probe_thermometer(SETTINGS, MLX90614(fake, 0x5A, sleep=lambda s: None))
    assert check.status is Status.WARN


def test_no_thermometer_configured():
    assert probe_thermometer(ThermometerSettings(driver="none")).status is Status.OK


def test_missing_bus_fails_with_the_raspi_config_hint():
    check = probe_thermometer(ThermometerSettings(bus=29))
    assert check.status is Status.FAIL and "raspi-config" in check.detail


def test_camera_ok_and_sharp():
    check = probe_camera(lambda: ReplaySource.from_frames([qr_array("GK1:X")], loop=True, fps=60), seconds=0.3)
    assert check.status is Status.OK and "frames/s" in check.detail


def test_camera_without_frames_fails(tmp_path):
    check = probe_camera(lambda: ReplaySource(tmp_path, watch=True, poll_s=0.05), seconds=0.3)
    assert check.status is Status.FAIL and "no frames" in check.detail


def test_camera_that_cannot_open_fails():
    def broken():
        raise CameraError("picamera2 is not available: sudo apt install python3-picamera2")

    check = probe_camera(broken)
    assert check.status is Status.FAIL and "apt install" in check.detail


def test_camera_erroring_mid_read_fails():
    source = ReplaySource.from_frames([qr_array("GK1:X")], loop=True)
    source.fail_next(CameraError("cable pulled"), count=1000)
    assert probe_camera(lambda: source, seconds=0.2).status is Status.FAIL


def test_blurred_camera_warns():
    import numpy as np

    flat = np.full((480, 640), 128, dtype=np.uint8)
    check = probe_camera(lambda: ReplaySource.from_frames([flat], loop=True, fps=60), seconds=0.3)
    assert check.status is Status.WARN and "blurred" in check.hint


def test_decoders_ok():
    assert [c.status for c in probe_decoders()] == [Status.OK, Status.OK]


def test_decoder_that_cannot_load_fails(monkeypatch):
    import sensors.decoders as decoders

    real = decoders.make_decoder

    def make(engine):
        if engine == "zbar":
            raise ImportError("Unable to find zbar shared library")
        return real(engine)

    monkeypatch.setattr(decoders, "make_decoder", make)
    zxing, zbar = probe_decoders()
    assert zxing.status is Status.OK and zbar.status is Status.FAIL and "libzbar0" in zbar.hint


def test_gpio_pins_free_and_in_use():
    factory = MockFactory()
    try:
        assert probe_gpio(SignalSettings(button=5), factory).status is Status.OK
        held = LED(27, pin_factory=factory)
        check = probe_gpio(SignalSettings(), factory)
        assert check.status is Status.FAIL and "red_led (pin 27) is in use" in check.detail
        held.close()
        assert probe_gpio(SignalSettings(), factory).status is Status.OK  # the probe released what it claimed
    finally:
        factory.close()


def test_no_gpio_fails_with_the_lgpio_hint(monkeypatch):
    from gpiozero import Device

    # As on a PC, or a Pi without lgpio: no pin library can be loaded.
    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "no-such-pin-library")
    check = probe_gpio(SignalSettings())
    assert check.status is Status.FAIL and "lgpio" in check.hint
