"""Reading a YAML config file into typed settings, with one clear line per problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from kiosk.exc import ConfigError

M = TypeVar("M", bound=BaseModel)

# What a person should read for pydantic's built-in error types ("expected …").
_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
    "list_type": "a list",
    "dict_type": "a mapping of keys",
    "model_type": "a mapping of keys",
    "model_attributes_type": "a mapping of keys",
    "missing": "a value (this key is required)",
}


def _shown(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys a section accepts, for the hint after an unknown key."""
    current: Any = model
    for part in loc[:-1]:
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = field.annotation
    return sorted(getattr(current, "model_fields", {}))


def _describe(error: ErrorDetails, model: type[BaseModel]) -> tuple[str, str]:
    """(key path, message) for one pydantic error."""
    loc = tuple(str(p) for p in error["loc"])
    path = ""
    for part in error["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    path = path or "(top level)"
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc)
        hint = f" (allowed here: {', '.join(allowed)})" if allowed else ""
        return path, f"unknown key{hint}"
    if kind == "missing":
        return path, "expected a value (this key is required), got nothing"
    if kind in _EXPECTED:
        return path, f"expected {_EXPECTED[kind]}, got {_shown(value)}"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return path, f"expected one of {expected}, got {_shown(value)}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        ctx = error.get("ctx", {})
        bound = {"greater_than": ("above", "gt"), "greater_than_equal": ("at least", "ge"),
                 "less_than": ("below", "lt"), "less_than_equal": ("at most", "le")}[kind]
        return path, f"expected a number {bound[0]} {ctx.get(bound[1])}, got {_shown(value)}"
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if "got" not in message and not isinstance(value, dict):
        message = f"{message}, got {_shown(value)}"
    return path, message


def parse_settings(data: Any, model: type[M], source: str) -> M:
    """Validate already-parsed YAML ``data`` into ``model``; ``source`` names the file in messages.

    Raises ConfigError with every problem, one line each.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: expected a mapping of sections at the top level, got {_shown(data)}"])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_url=False):
            path, message = _describe(error, model)
            lines.append(f"{source}: {path}: {message}")
        raise ConfigError(lines) from None


def read_config_text(path: str | Path) -> str:
    """A config file's text; a missing or unreadable file is a ConfigError that says so."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found (copy the commented example from the repository and edit it)"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML 1.2 file; duplicate keys and syntax errors become ConfigError with the line number."""
    text = read_config_text(path)
    try:
        return YAML(typ="safe", pure=True).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        what = exc.problem or exc.context or "not valid YAML"
        raise ConfigError([f"{path}: {where}{what}"]) from None
    except YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from None


def load_settings(path: str | Path, model: type[M]) -> M:
    """Read and validate one config file."""
    return parse_settings(read_yaml(path), model, str(path))
