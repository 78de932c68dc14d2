"""``kiosk doctor``: check a gate's set-up, one line per check with the fix."""

from __future__ import annotations

from pathlib import Path

import click

from kiosk.cli.common import clean_errors, print_json
from kiosk.config import load_gate_config

_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


def run_checks(config, *, simulate: bool = False, hardware=None) -> list:
    """Every doctor check for ``config``; ``hardware`` (a SimulatedHardware) replaces the real devices."""
    from kiosk import doctor
    from sensors import diagnostics

    if simulate and hardware is None:
        from sensors.simulated import simulated_hardware

        hardware = simulated_hardware(config, signals=False)
    try:
        if hardware is not None:
            sensor = hardware.thermometer.sensor if hardware.thermometer else None
            checks = [doctor.guarded("thermometer", lambda: diagnostics.probe_thermometer(config.thermometer, sensor))]
            checks.append(doctor.guarded("camera", lambda: diagnostics.probe_camera(hardware.test_camera)))
        else:
            from sensors.cameras import open_camera

            checks = [doctor.guarded("thermometer", lambda: diagnostics.probe_thermometer(config.thermometer))]
            checks.append(doctor.guarded("camera", lambda: diagnostics.probe_camera(lambda: open_camera(config.camera))))
        checks += diagnostics.probe_decoders()
        factory = hardware.pin_factory if hardware is not None else None
        checks.append(doctor.guarded("GPIO pins", lambda: diagnostics.probe_gpio(config.signals, factory)))
        if config.gate_leaf.pin is not None:  # only when a reed switch is fitted
            from sensors.gate_leaf import probe_gate_leaf

            checks.append(doctor.guarded("gate leaf", lambda: probe_gate_leaf(config.gate_leaf, factory)))
        checks.append(doctor.guarded("data folder", lambda: doctor.check_data_dir(config.gate.data_dir)))
        journal_path = Path(config.gate.data_dir) / "journal.db"  # the clock is judged against its newest event too
        checks.append(doctor.guarded("clock", lambda: doctor.check_clock(journal_path=journal_path)))
        checks.append(doctor.guarded("office link", lambda: doctor.check_office(config.sync.office_url)))
    finally:
        if hardware is not None and simulate:
            hardware.close()
    return checks


@click.command()
@click.option("--config", "config_path", default="config.yaml", show_default=True, type=click.Path(dir_okay=False),
              help="The gate's config file.")
@click.option("--simulate", is_flag=True, help="Check against the simulated hardware (fake thermometer, replay camera, mock pins).")
@click.option("--json", "as_json", is_flag=True, help='Print {"ok": …, "checks": [{name, status, detail, hint}, …]}.')
def doctor(config_path: str, simulate: bool, as_json: bool) -> None:
    """Check the thermometer, camera, decoders, GPIO pins, gate leaf, data folder, clock and office link; exit 1 on any failure."""
    from kiosk.doctor import exit_code

    with clean_errors():
        config = load_gate_config(config_path)
        checks = run_checks(config, simulate=simulate)
    code = exit_code(checks)
    if as_json:
        print_json({"ok": code == 0, "checks": [c.to_dict() for c in checks]})
    else:
        for check in checks:
            click.echo(f"{_MARK[check.status.value]}  {check.name:<14} {check.detail}")
            if check.hint:
                click.echo(f"      {'':<14} → {check.hint}")
    raise click.exceptions.Exit(code)
