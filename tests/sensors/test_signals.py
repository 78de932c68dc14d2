"""GPIO signals on gpiozero's MockFactory: pin histories for each outcome, the barrier's safety, inputs."""

from __future__ import annotations

import time

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from kiosk.config.hardware import SignalSettings
from sensors.signals import PATTERNS, GateSignals, SignalError, simulated_signals

GREEN, RED, BUZZER, RELAY, BUTTON, PIR = 17, 27, 22, 23, 5, 6


@pytest.fixture
def factory():
    factory = MockFactory(pin_class=MockPWMPin)
    yield factory
    factory.close()


def settings(**overrides):
    return SignalSettings(**{"relay": RELAY, "relay_open_s": 0.2, "button": BUTTON, "presence": PIR, **overrides})


def states(factory, pin):
    # PWM-capable mock pins record levels as 0.0 / 1.0 (and 0.5 for a tone)
    return [s.state for s in factory.pin(pin).states]


def wait_for(condition, timeout=3.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_admit_lights_green_beeps_once_and_opens_the_barrier_for_a_while(factory):
    with GateSignals(settings(), factory) as signals:
        signals.show("admit")
        assert factory.pin(GREEN).state and not factory.pin(RED).state
        assert wait_for(lambda: True in states(factory, RELAY))
        assert signals.barrier_open or states(factory, RELAY)[-1] == 0
        assert wait_for(lambda: not signals.barrier_open)
        assert states(factory, RELAY) == [False, True, False]
        assert wait_for(lambda: states(factory, BUZZER).count(True) == 1 and states(factory, BUZZER)[-1] == 0)


@pytest.mark.parametrize("verdict", ["deny", "refer", "remeasure"])
def test_barrier_never_opens_except_on_admit(factory, verdict):
    with GateSignals(settings(), factory) as signals:
        signals.show(verdict)
        time.sleep(0.3)
        assert True not in states(factory, RELAY)


def test_deny_red_and_two_long_beeps(factory):
    with GateSignals(settings(), factory) as signals:
        signals.show("deny")
        assert factory.pin(RED).state and not factory.pin(GREEN).state
        assert wait_for(lambda: states(factory, BUZZER).count(True) == 2 and states(factory, BUZZER)[-1] == 0)
        factory.pin(BUZZER).assert_states([False, True, False, True, False])


def test_deny_right_after_admit_closes_the_barrier(factory):
    with GateSignals(settings(relay_open_s=5), factory) as signals:
        signals.show("admit")
        assert wait_for(lambda: signals.barrier_open)
        signals.show("deny")
        assert not signals.barrier_open


def test_fever_alarm_pattern_differs_from_deny(factory):
    assert PATTERNS["fever"] != PATTERNS["deny"] and PATTERNS["fever"].count > PATTERNS["deny"].count
    with GateSignals(settings(), factory) as signals:
        signals.alarm("fever")
        assert wait_for(lambda: states(factory, BUZZER).count(True) >= 2)
        assert wait_for(lambda: len(states(factory, RED)) > 3)  # the red LED flashes


def test_fault_blinks_red_and_clears(factory):
    with GateSignals(settings(), factory) as signals:
        signals.fault(True)
        assert wait_for(lambda: states(factory, BUZZER).count(True) == 1)
        assert wait_for(lambda: True in states(factory, RED))
        signals.fault(False)
        assert not factory.pin(RED).state


def test_active_low_relay_is_inverted_at_the_pin(factory):
    with GateSignals(settings(relay_active_high=False), factory) as signals:
        assert factory.pin(RELAY).state == 1  # closed barrier = pin high on an active-low module
        signals.show("admit")
        assert wait_for(lambda: False in states(factory, RELAY)[1:])
        assert wait_for(lambda: not signals.barrier_open)
        assert factory.pin(RELAY).state == 1


def test_relay_released_on_close_even_mid_open(factory):
    signals = GateSignals(settings(relay_open_s=10), factory)
    signals.show("admit")
    assert wait_for(lambda: signals.barrier_open)
    signals.close()
    assert states(factory, RELAY)[-1] == 0
    signals.close()  # idempotent
    signals.show("admit")  # a closed device ignores further signals
    assert states(factory, RELAY)[-1] == 0


def test_button_acknowledges(factory):
    pressed = []
    with GateSignals(settings(), factory) as signals:
        signals.on_button(lambda: pressed.append(True))
        factory.pin(BUTTON).drive_low()  # a button pulls its pin to ground
        assert wait_for(lambda: pressed == [True])


def test_pir_presence(factory):
    with GateSignals(settings(), factory) as signals:
        assert signals.presence() is False
        factory.pin(PIR).drive_high()
        assert wait_for(signals.presence)


def test_tonal_buzzer_plays_tones(factory):
    with GateSignals(settings(buzzer_tonal=True), factory) as signals:
        signals.show("refer")
        assert wait_for(lambda: states(factory, BUZZER).count(0.5) == 3 and states(factory, BUZZER)[-1] == 0)


def test_optional_parts_absent(factory):
    bare = SignalSettings(green_led=None, red_led=None, buzzer=None, relay=None)
    with GateSignals(bare, factory) as signals:
        for verdict in ("admit", "deny", "refer", "remeasure", "idle"):
            signals.show(verdict)
        signals.alarm("fever")
        signals.fault(True)
        signals.on_button(lambda: None)
        assert signals.presence() is False and signals.barrier_open is False


def test_pin_in_use_is_a_clear_error(factory):
    from gpiozero import LED

    held = LED(RED, pin_factory=factory)
    with pytest.raises(SignalError, match="signals: pins"):
        GateSignals(settings(), factory)
    # what was claimed before the failure was released again
    LED(GREEN, pin_factory=factory).close()
    held.close()


def test_unknown_verdict(factory):
    with GateSignals(settings(), factory) as signals, pytest.raises(ValueError):
        signals.show("maybe")


def test_simulated_signals_make_their_own_factory():
    signals = simulated_signals(settings())
    signals.show("admit")
    signals.close()


def test_ultrasonic_presence():
    from gpiozero.pins.mock import MockTriggerPin

    factory = MockFactory()
    try:
        echo = factory.pin(PIR)
        # the mock TRIG pin answers each ping with an echo pulse as long as a 0.2 m round trip
        factory.pin(24, pin_class=MockTriggerPin, echo_pin=echo, echo_time=0.2 * 2 / 343)
        config = settings(presence_kind="ultrasonic", presence_trigger=24, presence_distance_m=0.5, buzzer=None)
        with GateSignals(config, factory) as signals:
            assert wait_for(signals.presence)
    finally:
        factory.close()


def test_ultrasonic_needs_both_pins():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="presence_trigger"):
        SignalSettings(presence=6, presence_kind="ultrasonic")
