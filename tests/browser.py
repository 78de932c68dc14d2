"""The browser the UI tests drive: Debian's chromium through Playwright (no browser download), one per session for
the gate's page (tests/ui) and the office desk (tests/ui_office) alike (registered in tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As root in CI, with no network: no sandbox, and nothing in the background that would reach out.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update", "--disable-quic",
                 "--disable-default-apps", "--disable-extensions"]

@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the session."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run `make test`, which installs it (apt package chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shoot(tmp_path):
    """Save a screenshot; with KIOSK_SCREENSHOTS=1 into docs/screenshots (the README shows them)."""

    def save(page, name: str) -> Path:
        folder = SCREENSHOTS if os.environ.get("KIOSK_SCREENSHOTS") == "1" else tmp_path / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return save
