"""The gate's lights, sound and barrier on GPIO (gpiozero), and its optional inputs.

Green and red LEDs, a buzzer with a distinct pattern per outcome, a barrier
relay that opens for a few seconds on admit — never on deny or refer — an
optional acknowledge button and an optional PIR presence sensor. Pins come
from ``SignalSettings``; ``pin_factory`` is gpiozero's (None = the Pi's own;
the simulator passes a MockFactory, so the very same classes run in tests).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk.config.hardware import SignalSettings
from kiosk.exc import KioskError


class SignalError(KioskError, RuntimeError):
    """A GPIO output or input could not be set up (pin in use, no GPIO access)."""


@dataclass(frozen=True)
class Pattern:
    """A buzzer pattern: ``count`` beeps of ``on_s`` with ``off_s`` between, at ``tone`` (Hz) on a tonal buzzer."""

    on_s: float
    off_s: float
    count: int
    tone: float


# Distinct by rhythm, so an active (single-pitch) buzzer tells them apart too.
PATTERNS: dict[str, Pattern] = {
    "admit": Pattern(0.12, 0.0, 1, 1760.0),  # one short high beep
    "deny": Pattern(0.45, 0.2, 2, 440.0),  # two long low beeps
    "refer": Pattern(0.15, 0.15, 3, 880.0),  # three short beeps: the volunteer is needed
    "remeasure": Pattern(0.08, 0.08, 2, 1320.0),  # two quick chirps: measure again
    "fever": Pattern(0.5, 0.25, 8, 2000.0),  # a long alarm
    "alarm": Pattern(0.3, 0.3, 4, 1500.0),  # any other alarm (quarantine, invalid card …)
    "fault": Pattern(1.0, 0.0, 1, 330.0),  # one long low tone: a device needs attention
}

# LED state per shown verdict: (green, red), where "blink" blinks.
LIGHTS: dict[str, tuple[str, str]] = {
    "admit": ("on", "off"),
    "deny": ("off", "on"),
    "refer": ("off", "blink"),
    "remeasure": ("blink", "off"),
    "idle": ("off", "off"),
}


class GateSignals:
    """The gate's outputs and optional inputs, built from config on a gpiozero pin factory."""

    def __init__(self, settings: SignalSettings, pin_factory: Any = None):
        from gpiozero import LED, Button, Buzzer, DigitalOutputDevice, DistanceSensor, MotionSensor, TonalBuzzer
        from gpiozero.exc import GPIOZeroError

        self.settings = settings
        self._devices: list[Any] = []
        self._lock = threading.Lock()
        self._closed = False
        self._tone_thread: threading.Thread | None = None
        self._tone_stop = threading.Event()
        try:
            self.green = self._add(LED, settings.green_led, pin_factory)
            self.red = self._add(LED, settings.red_led, pin_factory)
            buzzer_cls = TonalBuzzer if settings.buzzer_tonal else Buzzer
            self.buzzer = self._add(buzzer_cls, settings.buzzer, pin_factory)
            self.relay = self._add(DigitalOutputDevice, settings.relay, pin_factory,
                                   active_high=settings.relay_active_high, initial_value=False)
            self.button = self._add(Button, settings.button, pin_factory)
            self.in_button = self._add(Button, settings.in_button, pin_factory)
            self.out_button = self._add(Button, settings.out_button, pin_factory)
            self.motion = self.distance = None
            if settings.presence_kind == "ultrasonic":
                self.distance = self._add(DistanceSensor, settings.presence, pin_factory, trigger=settings.presence_trigger,
                                          threshold_distance=settings.presence_distance_m, max_distance=3.0)
            else:
                self.motion = self._add(MotionSensor, settings.presence, pin_factory)
        except GPIOZeroError as exc:
            self.close()
            raise SignalError(f"GPIO set-up failed: {exc} (check signals: pins in config.yaml; `kiosk doctor` tells more)") from exc

    def _add(self, cls: type, pin: Any, pin_factory: Any, **kwargs: Any) -> Any:
        if pin is None:
            return None
        device = cls(pin, pin_factory=pin_factory, **kwargs)
        self._devices.append(device)
        return device

    # -- outputs ---------------------------------------------------------

    def show(self, verdict: str) -> None:
        """Lights, sound and barrier for a decision: ``admit`` | ``deny`` | ``refer`` | ``remeasure`` | ``idle``."""
        if verdict not in LIGHTS:
            raise ValueError(f"unknown verdict {verdict!r}")
        with self._lock:
            if self._closed:
                return
            green, red = LIGHTS[verdict]
            self._light(self.green, green)
            self._light(self.red, red)
            if verdict == "admit":
                self._open_barrier()
            elif self.relay is not None:
                # A deny right after an admit must not leave the barrier open.
                self.relay.off()
            if verdict != "idle":
                self._beep(PATTERNS[verdict])

    def alarm(self, kind: str) -> None:
        """Sound an alarm: ``fever`` has its own pattern, every other kind the general one. The red LED flashes."""
        with self._lock:
            if self._closed:
                return
            if self.red is not None:
                self.red.blink(on_time=0.15, off_time=0.15, n=20, background=True)
            self._beep(PATTERNS["fever" if kind == "fever" else "alarm"])

    def fault(self, on: bool) -> None:
        """Show (or clear) a device fault: red LED blinking slowly, one long low tone when it starts."""
        with self._lock:
            if self._closed:
                return
            if on:
                if self.red is not None:
                    self.red.blink(on_time=1.0, off_time=1.0, background=True)
                self._beep(PATTERNS["fault"])
            elif self.red is not None:
                self.red.off()

    def _light(self, led: Any, state: str) -> None:
        if led is None:
            return
        if state == "on":
            led.on()
        elif state == "blink":
            led.blink(on_time=0.3, off_time=0.3, background=True)
        else:
            led.off()

    def _open_barrier(self) -> None:
        if self.relay is not None:
            # One pulse of relay_open_s, timed by gpiozero's own background thread.
            self.relay.blink(on_time=self.settings.relay_open_s, off_time=0, n=1, background=True)

    def _beep(self, pattern: Pattern) -> None:
        if self.buzzer is None:
            return
        if self.settings.buzzer_tonal:
            self._play_tonal(pattern)
        else:
            self.buzzer.beep(on_time=pattern.on_s, off_time=max(pattern.off_s, 0.01), n=pattern.count, background=True)

    def _play_tonal(self, pattern: Pattern) -> None:
        # TonalBuzzer has no background pattern of its own: a short-lived thread plays it, and a
        # newer pattern stops the older one so sounds never pile up.
        self._stop_tone()
        stop = self._tone_stop = threading.Event()

        def play() -> None:
            for i in range(pattern.count):
                if stop.is_set():
                    break
                self.buzzer.play(pattern.tone)
                stop.wait(pattern.on_s)
                self.buzzer.stop()
                if i + 1 < pattern.count and stop.wait(pattern.off_s):
                    break
            self.buzzer.stop()

        self._tone_thread = threading.Thread(target=play, name="buzzer", daemon=True)
        self._tone_thread.start()

    def _stop_tone(self) -> None:
        self._tone_stop.set()
        thread = self._tone_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)
        self._tone_thread = None

    # -- inputs ----------------------------------------------------------

    def on_button(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` when the volunteer presses the acknowledge button (no-op without a button)."""
        if self.button is not None:
            self.button.when_pressed = (lambda: callback()) if callback else None

    def on_direction(self, callback: Callable[[str], None] | None) -> None:
        """Call ``callback("in")`` / ``callback("out")`` when the physical 进 / 出 button is pressed (no-op without one)."""
        for button, direction in ((self.in_button, "in"), (self.out_button, "out")):
            if button is not None:
                button.when_pressed = (lambda d=direction: callback(d)) if callback else None

    def presence(self) -> bool:
        """True while the presence sensor sees someone; False without one."""
        if self.distance is not None:
            return self.distance.distance < self.settings.presence_distance_m
        return bool(self.motion is not None and self.motion.motion_detected)

    # -- life ------------------------------------------------------------

    @property
    def barrier_open(self) -> bool:
        """True while the relay holds the barrier open."""
        return bool(self.relay is not None and self.relay.value)

    def close(self) -> None:
        """Release the barrier first, then every pin. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop_tone()
        relay = getattr(self, "relay", None)
        if relay is not None:
            try:
                relay.off()
            except Exception:  # closing must reach every pin even if one is already broken
                pass
        for device in reversed(self._devices):
            device.close()
        self._devices.clear()

    def __enter__(self) -> GateSignals:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def simulated_signals(settings: SignalSettings, pin_factory: Any = None) -> GateSignals:
    """GateSignals on gpiozero's MockFactory (PWM-capable pins): what ``--simulate`` and the tests use.

    Read back what the outputs did through ``pin_factory.pin(n).states``.
    """
    if pin_factory is None:
        from gpiozero.pins.mock import MockFactory, MockPWMPin

        pin_factory = MockFactory(pin_class=MockPWMPin)
    return GateSignals(settings, pin_factory)
