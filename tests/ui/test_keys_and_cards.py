"""Issue 9 at the touchscreen: keys and cards that stay valid — in chromium at 800×480.

The office's side is done with the documented commands (docs/office.md, "Keys and cards that stay valid"), run as
a person types them in the demo office's folder; the gate learns of it only by its own registry sync with the
running demo office. The new card's image goes to the simulated camera, and the page shows the gate's decision.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.ui.conftest import REPO
from tests.ui.helpers import (
    GREEN,
    api,
    decisions_sent,
    record_screens,
    screens_shown,
    show_card_image,
    shown_celsius,
    simulate,
)

SYNC_INTERVAL_S = 5  # kiosk/demo.py gate_config: sync.interval_s
# One or two sync intervals, and room for a slow machine's round (HTTP, SQLite).
SYNC_WAIT_S = 2 * SYNC_INTERVAL_S + 5
DOCS = (REPO / "docs" / "office.md").read_text(encoding="utf-8")
KEY_REFUSALS = {"card_foreign", "card_rejected", "card_not_in_registry"}  # prompts of a card the gate does not trust


class DemoOffice:
    """The demo's office as its staff would use it: an office.yaml naming the demo's office data and keys
    (``kiosk demo`` writes none), and the ``kiosk`` commands of docs/office.md run in its folder."""

    def __init__(self, folder: Path, demo_gate):
        self.folder = folder
        folder.mkdir(exist_ok=True)
        (folder / "office.yaml").write_text(
            "office:\n"
            f"  data_dir: {demo_gate.directory / 'office'}\n"  # office.db, registry.db: what the demo office serves
            f"  keys_dir: {demo_gate.directory / 'keys'}\n"
            "  timezone: Asia/Shanghai\n", encoding="utf-8")

    def kiosk_json(self, line: str, *, documented: str) -> dict:
        """One documented command line (``kiosk …``) with ``--json``; fails unless docs/office.md says it."""
        assert documented in DOCS, f"docs/office.md does not say: {documented}"
        args = shlex.split(line)
        assert args[0] == "kiosk"
        result = subprocess.run([sys.executable, "-m", "kiosk.cli", *args[1:], "--json"], cwd=self.folder,
                                capture_output=True, text=True, timeout=60,
                                env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8"})
        assert result.returncode == 0, f"{line}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
        return json.loads(result.stdout)


@pytest.fixture
def office(tmp_path, demo_gate):
    return DemoOffice(tmp_path / "office", demo_gate)


def synced_to(demo_gate, version: int) -> float:
    """Wait until the running gate's replica holds registry ``version``; returns how long it took."""
    start = time.monotonic()
    while (at := api(demo_gate, "status")["registry_version"]) < version:
        assert time.monotonic() - start < SYNC_WAIT_S, (
            f"the gate did not reach registry version {version} within {SYNC_WAIT_S} s (at {at}):\n"
            + "".join(demo_gate.output[-40:]))
        time.sleep(0.1)
    return time.monotonic() - start


def choose_in(page) -> None:
    """The volunteer taps 进 on the home screen (a card with no admitted history makes the gate ask otherwise)."""
    page.wait_for_selector("body[data-screen='home']")
    if page.locator("#dir-in").get_attribute("aria-pressed") != "true":
        page.click("#dir-in")
    page.wait_for_selector("#dir-in[aria-pressed='true']")


def stand_at_thermometer(page, celsius: str = "36.5") -> None:
    """The person steps up to the thermometer (the simulation panel), before any card is shown.

    The simulated sensor's step change reads as an implausible jump for a moment, and the page can show
    测温仪故障 for up to a status tick after it: wait until the panel's request is answered and the top bar is
    clear again, as a volunteer would, so the screens below are about the card alone."""
    with page.expect_response(lambda r: r.url.endswith("/api/v1/simulation") and r.request.method == "POST"):
        simulate(page, person=celsius)
    page.wait_for_selector("#fault-banner", state="hidden", timeout=10000)


def assert_never_untrusted(page) -> None:
    """Nothing on the page or in the stream said the card is foreign, forged or unknown."""
    decisions = decisions_sent(page)
    assert not [d for d in decisions if d["prompt"] in KEY_REFUSALS], decisions
    titles = {s["title"] for s in screens_shown(page)}
    assert not {"非本社区出入证", "出入证损坏或伪造", "名册中没有此出入证"} & titles, titles


def test_a_key_rotated_at_the_office_reaches_the_running_gate(page, demo_gate, office, shoot):
    record_screens(page)
    old_kid = json.loads((demo_gate.directory / "keys" / "keyset.json").read_text(encoding="utf-8"))["keys"][0]["kid"]

    rotated = office.kiosk_json("kiosk keys rotate", documented="kiosk keys rotate")
    assert rotated["kid"] != old_kid and set(rotated["kids"]) == {old_kid, rotated["kid"]}, rotated
    issued = office.kiosk_json("kiosk office cards issue --resident 1-1-101:王小山",
                               documented="kiosk office cards issue --resident")
    assert issued["card"]["kid"] == rotated["kid"], issued  # signed by the new key
    image = Path(issued["image"])
    assert image.is_file() and image.name == f"1-1-101_王小山_card-{issued['card']['card_id']}.png", issued
    assert issued["version"] > rotated["version"]

    # The gate learns the new key (and the new card) by its own sync: within one or two intervals.
    synced_to(demo_gate, issued["version"])

    choose_in(page)
    stand_at_thermometer(page)
    show_card_image(demo_gate, image)  # the printed card, held up to the camera
    page.wait_for_selector("body[data-screen='result'] #result.admit")
    assert page.inner_text("#result-title") == "欢迎回家"
    assert "王*山" in page.inner_text("#result-name")
    assert page.inner_text("#result-direction") == "进"
    assert abs(shown_celsius(page) - 36.5) <= 0.2, page.inner_text("#result-temperature")
    background = page.evaluate("getComputedStyle(document.querySelector('#result')).backgroundColor")
    assert background == GREEN
    shoot(page, "result-card-new-key")

    decision = decisions_sent(page)[-1]
    assert decision["verdict"] == "admit" and decision["prompt"] == "welcome", decision
    assert "card_valid" in decision["reasons"] and decision["subject"] == "resident:1", decision
    assert_never_untrusted(page)


def test_a_replacement_card_refuses_the_old_one_as_replaced(page, demo_gate, office, shoot):
    record_screens(page)
    # 王丽 holds the demo's card 1002 (cards/wang-li.png, on the simulation panel); the office gives her a new one.
    issued = office.kiosk_json("kiosk office cards issue --resident 1-1-101:王丽",
                               documented="kiosk office cards issue --resident 5-1-302:张三    # a replacement")
    assert issued["revoked"] == [1002], issued
    new_card = Path(issued["image"])
    assert new_card.is_file()
    synced_to(demo_gate, issued["version"])

    # The old card: refused, in the words for a replaced card — never 已挂失 (that is only for a reported loss).
    choose_in(page)
    stand_at_thermometer(page)
    simulate(page, card="wang-li")
    page.wait_for_selector("body[data-screen='result'] #result.deny")
    title, todo = page.inner_text("#result-title"), page.inner_text("#result-todo")
    assert title == "旧出入证：已补发新证", (title, todo)
    assert "请使用新证" in todo, todo
    assert "挂失" not in title + todo, (title, todo)
    assert page.inner_text("#result-name") == "王*"
    shoot(page, "result-card-replaced")
    refused = decisions_sent(page)[-1]
    assert refused["verdict"] == "deny" and refused["prompt"] == "card_replaced", refused
    assert refused["subject"] == "resident:2", refused

    # The new card, a moment later: admitted (another card, so not the refused passage said again).
    page.click("#result-ok")
    choose_in(page)
    show_card_image(demo_gate, new_card)
    page.wait_for_selector("body[data-screen='result'] #result.admit")
    assert page.inner_text("#result-title") == "欢迎回家"
    assert page.inner_text("#result-direction") == "进"
    background = page.evaluate("getComputedStyle(document.querySelector('#result')).backgroundColor")
    assert background == GREEN
    shoot(page, "result-card-replacement-admitted")
    admitted = decisions_sent(page)[-1]
    assert admitted["verdict"] == "admit" and admitted["subject"] == "resident:2", admitted
    assert "card_valid" in admitted["reasons"], admitted
    decided = [d["prompt"] for d in decisions_sent(page) if d["verdict"] not in ("remeasure", "ask") and not d.get("repeat")]
    assert decided == ["card_replaced", "welcome"], decisions_sent(page)
    assert_never_untrusted(page)
