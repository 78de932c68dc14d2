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

# A config file is a few KB (the commented example is ~5 KB): anything far larger is not one, and is refused before
# it is parsed, so reading any file stays within a second and a few MB.
MAX_CONFIG_BYTES = 64 * 1024
# Settings nest a few levels (section.subsection.key); the parser and the checks never go deeper than this.
MAX_DEPTH = 16
# Problems listed one per line; past this, one more line says how many more there are.
MAX_PROBLEMS = 10

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
    _check_depth(data, source)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_url=False)[:MAX_PROBLEMS]:
            path, message = _describe(error, model)
            lines.append(f"{source}: {path}: {message}")
        more = exc.error_count() - MAX_PROBLEMS
        if more > 0:
            lines.append(f"{source}: … and {more} more problem(s) like these: fix these first")
        raise ConfigError(lines) from None


def _check_depth(data: Any, source: str) -> None:
    """Refuse mappings and lists nested deeper than MAX_DEPTH (iteratively; an alias shared many times is seen once)."""
    seen: set[int] = set()
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        if not isinstance(node, (dict, list)) or id(node) in seen:
            continue
        seen.add(id(node))
        if depth >= MAX_DEPTH:
            raise ConfigError([f"{source}: {path or '(top level)'}: expected at most {MAX_DEPTH} levels of nesting, "
                               "got more (settings are a few levels deep)"])
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            where = f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else str(key))
            stack.append((value, where[:200], depth + 1))


def read_config_text(path: str | Path) -> str:
    """A config file's text; a missing or unreadable file is a ConfigError that says so."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found (copy the commented example from the repository and edit it)"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{path}: expected a config file, got a folder"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError([f"{path}: expected a config file of at most {MAX_CONFIG_BYTES // 1024} KB, "
                           "got a larger file (is it the right file?)"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: expected UTF-8 text, got a byte that is not (at byte {exc.start}): "
                           "is it a binary file?"]) from None
    if "\x00" in text:
        raise ConfigError([f"{path}: expected UTF-8 text, got a NUL byte (at byte {raw.index(0)}): is it a binary file?"])
    return text


def _deepest_line(text: str, limit: int) -> int | None:
    """The first line where block indentation plus open flow brackets nest deeper than ``limit``; None if none does.

    A cheap scan before parsing: the YAML parser recurses once per level, so a
    file nested thousands deep would otherwise end in a RecursionError after
    seconds of work. Quoted text and comments are skipped; it may over-count
    a little, never under-count.
    """
    indents: list[int] = []
    flow = 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip(" ")
        if flow == 0 and stripped and not stripped.startswith("#"):
            width = len(line) - len(stripped)
            while indents and indents[-1] >= width:
                indents.pop()
            indents.append(width)
            # "- - - a" nests one level per dash
            dashes = len(stripped) - len(stripped.lstrip("- ")) if stripped.startswith("- ") else 0
            if len(indents) + dashes // 2 > limit:
                return number
        quote = ""
        for ch in stripped:
            if quote:
                if ch == quote:
                    quote = ""
            elif ch in "\"'":
                quote = ch
            elif ch == "#":
                break
            elif ch in "[{":
                flow += 1
                if len(indents) + flow > limit:
                    return number
            elif ch in "]}":
                flow = max(0, flow - 1)
    return None


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML 1.2 file; duplicate keys and syntax errors become ConfigError with the line number."""
    text = read_config_text(path)
    deep = _deepest_line(text, 4 * MAX_DEPTH)
    if deep is not None:
        raise ConfigError([f"{path}: line {deep}: expected at most {MAX_DEPTH} levels of nesting, got far more "
                           "(settings are a few levels deep)"])
    try:
        return YAML(typ="safe", pure=True).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        what = exc.problem or exc.context or "not valid YAML"
        raise ConfigError([f"{path}: {where}{what}"]) from None
    except YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"]) from None
    except RecursionError:
        raise ConfigError([f"{path}: expected at most {MAX_DEPTH} levels of nesting, got far more "
                           "(settings are a few levels deep)"]) from None


def load_settings(path: str | Path, model: type[M]) -> M:
    """Read and validate one config file."""
    return parse_settings(read_yaml(path), model, str(path))
