"""Shared fixtures: temporary data folders and the repository's example files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import browser, shoot  # noqa: F401  (one chromium per session for every browser test)
from tests.gate_fixtures import rig, rig_factory  # noqa: F401  (shared fixtures: a gate over a small community)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def prepared_demo(tmp_path_factory):
    """The session's finished demo folder that each browser test's ``kiosk demo --serve`` copies (made lazily, on
    the first demo: a session without browser tests never makes it)."""
    from tests.demo_process import use_prepared

    return use_prepared(tmp_path_factory.mktemp("prepared-demo"))


@pytest.fixture
def repo() -> Path:
    """The repository root (for the example config files)."""
    return REPO


@pytest.fixture
def write_yaml(tmp_path):
    """Write YAML text to a file named like the real one and return its path."""

    def write(text: str, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
