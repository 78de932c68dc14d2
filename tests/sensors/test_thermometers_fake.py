"""The fake MLX90614 behaves like the chip at its SMBus interface, and its faults are scriptable."""

from __future__ import annotations

import errno
import math

import pytest

from sensors.thermometers import FakeMLX90614, ManualClock
from sensors.thermometers.mlx90614 import celsius_to_word, read_pec, write_pec

A = 0x5A


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def fake(clock):
    return FakeMLX90614(ambient_c=20.0, object_c=30.0, noise_c=0.0, response_s=0.0, clock=clock.monotonic)


def word(fake, command):
    lsb, msb, pec = fake.read_i2c_block_data(A, command, 3)
    assert pec == read_pec(A, command, lsb, msb)
    return lsb | msb << 8


def write(fake, command, value, pec=None):
    lsb, msb = value & 0xFF, value >> 8
    fake.write_i2c_block_data(A, command, [lsb, msb, write_pec(A, command, lsb, msb) if pec is None else pec])


def oserror(call) -> int:
    with pytest.raises(OSError) as caught:
        call()
    return caught.value.errno


def test_answers_with_correct_pec(fake):
    assert word(fake, 0x06) == celsius_to_word(20.0)
    assert word(fake, 0x07) == celsius_to_word(30.0)
    assert word(fake, 0x24) == 0xFFFF  # a new chip's emissivity: 1.0
    assert word(fake, 0x2E) & 0xFF == A  # its SMBus address cell


def test_longer_reads_are_padded_like_a_released_bus(fake):
    assert fake.read_i2c_block_data(A, 0x07, 5)[3:] == [0xFF, 0xFF]


def test_noise_is_seeded():
    words = [[word(FakeMLX90614(object_c=36.0, noise_c=0.1, seed=s), 0x07) for _ in range(5)] for s in (1, 1, 2)]
    assert words[0] == words[1] != words[2]


def test_temperatures_saturate_like_the_chip(fake):
    fake.set_object(500.0)
    assert word(fake, 0x07) == 0x7FFF
    fake.set_object(-300.0)
    assert word(fake, 0x07) == 0x0000


def test_set_object_none_means_nobody(fake):
    fake.set_object(None)
    assert word(fake, 0x07) == word(fake, 0x06)


def test_wrong_address_and_unknown_commands_are_nacked(fake):
    assert oserror(lambda: fake.read_i2c_block_data(0x5B, 0x07, 3)) == errno.EREMOTEIO
    assert oserror(lambda: fake.read_i2c_block_data(A, 0xF0, 3)) == errno.EREMOTEIO


def test_fail_next_counts_transactions(fake):
    fake.fail_next(2, "nack")
    assert oserror(lambda: word(fake, 0x07)) == errno.EREMOTEIO
    assert oserror(lambda: write(fake, 0x24, 0)) == errno.EREMOTEIO
    assert word(fake, 0x07) == celsius_to_word(30.0)


def test_bad_pec_next_reads(fake):
    fake.fail_next(1, "bad_pec")
    lsb, msb, pec = fake.read_i2c_block_data(A, 0x07, 3)
    assert pec != read_pec(A, 0x07, lsb, msb)
    word(fake, 0x07)


def test_object_faults_touch_object_reads_only(fake):
    fake.fail_next(1, "error_flag")
    assert word(fake, 0x06) == celsius_to_word(20.0)
    assert word(fake, 0x07) == celsius_to_word(30.0) | 0x8000
    fake.fail_next(1, "jump")
    assert word(fake, 0x07) == celsius_to_word(60.0)
    fake.fail_next(1, "out_of_range")
    assert word(fake, 0x07) == celsius_to_word(-80.0)
    assert word(fake, 0x07) == celsius_to_word(30.0)


def test_persistent_fault_until_cleared(fake):
    fake.fail("nack")
    for _ in range(5):
        assert oserror(lambda: word(fake, 0x07)) == errno.EREMOTEIO
    fake.clear_faults()
    word(fake, 0x07)


def test_unknown_fault_kind(fake):
    with pytest.raises(ValueError, match="unknown fault kind"):
        fake.fail_next(1, "gremlins")


def test_disconnect_until_reconnected(fake):
    fake.disconnect()
    assert oserror(lambda: word(fake, 0x07)) == errno.ENXIO
    assert oserror(lambda: write(fake, 0x24, 0)) == errno.ENXIO
    fake.reconnect()
    word(fake, 0x07)


def test_stick_freezes_words(fake):
    fake.noise_c = 0.5
    fake.stick()
    frozen = [word(fake, 0x06), word(fake, 0x07)]
    fake.set_object(36.0)
    assert [word(fake, 0x06), word(fake, 0x07)] == frozen
    fake.unstick()
    assert abs(word(fake, 0x07) - celsius_to_word(36.0)) < 200


def test_eeprom_erase_write_and_busy(fake, clock):
    write(fake, 0x24, 0x0000)
    assert word(fake, 0x24) == 0x0000  # busy: reads 0
    assert oserror(lambda: write(fake, 0x24, 0xFAE0)) == errno.EREMOTEIO  # busy: not acknowledged
    clock.advance(0.005)
    write(fake, 0x24, 0xFAE0)
    clock.advance(0.005)
    assert word(fake, 0x24) == 0xFAE0


def test_eeprom_write_without_erase_stores_garbage(fake, clock):
    write(fake, 0x24, 0x0F0F)  # over 0xFFFF, not erased
    clock.advance(0.01)
    assert word(fake, 0x24) == 0xFFFF
    write(fake, 0x22, 0x00F0)  # PWMCTRL 0x0201, not erased
    clock.advance(0.01)
    assert word(fake, 0x22) == 0x0201 | 0x00F0


def test_eeprom_write_with_bad_pec_is_nacked_and_ignored(fake):
    assert oserror(lambda: write(fake, 0x24, 0x0000, pec=0x00)) == errno.EREMOTEIO
    assert word(fake, 0x24) == 0xFFFF and fake.eeprom_log == []


def test_factory_cells_ignore_writes(fake, clock):
    before = word(fake, 0x3C)
    write(fake, 0x3C, 0x0000)
    clock.advance(0.01)
    assert word(fake, 0x3C) == before


def test_ram_is_read_only(fake):
    write(fake, 0x07, 0x1234)
    assert word(fake, 0x07) == celsius_to_word(30.0)


def test_power_cycle_activates_the_emissivity(fake, clock):
    write(fake, 0x24, 0x0000)
    clock.advance(0.01)
    write(fake, 0x24, 0xF333)
    assert fake.active_emissivity == 1.0
    fake.power_cycle()
    assert fake.active_emissivity == pytest.approx(0xF333 / 65535) and fake.power_cycles == 1


def test_close_and_context_manager(fake):
    with fake as bus:
        word(bus, 0x07)
    fake.close()
    assert fake.closed
    assert oserror(lambda: word(fake, 0x07)) == errno.EBADF


def test_object_output_follows_the_scene_with_a_lag(clock):
    fake = FakeMLX90614(ambient_c=20.0, noise_c=0.0, response_s=0.2, clock=clock.monotonic)
    fake.set_object(36.0)
    assert word(fake, 0x07) == celsius_to_word(20.0)
    clock.advance(0.2)  # one time constant: 63 % of the way
    assert word(fake, 0x07) == celsius_to_word(20.0 + 16.0 * (1 - math.exp(-1)))
    clock.advance(2.0)
    assert word(fake, 0x07) == celsius_to_word(36.0)
    fake.set_object(None, settle=True)
    assert word(fake, 0x07) == celsius_to_word(20.0)
