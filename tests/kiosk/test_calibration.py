"""Thermometer calibration: the fit, typed input, writing config.yaml without losing a comment, and ``kiosk calibrate``."""

from __future__ import annotations

import difflib
import os
import shutil
import stat
import subprocess
import sys

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from kiosk.calibration import (
    CalibrationError,
    CalibrationPair,
    apply_calibration,
    check_pair,
    fit_calibration,
    parse_celsius,
    write_calibration,
)
from kiosk.cli.calibrate import calibrate
from kiosk.config import load_gate_config
from kiosk.exc import ConfigError

# -- the model and the fit ----------------------------------------------------------------------


def test_apply_calibration():
    assert apply_calibration(36.0, 25.0, 0.5, 0.1) == 36.5
    assert apply_calibration(36.0, 15.0, 0.5, 0.02) == pytest.approx(36.3)


def test_offset_only_when_ambient_hardly_varies():
    pairs = [CalibrationPair(35.8, 36.5, 22.0), CalibrationPair(36.0, 36.5, 23.0), CalibrationPair(35.6, 36.4, 22.5)]
    fit = fit_calibration(pairs)
    assert not fit.slope_fitted and fit.ambient_slope == 0.0
    assert fit.offset_c == pytest.approx((0.7 + 0.5 + 0.8) / 3)
    assert fit.residuals == pytest.approx((0.7 - fit.offset_c, 0.5 - fit.offset_c, 0.8 - fit.offset_c))
    assert sum(fit.residuals) == pytest.approx(0.0, abs=1e-12)
    assert "1.0 °C of ambient" in fit.note


def test_slope_is_fitted_over_a_wide_ambient_span():
    offset, slope = 0.7, 0.03
    pairs = [CalibrationPair(35.5, 35.5 + offset + slope * (a - 25), a) for a in (8.0, 15.0, 30.0)]
    fit = fit_calibration(pairs)
    assert fit.slope_fitted
    assert fit.offset_c == pytest.approx(offset) and fit.ambient_slope == pytest.approx(slope)
    assert fit.rms_c == pytest.approx(0.0, abs=1e-9)


def test_narrow_span_keeps_the_configured_slope():
    pairs = [CalibrationPair(36.0, 36.5, 10.0), CalibrationPair(36.0, 36.6, 12.0)]
    fit = fit_calibration(pairs, keep_slope=0.02)
    assert not fit.slope_fitted and fit.ambient_slope == 0.02
    # offset so that reference ≈ sensor + offset + 0.02 × (ambient − 25)
    assert fit.offset_c == pytest.approx(((0.5 + 0.3) + (0.6 + 0.26)) / 2)
    assert "kept at 0.02" in fit.note


def test_unknown_ambient_means_no_slope():
    fit = fit_calibration([CalibrationPair(36.0, 36.5), CalibrationPair(36.2, 36.5, 30.0)], keep_slope=0.02)
    assert fit.ambient_slope == 0.0 and fit.offset_c == pytest.approx(0.4) and "no ambient" in fit.note


def test_needs_two_pairs():
    with pytest.raises(CalibrationError, match="at least 2 pairs"):
        fit_calibration([CalibrationPair(36.0, 36.5, 20.0)])


@given(st.floats(-3, 3), st.floats(-0.1, 0.1),
       st.lists(st.tuples(st.floats(30, 40), st.floats(-10, 40)), min_size=2, max_size=8))
def test_fit_recovers_exact_data(offset, slope, readings):
    ambients = [a for _, a in readings]
    pairs = [CalibrationPair(s, s + offset + slope * (a - 25), a) for s, a in readings]
    fit = fit_calibration(pairs)
    if max(ambients) - min(ambients) >= 5:
        assert fit.ambient_slope == pytest.approx(slope, abs=1e-6)
        assert fit.offset_c == pytest.approx(offset, abs=1e-6)
    assert sum(fit.residuals) == pytest.approx(0.0, abs=1e-6)


def test_check_pair():
    check_pair(CalibrationPair(35.0, 36.5, 20.0))
    with pytest.raises(CalibrationError, match="differ by more than 5"):
        check_pair(CalibrationPair(30.0, 36.5, 20.0))
    with pytest.raises(CalibrationError, match="reference reading 50.00"):
        check_pair(CalibrationPair(36.0, 50.0, 20.0))
    with pytest.raises(CalibrationError, match="ambient 80.00"):
        check_pair(CalibrationPair(36.0, 36.5, 80.0))


@pytest.mark.parametrize("text", ["36.5", " 36.5 ", "36,5", "３６．５", "36.5°C", "36.5 ℃", "36.5C"])
def test_parse_celsius_accepts_what_people_type(text):
    assert parse_celsius(text, what="reference reading", limits=(30, 43)) == 36.5


@pytest.mark.parametrize("text, message", [
    ("abc", "is not a number"),
    ("", "is not a number"),
    ("nan", "plain number"),
    ("inf", "plain number"),
    ("50", "cannot be a reference reading: expected 30–43 °C"),
])
def test_parse_celsius_refuses_with_a_clear_message(text, message):
    with pytest.raises(CalibrationError, match=message):
        parse_celsius(text, what="reference reading", limits=(30, 43))


# -- writing the config ---------------------------------------------------------------------


@pytest.fixture
def config(tmp_path, repo):
    path = tmp_path / "config.yaml"
    shutil.copy(repo / "config.yaml", path)
    return path


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]


def test_write_keeps_every_comment(config):
    before = config.read_text(encoding="utf-8")
    settings = write_calibration(config, 0.84, -0.0123)
    after = config.read_text(encoding="utf-8")
    assert sorted(changed_lines(before, after)) == sorted([
        "-   offset_c: 0.0       # calibration, written by `kiosk calibrate`",
        "-   ambient_slope: 0.0  # calibration per °C of ambient away from 25 °C",
        "+   offset_c: 0.84      # calibration, written by `kiosk calibrate`",
        "+   ambient_slope: -0.012 # calibration per °C of ambient away from 25 °C",
    ])
    assert settings.thermometer.offset_c == 0.84 and settings.thermometer.ambient_slope == -0.012
    assert load_gate_config(config) == settings
    assert "name: 北门" in after and "address: 0x5a" in after
    assert not [p for p in config.parent.iterdir() if p.name != "config.yaml"]  # no temporary file left


def test_write_adds_the_section_and_keeps_block_lists(write_yaml):
    text = "# a gate\ngate:\n    id: g   # the id\npolicy:\n    measure_on:\n      - in\n      - out\n"
    path = write_yaml(text)
    write_calibration(path, -0.004, 0.0)
    after = path.read_text(encoding="utf-8")
    assert after.startswith(text)
    assert after[len(text):] == "thermometer:\n    offset_c: 0.0\n    ambient_slope: 0.0\n"


def test_write_refuses_a_result_that_would_not_load(config):
    before = config.read_text(encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        write_calibration(config, 7.5, 0.0)
    assert caught.value.problems == [f"{config}: thermometer.offset_c: expected a number at most 5.0, got 7.5"]
    assert config.read_text(encoding="utf-8") == before
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.yaml"]


def test_write_keeps_the_file_mode(config):
    os.chmod(config, 0o640)
    write_calibration(config, 0.3, 0.0)
    assert stat.S_IMODE(config.stat().st_mode) == 0o640


def test_write_errors(tmp_path, write_yaml):
    with pytest.raises(ConfigError, match="file not found"):
        write_calibration(tmp_path / "missing.yaml", 0.1, 0.0)
    with pytest.raises(ConfigError, match="expected a mapping"):
        write_calibration(write_yaml("gate: {id: g}\nthermometer: 5\n"), 0.1, 0.0)


# -- kiosk calibrate ----------------------------------------------------------------------------


def run(*args, input: str):
    return CliRunner().invoke(calibrate, [str(a) for a in args], input=input)


def test_manual_calibration(config):
    # pair 1: sensor 36.0 at ambient 24, reference 36.5; pair 2: 35.8, ambient not shown, 36.4
    result = run("--config", config, "--manual", input="36.0\n24\n36.5\n35.8\n\n36.4\nn\ny\n")
    assert result.exit_code == 0, result.output
    assert "offset_c       +0.55 °C" in result.output
    assert "some pairs have no ambient reading" in result.output
    assert "residuals: rms 0.05 °C, worst 0.05 °C" in result.output
    thermometer = load_gate_config(config).thermometer
    assert (thermometer.offset_c, thermometer.ambient_slope) == (0.55, 0.0)
    assert "# calibration, written by `kiosk calibrate`" in config.read_text(encoding="utf-8")


def test_bad_input_is_asked_again(config):
    result = run("--config", config, "--manual",
                 input="thirty-six\n36.0\nwarm\n24\n50\n36.5\n35.8\n\n99\n36.4\nn\ny\n")
    assert result.exit_code == 0, result.output
    assert "'thirty-six' is not a number: type the sensor reading in °C, e.g. 36.5" in result.output
    assert "'warm' is not a number" in result.output
    assert "50 °C cannot be a reference reading: expected 30–43 °C" in result.output
    assert "99 °C cannot be a reference reading" in result.output
    assert "Traceback" not in result.output
    assert load_gate_config(config).thermometer.offset_c == 0.55


def test_a_pair_too_far_apart_is_taken_again(config):
    result = run("--config", config, "--manual", input="30.0\n24\n36.5\n36.0\n24\n36.5\n36.1\n24\n36.5\nn\ny\n")
    assert result.exit_code == 0, result.output
    assert "That pair cannot be used" in result.output and "differ by more than 5 °C" in result.output
    assert load_gate_config(config).thermometer.offset_c == 0.45


def test_slope_fitted_over_seasons(config):
    result = run("--config", config, "--manual", "--pairs", 3,
                 input="35.0\n5\n36.5\n35.4\n15\n36.5\n35.8\n25\n36.5\nn\ny\n")
    assert result.exit_code == 0, result.output
    thermometer = load_gate_config(config).thermometer
    assert (thermometer.offset_c, thermometer.ambient_slope) == (0.7, -0.04)


def test_declining_writes_nothing(config):
    before = config.read_text(encoding="utf-8")
    result = run("--config", config, "--manual", input="36.0\n24\n36.5\n35.8\n\n36.4\nn\nn\n")
    assert result.exit_code == 1 and "Nothing written." in result.output
    assert config.read_text(encoding="utf-8") == before


def test_yes_skips_the_question(config):
    result = run("--config", config, "--manual", "--yes", input="36.0\n24\n36.5\n35.8\n\n36.4\nn\n")
    assert result.exit_code == 0 and "Write offset_c" not in result.output


def test_end_of_input_aborts_cleanly(config):
    result = run("--config", config, "--manual", input="36.0\n")
    assert result.exit_code == 1 and "Aborted!" in result.output and result.exception.__class__ is SystemExit


def test_simulated_live_calibration(config):
    # The simulated volunteer reads 35.4 °C on the fake sensor; the reference says 36.3 and 36.2.
    result = run("--config", config, "--simulate", input="\n36.3\n\n36.2\nn\ny\n")
    assert result.exit_code == 0, result.output
    assert "Sensor: 35.4" in result.output and "(ambient 24.0" in result.output
    assert load_gate_config(config).thermometer.offset_c == pytest.approx(0.85, abs=0.1)


def fake_with_factory_emissivity(monkeypatch):
    from sensors import thermometers

    real = thermometers.FakeMLX90614
    made = []

    def factory(*args, emissivity=None, **kwargs):
        made.append(real(*args, **kwargs))  # a new chip: emissivity 1.0
        return made[-1]

    monkeypatch.setattr(thermometers, "FakeMLX90614", factory)
    return made


def test_offers_to_program_the_emissivity(config, monkeypatch):
    made = fake_with_factory_emissivity(monkeypatch)
    before = config.read_text(encoding="utf-8")
    result = run("--config", config, "--simulate", input="y\n")
    assert result.exit_code == 0, result.output
    assert "EEPROM holds emissivity 1.000; " in result.output and "says 0.980" in result.output
    assert "only after a power cycle" in result.output
    assert [(w.sent, w.stored) for w in made[0].eeprom_log] == [(0x0000, 0x0000), (0xFAE0, 0xFAE0)]
    assert config.read_text(encoding="utf-8") == before


def test_emissivity_offer_can_be_declined(config, monkeypatch):
    made = fake_with_factory_emissivity(monkeypatch)
    result = run("--config", config, "--simulate", input="n\n\n36.3\n\n36.2\nn\ny\n")
    assert result.exit_code == 0, result.output
    assert "Keeping the sensor's emissivity" in result.output and made[0].eeprom_log == []


def test_live_without_i2c_says_the_fix(config, monkeypatch):
    import smbus2

    def missing(bus):
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(smbus2, "SMBus", missing)
    result = run("--config", config, input="")
    assert result.exit_code == 1
    assert "raspi-config nonint do_i2c 0" in result.output and "Traceback" not in result.output


def test_live_reports_a_fault_and_tries_again(config, monkeypatch):
    import smbus2

    from sensors.thermometers import FakeMLX90614

    fake = FakeMLX90614(0x5A, ambient_c=24.0, object_c=35.4, emissivity=0.98)
    fake.settle()
    fake.fail_next(1, "bad_pec")  # the emissivity read is tried again
    fake.fail_next(1, "error_flag")  # the first window sees the sensor's error flag
    monkeypatch.setattr(smbus2, "SMBus", lambda bus: fake)
    result = run("--config", config, input="\n\n36.3\n\n36.2\nn\ny\n")
    assert result.exit_code == 0, result.output
    assert "The thermometer reports a fault: error_flag" in result.output
    assert fake.closed


def test_usage_errors(config, write_yaml, tmp_path):
    result = run("--config", config, "--manual", "--simulate", input="")
    assert result.exit_code == 2 and "exclude each other" in result.output
    none = write_yaml("gate: {id: g}\nthermometer: {driver: none}\n", name="none.yaml")
    result = run("--config", none, input="")
    assert result.exit_code == 2 and "use --manual" in result.output
    bad = write_yaml("gate: {id: g}\nthermometer: {offset_c: 9}\n", name="bad.yaml")
    result = run("--config", bad, "--manual", input="")
    assert result.exit_code == 2 and "thermometer.offset_c: expected a number at most 5.0, got 9" in result.output
    result = run("--config", tmp_path / "nope.yaml", "--manual", input="")
    assert result.exit_code == 2 and "file not found" in result.output


def test_kiosk_does_not_import_hardware_at_module_level():
    code = ("import sys, kiosk.calibration, kiosk.cli.calibrate; "
            "bad = [m for m in ('smbus2', 'sensors') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
