"""The gate leaf's reed switch (门磁) on a GPIO input: whether the gate is open, and a callback when that changes.

The switch sits between the configured pin and GND with the pin's pull-up on,
the magnet on the leaf. A normally-open reed switch (the common kind) is closed
by the magnet while the gate is shut, so the pin reads low when shut and high
when open (``open_when_high: true``); a normally-closed one is the other way
round. gpiozero's ``DigitalInputDevice`` debounces the contact (``bounce_s``);
what a leaf rattling in the wind does over seconds is the monitor's business
(kiosk/gate/gate_leaf.py). ``pin_factory`` is gpiozero's: None = the Pi's own,
the simulator passes its MockFactory, so tests drive the very same class.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from kiosk.config.hardware import GateLeafSettings
from kiosk.exc import KioskError


class GateLeafError(KioskError, RuntimeError):
    """The reed switch's pin could not be set up (in use, no GPIO access)."""


class GateLeaf:
    """The reed switch, read through gpiozero; ``is_open`` now, ``on_change(callback)`` for every change."""

    def __init__(self, settings: GateLeafSettings, pin_factory: Any = None):
        from gpiozero import DigitalInputDevice
        from gpiozero.exc import GPIOZeroError

        if settings.pin is None:
            raise GateLeafError("gate_leaf.pin is not set: no reed switch is fitted")
        self.settings = settings
        self._callback: Callable[[bool], None] | None = None
        self._lock = threading.Lock()
        try:
            # pull_up: the switch pulls the pin to GND; "active" is then the pin low (the contact closed).
            self.device = DigitalInputDevice(settings.pin, pull_up=True, bounce_time=settings.bounce_s or None,
                                             pin_factory=pin_factory)
        except GPIOZeroError as exc:
            raise GateLeafError(f"gate leaf switch on pin {settings.pin}: {exc} (check gate_leaf.pin in config.yaml; "
                                "`kiosk doctor` tells more)") from exc
        self.device.when_activated = self._changed
        self.device.when_deactivated = self._changed

    @property
    def pin_high(self) -> bool:
        """True while the pin reads high (the contact open, the pull-up wins)."""
        return not self.device.is_active

    @property
    def is_open(self) -> bool:
        """True while the gate leaf is open, as the configured contact says."""
        return self.pin_high == self.settings.open_when_high

    def on_change(self, callback: Callable[[bool], None] | None) -> None:
        """Call ``callback(is_open)`` on gpiozero's thread at every (debounced) change; None stops it."""
        with self._lock:
            self._callback = callback

    def _changed(self) -> None:
        with self._lock:
            callback = self._callback
        if callback is not None:
            callback(self.is_open)

    def close(self) -> None:
        """Release the pin. Idempotent."""
        self.device.close()

    def __enter__(self) -> GateLeaf:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def drive_leaf(pin_factory: Any, settings: GateLeafSettings, is_open: bool) -> None:
    """On gpiozero's MockFactory: swing the simulated leaf open (True) or shut (False), as the magnet would."""
    pin = pin_factory.pin(settings.pin)
    if is_open == settings.open_when_high:
        pin.drive_high()
    else:
        pin.drive_low()


def probe_gate_leaf(settings: GateLeafSettings, pin_factory: Any = None) -> Any:
    """``kiosk doctor``'s line for the reed switch: the pin can be claimed and what it reads (None: not fitted).

    An open reading is a warning, not a failure: the gate may be open, but a
    switch that is not wired (or not reached by its magnet) reads open too.
    """
    import warnings

    from gpiozero.exc import PinFactoryFallback

    from kiosk.doctor import fail, ok, warn

    name = "gate leaf"
    if settings.pin is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PinFactoryFallback)
            leaf = GateLeaf(settings, pin_factory)
    except GateLeafError as exc:
        return fail(name, str(exc), "stop the other program using the pin (a second kiosk?) or choose another "
                                    "gate_leaf.pin; on a Pi without GPIO access: sudo apt install python3-lgpio")
    with leaf:
        level = "high" if leaf.pin_high else "low"
        if leaf.is_open:
            return warn(name, f"reed switch on pin {settings.pin}: reads open (pin {level})",
                        f"if the gate is shut: check the switch is wired between pin {settings.pin} and GND and its "
                        "magnet is within about 1 cm, or set gate_leaf.open_when_high for the other kind of switch")
        return ok(name, f"reed switch on pin {settings.pin}: reads shut (pin {level})")
