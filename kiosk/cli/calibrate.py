"""``kiosk calibrate``: fit the thermometer's offset (and ambient slope) against a reference thermometer.

A thin layer over :mod:`kiosk.calibration`; the sensor is reached through
``sensors.thermometers``, imported only inside the command. Exit codes: 0 values
written (or emissivity programmed, awaiting a power cycle), 1 nothing written
(declined, or the sensor could not be used), 2 usage or configuration error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, overload

import click

from kiosk.calibration import (
    AMBIENT_RANGE_C,
    REFERENCE_RANGE_C,
    SENSOR_RANGE_C,
    CalibrationError,
    CalibrationFit,
    CalibrationPair,
    apply_calibration,
    check_pair,
    fit_calibration,
    parse_celsius,
    write_calibration,
)
from kiosk.cli.common import EXIT_NEGATIVE, clean_errors, fail
from kiosk.config import load_gate_config

# What the simulated volunteer's forehead reads on the fake sensor, uncalibrated.
SIMULATED_FOREHEAD_C = 35.4
SIMULATED_AMBIENT_C = 24.0


@overload
def _ask(text: str, *, what: str, limits: tuple[float, float], optional: Literal[False] = False) -> float: ...


@overload
def _ask(text: str, *, what: str, limits: tuple[float, float], optional: bool) -> float | None: ...


def _ask(text: str, *, what: str, limits: tuple[float, float], optional: bool = False) -> float | None:
    """Prompt until a plausible temperature (or, when optional, nothing) is typed."""

    def convert(value: str) -> float | None:
        if optional and not value.strip():
            return None
        try:
            return parse_celsius(value, what=what, limits=limits)
        except CalibrationError as exc:
            raise click.UsageError(str(exc)) from None  # click.prompt shows it and asks again

    return click.prompt(text, default="" if optional else None, show_default=False, value_proc=convert)


def _manual_pair() -> CalibrationPair:
    sensor = _ask("  Gate sensor reading (°C)", what="sensor reading", limits=SENSOR_RANGE_C)
    ambient = _ask("  Sensor ambient (°C), or Enter if not shown", what="ambient temperature",
                   limits=AMBIENT_RANGE_C, optional=True)
    reference = _ask("  Reference thermometer reading (°C)", what="reference reading", limits=REFERENCE_RANGE_C)
    return CalibrationPair(sensor, reference, ambient)


def _live_pair(thermometer: Any) -> CalibrationPair:
    while True:
        click.prompt("  Volunteer: face the sensor at 3–5 cm and hold still, then press Enter",
                     default="", show_default=False, prompt_suffix=" ")
        measurement = thermometer.measure()
        if measurement is None:
            click.echo("  Nobody seen in front of the sensor (no forehead 2 °C warmer than the air). "
                       "Come closer and try again.")
        elif measurement.fault == "unstable":
            click.echo("  The readings did not settle (did the head move?). Hold still and try again.")
        elif measurement.fault:
            detail = thermometer.status.detail or measurement.fault
            click.echo(f"  The thermometer reports a fault: {measurement.fault} ({detail}). "
                       "Check its wiring or run `kiosk doctor`, then try again.")
        else:
            break
    click.echo(f"  Sensor: {measurement.object_c:.2f} °C (ambient {measurement.ambient_c:.2f} °C)")
    reference = _ask("  Reference thermometer reading (°C)", what="reference reading", limits=REFERENCE_RANGE_C)
    return CalibrationPair(measurement.object_c, reference, measurement.ambient_c)


def _open_thermometer(settings: Any, simulate: bool) -> Any:
    """The thermometer with no calibration applied: the fit needs the sensor's own readings."""
    from sensors import thermometers

    uncalibrated = settings.model_copy(update={"offset_c": 0.0, "ambient_slope": 0.0})
    if simulate:
        fake = thermometers.FakeMLX90614(uncalibrated.address, ambient_c=SIMULATED_AMBIENT_C,
                                         object_c=SIMULATED_FOREHEAD_C, emissivity=uncalibrated.emissivity)
        return thermometers.simulated_thermometer(fake, uncalibrated)
    try:
        return thermometers.open_thermometer(uncalibrated)
    except thermometers.SensorError as exc:
        fail(f"cannot open the thermometer: {exc}", EXIT_NEGATIVE)


def _emissivity_programmed(thermometer: Any, configured: float, config_path: Path) -> bool:
    """Offer to program the configured emissivity; True when it was written (a power cycle comes next)."""
    from sensors.thermometers import SensorError
    from sensors.thermometers.mlx90614 import emissivity_to_word

    sensor = thermometer.sensor
    if not hasattr(sensor, "read_emissivity"):
        return False
    for attempt in range(3):  # one corrupted reply is no reason to give up
        try:
            current = sensor.read_emissivity()
            break
        except SensorError as exc:
            if attempt == 2:
                fail(f"cannot read the thermometer: {exc}. Check its wiring or run `kiosk doctor`.", EXIT_NEGATIVE)
    if emissivity_to_word(current) == emissivity_to_word(configured):
        return False
    click.echo(f"The sensor's EEPROM holds emissivity {current:.3f}; {config_path} says {configured:.3f}.")
    if not click.confirm(f"Program {configured:.3f} into the sensor now?", default=False):
        click.echo("Keeping the sensor's emissivity; the fitted offset will largely absorb the difference.")
        return False
    try:
        sensor.write_emissivity(configured)
    except SensorError as exc:
        fail(f"programming the emissivity failed: {exc}", EXIT_NEGATIVE)
    click.echo("Emissivity written and verified. The sensor uses it only after a power cycle: shut the Pi down, "
               "unplug it for 10 seconds, start it again, then run `kiosk calibrate` once more.")
    return True


def _show_fit(pairs: list[CalibrationPair], fit: CalibrationFit) -> None:
    click.echo(f"\nFit from {len(pairs)} pairs:")
    click.echo(f"  offset_c       {fit.offset_c:+.2f} °C")
    click.echo(f"  ambient_slope  {fit.ambient_slope:+.3f} °C per °C of ambient away from 25 °C")
    click.echo(f"  ({fit.note})")
    click.echo("  pair  sensor  ambient  reference  corrected  residual")
    for i, (pair, residual) in enumerate(zip(pairs, fit.residuals, strict=True), start=1):
        ambient = f"{pair.ambient_c:7.2f}" if pair.ambient_c is not None else "      —"
        corrected = apply_calibration(pair.sensor_c, pair.ambient_c if pair.ambient_c is not None else 25.0,
                                      fit.offset_c, fit.ambient_slope)
        residual = round(residual, 2) + 0.0  # no "-0.00"
        click.echo(f"  {i:4d}  {pair.sensor_c:6.2f}  {ambient}  {pair.reference_c:9.2f}  {corrected:9.2f}  {residual:+8.2f}")
    click.echo(f"  residuals: rms {fit.rms_c:.2f} °C, worst {fit.max_abs_residual_c:.2f} °C")
    if fit.max_abs_residual_c > 0.5:
        click.echo("  Warning: some pairs disagree by more than 0.5 °C after the fit; consider measuring them again.")


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("config.yaml"),
              show_default=True, help="The gate's config file to read and update.")
@click.option("--manual", is_flag=True, help="Type the gate sensor's readings instead of measuring live.")
@click.option("--simulate", is_flag=True, help="Measure with the simulated thermometer (training and tests).")
@click.option("--pairs", "min_pairs", type=click.IntRange(2, 50), default=2, show_default=True,
              help="Pairs to collect before offering to fit (more can be added).")
@click.option("--yes", "assume_yes", is_flag=True, help="Write the fitted values without asking.")
def calibrate(config_path: Path, manual: bool, simulate: bool, min_pairs: int, assume_yes: bool) -> None:
    """Calibrate the thermometer against a reference thermometer and write offset_c / ambient_slope to the config.

    For each pair the same forehead is measured by the gate sensor (live, or
    typed with --manual) and right after by the reference thermometer. With
    pairs taken at ambients at least 5 °C apart the ambient slope is fitted too.
    """
    if manual and simulate:
        fail("--manual and --simulate exclude each other: --manual types readings, --simulate measures a fake sensor")
    with clean_errors():
        settings = load_gate_config(config_path).thermometer
    if not manual and not simulate and settings.driver == "none":
        fail(f"{config_path}: thermometer.driver is none, so there is no sensor to read; use --manual to type readings")

    click.echo(f"Calibrating the gate thermometer of {config_path}.\n"
               "Each pair: one person is measured by the gate sensor and right after by a trusted reference "
               "thermometer, on the same spot of the forehead.")
    thermometer = None if manual else _open_thermometer(settings, simulate)
    try:
        if thermometer is not None and _emissivity_programmed(thermometer, settings.emissivity, config_path):
            return
        pairs: list[CalibrationPair] = []
        while True:
            click.echo(f"\nPair {len(pairs) + 1}" + (f" of at least {min_pairs}" if len(pairs) < min_pairs else ""))
            pair = _manual_pair() if thermometer is None else _live_pair(thermometer)
            try:
                check_pair(pair)
            except CalibrationError as exc:
                click.echo(f"  That pair cannot be used: {exc}.")
                continue
            pairs.append(pair)
            if len(pairs) >= min_pairs and not click.confirm("Add another pair?", default=False):
                break
    finally:
        if thermometer is not None:
            thermometer.close()

    fit = fit_calibration(pairs, keep_slope=settings.ambient_slope)
    _show_fit(pairs, fit)
    offset, slope = round(fit.offset_c, 2) + 0.0, round(fit.ambient_slope, 3) + 0.0
    if not assume_yes and not click.confirm(f"\nWrite offset_c: {offset} and ambient_slope: {slope} to {config_path}?",
                                            default=False):
        click.echo("Nothing written.")
        raise click.exceptions.Exit(EXIT_NEGATIVE)
    with clean_errors():
        write_calibration(config_path, offset, slope)
    click.echo(f"Written to {config_path}. Restart the gate program so it uses the new calibration.")
