"""``kiosk decode IMAGE...``: texts of the codes in image files, JSON lines, per-file errors and exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from kiosk.cli.decode import decode
from sensors.cameras import qr_array

CARD = "GK1:6BFOXN%TS3DH0YOJ58S S-W5HDC *M0II5EH9*4I0BE7V1.ZO2R"


@pytest.fixture
def images(tmp_path):
    Image.fromarray(qr_array(CARD)).save(tmp_path / "card.png")
    Image.fromarray(255 - qr_array(CARD)).convert("RGB").save(tmp_path / "inverted.webp")
    Image.fromarray(qr_array("line one\nline two\x1dend")).save(tmp_path / "multiline.png")
    Image.fromarray(np.full((200, 300), 230, np.uint8)).save(tmp_path / "blank.jpg")
    (tmp_path / "notes.png").write_text("not an image")
    return tmp_path


def run(*args):
    result = CliRunner().invoke(decode, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def json_lines(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_json_one_line_per_file(images):
    result = run(images / "card.png", images / "inverted.webp", "--json")
    assert result.exit_code == 0
    lines = json_lines(result)
    assert [line["file"] for line in lines] == [str(images / "card.png"), str(images / "inverted.webp")]
    assert all(line["codes"] == [CARD] for line in lines)
    assert all(isinstance(line["ms"], float) and line["ms"] >= 0 for line in lines)
    assert all(set(line) == {"file", "codes", "ms"} for line in lines)


def test_no_code_exits_1(images):
    result = run(images / "card.png", images / "blank.jpg", "--json")
    assert result.exit_code == 1
    assert json_lines(result)[1]["codes"] == []


def test_unreadable_files_exit_2_and_the_rest_are_still_decoded(images):
    result = run(images / "missing.png", images / "blank.jpg", images / "notes.png", images / "card.png", "--json")
    assert result.exit_code == 2
    lines = json_lines(result)
    assert len(lines) == 4
    assert "no such file" in lines[0]["error"] and lines[0]["codes"] == [] and lines[0]["ms"] is None
    assert "not an image" in lines[2]["error"]
    assert lines[3]["codes"] == [CARD]


def test_a_frame_the_decoder_refuses_is_a_per_file_error(images, monkeypatch):
    import sensors.decoders

    monkeypatch.setattr(sensors.decoders, "MAX_PIXELS", 10_000)  # card.png (212×212) is now "too large"
    result = run(images / "card.png", images / "inverted.webp", "--json")
    assert result.exit_code == 2
    first, second = json_lines(result)
    assert "larger than" in first["error"] and first["codes"] == []
    assert "larger than" in second["error"]


def test_plain_output(images):
    result = run(images / "card.png", images / "multiline.png", images / "blank.jpg", images / "missing.png")
    assert result.exit_code == 2
    out = result.stdout.splitlines()
    assert out[0] == f"{images / 'card.png'}: {CARD}"
    assert out[1] == f"{images / 'multiline.png'}: line one\\nline two\\x1dend"  # one code, one line
    assert out[2].startswith(f"{images / 'blank.jpg'}: no QR code found (300×200, ")
    assert f"{images / 'missing.png'}: error: " in result.stderr and "no such file" in result.stderr


@pytest.mark.parametrize("engine", ["zxing", "zbar", "zxing-raw"])
def test_each_decoder(images, engine):
    result = run("--decoder", engine, "--json", images / "inverted.webp")
    assert result.exit_code == 0, result.output
    assert json_lines(result)[0]["codes"] == [CARD]


def test_text_is_exact_in_json(images):
    result = run("--json", images / "multiline.png")
    assert json_lines(result)[0]["codes"] == ["line one\nline two\x1dend"]


def test_usage_errors(images):
    assert run().exit_code == 2  # no IMAGE
    result = run("--decoder", "quirc", images / "card.png")
    assert result.exit_code == 2 and "quirc" in result.output


def test_help_says_the_exit_codes():
    result = run("--help")
    assert result.exit_code == 0
    assert "Exit status" in result.output and "--decoder" in result.output and "--json" in result.output
