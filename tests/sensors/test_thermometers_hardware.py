"""The MLX90614 on a real Raspberry Pi: run with ``pytest -m hardware`` (bus and address from the environment).

``KIOSK_I2C_BUS`` (default 1) and ``KIOSK_MLX90614_ADDRESS`` (default 0x5a) say where the sensor is.
"""

from __future__ import annotations

import os

import pytest

from sensors.thermometers import MLX90614, Thermometer

pytestmark = pytest.mark.hardware

BUS = int(os.environ.get("KIOSK_I2C_BUS", "1"))
ADDRESS = int(os.environ.get("KIOSK_MLX90614_ADDRESS", "0x5a"), 0)


@pytest.fixture
def sensor():
    with MLX90614(BUS, ADDRESS) as mlx:
        yield mlx


def test_answers_with_good_pec_and_plausible_temperatures(sensor):
    sample = sensor.read()  # raises on a bad PEC, the error flag or an impossible value
    assert 0.0 <= sample.ambient_c <= 50.0, "a gate's sensor should sit between 0 and 50 °C"
    assert -70.0 <= sample.object_c <= 380.0


def test_emissivity_is_readable(sensor):
    assert 0.1 < sensor.read_emissivity() <= 1.0


def test_reads_keep_changing_and_the_thermometer_stays_healthy(sensor):
    thermometer = Thermometer(sensor)
    statuses = [thermometer.poll() for _ in range(20)]
    assert all(s.ok for s in statuses), statuses[-1]
    wall = thermometer.measure(require_presence=False)
    assert wall.fault is None and len(wall.raw) == 8
