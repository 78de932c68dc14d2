"""The MLX90614 driver: PEC, conversions, reads and their faults, emissivity in EEPROM, opening and closing."""

from __future__ import annotations

import errno

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.exc import KioskError
from sensors.thermometers import (
    MLX90614,
    BusError,
    DeviceClosedError,
    EepromWriteError,
    ErrorFlagError,
    FakeMLX90614,
    ManualClock,
    OutOfRangeError,
    PecError,
    SensorError,
    SensorOpenError,
)
from sensors.thermometers.mlx90614 import (
    celsius_to_word,
    crc8,
    emissivity_to_word,
    read_pec,
    word_to_celsius,
    word_to_emissivity,
    write_pec,
)


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def fake(clock):
    return FakeMLX90614(ambient_c=21.5, object_c=21.0, noise_c=0.0, response_s=0.0, clock=clock.monotonic)


@pytest.fixture
def driver(fake, clock):
    with MLX90614(fake, sleep=clock.sleep) as mlx:
        yield mlx


class RecordedBus:
    """A bus that answers from a table of (address, command) → bytes, or raises the OSError given."""

    def __init__(self, replies=None, error: OSError | None = None):
        self.replies = replies or {}
        self.error = error
        self.closed = 0

    def read_i2c_block_data(self, i2c_addr, register, length, force=None):
        if self.error:
            raise self.error
        return list(self.replies[(i2c_addr, register)])

    def write_i2c_block_data(self, i2c_addr, register, data, force=None):
        if self.error:
            raise self.error

    def close(self):
        self.closed += 1


# -- PEC and conversions -----------------------------------------------------------------------

def test_pec_datasheet_example():
    # SA_W=0xB4, command 0x07 (Tobj1), SA_R=0xB5, LSB 0xD2, MSB 0x3A → PEC 0x30; 0x3AD2 is 28.01 °C.
    assert crc8([0xB4, 0x07, 0xB5, 0xD2, 0x3A]) == 0x30
    assert read_pec(0x5A, 0x07, 0xD2, 0x3A) == 0x30
    assert word_to_celsius(0x3AD2) == 28.01


def test_pec_application_note_write_examples():
    # SMBus application note: erase EEPROM 0x0E via address 0x00 → PEC 0x6F; write 0x5A there → PEC 0xE1.
    assert write_pec(0x00, 0x2E, 0x00, 0x00) == 0x6F
    assert write_pec(0x00, 0x2E, 0x5A, 0x00) == 0xE1


def test_crc8_standard_check_value():
    assert crc8(b"123456789") == 0xF4  # the catalogued check value of CRC-8 (poly 0x07, init 0)


def test_driver_reads_the_datasheet_frame():
    bus = RecordedBus({(0x5A, 0x07): [0xD2, 0x3A, 0x30], (0x5A, 0x06): [0xD2, 0x3A, read_pec(0x5A, 0x06, 0xD2, 0x3A)]})
    mlx = MLX90614(bus)
    assert mlx.read_object() == 28.01
    sample = mlx.read()
    assert (sample.ambient_c, sample.object_c, sample.words) == (28.01, 28.01, (0x3AD2, 0x3AD2))


def test_conversions():
    assert celsius_to_word(28.01) == 0x3AD2
    assert word_to_celsius(celsius_to_word(-273.15)) == 0.0 - 273.15
    assert emissivity_to_word(1.0) == 0xFFFF
    assert emissivity_to_word(0.98) == 0xFAE0
    assert word_to_emissivity(0xFFFF) == 1.0


@given(st.integers(min_value=0, max_value=0x7FFF))
def test_word_round_trip(word):
    assert celsius_to_word(word_to_celsius(word)) == word


# -- reads ------------------------------------------------------------------------------------

def test_reads_temperatures(driver, fake):
    assert driver.read_ambient() == word_to_celsius(celsius_to_word(21.5))  # the nearest 0.02 K step
    fake.set_object(36.6)
    assert abs(driver.read_object() - 36.6) <= 0.01
    sample = driver.read()
    assert sample.words == (celsius_to_word(21.5), celsius_to_word(36.6))


def test_bad_pec_is_refused(driver, fake):
    fake.fail_next(1, "bad_pec")
    with pytest.raises(PecError) as caught:
        driver.read_object()
    assert caught.value.reason == "bad_pec"
    assert isinstance(caught.value, KioskError) and isinstance(caught.value, OSError)
    assert driver.read_object() == pytest.approx(21.0, abs=0.02)  # only that one reply was corrupted


def test_short_reply_is_refused():
    with pytest.raises(PecError, match="expected 3 bytes"):
        MLX90614(RecordedBus({(0x5A, 0x07): [0xD2, 0x3A]})).read_object()


@pytest.mark.parametrize("number, reason", [
    (errno.EREMOTEIO, "nack"),
    (errno.ENXIO, "disconnected"),
    (errno.ENODEV, "disconnected"),
    (errno.ETIMEDOUT, "bus_error"),
    (errno.EIO, "bus_error"),
])
def test_bus_errors_carry_their_reason(number, reason):
    mlx = MLX90614(RecordedBus(error=OSError(number, "boom")))
    with pytest.raises(BusError) as caught:
        mlx.read_object()
    assert caught.value.reason == reason and caught.value.errno == number
    assert "0x07" in str(caught.value)


def test_nack_and_disconnect_from_the_fake(driver, fake):
    fake.fail_next(1, "nack")
    with pytest.raises(BusError) as caught:
        driver.read()
    assert caught.value.reason == "nack"
    fake.disconnect()
    with pytest.raises(BusError) as caught:
        driver.read()
    assert caught.value.reason == "disconnected"
    fake.reconnect()
    driver.read()


def test_wrong_address_is_not_acknowledged(fake):
    with pytest.raises(BusError) as caught:
        MLX90614(fake, 0x5B).read()
    assert caught.value.reason == "nack"


def test_error_flag(driver, fake):
    fake.fail_next(1, "error_flag")
    with pytest.raises(ErrorFlagError, match="error flag") as caught:
        driver.read()
    assert caught.value.reason == "error_flag"


@pytest.mark.parametrize("ambient, obj", [(21.0, -80.0), (21.0, 500.0), (130.0, 36.0), (-45.0, 20.0)])
def test_out_of_range(driver, fake, ambient, obj):
    fake.set_ambient(ambient)
    fake.set_object(obj)
    with pytest.raises(OutOfRangeError) as caught:
        driver.read()
    assert caught.value.reason == "out_of_range"


# -- emissivity ---------------------------------------------------------------------------------

def test_emissivity_write_sequence(driver, fake, clock):
    assert driver.read_emissivity() == 1.0
    fake.transactions.clear()
    change = driver.write_emissivity(0.98)
    assert change.previous == 1.0 and change.word == 0xFAE0 and change.power_cycle_needed
    assert driver.power_cycle_needed
    eeprom = [(op, value, t) for op, command, value, t in fake.transactions if command == 0x24]
    assert [(op, value) for op, value, _ in eeprom] == [
        ("read", 0xFFFF),  # what is stored now
        ("write", 0x0000),  # erase
        ("write", 0xFAE0),  # write
        ("read", 0xFAE0),  # verify
    ]
    times = [t for _, _, t in eeprom]
    assert times[2] - times[1] >= 0.005 and times[3] - times[2] >= 0.005  # waited out each EEPROM cycle
    assert [(w.cell, w.sent, w.stored) for w in fake.eeprom_log] == [(0x04, 0x0000, 0x0000), (0x04, 0xFAE0, 0xFAE0)]
    # The chip keeps measuring with the old emissivity until it is power-cycled.
    assert fake.active_emissivity == 1.0
    fake.power_cycle()
    assert fake.active_emissivity == pytest.approx(0.98, abs=1e-4)


def test_same_emissivity_writes_nothing(driver, fake):
    driver.write_emissivity(1.0)
    assert fake.eeprom_log == [] and not driver.power_cycle_needed


def test_emissivity_verify_failure(driver, fake):
    fake.writable_cells.discard(0x04)  # the chip acknowledges but keeps the old value
    with pytest.raises(EepromWriteError, match=r"wrote 0xfae0, read back 0xffff"):
        driver.write_emissivity(0.98)
    assert not driver.power_cycle_needed


def test_write_without_erase_or_wait_goes_wrong(driver, fake, clock):
    # What the erase-then-wait sequence protects against, shown at the word level.
    driver.write_word(0x24, 0x0000)
    with pytest.raises(BusError) as caught:
        driver.write_word(0x24, 0x1234)  # EEPROM still busy: not acknowledged
    assert caught.value.reason == "nack"
    clock.advance(0.01)
    driver.write_word(0x24, 0x1234)
    clock.advance(0.01)
    driver.write_word(0x24, 0x4321)  # no erase first
    clock.advance(0.01)
    assert driver.read_eeprom(0x04) == 0x1234 | 0x4321


@pytest.mark.parametrize("value", [0.0, 0.1, 1.01, -1])
def test_emissivity_bounds(driver, value):
    with pytest.raises(ValueError):
        driver.write_emissivity(value)


# -- life cycle -------------------------------------------------------------------------------

def test_close_is_idempotent_and_leaves_an_injected_bus_open(fake):
    mlx = MLX90614(fake)
    mlx.close()
    mlx.close()
    assert mlx.closed and not fake.closed
    with pytest.raises(DeviceClosedError):
        mlx.read()
    assert "closed" in repr(mlx)


def test_opens_and_closes_the_bus_by_number(monkeypatch):
    import smbus2

    opened = []

    def open_bus(number):
        bus = RecordedBus({(0x5A, 0x06): [0xD2, 0x3A, read_pec(0x5A, 0x06, 0xD2, 0x3A)]})
        opened.append((number, bus))
        return bus

    monkeypatch.setattr(smbus2, "SMBus", open_bus)
    with MLX90614(3, 0x5A) as mlx:
        assert mlx.bus_number == 3 and mlx.read_ambient() == 28.01
    mlx.close()
    assert [(n, bus.closed) for n, bus in opened] == [(3, 1)]


@pytest.mark.parametrize("error, hint", [
    (FileNotFoundError(errno.ENOENT, "No such file or directory"), "raspi-config nonint do_i2c 0"),
    (PermissionError(errno.EACCES, "Permission denied"), "i2c group"),
])
def test_opening_failures_say_the_fix(monkeypatch, error, hint):
    import smbus2

    def refuse(number):
        raise error

    monkeypatch.setattr(smbus2, "SMBus", refuse)
    with pytest.raises(SensorOpenError, match=hint) as caught:
        MLX90614(1)
    assert isinstance(caught.value, SensorError)


def test_address_is_checked(fake):
    with pytest.raises(ValueError, match="0x03-0x77"):
        MLX90614(fake, 0x80)
