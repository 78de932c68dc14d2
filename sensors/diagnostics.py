"""Hardware probes for ``kiosk doctor``: thermometer, camera, decoders and GPIO pins, one Check each.

Each probe takes the device (or what opens it) as an argument, so the same
probe runs against the real hardware on a Pi and against the fakes here.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from kiosk.doctor import Check, fail, ok, warn
from sensors.thermometers import DRIVERS
from sensors.thermometers.errors import Fault, SensorError, SensorOpenError

WIRING_HINT = ("check the wiring (SDA = GPIO2 pin 3, SCL = GPIO3 pin 5, 3.3 V, GND) "
               "and the address with: sudo i2cdetect -y {bus}")
SPEED_HINT = "the MLX90614 needs the I2C bus at ≤ 100 kHz: add dtparam=i2c_arm_baudrate=50000 to /boot/firmware/config.txt and reboot"


def probe_thermometer(settings: Any, sensor: Any = None, reads: int = 5) -> Check:
    """The thermometer answers at its address with good PEC and a plausible ambient temperature.

    ``sensor`` is an open sensor (the fake's, in tests); by default the
    configured driver is opened on the configured bus.
    """
    name = "thermometer"
    if settings.driver == "none":
        return ok(name, "no thermometer configured: temperatures are entered by hand")
    where = f"{settings.driver.upper()} at 0x{settings.address:02x} on I2C bus {settings.bus}"
    own = sensor is None
    try:
        if own:
            sensor = DRIVERS[settings.driver](settings.bus, settings.address)
    except SensorOpenError as exc:
        return fail(name, f"{where}: {exc}", "")
    try:
        samples = []
        for _ in range(reads):
            samples.append(sensor.read())
            time.sleep(0.02)
    except SensorError as exc:
        reason = getattr(exc, "reason", None)
        if reason in (Fault.BAD_PEC, Fault.JUMP):
            return fail(name, f"{where}: {exc}", SPEED_HINT)
        return fail(name, f"{where}: {exc}", WIRING_HINT.format(bus=settings.bus))
    finally:
        if own:
            sensor.close()
    ambient = sum(s.ambient_c for s in samples) / len(samples)
    detail = f"{where}: answering, PEC ok, ambient {ambient:.1f} °C"
    if not -20.0 <= ambient <= 60.0:
        return warn(name, detail, "an implausible ambient reading: check the sensor is not in the sun or near a heater")
    return ok(name, detail)


def _sharpness(frame: np.ndarray) -> float:
    """Variance of the Laplacian: low for a blurred or covered lens."""
    f = frame.astype(np.float32)
    lap = f[1:-1, :-2] + f[1:-1, 2:] + f[:-2, 1:-1] + f[2:, 1:-1] - 4 * f[1:-1, 1:-1]
    return float(lap.var())


def probe_camera(open_source: Callable[[], Any], seconds: float = 1.0, min_fps: float = 10.0) -> Check:
    """The camera delivers frames: how many per second, and how sharp."""
    name = "camera"
    from sensors.cameras import CameraError

    try:
        source = open_source()
    except CameraError as exc:
        return fail(name, str(exc), "")
    if source is None:
        return ok(name, "no camera configured (USB scanner only)")
    frames, last, error = 0, None, None
    start = time.monotonic()
    try:
        while time.monotonic() - start < seconds:
            try:
                frame = source.read()
            except CameraError as exc:
                error = exc
                break
            if frame is not None:
                frames += 1
                last = frame
            else:
                time.sleep(0.005)
    finally:
        source.close()
    elapsed = max(time.monotonic() - start, 1e-6)
    if last is None:
        detail = f"no frames in {elapsed:.1f} s" + (f" ({error})" if error else "")
        return fail(name, detail, "check the camera cable and camera.source; for replay, camera.replay_path must hold images")
    fps = frames / elapsed
    sharp = _sharpness(last)
    detail = f"{fps:.0f} frames/s at {last.shape[1]}×{last.shape[0]}, sharpness {sharp:.0f}"
    if fps < min_fps:
        return warn(name, detail, "fewer than 10 frames/s: cards will scan slowly; lower camera.width/height")
    if sharp < 20:
        return warn(name, detail, "the picture is blurred or dark: clean the lens, check focus and lighting")
    return ok(name, detail)


def probe_decoders() -> list[Check]:
    """Both QR decoders import and read a generated card-sized code."""
    from sensors.cameras import qr_array

    text = "GK1:DOCTOR-CHECK-0123456789"
    frame = qr_array(text)
    checks = []
    for engine, hint in (("zxing", "pip install zxing-cpp (a dependency of the kiosk): make test reinstalls it"),
                         ("zbar", "sudo apt install libzbar0")):
        name = f"decoder {engine}"
        try:
            from sensors.decoders import make_decoder

            found = make_decoder(engine).decode(frame)
        except Exception as exc:  # an import or a missing shared library shows as many kinds of error
            checks.append(fail(name, f"not usable: {exc}", hint))
            continue
        if found == [text]:
            checks.append(ok(name, "reads a test code"))
        else:
            checks.append(fail(name, f"read {found!r} instead of the test code", hint))
    return checks


def probe_gpio(settings: Any, pin_factory: Any = None) -> Check:
    """Every configured pin can be claimed (none is used by another program)."""
    from gpiozero.exc import PinFactoryFallback

    with warnings.catch_warnings():
        # gpiozero warns once per pin library it cannot load; the failing line says what to do instead
        warnings.simplefilter("ignore", PinFactoryFallback)
        return _claim_pins(settings, pin_factory)


def _claim_pins(settings: Any, pin_factory: Any) -> Check:
    from gpiozero import DigitalInputDevice, DigitalOutputDevice
    from gpiozero.exc import BadPinFactory, GPIOPinInUse, PinError

    name = "GPIO pins"
    roles = {role: (getattr(settings, role), DigitalOutputDevice) for role in ("green_led", "red_led", "buzzer", "relay")}
    roles |= {role: (getattr(settings, role), DigitalInputDevice) for role in ("button", "presence")}
    claimed, problems = [], []
    try:
        for role, (pin, cls) in roles.items():
            if pin is None:
                continue
            try:
                claimed.append(cls(pin, pin_factory=pin_factory))
            except GPIOPinInUse:
                problems.append(f"{role} (pin {pin}) is in use by another program or device")
            except BadPinFactory as exc:
                return fail(name, f"no GPIO access here: {exc}",
                            "on a Raspberry Pi install lgpio: sudo apt install python3-lgpio (venv made with --system-site-packages)")
            except PinError as exc:
                problems.append(f"{role} (pin {pin}): {exc}")
    finally:
        for device in claimed:
            device.close()
    if problems:
        return fail(name, "; ".join(problems), "stop the other program (e.g. a second kiosk) or choose other pins in signals:")
    return ok(name, f"{len(claimed)} pins free: " + ", ".join(f"{r}={p}" for r, (p, _) in roles.items() if p is not None))
