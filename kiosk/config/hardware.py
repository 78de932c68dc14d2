"""Config sections for the gate's hardware: thermometer, camera, QR decoder, USB scanner, GPIO signals, gate leaf.

Each driver is chosen here by name; ``--simulate`` is the only way to get the fakes.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from kiosk.config.base import GPIOPin, I2CAddress, Lane, Section


class ThermometerSettings(Section):
    """The infrared thermometer on the I2C bus."""

    driver: Literal["mlx90614", "none"] = "mlx90614"
    """Sensor model; ``none`` when the gate works with manual readings only."""
    bus: int = Field(1, ge=0, le=31)
    """I2C bus number (/dev/i2c-N); 1 on a Raspberry Pi."""
    address: I2CAddress = 0x5A
    """The sensor's 7-bit SMBus address (MLX90614 factory default 0x5A)."""
    emissivity: float = Field(0.98, gt=0.1, le=1.0)
    """Emissivity of human skin as programmed into the sensor's EEPROM."""
    offset_c: float = Field(0.0, ge=-5.0, le=5.0)
    """Calibration offset added to every reading (written by ``kiosk calibrate``)."""
    ambient_slope: float = Field(0.0, ge=-1.0, le=1.0)
    """Calibration correction per °C of ambient away from 25 °C (written by ``kiosk calibrate``)."""
    reads: int = Field(8, ge=2, le=50)
    """Reads per measurement."""
    window_s: float = Field(0.4, gt=0, le=2.0)
    """Time the reads of one measurement are spread over."""
    presence_delta_c: float = Field(2.0, gt=0, le=10.0)
    """Someone is in front when the object reads this much warmer than ambient."""
    stable_within_c: float = Field(0.3, gt=0, le=2.0)
    """A read within this of a neighbouring read is stable; the value reported is the largest stable read."""
    stuck_after_s: float = Field(2.0, gt=0, le=30.0)
    """Identical raw words for longer than this mean a stuck sensor (fault)."""
    jump_c: float = Field(10.0, gt=0, le=100.0)
    """A change larger than this between two reads …"""
    jump_window_s: float = Field(0.05, gt=0, le=5.0)
    """… within this time is an implausible jump (fault)."""
    recover_after: int = Field(3, ge=1, le=50)
    """Consecutive good reads that end a fault."""
    monitor_interval_s: float = Field(0.1, gt=0, le=0.5)
    """How often the background monitor polls the sensor (faults show within 1 s)."""
    step_up_wait_s: float = Field(10.0, ge=0, le=120)
    """After a scan with nobody in front of the thermometer this long, the screen also offers a typed reading."""
    pending_s: float = Field(120.0, ge=10, le=3600)
    """The gate keeps measuring a passage (and takes a typed reading) this long, then journals it as abandoned."""


class CameraSettings(Section):
    """Where frames come from."""

    source: Literal["picamera2", "usb", "replay", "none"] = "picamera2"
    """Pi camera, a USB webcam, image files (demo/tests), or no camera (USB scanner only)."""
    width: int = Field(640, ge=160, le=4096)
    height: int = Field(480, ge=120, le=3072)
    fps: int = Field(30, ge=1, le=120)
    usb_device: int = Field(0, ge=0, le=63)
    """OpenCV device index for ``usb``."""
    replay_path: str | None = None
    """A folder or image file for ``replay``."""
    lane: Lane = None
    """``in`` or ``out`` when this camera serves one lane of a gate with separate lanes; none for both ways."""
    exposure_us: int = Field(6000, ge=0, le=100_000)
    """Pi camera: shutter time in µs, short so a moving card is not streaked (the gain rises to keep the picture
    bright); 0 leaves it to auto-exposure in ``exposure_mode``. Must fit in one frame (≤ 1 000 000 / fps)."""
    analogue_gain: float | None = Field(None, ge=1.0, le=64.0)
    """Pi camera: a fixed sensor gain; none lets auto-exposure choose it (the usual choice)."""
    exposure_mode: Literal["short", "normal", "long"] = "short"
    """Pi camera: auto-exposure's preference when ``exposure_us`` is 0 (``AeExposureMode``)."""
    focus: Literal["continuous", "fixed"] = "continuous"
    """Pi camera with a motorised lens (Camera Module 3): continuous autofocus, or fixed at ``focus_distance_m``."""
    focus_distance_m: float = Field(0.3, ge=0.08, le=10.0)
    """Where the lens focuses when ``focus`` is fixed (where people hold their cards)."""
    choose_from: int = Field(1, ge=1, le=8)
    """Live cameras: the scan loop decodes the sharpest of the last this-many frames that arrived since its last
    decode (1: just the next frame)."""

    @model_validator(mode="after")
    def _exposure_within_a_frame(self) -> CameraSettings:
        if self.exposure_us > 1_000_000 / self.fps:
            raise ValueError(
                f"exposure_us {self.exposure_us} is longer than one frame at {self.fps} fps "
                f"(at most {1_000_000 // self.fps}); lower it or the frame rate"
            )
        return self


class DecoderSettings(Section):
    """Which QR decoder reads the frames."""

    engine: Literal["zxing", "zbar"] = "zxing"
    """zxing-cpp (default) or pyzbar."""
    repeat_after_s: float = Field(3.0, ge=0.5, le=60.0)
    """A card held in front of the camera counts once per this many seconds."""


class ScannerSettings(Section):
    """A USB keyboard-wedge QR scanner."""

    enabled: bool = False
    device: str | None = None
    """The evdev device, e.g. /dev/input/by-id/usb-…-event-kbd."""
    lane: Lane = None
    """``in`` or ``out`` when this scanner serves one lane only; none for both ways."""


class SignalSettings(Section):
    """LEDs, buzzer, barrier relay and optional inputs on GPIO (BCM numbering unless named)."""

    green_led: GPIOPin = 17
    red_led: GPIOPin = 27
    buzzer: GPIOPin = 22
    buzzer_tonal: bool = False
    """True for a passive (tonal) buzzer on a PWM pin; false for an active buzzer that beeps at one pitch."""
    relay: GPIOPin = None
    """The barrier relay; none when there is no barrier."""
    relay_active_high: bool = True
    relay_open_s: float = Field(3.0, gt=0, le=30)
    """How long the barrier stays open after an admit."""
    button: GPIOPin = None
    """The volunteer's acknowledge button."""
    in_button: GPIOPin = None
    """A physical 进 button: the next passages go in (held as a touchscreen choice is)."""
    out_button: GPIOPin = None
    """A physical 出 button: the next passages go out."""
    presence: GPIOPin = None
    """A PIR presence sensor's output, or an ultrasonic sensor's ECHO pin."""
    presence_kind: Literal["pir", "ultrasonic"] = "pir"
    """PIR motion sensor, or an HC-SR04-style ultrasonic distance sensor."""
    presence_trigger: GPIOPin = None
    """The ultrasonic sensor's TRIG pin (required for ``ultrasonic``)."""
    presence_distance_m: float = Field(0.5, gt=0.05, le=3.0)
    """Someone closer than this to the ultrasonic sensor is present."""

    @model_validator(mode="after")
    def _ultrasonic_needs_trigger(self) -> SignalSettings:
        if self.presence_kind == "ultrasonic" and (self.presence is None or self.presence_trigger is None):
            raise ValueError("expected presence (ECHO) and presence_trigger (TRIG) pins for an ultrasonic sensor")
        return self


_CLOCK_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class GateLeafSettings(Section):
    """A reed switch on the gate leaf (门扇): whether the gate is open, and how long it may stay open.

    Wiring: the switch between the pin and GND, the pin's pull-up on; the magnet on the leaf, the switch on the post.
    """

    pin: GPIOPin = None
    """The reed switch's pin; none when no switch is fitted (nothing shown, no alarm)."""
    open_when_high: bool = True
    """True for a normally-open reed switch (the magnet closes it when the gate is shut: shut reads low, open high);
    false for a normally-closed one (it opens when the magnet is near)."""
    bounce_s: float = Field(0.05, ge=0, le=1.0)
    """Contact bounce ignored by the GPIO driver."""
    settle_s: float = Field(2.0, ge=0, le=60)
    """A change the leaf holds this long is journaled (a leaf swinging in the wind, rattling shut and open, is not
    one event per rattle)."""
    open_alarm_after_min: float = Field(10.0, ge=0, le=24 * 60)
    """Open longer than this by day raises the gate-left-open alarm (once per opening); 0: never."""
    night_open_alarm_after_min: float = Field(3.0, ge=0, le=24 * 60)
    """The same at night (usually stricter); 0: never at night."""
    night_from: str = "22:00"
    """When the night begins, HH:MM on the gate's clock in the gate's time zone."""
    night_until: str = "06:00"
    """When the night ends (the night may span midnight); the same as night_from: no night."""

    @field_validator("night_from", "night_until")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not isinstance(value, str) or not _CLOCK_TIME.match(value.strip()):
            raise ValueError(f"expected a time HH:MM such as 22:00, got {str(value)[:20]!r}")
        return value.strip()
