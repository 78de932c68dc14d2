"""``kiosk decode``: read the QR codes in image files — for diagnosing a card that won't scan.

A thin layer over ``sensors.cameras.load_gray`` and ``sensors.decoders.make_decoder``,
the same calls the gate's scanner makes; the camera stack is imported only when the
command runs.
"""

from __future__ import annotations

import re
import time

import click

from kiosk.cli.common import (
    EXIT_NEGATIVE,
    EXIT_OK,
    EXIT_USAGE,
    clean_errors,
    print_json,
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _printable(text: str) -> str:
    # One code per line: newlines and other control characters are shown escaped (\n, \x1d)
    return _CONTROL.sub(lambda m: {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(m[0], f"\\x{ord(m[0]):02x}"), text)


@click.command("decode")
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--decoder",
    "engine",
    type=click.Choice(["zxing", "zbar", "zxing-raw"]),
    default="zxing",
    show_default=True,
    help="zxing: the gate's default (zxing-cpp + retries); zbar: pyzbar; zxing-raw: one zxing-cpp pass, no retries.",
)
@click.option("--json", "as_json", is_flag=True, help='One JSON object per file: {"file", "codes", "ms"} (+ "error").')
def decode(images: tuple[str, ...], engine: str, as_json: bool) -> None:
    """Decode the QR codes in IMAGE files (PNG, JPEG, WebP, …) as the gate would.

    Prints one line per code, FILE: TEXT (control characters escaped), or
    FILE: no QR code found; --json gives each file's codes exactly and the
    decoding time in ms (image loading not counted). Images are read in
    greyscale, upright as stored. Exit status: 0 every file had a code; 1 some readable file had
    none; 2 some file could not be read (missing, not an image, too large) — 2
    wins over 1.
    """
    from sensors.cameras import ImageFileError, load_gray
    from sensors.decoders import DecoderError, make_decoder

    with clean_errors():
        decoder = make_decoder(engine)
    status = EXIT_OK
    for name in images:
        try:
            gray = load_gray(name)
            started = time.perf_counter()
            codes = decoder.decode(gray)
            ms = round((time.perf_counter() - started) * 1000.0, 3)
        except (ImageFileError, DecoderError) as exc:
            # One bad file (missing, not an image, absurdly large) must not hide the others' results
            status = EXIT_USAGE
            if as_json:
                print_json({"file": name, "codes": [], "ms": None, "error": str(exc)})
            else:
                click.echo(f"{name}: error: {exc}", err=True)
            continue
        if not codes and status == EXIT_OK:
            status = EXIT_NEGATIVE
        if as_json:
            print_json({"file": name, "codes": codes, "ms": ms})
        elif codes:
            for code in codes:
                click.echo(f"{name}: {_printable(code)}")
        else:
            height, width = gray.shape
            click.echo(f"{name}: no QR code found ({width}×{height}, {ms:.1f} ms)")
    raise click.exceptions.Exit(status)
