"""Infrared thermometers: the MLX90614 driver, its register-level fake, and the model-agnostic measuring logic.

- :mod:`.mlx90614` — the driver (SMBus words, PEC, temperatures, emissivity in EEPROM).
- :mod:`.fake_mlx90614` — the fake chip behind the same smbus2 calls, and :func:`simulated_thermometer`.
- :mod:`.sampling` — :class:`Thermometer`: read windows, presence, stable maximum, calibration, fault state.
- :mod:`.monitor` — :class:`ThermometerMonitor`: background polling so faults show within a second.
- :mod:`.errors` — fault reasons and exceptions.

A second sensor model is one more class with ``read() -> Sample`` and
``close()`` (see :class:`Sensor`), one more entry in :data:`DRIVERS`, and one
more value of ``thermometer.driver`` in the config.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sensors.thermometers.errors import (
    BusError,
    DeviceClosedError,
    EepromWriteError,
    ErrorFlagError,
    Fault,
    OutOfRangeError,
    PecError,
    SensorError,
    SensorOpenError,
)
from sensors.thermometers.fake_mlx90614 import FakeMLX90614, ManualClock, simulated_thermometer
from sensors.thermometers.mlx90614 import MLX90614, EmissivityChange
from sensors.thermometers.monitor import ThermometerMonitor
from sensors.thermometers.sampling import Sample, Sensor, Thermometer, ThermometerStatus, stable_maximum

DRIVERS: dict[str, Callable[..., Sensor]] = {"mlx90614": MLX90614}
"""``thermometer.driver`` → the class that opens it as ``cls(bus, address)``."""


def open_thermometer(settings: Any, *, presence: Callable[[], bool] | None = None, **kwargs: Any) -> Thermometer | None:
    """Open the real thermometer a ``ThermometerSettings`` describes; None when ``driver`` is ``none``.

    Raises SensorOpenError (with the fix in its message) when the bus cannot be
    opened: there is no silent fallback to the fake — use :func:`simulated_thermometer`.
    """
    if settings.driver == "none":
        return None
    sensor = DRIVERS[settings.driver](settings.bus, settings.address)
    return Thermometer.from_settings(settings, sensor, presence=presence, **kwargs)


__all__ = [
    "DRIVERS", "BusError", "DeviceClosedError", "EepromWriteError", "EmissivityChange", "ErrorFlagError",
    "FakeMLX90614", "Fault", "MLX90614", "ManualClock", "OutOfRangeError", "PecError", "Sample", "Sensor",
    "SensorError", "SensorOpenError", "Thermometer", "ThermometerMonitor", "ThermometerStatus",
    "open_thermometer", "simulated_thermometer", "stable_maximum",
]
