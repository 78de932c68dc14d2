"""Browser tests: Debian's chromium driven by Playwright (no browser download) against a real simulated gate.

Each test gets its own ``kiosk demo --serve`` process: the demo office and a
``kiosk run --simulate`` gate synced with it, the demo community in its
registry, the card images on the page's simulation panel.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.office_fixtures import free_port

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As root in CI, with no network: no sandbox, and nothing in the background that would reach out.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update", "--disable-quic",
                 "--disable-default-apps", "--disable-extensions"]
SCREENSHOTS = REPO / "docs" / "screenshots"
PANEL = {"width": 800, "height": 480}


class DemoGate:
    """A running ``kiosk demo --serve``: the gate's URL and the demo folder."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "demo", "--dir", str(directory), "--serve", "--gate-port", str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=REPO)
        self.output: list[str] = []
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, args=(lines,), daemon=True).start()
        while True:
            try:
                line = lines.get(timeout=60)
            except queue.Empty:
                self.stop()
                raise RuntimeError("the demo gate did not start within 60 s:\n" + "".join(self.output)) from None
            if line is None:
                raise RuntimeError("the demo gate exited:\n" + "".join(self.output))
            if "touchscreen:" in line:
                break
        self.url = f"http://127.0.0.1:{self.port}/"

    def _pump(self, lines: queue.Queue) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            lines.put(line)
        lines.put(None)

    def stop(self) -> None:
        """SIGTERM, as systemd stops it; the process must close its journal and exit by itself."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError("the gate did not stop within 20 s of SIGTERM") from None


@pytest.fixture
def demo_gate(tmp_path):
    """A fresh demo office and simulated gate for one test."""
    gate = DemoGate(tmp_path / "demo")
    yield gate
    gate.stop()
    assert "gate stopped; journal closed" in "".join(gate.output)


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
def page(browser, demo_gate):
    """The kiosk page at the 7-inch panel's 800×480, connected to the gate's event stream, with nobody on duty.

    The demo's history leaves today's volunteer signed in (the office desk shows who is on duty); the tests
    start from a gate where the volunteer has not signed in yet, as at the start of a shift."""
    import requests

    assert requests.delete(demo_gate.url + "api/v1/shift", timeout=10).status_code == 200
    context = browser.new_context(viewport=PANEL, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(demo_gate.url)
    page.wait_for_selector("body[data-live='1']")
    yield page
    context.close()


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
