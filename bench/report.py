"""Shared writer of docs/benchmarks.md: each benchmark owns one marked section of it.

A section sits between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``;
``write_section`` replaces it (or appends it the first time) and leaves the
rest of the file alone, so benchmarks can be rerun one at a time. Import it
from a script in bench/ as ``import report`` (the script's own folder is on
``sys.path`` when run as ``python bench/NAME.py``).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
import platform
import re
import sqlite3
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PATH = REPO / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks — figures are written by the scripts in bench/; "
    "each section says when, on what machine and how to rerun it\n"
)


def write_section(name: str, markdown: str, path: str | os.PathLike[str] = DEFAULT_PATH) -> Path:
    """Put ``markdown`` between the ``bench:NAME`` markers of ``path``, creating the file if missing.

    A relative ``path`` is taken from the repository root, so the script may be
    run from anywhere. The file is replaced atomically: a reader (or a crash)
    sees the old or the new version, never half of one. Returns the path written.
    """
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"section name {name!r}: use letters, digits, '.', '_' or '-'")
    target = Path(path)
    if not target.is_absolute():
        target = REPO / target
    with _exclusive(target):
        return _replace_block(target, name, markdown)


@contextlib.contextmanager
def _exclusive(target: Path):
    # Two benchmarks finishing together would otherwise each rewrite the file
    # from the version they read, and one section would vanish.
    # The lock lives in the git-ignored scratch folder, not beside the docs
    lock_dir = REPO / ".bench-tmp"
    lock_dir.mkdir(exist_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _replace_block(target: Path, name: str, markdown: str) -> Path:
    text = target.read_text(encoding="utf-8") if target.exists() else HEADER
    block = f"<!-- bench:{name} -->\n{markdown.strip()}\n<!-- /bench:{name} -->"
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.DOTALL)
    if pattern.search(text):
        # A function, not a string: backslashes in the markdown must stay as they are
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        # mkstemp makes the file private (0600); a doc should stay readable
        os.chmod(temp, target.stat().st_mode & 0o777 if target.exists() else 0o644)
        os.replace(temp, target)
    except BaseException:
        os.unlink(temp)
        raise
    return target


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            # x86 says "model name"; a Raspberry Pi's kernel says "Model" (the board)
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def filesystem_of(path: str | os.PathLike[str]) -> str:
    """``ext4 on /dev/vda`` for the mount holding ``path`` (from /proc/mounts), or ``unknown``."""
    target = os.path.realpath(path)
    best = ("", "unknown", "")
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return "unknown"
    for line in lines:
        device, mount, fstype, *_ = line.split()
        mount = mount.replace("\\040", " ")
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best[0]):
            best = (mount, fstype, device)
    return "unknown" if best[1] == "unknown" else f"{best[1]} on {best[2]}"


def machine_description(data_dir: str | os.PathLike[str] | None = None) -> str:
    """One line: CPU model, cores, Python, SQLite, kernel, and the filesystem of ``data_dir`` if given."""
    parts = [
        f"{_cpu_model()}, {os.cpu_count()} cores",
        f"Python {platform.python_version()}",
        f"SQLite {sqlite3.sqlite_version}",
        f"{platform.system()} {platform.release()}",
    ]
    if data_dir is not None:
        parts.append(f"data on {filesystem_of(data_dir)}")
    return "; ".join(parts)


def today() -> str:
    """Today's date, ISO 8601 (``2026-11-28``)."""
    return datetime.date.today().isoformat()
