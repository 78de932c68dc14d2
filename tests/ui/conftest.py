"""Browser tests: Debian's chromium driven by Playwright (no browser download) against a real simulated gate.

Each test gets its own ``kiosk demo --serve`` process: the demo office and a
``kiosk run --simulate`` gate synced with it, the demo community in its
registry, the card images on the page's simulation panel.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.demo_process import DemoProcess
from tests.office_fixtures import free_port

REPO = Path(__file__).resolve().parents[2]
PANEL = {"width": 800, "height": 480}


class DemoGate(DemoProcess):
    """A running ``kiosk demo --serve``: the gate's URL and the demo folder."""

    def __init__(self, directory: Path):
        self.port = free_port()
        super().__init__(directory, ["--gate-port", str(self.port)], "touchscreen:", timeout_s=60)
        self.url = f"http://127.0.0.1:{self.port}/"

    def stop(self) -> bool:
        """SIGTERM, as systemd stops it; the process must close its journal and exit by itself."""
        if not super().stop():
            raise AssertionError("the gate did not stop within 20 s of SIGTERM; its last output (with every "
                                 "thread's stack):\n" + "".join(self.output[-120:]))
        return True


@pytest.fixture
def demo_gate(tmp_path):
    """A fresh demo office and simulated gate for one test."""
    gate = DemoGate(tmp_path / "demo")
    yield gate
    gate.stop()
    assert "gate stopped; journal closed" in "".join(gate.output)


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
