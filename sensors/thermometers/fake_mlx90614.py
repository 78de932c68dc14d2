"""A register-level fake MLX90614: an SMBus object that answers like the chip, with real PEC bytes and injectable faults.

It stands where ``smbus2.SMBus`` stands, so the real :class:`MLX90614` driver and
:class:`Thermometer` run unchanged on top of it (tests, the demo, volunteer training)::

    fake = FakeMLX90614(ambient_c=22.0)
    thermometer = simulated_thermometer(fake)
    fake.set_object(37.9)          # a feverish forehead in front of the sensor
    fake.fail_next(2, "nack")      # the next two bus transactions are not acknowledged
    fake.disconnect(); fake.reconnect()
    fake.stick()                   # the sensor stops updating its RAM

How faithful it is, and where it simplifies:

- RAM 0x06 (ambient) and 0x07/0x08 (object) are computed from the settable
  temperatures on every read, with optional seeded Gaussian noise (on the object;
  a quarter of it on the ambient, whose die temperature moves slowly). Words
  saturate at 0x0000…0x7FFF as the chip's do.
- The chip low-pass filters its object output (FIR and IIR filters set in EEPROM),
  so a forehead arriving shows as a quick rise, not a one-read step. The fake
  approximates that with a first-order lag of ``response_s`` (0.2 s by default;
  0 makes changes instant); :meth:`FakeMLX90614.settle` skips the wait, as if
  the person had been standing there a while.
- The object temperature is what the chip would *report*: the fake does not model
  how emissivity changes a reading, only where it is stored (EEPROM 0x04) and that a
  new value becomes active (:attr:`active_emissivity`) at :meth:`power_cycle`.
- EEPROM rules: writes carry a PEC, and a wrong one is NACKed with nothing
  written; each erase/write keeps the EEPROM busy for 5 ms, during which further
  writes are NACKed and EEPROM reads return 0x0000 (as users observe on the bus).
  A write of 0x0000 erases; a non-zero write over a cell that was not erased first
  stores the bitwise OR of old and new — the cell is then garbage, which is what
  the datasheet's "erase first" rule protects against (real chips give undefined
  values; OR is this fake's deterministic choice, caught by read-back). Only the
  cells users may write (:attr:`FakeMLX90614.writable_cells`) change; writes to factory calibration
  cells are acknowledged and ignored, as the Melexis application note describes.
- The "read flags" (0xF0) and sleep (0xFF) commands are not modelled: NACK.
"""

from __future__ import annotations

import collections
import errno
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sensors.thermometers.mlx90614 import (
    DEFAULT_ADDRESS,
    EE_EMISSIVITY,
    EEPROM,
    EEPROM_CYCLE_S,
    ERROR_FLAG,
    MLX90614,
    RAM,
    TA,
    TOBJ1,
    TOBJ2,
    celsius_to_word,
    emissivity_to_word,
    read_pec,
    word_to_emissivity,
    write_pec,
)
from sensors.thermometers.sampling import Thermometer

FAULT_KINDS = ("nack", "bad_pec", "error_flag", "out_of_range", "jump")
"""What :meth:`FakeMLX90614.fail_next` can inject. ``nack`` hits any transaction,
``bad_pec`` any read, the others reads of the object temperature (one per sample)."""

WRITABLE_CELLS = frozenset({0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x0E})
"""EEPROM cells the datasheet lets users change: To max/min, PWM control, Ta range,
emissivity, config register 1, SMBus address."""


class ManualClock:
    """A clock that moves only when told: ``monotonic``, ``sleep`` (advances) and a wall-clock ``now``.

    Hand the same clock to the fake and the thermometer and every timing rule
    (EEPROM cycles, stuck windows, jump rates, the 1 s fault report) is tested
    without waiting.
    """

    def __init__(self, start: float = 0.0, wall: datetime = datetime(2026, 1, 1, tzinfo=UTC)):
        self.t = start
        self._wall0 = wall - timedelta(seconds=start)
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        """Seconds on this clock."""
        return self.t

    def sleep(self, seconds: float) -> None:
        """Advance instead of waiting."""
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        if seconds < 0:
            raise ValueError("a clock does not go back")
        with self._lock:
            self.t += seconds

    def now(self) -> datetime:
        """Wall-clock time matching :meth:`monotonic`."""
        return self._wall0 + timedelta(seconds=self.t)


@dataclass(frozen=True)
class EepromWrite:
    """One EEPROM write the fake accepted: the word sent and the word the cell then held."""

    cell: int
    sent: int
    stored: int
    at: float


def _nack() -> OSError:
    return OSError(errno.EREMOTEIO, "Remote I/O error")


class FakeMLX90614:
    """A fake MLX90614 on its own fake SMBus (``read_i2c_block_data``, ``write_i2c_block_data``, ``close``).

    ``ambient_c``/``object_c`` set the scene (object defaults to ambient: nobody in
    front); ``response_s`` is the time constant with which the object output
    follows the scene; ``noise_c`` is the standard deviation of the object's read
    noise, drawn from ``random.Random(seed)`` so runs repeat; ``emissivity`` is
    what EEPROM 0x04 holds at start (a new chip holds 1.0); ``jump_c`` is the size
    of an injected jump; ``clock`` times the EEPROM cycles and the response.
    """

    def __init__(
        self,
        address: int = DEFAULT_ADDRESS,
        *,
        ambient_c: float = 22.0,
        object_c: float | None = None,
        noise_c: float = 0.03,
        response_s: float = 0.2,
        seed: int = 0,
        emissivity: float = 1.0,
        jump_c: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.address = address
        self.ambient_c = ambient_c
        self.object_c = ambient_c if object_c is None else object_c
        self.response_s = response_s
        self.noise_c = noise_c
        self.jump_c = jump_c
        self._random = random.Random(seed)
        self._clock = clock
        self._lock = threading.RLock()
        self.eeprom: dict[int, int] = {
            0x00: round((120.0 + 273.15) * 100),  # To max and To min are stored at 0.01 K per step
            0x01: round((-20.0 + 273.15) * 100),
            0x02: 0x0201,
            0x03: 0xF71C,
            EE_EMISSIVITY: emissivity_to_word(emissivity),
            0x05: 0x9FB4,
            0x0E: 0xBE00 | address,
        }
        rng = random.Random(seed ^ 0x9061)
        for cell in (0x1C, 0x1D, 0x1E, 0x1F):  # the chip's unique ID words
            self.eeprom[cell] = rng.randrange(0x10000)
        self.active_emissivity = word_to_emissivity(self.eeprom[EE_EMISSIVITY])
        """The emissivity the chip measures with: EEPROM 0x04 as it was at the last power-up."""
        self.writable_cells = set(WRITABLE_CELLS)
        """Cells a write changes; remove one to script a write-protected cell (read-back fails)."""
        self.eeprom_log: list[EepromWrite] = []
        self.transactions: collections.deque[tuple[str, int, int | None, float]] = collections.deque(maxlen=2_000)
        """Recent bus traffic as (``"read"``/``"write"``, command, word or None on NACK, time)."""
        self.power_cycles = 0
        self.closed = False
        self._faults: dict[str, int | None] = {}
        self._disconnected = False
        self._stuck: dict[int, int] | None = None
        self._last_words: dict[int, int] = {}
        self._busy_until = float("-inf")
        self._output_c = self.object_c  # the filtered object temperature the chip reports
        self._output_t = clock()

    # -- scripting --------------------------------------------------------------------------

    def set_ambient(self, celsius: float) -> None:
        """Set the die (ambient) temperature."""
        with self._lock:
            self.ambient_c = celsius

    def set_object(self, celsius: float | None, *, settle: bool = False) -> None:
        """Set what the sensor sees (a forehead, say); None: nobody, the scene is at ambient.

        The reported object temperature follows within about ``3 × response_s``;
        ``settle=True`` makes it report the new value at once.
        """
        with self._lock:
            self.object_c = self.ambient_c if celsius is None else celsius
            if settle:
                self.settle()

    def settle(self) -> None:
        """Let the object output reach the scene's temperature now."""
        with self._lock:
            self._output_c, self._output_t = self.object_c, self._clock()

    def fail_next(self, n: int = 1, kind: str = "nack") -> None:
        """Inject ``kind`` (one of :data:`FAULT_KINDS`) into the next ``n`` transactions it applies to."""
        self._inject(kind, n)

    def fail(self, kind: str) -> None:
        """Inject ``kind`` into every transaction it applies to, until :meth:`clear_faults`."""
        self._inject(kind, None)

    def _inject(self, kind: str, n: int | None) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if n is not None and n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        with self._lock:
            self._faults[kind] = n

    def disconnect(self) -> None:
        """Pull the wires: every transaction fails with ENXIO until :meth:`reconnect`."""
        with self._lock:
            self._disconnected = True

    def reconnect(self) -> None:
        """Plug the wires back in."""
        with self._lock:
            self._disconnected = False

    def stick(self) -> None:
        """Freeze the temperature RAM: the same words come back until :meth:`unstick`."""
        with self._lock:
            self._stuck = {reg: self._last_words[reg] if reg in self._last_words else self._fresh_word(reg)
                           for reg in (TA, TOBJ1, TOBJ2)}

    def unstick(self) -> None:
        """Let the temperature RAM update again."""
        with self._lock:
            self._stuck = None

    def clear_faults(self) -> None:
        """Remove every injected fault: reconnected, unstuck, nothing pending."""
        with self._lock:
            self._faults.clear()
            self._disconnected = False
            self._stuck = None

    def power_cycle(self) -> None:
        """Switch the chip off and on: EEPROM settings (emissivity) become active, RAM restarts."""
        with self._lock:
            self.active_emissivity = word_to_emissivity(self.eeprom.get(EE_EMISSIVITY, 0))
            self._busy_until = float("-inf")
            self._stuck = None
            self._last_words.clear()
            self.settle()
            self.power_cycles += 1

    # -- the chip ---------------------------------------------------------------------------

    def _consume(self, kind: str) -> bool:
        if kind not in self._faults:
            return False
        remaining = self._faults[kind]
        if remaining is not None:
            if remaining <= 1:
                del self._faults[kind]
            else:
                self._faults[kind] = remaining - 1
        return True

    def _noise(self, sigma: float) -> float:
        return self._random.gauss(0.0, sigma) if sigma > 0 else 0.0

    def _filtered_object(self) -> float:
        now = self._clock()
        elapsed = max(now - self._output_t, 0.0)
        if self.response_s <= 0:
            self._output_c = self.object_c
        elif elapsed:
            self._output_c += (self.object_c - self._output_c) * (1.0 - math.exp(-elapsed / self.response_s))
        self._output_t = now
        return self._output_c

    def _fresh_word(self, register: int, extra_c: float = 0.0) -> int:
        if register == TA:
            celsius = self.ambient_c + self._noise(self.noise_c / 4)
        else:
            celsius = self._filtered_object() + extra_c + self._noise(self.noise_c)
        # The chip's temperature words never carry bit 15 by themselves: they saturate.
        return min(max(celsius_to_word(celsius), 0), 0x7FFF)

    def _ram_word(self, register: int) -> int:
        if register not in (TA, TOBJ1, TOBJ2):
            return 0x0000
        if self._stuck is not None:
            return self._stuck[register]
        is_object = register == TOBJ1
        if is_object and self._consume("out_of_range"):
            return celsius_to_word(-80.0)
        word = self._fresh_word(register, self.jump_c if is_object and self._consume("jump") else 0.0)
        self._last_words[register] = word
        if is_object and self._consume("error_flag"):
            word |= ERROR_FLAG
        return word

    def _check_line(self, i2c_addr: int, kind: str, command: int) -> None:
        if self.closed:
            raise OSError(errno.EBADF, "Bad file descriptor (bus closed)")
        if self._disconnected:
            self.transactions.append((kind, command, None, self._clock()))
            raise OSError(errno.ENXIO, "No such device or address")
        if i2c_addr != self.address or self._consume("nack"):
            self.transactions.append((kind, command, None, self._clock()))
            raise _nack()

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int, force: Any = None) -> list[int]:
        """SMBus read: LSB, MSB, PEC of the word behind command ``register`` (padded with 0xFF beyond)."""
        with self._lock:
            self._check_line(i2c_addr, "read", register)
            now = self._clock()
            if register & 0xE0 == RAM:
                word = self._ram_word(register & 0x1F)
            elif register & 0xE0 == EEPROM:
                word = 0x0000 if now < self._busy_until else self.eeprom.get(register & 0x1F, 0x0000)
            else:
                self.transactions.append(("read", register, None, now))
                raise _nack()
            lsb, msb = word & 0xFF, word >> 8
            pec = read_pec(self.address, register, lsb, msb)
            if self._consume("bad_pec"):
                pec ^= 0xA5
            self.transactions.append(("read", register, word, now))
            data = [lsb, msb, pec]
            return (data + [0xFF] * max(0, length - 3))[:length]

    def write_i2c_block_data(self, i2c_addr: int, register: int, data: list[int], force: Any = None) -> None:
        """SMBus write: ``data`` must be LSB, MSB, PEC; EEPROM commands store the word (see the module notes)."""
        with self._lock:
            self._check_line(i2c_addr, "write", register)
            now = self._clock()
            data = list(data)
            if len(data) != 3 or write_pec(self.address, register, data[0], data[1]) != data[2]:
                self.transactions.append(("write", register, None, now))
                raise _nack()
            value = data[0] | (data[1] << 8)
            if register & 0xE0 == EEPROM:
                if now < self._busy_until:
                    self.transactions.append(("write", register, None, now))
                    raise _nack()
                cell = register & 0x1F
                old = self.eeprom.get(cell, 0x0000)
                if cell not in self.writable_cells:
                    stored = old
                elif value == 0 or old == 0:
                    stored = value
                else:
                    stored = old | value
                self.eeprom[cell] = stored
                self._busy_until = now + EEPROM_CYCLE_S
                self.eeprom_log.append(EepromWrite(cell, value, stored, now))
            elif register & 0xE0 != RAM:  # RAM writes are acknowledged and change nothing
                self.transactions.append(("write", register, None, now))
                raise _nack()
            self.transactions.append(("write", register, value, now))

    def close(self) -> None:
        """Close the fake bus; calling it again does nothing."""
        self.closed = True

    def __enter__(self) -> FakeMLX90614:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<FakeMLX90614 0x{self.address:02x} ambient {self.ambient_c:.2f} °C "
                f"object {self.object_c:.2f} °C{' disconnected' if self._disconnected else ''}>")


def simulated_thermometer(
    fake: FakeMLX90614 | None = None,
    settings: Any = None,
    *,
    clock: ManualClock | None = None,
    **thermometer_kwargs: Any,
) -> Thermometer:
    """A :class:`Thermometer` running the real MLX90614 driver on a fake chip (what ``--simulate`` uses).

    ``settings`` is a ``ThermometerSettings`` (address, emissivity, calibration);
    without it the defaults apply. Without ``fake`` a new one is made at the
    settings' address with the settings' emissivity already programmed; reach it
    as ``thermometer.sensor.bus`` to script it. ``clock`` drives fake, driver and
    thermometer from one :class:`ManualClock`.
    """
    from kiosk.config.hardware import ThermometerSettings

    if settings is None:
        settings = ThermometerSettings(address=fake.address) if fake is not None else ThermometerSettings()
    if fake is None:
        fake = FakeMLX90614(settings.address, emissivity=settings.emissivity,
                            clock=clock.monotonic if clock else time.monotonic)
    if clock is not None:
        thermometer_kwargs.setdefault("clock", clock.monotonic)
        thermometer_kwargs.setdefault("sleep", clock.sleep)
        thermometer_kwargs.setdefault("now", clock.now)
    sensor = MLX90614(fake, settings.address, sleep=clock.sleep if clock else time.sleep)
    return Thermometer.from_settings(settings, sensor, **thermometer_kwargs)
