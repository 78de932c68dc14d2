"""Browser tests of the office desk: Debian's chromium (Playwright) against a real ``kiosk demo --serve``.

The demo runs as its own process: the demo office (with its desk, two gates'
history, open alarms) and the simulated north gate, which keeps syncing; the
south gate syncs in the background. Here the office's gate-offline alarm comes
after 3 s of silence and the north gate's unstaffed alarm after 3 s without a
volunteer, so both can be seen within a test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.demo_process import DemoProcess
from tests.office_fixtures import free_port

REPO = Path(__file__).resolve().parents[2]
DESK = {"width": 1366, "height": 768}
WIDE = {"width": 1920, "height": 1080}
PHONE = {"width": 390, "height": 844}
OFFLINE_AFTER_S = 15  # more than the demo gates' 10 s between heartbeats: a quiet gate is not an offline one
UNSTAFFED_AFTER_S = 3


class DemoOffice(DemoProcess):
    """A running ``kiosk demo --serve``: the desk's URL and sign-in, the gate's URL, the demo folder."""

    def __init__(self, directory: Path):
        self.gate_port = free_port()
        super().__init__(directory, ["--port", str(free_port()), "--gate-port", str(self.gate_port),
                                     "--offline-after", str(OFFLINE_AFTER_S), "--unstaffed-after", str(UNSTAFFED_AFTER_S)],
                         r"office desk: (\S+)  user: (\S+)  password: (\S+)$")
        url, self.user, self.password = self.ready.groups()
        self.url = url.rstrip("/")
        self.gate_url = f"http://127.0.0.1:{self.gate_port}/"

    @property
    def office_dir(self) -> Path:
        return self.directory / "office"


@pytest.fixture
def demo_office(tmp_path):
    """A fresh demo office, its gates and its desk for one test."""
    office = DemoOffice(tmp_path / "demo")
    yield office
    office.stop()


def sign_in(page, office: DemoOffice, user: str | None = None, password: str | None = None) -> None:
    """Sign in at the desk as a person would: the form, then the alarms screen, live."""
    page.goto(office.url + "/")
    page.fill("input[name=name]", user or office.user)
    page.fill("input[name=password]", password or office.password)
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-live='1']")


@pytest.fixture
def desk(browser, demo_office):
    """The desk at an office PC's 1366×768, signed in as the demo's staff account."""
    context = browser.new_context(viewport=DESK, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, demo_office)
    yield page
    context.close()
    assert errors == [], errors  # a script error on a desk page is a defect even when the test's checks passed
