"""Thermometer faults: the reason codes a measurement carries, and the exceptions drivers raise.

Every exception derives from ``kiosk.exc.KioskError`` and from the builtin it
resembles, so callers can catch either. Each bus-side exception carries a
``reason`` (a :class:`Fault`) that becomes ``Measurement.fault``.
"""

from __future__ import annotations

import enum
import errno as errnos

from kiosk.exc import KioskError


class Fault(str, enum.Enum):
    """Why a thermometer has no trustworthy number; the value goes into ``Measurement.fault``."""

    NACK = "nack"  # the sensor did not acknowledge (EREMOTEIO): loose wire, bus too fast, EEPROM busy
    DISCONNECTED = "disconnected"  # nobody answers at the address, or the bus itself is gone (ENXIO, ENODEV)
    BUS_ERROR = "bus_error"  # any other I/O error on the bus (timeout, arbitration lost, …)
    BAD_PEC = "bad_pec"  # the packet error code did not match: the bytes were corrupted on the wire
    ERROR_FLAG = "error_flag"  # the sensor set its own error bit (bit 15 of a temperature word)
    OUT_OF_RANGE = "out_of_range"  # a temperature outside what the sensor can report
    STUCK = "stuck"  # the same raw words for too long: the sensor stopped updating
    JUMP = "jump"  # a change between two reads no real scene produces
    UNSTABLE = "unstable"  # not a device fault: no two neighbouring reads of a window agreed


class SensorError(KioskError, OSError):
    """A sensor could not be read or written; ``reason`` says which fault that is."""

    reason: Fault = Fault.BUS_ERROR

    def __init__(self, message: str, *, reason: Fault | None = None, errno: int | None = None):
        super().__init__(message)
        if reason is not None:
            self.reason = reason
        self.errno = errno


class SensorOpenError(SensorError):
    """The sensor's bus could not be opened; the message says how to fix it."""


class BusError(SensorError):
    """A bus transaction failed (NACK, device gone, timeout); ``errno`` is the OS error number."""


class PecError(SensorError):
    """A reply's packet error code (CRC-8) did not match its bytes."""

    reason = Fault.BAD_PEC


class ErrorFlagError(SensorError):
    """The sensor flagged its own reading as invalid."""

    reason = Fault.ERROR_FLAG


class OutOfRangeError(SensorError):
    """A reading lies outside the sensor's physical range."""

    reason = Fault.OUT_OF_RANGE


class EepromWriteError(SensorError):
    """An EEPROM cell did not read back the value written to it."""


class DeviceClosedError(KioskError, RuntimeError):
    """A closed thermometer or driver was used."""


# errno → fault. EREMOTEIO is what the Pi's i2c-bcm2835 adapter returns for a NACK;
# bit-banged adapters report a missing device as ENXIO; ENODEV/ENOENT mean the adapter went away.
_ERRNO_FAULTS: dict[int | None, Fault] = {  # OSError.errno may be None
    errnos.EREMOTEIO: Fault.NACK,
    errnos.ENXIO: Fault.DISCONNECTED,
    errnos.ENODEV: Fault.DISCONNECTED,
    errnos.ENOENT: Fault.DISCONNECTED,
}


def bus_error(exc: OSError, doing: str) -> BusError:
    """Wrap an ``OSError`` from smbus2 as a :class:`BusError` with the matching fault reason."""
    reason = _ERRNO_FAULTS.get(exc.errno, Fault.BUS_ERROR)
    what = exc.strerror or str(exc) or type(exc).__name__
    number = f" [errno {exc.errno}]" if exc.errno is not None else ""
    return BusError(f"{doing}: {what}{number}", reason=reason, errno=exc.errno)
