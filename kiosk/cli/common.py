"""Helpers shared by the CLI commands: exit codes and turning library errors into clean messages."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any, NoReturn

import click

from kiosk.exc import ConfigError, KioskError

EXIT_OK = 0
EXIT_NEGATIVE = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code`` (2, a usage error, unless told)."""
    click.echo(f"Error: {message}", err=True)
    raise click.exceptions.Exit(code)


@contextlib.contextmanager
def clean_errors() -> Iterator[None]:
    """Turn the project's own errors into a one-line message and exit code 2 instead of a traceback."""
    try:
        yield
    except ConfigError as exc:
        for line in exc.problems:
            click.echo(line, err=True)
        raise click.exceptions.Exit(EXIT_USAGE) from None
    except KioskError as exc:
        fail(str(exc))


def print_json(obj: Any) -> None:
    """Print one JSON document on one line (UTF-8, Chinese kept readable)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n")
