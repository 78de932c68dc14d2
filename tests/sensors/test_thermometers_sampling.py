"""The thermometer: read windows, presence, the stable maximum, calibration, and the fault state (with its monitor)."""

from __future__ import annotations

import errno
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.config.hardware import ThermometerSettings
from kiosk.measurements import MeasurementSource
from sensors.thermometers import (
    DeviceClosedError,
    FakeMLX90614,
    ManualClock,
    Sample,
    SensorOpenError,
    Thermometer,
    ThermometerMonitor,
    open_thermometer,
    simulated_thermometer,
    stable_maximum,
)


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def fake(clock):
    return FakeMLX90614(ambient_c=22.0, noise_c=0.03, seed=7, clock=clock.monotonic)


@pytest.fixture
def thermometer(fake, clock):
    with simulated_thermometer(fake, clock=clock) as thermo:
        yield thermo


class ScriptedSensor:
    """A second 'model': any object with read() -> Sample and close() is a sensor."""

    model = "scripted"

    def __init__(self, objects, ambient=22.0, error=None):
        self.objects = list(objects)
        self.ambient = ambient
        self.error = error
        self.closed = 0

    def read(self):
        if self.error:
            raise self.error
        value = self.objects.pop(0) if len(self.objects) > 1 else self.objects[0]
        return Sample(self.ambient, value, (round(value * 50),))

    def close(self):
        self.closed += 1


def scripted(objects, clock, **kwargs):
    return Thermometer(ScriptedSensor(objects, **kwargs.pop("sensor", {})), clock=clock.monotonic,
                       sleep=clock.sleep, now=clock.now, **kwargs)


# -- stable maximum ---------------------------------------------------------------------------

@pytest.mark.parametrize("values, expected", [
    ([36.5, 36.6, 36.7], 36.7),
    ([36.4, 36.5, 39.0, 36.6, 36.5], 36.6),  # a lone spike is not confirmed by a neighbour
    ([36.5, 39.0, 36.6], None),  # … and confirms nothing either
    ([20.0, 36.5, 36.6, 20.0], 36.6),  # a head arriving and leaving
    ([20.0, 25.0, 30.0], None),  # nothing agrees
    ([36.5, 36.8], 36.8),  # exactly 0.3 apart agrees
    ([36.5, 36.81], None),
    ([22.0, 22.1, 36.4, 36.5, 41.0], 36.5),
])
def test_stable_maximum(values, expected):
    assert stable_maximum(values, 0.3) == expected


# -- measurements ---------------------------------------------------------------------------

def test_nobody_in_front_gives_no_measurement(thermometer):
    assert thermometer.measure() is None
    wall = thermometer.measure(require_presence=False)
    assert wall.object_c == pytest.approx(22.0, abs=0.2) and wall.fault is None


def test_measurement_of_a_forehead(thermometer, fake, clock):
    fake.set_object(36.6, settle=True)
    start = clock.monotonic()
    m = thermometer.measure()
    assert m.object_c == pytest.approx(36.6, abs=0.15)
    assert m.ambient_c == pytest.approx(22.0, abs=0.05)
    assert m.source is MeasurementSource.SENSOR and m.fault is None
    assert len(m.raw) == 8 and m.object_c == max(m.raw)
    assert clock.monotonic() - start == pytest.approx(0.35)  # 8 reads 50 ms apart
    assert m.taken_at == clock.now()
    assert m.to_dict()["raw"] == list(m.raw)


def test_window_is_configurable(fake, clock):
    fake.set_object(36.0, settle=True)
    thermo = simulated_thermometer(fake, clock=clock, reads=4, window_s=0.2)
    start = clock.monotonic()
    assert len(thermo.measure().raw) == 4
    assert clock.monotonic() - start == pytest.approx(0.15)


def test_reported_value_is_the_stable_maximum(clock):
    m = scripted([30.0, 36.2, 36.3, 36.4, 39.9, 36.35, 36.3, 30.0], clock).measure()
    assert m.object_c == 36.4 and m.raw == (30.0, 36.2, 36.3, 36.4, 39.9, 36.35, 36.3, 30.0)


def test_unstable_window_reports_no_number(clock):
    thermo = scripted([30.0, 36.0, 31.0, 37.0, 32.0, 38.0, 33.0, 39.0], clock)
    m = thermo.measure()
    assert m.object_c is None and m.fault == "unstable" and m.raw == ()
    assert thermo.status.ok  # the device itself is fine


def test_presence_by_temperature_delta(fake, clock):
    thermo = simulated_thermometer(fake, clock=clock, presence_delta_c=2.0)
    fake.set_object(23.5, settle=True)
    assert thermo.measure() is None
    fake.set_object(24.5, settle=True)
    assert thermo.measure() is not None


def test_presence_input_when_the_air_is_as_warm_as_a_forehead(fake, clock):
    fake.set_ambient(35.5)
    fake.set_object(36.4, settle=True)
    assert simulated_thermometer(fake, clock=clock).measure() is None
    present = simulated_thermometer(fake, clock=clock, presence=lambda: True).measure()
    assert present.object_c == pytest.approx(36.4, abs=0.15)


def test_calibration_is_applied(clock):
    fake = FakeMLX90614(ambient_c=15.0, object_c=35.0, noise_c=0.0, clock=clock.monotonic)
    settings = ThermometerSettings(offset_c=0.5, ambient_slope=0.02)
    m = simulated_thermometer(fake, settings, clock=clock).measure()
    # 35.0 + 0.5 + 0.02 × (15 − 25): the words are 0.02 K steps, so allow one step.
    assert m.object_c == pytest.approx(35.3, abs=0.021)
    assert max(m.raw) == pytest.approx(35.0, abs=0.021)  # raw reads stay uncalibrated


# -- faults ---------------------------------------------------------------------------------

def inject(kind, fake, thermo, clock):
    if kind == "disconnected":
        fake.disconnect()
    elif kind == "stuck":
        fake.stick()
        for _ in range(5):  # identical words for more than 2 s
            thermo.poll()
            clock.advance(0.5)
    else:
        fake.fail_next(1, kind)


FAULTS = ["nack", "disconnected", "bad_pec", "error_flag", "out_of_range", "stuck", "jump"]


@pytest.mark.parametrize("kind", FAULTS)
def test_every_fault_gives_no_number(kind, thermometer, fake, clock):
    fake.set_object(36.6, settle=True)
    assert thermometer.measure().object_c is not None
    inject(kind, fake, thermometer, clock)
    m = thermometer.measure()
    assert (m.object_c, m.ambient_c, m.raw, m.fault) == (None, None, (), kind)
    assert m.to_dict()["fault"] == kind


@pytest.mark.parametrize("kind", FAULTS)
def test_fault_state_and_recovery(kind, thermometer, fake, clock):
    fake.set_object(36.6, settle=True)
    inject(kind, fake, thermometer, clock)
    for _ in range(3):
        thermometer.poll()
    status = thermometer.status
    assert status.fault == kind and not status.ok and status.ambient_c is None and status.detail
    fake.clear_faults()
    for _ in range(3):  # recover_after good reads
        thermometer.poll()
        clock.advance(0.05)
    assert thermometer.status.ok and thermometer.status.ambient_c == pytest.approx(22.0, abs=0.05)
    assert thermometer.measure().object_c == pytest.approx(36.6, abs=0.15)


def test_a_fault_during_the_window_spoils_it_even_after_recovery(thermometer, fake):
    fake.set_object(36.6, settle=True)
    fake.fail_next(1, "nack")
    assert thermometer.measure().fault == "nack"  # 7 good reads followed, but one was bad
    assert thermometer.status.ok
    assert thermometer.measure().fault is None


def test_recovery_needs_consecutive_good_reads(clock, fake):
    thermo = simulated_thermometer(fake, clock=clock, recover_after=3)
    fake.fail_next(1, "bad_pec")
    thermo.poll()
    thermo.poll()
    thermo.poll()
    fake.fail_next(1, "bad_pec")
    thermo.poll()
    thermo.poll()
    assert thermo.status.fault == "bad_pec"
    thermo.poll()
    thermo.poll()
    assert thermo.status.ok


def test_other_bus_errors(clock):
    thermo = Thermometer(ScriptedSensor([36.0], error=OSError(errno.ETIMEDOUT, "Connection timed out")),
                         clock=clock.monotonic, sleep=clock.sleep, now=clock.now)
    assert thermo.measure().fault == "bus_error"


def test_a_person_stepping_in_is_not_a_jump(fake, clock, thermometer):
    fake.set_ambient(-5.0)  # a winter night: the wall is cold, the forehead is not
    fake.set_object(-8.0, settle=True)
    thermometer.poll()
    fake.set_object(34.0)  # the sensor's output rises over a few reads
    rising = []
    for _ in range(20):
        clock.advance(0.05)
        assert thermometer.poll().ok
        rising.append(thermometer.sensor.read_object())
    assert rising[0] < 30.0 < rising[-1]
    m = thermometer.measure()
    assert m.fault is None and m.object_c == pytest.approx(34.0, abs=0.15)


def test_a_one_read_step_is_a_jump(fake, clock, thermometer):
    thermometer.poll()
    clock.advance(0.05)
    fake.set_object(36.6, settle=True)  # no sensor output moves like this
    assert thermometer.poll().fault == "jump"
    for _ in range(3):  # but a step that stays is a scene after all
        clock.advance(0.05)
        thermometer.poll()
    assert thermometer.status.ok


def test_an_ambient_step_is_a_jump(thermometer, fake):
    thermometer.poll()
    fake.set_ambient(40.0)
    assert thermometer.poll().fault == "jump"


def test_changes_far_apart_in_time_are_not_jumps(clock):
    # 15 °C up and back down, a second apart: someone came and went.
    thermo = scripted([20.0, 35.0, 20.0], clock, jump_c=10.0, jump_window_s=0.05)
    for _ in range(3):
        thermo.poll()
        clock.advance(1.0)
    assert thermo.status.ok


def test_identical_words_are_fine_for_a_while(clock):
    thermo = scripted([36.0], clock, stuck_after_s=2.0)
    for _ in range(4):
        thermo.poll()
        clock.advance(0.5)
    assert thermo.poll().ok  # 2.0 s so far
    clock.advance(0.1)
    assert thermo.poll().fault == "stuck"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["none", "nack", "bad_pec", "error_flag", "out_of_range", "jump", "disconnect",
                                 "reconnect"]), min_size=1, max_size=12),
       st.integers(min_value=1, max_value=4))
def test_never_a_made_up_reading(actions, n):
    clock = ManualClock()
    fake = FakeMLX90614(ambient_c=22.0, object_c=36.5, noise_c=0.03, seed=n, clock=clock.monotonic)
    thermo = simulated_thermometer(fake, clock=clock)
    for action in actions:
        if action == "disconnect":
            fake.disconnect()
        elif action == "reconnect":
            fake.reconnect()
        elif action != "none":
            fake.fail_next(n, action)
        m = thermo.measure()
        assert m is not None  # the forehead is always there
        if m.object_c is None:
            assert m.fault and m.raw == ()
        else:
            assert m.fault is None and m.object_c == pytest.approx(36.5, abs=0.15)


# -- monitor ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["nack", "disconnected", "bad_pec", "error_flag", "out_of_range", "jump"])
def test_monitor_reports_a_fault_within_one_second(kind, thermometer, fake, clock):
    seen = []
    monitor = ThermometerMonitor(thermometer, seen.append)
    for _ in range(4):
        monitor.step()
        clock.advance(monitor.interval_s)
    assert [s.fault for s in seen] == [None]
    injected_at = clock.monotonic()
    if kind == "disconnected":
        fake.disconnect()
    else:
        fake.fail_next(1, kind)
    while not seen[-1].fault and clock.monotonic() - injected_at < 5:
        monitor.step()
        clock.advance(monitor.interval_s)
    assert seen[-1].fault == kind
    assert clock.monotonic() - injected_at <= 1.0
    assert (seen[-1].since - seen[0].since).total_seconds() <= injected_at + 1.0


def test_monitor_reports_stuck_within_a_second_of_the_stuck_limit(thermometer, fake, clock):
    seen = []
    monitor = ThermometerMonitor(thermometer, seen.append, interval_s=0.25)
    monitor.step()
    clock.advance(0.25)
    stuck_at = clock.monotonic()
    fake.stick()
    while not seen[-1].fault and clock.monotonic() - stuck_at < 10:
        monitor.step()
        clock.advance(0.25)
    assert seen[-1].fault == "stuck"
    assert clock.monotonic() - stuck_at <= thermometer.stuck_after_s + 1.0


def test_monitor_calls_back_on_changes_only(thermometer, fake, clock):
    seen = []
    monitor = ThermometerMonitor(thermometer, seen.append)
    for step in range(12):
        if step == 3:
            fake.fail_next(1, "nack")
        monitor.step()
        clock.advance(0.25)
    assert [s.fault for s in seen] == [None, "nack", None]
    assert monitor.status.ok


def test_monitor_thread_in_real_time():
    fake = FakeMLX90614(ambient_c=22.0, object_c=36.5)
    thermo = simulated_thermometer(fake)
    faulted, healthy = threading.Event(), threading.Event()

    def on_change(status):
        (healthy if status.ok else faulted).set()

    with thermo, ThermometerMonitor(thermo, on_change, interval_s=0.1) as monitor:
        assert healthy.wait(2.0)
        healthy.clear()
        started = time.monotonic()
        fake.disconnect()
        assert faulted.wait(5.0)
        assert time.monotonic() - started < 1.0
        assert thermo.measure().fault == "disconnected"  # measuring alongside the monitor thread
        fake.reconnect()
        assert healthy.wait(5.0)
        assert monitor.status.ok
    assert thermo.closed


def test_monitor_survives_a_failing_callback(caplog):
    fake = FakeMLX90614()
    thermo = simulated_thermometer(fake)
    calls = []

    def on_change(status):
        calls.append(status.fault)
        if len(calls) == 1:
            raise RuntimeError("screen gone")

    with ThermometerMonitor(thermo, on_change, interval_s=0.05):
        deadline = time.monotonic() + 5
        fake.fail("nack")
        while "nack" not in calls and time.monotonic() < deadline:
            time.sleep(0.02)
    thermo.close()
    assert "nack" in calls
    assert "status callback failed" in caplog.text


def test_monitor_stops_when_the_thermometer_closes():
    thermo = simulated_thermometer(FakeMLX90614())
    monitor = ThermometerMonitor(thermo, interval_s=0.02)
    monitor.start()
    thermo.close()
    deadline = time.monotonic() + 2
    while monitor.running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not monitor.running
    monitor.stop()
    monitor.stop()


# -- life cycle and factories ---------------------------------------------------------------

def test_close_is_idempotent(clock):
    sensor = ScriptedSensor([36.0])
    with Thermometer(sensor, clock=clock.monotonic, sleep=clock.sleep) as thermo:
        pass
    thermo.close()
    assert thermo.closed and sensor.closed == 1
    with pytest.raises(DeviceClosedError):
        thermo.measure()
    with pytest.raises(DeviceClosedError):
        thermo.poll()


def test_argument_checks():
    with pytest.raises(ValueError, match="reads"):
        Thermometer(ScriptedSensor([36.0]), reads=1)
    with pytest.raises(ValueError, match="recover_after"):
        Thermometer(ScriptedSensor([36.0]), recover_after=0)


def test_simulated_thermometer_programs_the_configured_emissivity():
    thermo = simulated_thermometer(settings=ThermometerSettings(emissivity=0.95, address=0x5B))
    fake = thermo.sensor.bus
    assert isinstance(fake, FakeMLX90614) and fake.address == 0x5B
    assert thermo.sensor.read_emissivity() == pytest.approx(0.95, abs=1e-4)


def test_open_thermometer(monkeypatch):
    import smbus2

    assert open_thermometer(ThermometerSettings(driver="none")) is None
    fake = FakeMLX90614(0x5A, object_c=36.5)
    monkeypatch.setattr(smbus2, "SMBus", lambda bus: fake)
    thermo = open_thermometer(ThermometerSettings(bus=1, offset_c=1.0))
    assert thermo.offset_c == 1.0 and thermo.sensor.bus_number == 1
    thermo.close()
    assert fake.closed  # the driver opened that bus, so it closes it

    def missing(bus):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory")

    monkeypatch.setattr(smbus2, "SMBus", missing)
    with pytest.raises(SensorOpenError, match="/dev/i2c-7"):
        open_thermometer(ThermometerSettings(bus=7))


def test_status_does_not_wait_for_a_read_window(clock):
    """The screen asks for the status while the passage worker is inside a 0.4 s window: it answers at once."""
    import threading

    inside, release = threading.Event(), threading.Event()

    def slow_sleep(seconds):
        inside.set()
        release.wait(5)

    thermo = Thermometer(ScriptedSensor([36.5]), clock=clock.monotonic, sleep=slow_sleep, now=clock.now)
    worker = threading.Thread(target=lambda: thermo.measure(require_presence=False))
    worker.start()
    try:
        assert inside.wait(5)
        answered = []
        reader = threading.Thread(target=lambda: answered.append(thermo.status))
        reader.start()
        reader.join(1)
        assert answered and answered[0].fault is None  # answered while the window was still open
    finally:
        release.set()
        worker.join(5)
