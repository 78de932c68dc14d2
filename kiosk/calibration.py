"""Thermometer calibration: fit an offset (and an ambient slope) from reference pairs, and write them into config.yaml.

The model, applied by the thermometer to every stable reading::

    corrected = reading + offset_c + ambient_slope × (ambient − 25 °C)

A volunteer collects pairs — the gate sensor's reading (with its ambient) and a
trusted reference thermometer's reading of the same forehead — and
:func:`fit_calibration` finds ``offset_c`` and, when the pairs were taken at
ambients at least 5 °C apart, ``ambient_slope`` by least squares.
:func:`write_calibration` puts both into the config file with a ruamel.yaml
round trip, so every comment and the layout stay as the person wrote them.

This module imports no hardware: ``kiosk calibrate`` fetches live readings
through ``sensors`` inside the command.
"""

from __future__ import annotations

import io
import math
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kiosk.exc import ConfigError, KioskError

REFERENCE_AMBIENT_C = 25.0
"""The ambient at which the slope term vanishes."""
REFERENCE_RANGE_C = (30.0, 43.0)
"""Readings a reference thermometer can give for a forehead (or a calibration bath); anything else is a typo."""
SENSOR_RANGE_C = (20.0, 45.0)
"""Uncalibrated sensor readings of a forehead that are worth fitting."""
AMBIENT_RANGE_C = (-20.0, 60.0)
"""Ambient temperatures a gate can see."""
MAX_OFFSET_C = 5.0
"""Largest correction the config accepts (``thermometer.offset_c`` is limited to ±5 °C)."""
MIN_AMBIENT_SPAN_C = 5.0
"""Pairs must span at least this much ambient before a slope is fitted."""


class CalibrationError(KioskError, ValueError):
    """Calibration input that cannot be used (too few pairs, a reading out of range, a bad number)."""


def apply_calibration(value_c: float, ambient_c: float, offset_c: float, ambient_slope: float) -> float:
    """The corrected temperature: value + offset + slope × (ambient − 25 °C)."""
    return value_c + offset_c + ambient_slope * (ambient_c - REFERENCE_AMBIENT_C)


@dataclass(frozen=True)
class CalibrationPair:
    """One comparison: the gate sensor's uncalibrated reading, its ambient (if known), and the reference reading."""

    sensor_c: float
    reference_c: float
    ambient_c: float | None = None


@dataclass(frozen=True)
class CalibrationFit:
    """The fitted correction, the residual of each pair after it, and why the slope was or was not fitted."""

    offset_c: float
    ambient_slope: float
    slope_fitted: bool
    residuals: tuple[float, ...]
    note: str

    @property
    def rms_c(self) -> float:
        """Root mean square of the residuals."""
        return math.sqrt(sum(r * r for r in self.residuals) / len(self.residuals)) if self.residuals else 0.0

    @property
    def max_abs_residual_c(self) -> float:
        """The worst pair after correction."""
        return max((abs(r) for r in self.residuals), default=0.0)


def check_pair(pair: CalibrationPair) -> None:
    """Refuse a pair no forehead comparison produces; raises CalibrationError saying what to do."""
    for value, (low, high), what in ((pair.sensor_c, SENSOR_RANGE_C, "sensor reading"),
                                      (pair.reference_c, REFERENCE_RANGE_C, "reference reading")):
        if not low <= value <= high:
            raise CalibrationError(f"the {what} {value:.2f} °C is outside {low:g}–{high:g} °C")
    if pair.ambient_c is not None and not AMBIENT_RANGE_C[0] <= pair.ambient_c <= AMBIENT_RANGE_C[1]:
        raise CalibrationError(f"the ambient {pair.ambient_c:.2f} °C is outside {AMBIENT_RANGE_C[0]:g}–{AMBIENT_RANGE_C[1]:g} °C")
    if abs(pair.reference_c - pair.sensor_c) > MAX_OFFSET_C:
        raise CalibrationError(
            f"sensor {pair.sensor_c:.2f} °C and reference {pair.reference_c:.2f} °C differ by more than "
            f"{MAX_OFFSET_C:g} °C: measure the same spot of the same forehead, at 3–5 cm, and try the pair again"
        )


def fit_calibration(
    pairs: Iterable[CalibrationPair],
    *,
    min_ambient_span_c: float = MIN_AMBIENT_SPAN_C,
    keep_slope: float = 0.0,
) -> CalibrationFit:
    """Least-squares fit of reference − sensor = offset + slope × (ambient − 25).

    The slope is fitted only when every pair has an ambient and they span at
    least ``min_ambient_span_c``; otherwise it is held at ``keep_slope`` (the
    configured value, so a quick re-check in one season does not erase a slope
    fitted over several) — or at 0 when some ambient is unknown — and only the
    offset is fitted. Needs at least two pairs.
    """
    pairs = list(pairs)
    if len(pairs) < 2:
        raise CalibrationError(f"calibration needs at least 2 pairs, got {len(pairs)}")
    differences = [p.reference_c - p.sensor_c for p in pairs]
    ambients = [p.ambient_c for p in pairs if p.ambient_c is not None]
    if len(ambients) < len(pairs):
        slope, fitted = 0.0, False
        note = "ambient slope set to 0: some pairs have no ambient reading"
        xs = [0.0] * len(pairs)
    else:
        xs = [a - REFERENCE_AMBIENT_C for a in ambients]
        span = max(ambients) - min(ambients)
        if span >= min_ambient_span_c:
            mean_x = sum(xs) / len(xs)
            mean_y = sum(differences) / len(differences)
            sxx = sum((x - mean_x) ** 2 for x in xs)
            slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, differences, strict=True)) / sxx
            fitted = True
            note = f"ambient slope fitted over {span:.1f} °C of ambient"
        else:
            slope, fitted = keep_slope, False
            note = (f"ambient slope kept at {keep_slope:g}: the pairs span {span:.1f} °C of ambient, "
                    f"fewer than {min_ambient_span_c:g} °C")
    offset = sum(y - slope * x for x, y in zip(xs, differences, strict=True)) / len(pairs)
    residuals = tuple(y - (offset + slope * x) for x, y in zip(xs, differences, strict=True))
    return CalibrationFit(offset, slope, fitted, residuals, note)


def parse_celsius(text: str, *, what: str, limits: tuple[float, float]) -> float:
    """A typed temperature: accepts ``36.5``, ``36,5``, full-width digits and a trailing °C/℃.

    Raises CalibrationError with a message meant for the person typing.
    """
    cleaned = unicodedata.normalize("NFKC", text).strip()
    cleaned = re.sub(r"\s*(°\s*C|℃|C)$", "", cleaned, flags=re.IGNORECASE).replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        raise CalibrationError(f"{text.strip()!r} is not a number: type the {what} in °C, e.g. 36.5") from None
    if not math.isfinite(value):
        raise CalibrationError(f"type the {what} in °C as a plain number, e.g. 36.5")
    low, high = limits
    if not low <= value <= high:
        raise CalibrationError(f"{value:g} °C cannot be a {what}: expected {low:g}–{high:g} °C; please check and type it again")
    return value


# -- writing the config file ---------------------------------------------------------------

_BLOCK_KEY = re.compile(r"^( *)[^\s#\-][^#]*:\s*(#.*)?$")
_ANY_KEY = re.compile(r"^( *)[^\s#\-][^#]*?:(\s|$)")
_DASH = re.compile(r"^( *)- ")


def _guess_indent(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) indents as ruamel.yaml wants them, read from how the file is written."""
    mapping = sequence = offset = None
    opener: int | None = None  # indentation of the last key that opened a block
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        dash = _DASH.match(line)
        key = _ANY_KEY.match(line)
        if dash and opener is not None and sequence is None:
            offset = len(dash.group(1)) - opener
            sequence = offset + 2
        elif key and opener is not None and mapping is None and len(key.group(1)) > opener:
            mapping = len(key.group(1)) - opener
        block = _BLOCK_KEY.match(line)
        if block and not dash:
            opener = len(block.group(1))
    mapping = mapping or 2
    if sequence is None or offset is None:  # both are set together
        sequence, offset = mapping + 2, mapping
    return mapping, sequence, offset


def _represent_null(representer, _value):
    # ruamel writes None as an empty value; the project's files spell it out.
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def write_calibration(path: str | Path, offset_c: float, ambient_slope: float):
    """Set ``thermometer.offset_c`` and ``thermometer.ambient_slope`` in a gate config file.

    The file is edited with a ruamel.yaml round trip (comments, order, hex
    addresses and Chinese text survive), validated with
    :func:`kiosk.config.load_gate_config`, and only then put in place atomically.
    Returns the validated ``GateConfig``; raises ConfigError (file untouched) when
    the result would not load.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    from kiosk.config import load_gate_config
    from kiosk.config.loader import read_config_text

    path = Path(path)
    text = read_config_text(path)

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long comment or flow list
    mapping, sequence, offset = _guess_indent(text)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.representer.add_representer(type(None), _represent_null)
    try:
        data = yaml.load(text)
    except YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from None
    if data is None:
        data = CommentedMap()
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: expected a mapping of sections at the top level"])
    section = data.get("thermometer")
    if section is None:
        section = data["thermometer"] = CommentedMap()
    elif not isinstance(section, dict):
        raise ConfigError([f"{path}: thermometer: expected a mapping of keys"])
    # Adding 0.0 turns a rounded -0.0 into 0.0, which reads better in the file.
    section["offset_c"] = round(float(offset_c), 2) + 0.0
    section["ambient_slope"] = round(float(ambient_slope), 3) + 0.0
    out = io.StringIO()
    yaml.dump(data, out)

    temporary = path.with_name(f".{path.name}.calibrate-{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(out.getvalue())
            handle.flush()
            os.fsync(handle.fileno())
        try:
            settings = load_gate_config(temporary)
        except ConfigError as exc:
            raise ConfigError([line.replace(str(temporary), str(path)) for line in exc.problems]) from None
        try:
            os.chmod(temporary, path.stat().st_mode & 0o7777)
        except OSError:
            pass  # keeping the mode is a courtesy, not a requirement
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return settings
