"""Melexis MLX90614 infrared thermometer on SMBus (I2C), through smbus2, with the PEC checked in Python.

Protocol facts used here (Melexis MLX90614 datasheet and its SMBus application note):

- Command byte: ``0x00 | reg`` reads/writes RAM, ``0x20 | reg`` reads/writes EEPROM.
  RAM 0x06 is the ambient (die) temperature Ta, RAM 0x07 the object temperature Tobj1.
- A read word returns LSB, MSB, PEC. The PEC is CRC-8 (x⁸+x²+x+1, init 0, MSB first) over
  every byte of the frame: SA_W (addr<<1), command, SA_R (addr<<1 | 1), LSB, MSB. A write word
  sends LSB, MSB, PEC with the PEC over SA_W, command, LSB, MSB.
- Temperatures: °C = word × 0.02 − 273.15; bit 15 set in a temperature word is the error flag.
- EEPROM 0x04 holds the emissivity as round(ε × 65535) (factory 0xFFFF = 1.0). An EEPROM cell
  must be erased (written 0x0000) before a new value is written, each operation needs 5 ms,
  and a new emissivity takes effect only after the sensor is restarted (power cycle).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from sensors.thermometers.errors import (
    DeviceClosedError,
    EepromWriteError,
    ErrorFlagError,
    OutOfRangeError,
    PecError,
    SensorOpenError,
    bus_error,
)
from sensors.thermometers.sampling import Sample

DEFAULT_ADDRESS = 0x5A
RAM = 0x00
EEPROM = 0x20
TA = 0x06
TOBJ1 = 0x07
TOBJ2 = 0x08
EE_EMISSIVITY = 0x04
ERROR_FLAG = 0x8000
EEPROM_CYCLE_S = 0.005  # datasheet: each erase or write needs 5 ms


class SMBusLike(Protocol):
    """The part of ``smbus2.SMBus`` the driver uses (the fake implements the same)."""

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int, force: bool | None = None) -> list[int]: ...

    def write_i2c_block_data(self, i2c_addr: int, register: int, data: list[int], force: bool | None = None) -> None: ...

    def close(self) -> None: ...


def crc8(data: Iterable[int]) -> int:
    """SMBus packet error code: CRC-8 with polynomial 0x07, initial value 0, most significant bit first."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def read_pec(address: int, command: int, lsb: int, msb: int) -> int:
    """PEC of a read-word frame: SA_W, command, SA_R, LSB, MSB."""
    return crc8((address << 1, command, (address << 1) | 1, lsb, msb))


def write_pec(address: int, command: int, lsb: int, msb: int) -> int:
    """PEC of a write-word frame: SA_W, command, LSB, MSB."""
    return crc8((address << 1, command, lsb, msb))


def word_to_celsius(word: int) -> float:
    """A RAM temperature word (0.02 K per step) in °C, rounded to the sensor's 0.01 °C."""
    return round(word * 0.02 - 273.15, 2)


def celsius_to_word(celsius: float) -> int:
    """The RAM temperature word closest to ``celsius``."""
    return round((celsius + 273.15) / 0.02)


def emissivity_to_word(emissivity: float) -> int:
    """EEPROM word for an emissivity: round(ε × 65535)."""
    return round(emissivity * 65535)


def word_to_emissivity(word: int) -> float:
    """Emissivity from its EEPROM word."""
    return word / 65535


@dataclass(frozen=True)
class EmissivityChange:
    """What :meth:`MLX90614.write_emissivity` did.

    ``power_cycle_needed`` is true when a new value was written: the sensor keeps
    using the old emissivity until its supply is switched off and on again.
    """

    previous: float
    emissivity: float
    word: int
    power_cycle_needed: bool


def _open_smbus(bus: int) -> SMBusLike:
    """Open /dev/i2c-<bus>, turning the usual failures into errors that say the fix."""
    try:
        import smbus2
    except ImportError as exc:
        raise SensorOpenError("smbus2 is not installed: pip install smbus2 (it is a dependency of the kiosk)") from exc
    try:
        return smbus2.SMBus(bus)
    except FileNotFoundError as exc:
        raise SensorOpenError(
            f"I2C bus {bus} not found (/dev/i2c-{bus}): turn I2C on with "
            f"`sudo raspi-config nonint do_i2c 0` and reboot, or set thermometer.bus", errno=exc.errno
        ) from exc
    except PermissionError as exc:
        raise SensorOpenError(
            f"no permission to open /dev/i2c-{bus}: add the gate's user to the i2c group "
            f"(`sudo adduser $USER i2c`) and log in again", errno=exc.errno
        ) from exc
    except OSError as exc:
        raise SensorOpenError(f"cannot open I2C bus {bus}: {exc}", errno=exc.errno) from exc


class MLX90614:
    """One MLX90614 on an SMBus: temperatures, emissivity, and raw register access.

    ``bus`` is a bus number (the driver opens ``smbus2.SMBus(bus)`` and closes it
    again) or an already open SMBus-like object such as :class:`FakeMLX90614`
    (left open on :meth:`close`: whoever made it owns it). ``sleep`` waits out the
    EEPROM cycles; tests pass a manual clock's ``sleep``.

    Reads raise :class:`~sensors.thermometers.errors.SensorError` subclasses whose
    ``reason`` names the fault; fault *states* (stuck, jump, recovery) belong to
    :class:`~sensors.thermometers.sampling.Thermometer`.
    """

    model = "MLX90614"
    object_range_c = (-70.0, 380.0)
    """Object temperatures the sensor is calibrated for; anything else is a fault."""
    ambient_range_c = (-40.0, 125.0)
    """Ambient (die) temperatures the sensor is calibrated for."""

    def __init__(
        self,
        bus: int | SMBusLike = 1,
        address: int = DEFAULT_ADDRESS,
        *,
        eeprom_delay_s: float = 0.010,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not 0x03 <= address <= 0x77:
            raise ValueError(f"expected an I2C address 0x03-0x77, got 0x{address:02x}")
        if eeprom_delay_s < EEPROM_CYCLE_S:
            raise ValueError(f"eeprom_delay_s must be at least {EEPROM_CYCLE_S} s (the EEPROM cycle), got {eeprom_delay_s}")
        self.address = address
        self.eeprom_delay_s = eeprom_delay_s
        self._sleep = sleep
        self._owns_bus = isinstance(bus, int)
        self.bus_number: int | None = bus if isinstance(bus, int) else None
        self._bus: SMBusLike | None = _open_smbus(bus) if isinstance(bus, int) else bus
        # EEPROM writes are three dependent transactions; a monitor thread must not read in between.
        self._lock = threading.RLock()
        self.power_cycle_needed = False
        """True after a new emissivity was written and until the sensor restarts."""

    # -- life cycle -------------------------------------------------------------------------

    @property
    def bus(self) -> SMBusLike:
        """The SMBus object in use (the fake, when simulated)."""
        if self._bus is None:
            raise DeviceClosedError(f"{self.model} at 0x{self.address:02x} is closed")
        return self._bus

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._bus is None

    def close(self) -> None:
        """Release the bus (closing it only if this driver opened it); calling it again does nothing."""
        with self._lock:
            bus, self._bus = self._bus, None
            if bus is not None and self._owns_bus:
                bus.close()

    def __enter__(self) -> MLX90614:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f"bus {self.bus_number}" if self.bus_number is not None else "injected bus"
        return f"<MLX90614 0x{self.address:02x} on {where}{' (closed)' if self.closed else ''}>"

    # -- words ------------------------------------------------------------------------------

    def read_word(self, command: int) -> int:
        """Read one 16-bit word, checking the PEC; raises BusError or PecError."""
        with self._lock:
            bus = self.bus
            try:
                data = bus.read_i2c_block_data(self.address, command, 3)
            except OSError as exc:
                raise bus_error(exc, f"reading command 0x{command:02x} at 0x{self.address:02x}") from exc
        if len(data) != 3:
            raise PecError(f"reading command 0x{command:02x}: expected 3 bytes, got {len(data)}")
        lsb, msb, pec = data
        expected = read_pec(self.address, command, lsb, msb)
        if pec != expected:
            raise PecError(f"bad PEC reading command 0x{command:02x}: got 0x{pec:02x}, expected 0x{expected:02x}")
        return (msb << 8) | lsb

    def write_word(self, command: int, value: int) -> None:
        """Write one 16-bit word with its PEC (no erase, no wait: see :meth:`write_eeprom`)."""
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"expected a 16-bit word, got {value}")
        lsb, msb = value & 0xFF, value >> 8
        with self._lock:
            bus = self.bus
            try:
                bus.write_i2c_block_data(self.address, command, [lsb, msb, write_pec(self.address, command, lsb, msb)])
            except OSError as exc:
                raise bus_error(exc, f"writing command 0x{command:02x} at 0x{self.address:02x}") from exc

    def read_ram(self, register: int) -> int:
        """Read a RAM word (register 0x00-0x1F)."""
        return self.read_word(RAM | (register & 0x1F))

    def read_eeprom(self, cell: int) -> int:
        """Read an EEPROM word (cell 0x00-0x1F)."""
        return self.read_word(EEPROM | (cell & 0x1F))

    def write_eeprom(self, cell: int, value: int) -> None:
        """Erase an EEPROM cell, write ``value``, and read it back; raises EepromWriteError on a mismatch."""
        command = EEPROM | (cell & 0x1F)
        with self._lock:
            self.write_word(command, 0x0000)
            self._sleep(self.eeprom_delay_s)
            if value != 0:
                self.write_word(command, value)
                self._sleep(self.eeprom_delay_s)
            stored = self.read_word(command)
        if stored != value:
            raise EepromWriteError(
                f"EEPROM cell 0x{cell:02x}: wrote 0x{value:04x}, read back 0x{stored:04x} "
                f"(write-protected cell, or a failing sensor)"
            )

    # -- temperatures -----------------------------------------------------------------------

    def _temperature(self, register: int, limits: tuple[float, float], name: str) -> tuple[int, float]:
        word = self.read_ram(register)
        if word & ERROR_FLAG:
            raise ErrorFlagError(f"{name} temperature word 0x{word:04x} has the sensor's error flag set")
        celsius = word_to_celsius(word)
        low, high = limits
        if not low <= celsius <= high:
            raise OutOfRangeError(f"{name} temperature {celsius:.2f} °C is outside the sensor's {low:g}…{high:g} °C")
        return word, celsius

    def read_ambient(self) -> float:
        """Ambient (sensor die) temperature in °C."""
        return self._temperature(TA, self.ambient_range_c, "ambient")[1]

    def read_object(self) -> float:
        """Object temperature (zone 1) in °C."""
        return self._temperature(TOBJ1, self.object_range_c, "object")[1]

    def read(self) -> Sample:
        """Ambient then object temperature, with their raw words (the :class:`Sensor` interface)."""
        with self._lock:
            ambient_word, ambient = self._temperature(TA, self.ambient_range_c, "ambient")
            object_word, obj = self._temperature(TOBJ1, self.object_range_c, "object")
        return Sample(ambient_c=ambient, object_c=obj, words=(ambient_word, object_word))

    # -- emissivity -------------------------------------------------------------------------

    def read_emissivity(self) -> float:
        """The emissivity stored in EEPROM (what the sensor uses after its next restart)."""
        return word_to_emissivity(self.read_eeprom(EE_EMISSIVITY))

    def write_emissivity(self, emissivity: float) -> EmissivityChange:
        """Program a new emissivity (erase, write, verify); nothing is written when it is already stored.

        The sensor keeps measuring with the old value until it is power-cycled:
        the result's ``power_cycle_needed`` and :attr:`power_cycle_needed` say so.
        """
        if not 0.1 < emissivity <= 1.0:
            raise ValueError(f"expected an emissivity above 0.1 and at most 1.0, got {emissivity}")
        word = emissivity_to_word(emissivity)
        with self._lock:
            current = self.read_eeprom(EE_EMISSIVITY)
            if current == word:
                return EmissivityChange(word_to_emissivity(current), word_to_emissivity(word), word, self.power_cycle_needed)
            self.write_eeprom(EE_EMISSIVITY, word)
            self.power_cycle_needed = True
        return EmissivityChange(word_to_emissivity(current), word_to_emissivity(word), word, True)


__all__ = [
    "DEFAULT_ADDRESS", "EE_EMISSIVITY", "EEPROM", "ERROR_FLAG", "RAM", "TA", "TOBJ1", "TOBJ2",
    "EmissivityChange", "MLX90614", "SMBusLike",
    "celsius_to_word", "crc8", "emissivity_to_word", "read_pec", "word_to_celsius", "word_to_emissivity", "write_pec",
]
