"""Configuration: the examples load, every kind of mistake is refused with one clear line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from kiosk.cli import main
from kiosk.config import GateConfig, OfficeConfig, load_gate_config, load_office_config
from kiosk.exc import ConfigError

# the gate config's sections, as an unknown top-level key lists them (each helper adding one need not edit the lists)
_SECTIONS = ", ".join(sorted(GateConfig.model_fields))


def problems(write_yaml, text, name="config.yaml", loader=load_gate_config):
    path = write_yaml(text, name)
    with pytest.raises(ConfigError) as info:
        loader(path)
    return [line.replace(str(path), name) for line in info.value.problems]


def test_examples_load(repo):
    gate = load_gate_config(repo / "config.yaml")
    assert gate.thermometer.address == 0x5A and gate.policy.fever_threshold_c == 37.3
    office = load_office_config(repo / "office.yaml")
    assert office.registry.quarantine_days == 14


def _keys(model, prefix=""):
    for name, field in model.model_fields.items():
        sub = field.annotation
        if isinstance(sub, type) and hasattr(sub, "model_fields"):
            yield from _keys(sub, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}"


def _yaml_keys(data, prefix=""):
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _yaml_keys(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


@pytest.mark.parametrize("name, model", [("config.yaml", GateConfig), ("office.yaml", OfficeConfig)])
def test_examples_document_every_setting_with_its_default(repo, name, model):
    data = YAML(typ="safe").load((repo / name).read_text(encoding="utf-8"))
    assert set(_yaml_keys(data)) == set(_keys(model))
    # Apart from the gate's identity, the example shows the defaults.
    defaults = model.model_validate({"gate": {"id": "x"}} if model is GateConfig else {}).model_dump(mode="json")
    example = model.model_validate(data).model_dump(mode="json")
    if model is GateConfig:
        for key in ("id", "name"):
            example["gate"].pop(key), defaults["gate"].pop(key)
    assert example == defaults


def test_only_the_gate_id_is_required(write_yaml):
    config = load_gate_config(write_yaml("gate:\n  id: east-1\n"))
    assert config.gate.id == "east-1" and config.web.port == 8080


@pytest.mark.parametrize(
    "text, expected",
    [
        ("gate: {id: g}\nthermometer: {address: 0x99}\n",
         "config.yaml: thermometer.address: expected an I2C address 0x03-0x77, got 0x99"),
        ("gate: {id: g}\nthermometer: {adress: 0x5a}\n",
         "config.yaml: thermometer.adress: unknown key (allowed here: address, ambient_slope, bus, driver, emissivity, jump_c, "
         "jump_window_s, monitor_interval_s, offset_c, pending_s, presence_delta_c, reads, recover_after, stable_within_c, step_up_wait_s, stuck_after_s, window_s)"),
        ("gate: {id: g}\nthermometr: {}\n", "config.yaml: thermometr: unknown key (allowed here: " + _SECTIONS + ")"),
        ("gate: {name: 北门}\n", "config.yaml: gate.id: expected a value (this key is required), got nothing"),
        ("thermometer: {}\n", "config.yaml: gate: expected a value (this key is required), got nothing"),
        ("gate: {id: North Gate}\n", 'config.yaml: gate.id: expected lowercase letters, digits and dashes (≤ 32 characters), got "North Gate"'),
        ("gate: {id: g}\npolicy: {fever_threshold_c: hot}\n", 'config.yaml: policy.fever_threshold_c: expected a number, got "hot"'),
        ("gate: {id: g}\npolicy: {fever_threshold_c: 41}\n", "config.yaml: policy.fever_threshold_c: expected a number at most 40.0, got 41"),
        ("gate: {id: g}\npolicy: {outing: {enabled: maybe}}\n", 'config.yaml: policy.outing.enabled: expected true or false, got "maybe"'),
        ("gate: {id: g}\npolicy: {measure_on: [in, up]}\n", "config.yaml: policy.measure_on[1]: expected one of 'in' or 'out', got \"up\""),
        ("gate: {id: g}\npolicy: {ambient_min_c: 20, ambient_max_c: 20}\n", "config.yaml: policy: expected ambient_min_c below ambient_max_c"),
        ("gate: {id: g}\ngate_mode: x\n", "config.yaml: gate_mode: unknown key (allowed here: " + _SECTIONS + ")"),
        ("gate: {id: g, timezone: Mars/Olympus}\n", 'config.yaml: gate.timezone: expected an IANA time zone such as Asia/Shanghai, got "Mars/Olympus"'),
        ("gate: {id: g, mode: sideways}\n", "config.yaml: gate.mode: expected one of 'two-way', 'in-only' or 'out-only', got \"sideways\""),
        ("gate: {id: g}\nsignals: {buzzer: GPIO40}\n", 'config.yaml: signals.buzzer: expected a GPIO pin (BCM number 0-27 or a name like GPIO17), got "GPIO40"'),
        ("gate: {id: g}\nweb: {port: 70000}\n", "config.yaml: web.port: expected a number at most 65535, got 70000"),
        ("gate: {id: g}\nthermometer: {bus: [1]}\n", "config.yaml: thermometer.bus: expected an integer, got a list"),
        ("gate: {id: g}\nthermometer: 5\n", "config.yaml: thermometer: expected a mapping of keys, got 5"),
        ("- just\n- a list\n", "config.yaml: expected a mapping of sections at the top level, got a list"),
    ],
)
def test_each_mistake_is_one_clear_line(write_yaml, text, expected):
    assert problems(write_yaml, text) == [expected]


def test_quoted_hex_address_is_accepted(write_yaml):
    assert load_gate_config(write_yaml("gate: {id: g}\nthermometer: {address: '0x5b'}\n")).thermometer.address == 0x5B


def test_several_problems_all_reported(write_yaml):
    lines = problems(write_yaml, "gate: {id: g}\nthermometer: {address: 0x99, bus: x}\nweb: {lang: en}\n")
    assert len(lines) == 3


def test_duplicate_key_and_syntax_error_name_the_line(write_yaml):
    assert problems(write_yaml, "gate: {id: g}\ngate: {id: h}\n")[0].startswith("config.yaml: line 2:")
    assert "line" in problems(write_yaml, "gate:\n  id: [g\n")[0]


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_gate_config(tmp_path / "nope.yaml")
    assert "file not found" in info.value.problems[0]


def test_empty_file_means_missing_gate(write_yaml):
    assert problems(write_yaml, "") == ["config.yaml: gate: expected a value (this key is required), got nothing"]


def test_office_mistakes(write_yaml):
    lines = problems(write_yaml, "registry: {quarantine_days: 0}\nserver: {port: x}\n", "office.yaml", load_office_config)
    assert lines == [
        "office.yaml: server.port: expected an integer, got \"x\"",
        "office.yaml: registry.quarantine_days: expected a number at least 1, got 0",
    ]


def test_settings_are_frozen(repo):
    config = load_gate_config(repo / "config.yaml")
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="frozen"):
        config.policy.fever_threshold_c = 40


def test_config_check_cli(repo, write_yaml):
    runner = CliRunner()
    ok = runner.invoke(main, ["config", "check", str(repo / "config.yaml")])
    assert ok.exit_code == 0 and ok.output.strip().endswith(": ok")
    ok = runner.invoke(main, ["config", "check", "--office", str(repo / "office.yaml"), "--json"])
    assert ok.exit_code == 0 and '"quarantine_days": 14' in ok.output
    bad = write_yaml("gate: {id: g}\nthermometer: {address: 0x99}\n")
    result = runner.invoke(main, ["config", "check", str(bad)])
    assert result.exit_code == 2
    assert "thermometer.address: expected an I2C address 0x03-0x77, got 0x99" in result.output
    assert "Traceback" not in result.output


# -- any file at all: one clear line, within a second, in bounded memory (issue 10) --------------------------


def _timed_problems(path, loader=load_gate_config):
    import time

    started = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        loader(path)
    assert time.perf_counter() - started < 5  # ~0.5 s at worst here; loose for a loaded machine
    return info.value.problems


def test_a_5000_deep_mapping_is_one_line(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("".join(" " * i + f"a{i}:\n" for i in range(5000)) + " " * 5000 + "x: 1\n", encoding="utf-8")
    lines = _timed_problems(path)
    assert len(lines) == 1 and lines[0].startswith(f"{path}: ") and "expected" in lines[0] and "got" in lines[0]


@pytest.mark.parametrize("text", [
    "".join(" " * i + f"a{i}:\n" for i in range(300)) + " " * 300 + "x: 1\n",  # deep, yet small enough to parse
    "gate: " + "[" * 5000 + "]" * 5000 + "\n",
    "gate: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
    "gate:\n  id: g\nweb: " + "[" * 20 + "]" * 20 + "\n",  # within the parser's reach, past the settings' depth
])
def test_deep_nesting_of_any_style_is_one_line(write_yaml, text):
    lines = _timed_problems(write_yaml(text))
    assert len(lines) == 1 and "levels of nesting" in lines[0]


def test_half_a_million_unknown_keys_stop_early(tmp_path):
    path = tmp_path / "keys.yaml"
    path.write_text("gate:\n  id: g\n" + "".join(f"k{i}: 1\n" for i in range(500_000)), encoding="utf-8")
    lines = _timed_problems(path)
    assert len(lines) == 1 and "expected a config file of at most 64 KB" in lines[0]


def test_many_unknown_keys_list_the_first_few_and_count_the_rest(write_yaml):
    lines = _timed_problems(write_yaml("gate:\n  id: g\n" + "".join(f"k{i}: 1\n" for i in range(5000))))
    assert len(lines) == 11 and lines[0].endswith("config.yaml: k0: unknown key (allowed here: " + _SECTIONS + ")")
    assert lines[-1].endswith("config.yaml: … and 4990 more problem(s) like these: fix these first")


@pytest.mark.parametrize("content", [bytes(range(256)) * 16, b"gate:\n  id: g\x00\n", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
                                     b"\xef\xbb\xbf", b"\t\t\n", b"\xff\xfe"])
def test_binary_and_odd_files_are_one_line(tmp_path, content):
    path = tmp_path / "odd.yaml"
    path.write_bytes(content)
    lines = _timed_problems(path)
    assert len(lines) == 1 and lines[0].startswith(f"{path}: ")


def test_an_alias_shared_many_times_is_not_walked_many_times(write_yaml):
    text = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))
    lines = _timed_problems(write_yaml("gate: {id: g}\nlaughs: " + text.replace("\n", "\n  ").rstrip() + "\n"))
    assert len(lines) >= 1


def test_a_folder_is_one_line(tmp_path):
    assert _timed_problems(tmp_path) == [f"{tmp_path}: expected a config file, got a folder"]


@pytest.mark.parametrize("name, text", [
    ("deep.yaml", "".join(" " * i + f"a{i}:\n" for i in range(5000)) + " " * 5000 + "x: 1\n"),
    ("flow.yaml", "gate: " + "[" * 5000 + "]" * 5000 + "\n"),
    ("keys.yaml", "gate:\n  id: g\n" + "".join(f"k{i}: 1\n" for i in range(500_000))),
    ("empty.yaml", ""),
])
def test_config_check_never_prints_a_traceback(tmp_path, name, text):
    import subprocess
    import sys
    import time

    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", "from kiosk.cli import main; main()", "config", "check", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert time.perf_counter() - started < 10  # includes the interpreter's start
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith(f"{path}: ")
