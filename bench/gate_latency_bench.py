"""Scan to screen: from a camera frame holding a card to the decision in the touchscreen page's DOM.

    .venv/bin/python bench/gate_latency_bench.py

The demo office and a simulated gate (``GateProcess``, as ``make demo`` runs
it) serve the page; headless chromium (Playwright) shows it at 800×480. The
replay camera's ``read`` is wrapped to stamp the moment a card frame leaves the
camera; a MutationObserver in the page stamps the moment the decision is in the
DOM. Both stamps are wall-clock milliseconds on the same machine.

Baselines in the same run: the raw zxing-cpp call on the same frame, and the
same decision asked for over the local API (``POST /api/v1/scans``) with no
camera, decoder or page.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

import report

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kiosk import demo as demo_lib  # noqa: E402
from kiosk.gate.process import GateProcess  # noqa: E402
from sensors.cameras import load_gray  # noqa: E402

SCANS = 150  # per path
CARD = "wang-xiaoshan"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync", "--disable-background-networking",
                 "--disable-component-update", "--disable-quic"]
OBSERVER = """() => {
  window.__stamps = [];
  const note = () => window.__stamps.push([Date.now(), document.body.dataset.screen,
                                          document.querySelector('#result-verdict').textContent]);
  new MutationObserver(note).observe(document.body, {attributes: true, subtree: true, childList: true, characterData: true});
}"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ms / {percentile(values, 99):.1f} ms"


def start_gate(directory: Path):
    community = demo_lib.seed(directory, datetime.now(ZoneInfo(demo_lib.TIMEZONE)))
    office, office_url = demo_lib.start_office(community)
    config = demo_lib.gate_config(community, office_url, port=0)
    # The same card again within a second is a new passage here (the scanner would otherwise drop repeats, and the
    # gate would take it as the same person's passage continuing); model_copy skips the config's own lower bounds.
    config = config.model_copy(update={"decoder": config.decoder.model_copy(update={"repeat_after_s": 0.5}),
                                       "gate": config.gate.model_copy(update={"same_card_window_s": 0.3})})
    process = GateProcess(config, simulate=True, cards_dir=community.cards_dir)
    return community, office, process


def main() -> None:
    from playwright.sync_api import sync_playwright

    scratch = Path(tempfile.mkdtemp(prefix="gate-latency-", dir=REPO / ".bench-tmp"))
    community, office, process = start_gate(scratch / "demo")
    left_camera: list[float] = []
    camera = process.camera
    original_read = camera.read

    def stamped_read():
        frame = original_read()
        if frame is not None:
            left_camera.append(time.time() * 1000)
        return frame

    camera.read = stamped_read
    process.start()
    import threading

    threading.Thread(target=process.serve, daemon=True).start()
    deadline = time.monotonic() + 30
    while process.registry.version < 1:  # the replica arrives from the office
        if time.monotonic() > deadline:
            raise SystemExit("the gate never synced its registry from the demo office")
        time.sleep(0.1)

    results: dict[str, list[float]] = {"out": [], "measuring": [], "in": []}
    hardware = process.simulation
    hardware.stand(36.5)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 800, "height": 480})
        page.goto(process.url)
        page.wait_for_selector("body[data-live='1']")
        page.evaluate(OBSERVER)
        for i in range(SCANS * 2):
            # The volunteer's 进 / 出 (held by the gate, as a tap on the page would set it), alternating.
            process.gate.choose_direction("in" if i % 2 == 0 else "out")
            page.evaluate("window.__stamps = []")
            left_camera.clear()
            page.evaluate("show('home')")
            page.evaluate("window.__stamps = []")
            hardware.show_card(CARD, frames=1)
            page.wait_for_function("window.__stamps.some(s => s[1] === 'result')", timeout=10000)
            stamps = page.evaluate("window.__stamps")
            t0 = left_camera[0]
            done = next(s[0] for s in stamps if s[1] == "result")
            direction = process.gate.status()["last_decision"]["direction"]
            if direction == "out":
                results["out"].append(done - t0)
            else:
                results["in"].append(done - t0)
                results["measuring"].append(next(s[0] for s in stamps if s[1] == "measuring") - t0)
            time.sleep(0.55)  # past the scanner's repeat window
        browser.close()

    # Baselines: the raw decoder call on the same frame, and the API's decision round trip for the same text.
    import zxingcpp

    frame = load_gray(community.cards_dir / f"{CARD}.png")
    from sensors.cameras import fit_frame

    frame = fit_frame(frame, (640, 480))
    decode = []
    for _ in range(200):
        t = time.perf_counter()
        zxingcpp.read_barcodes(frame)
        decode.append((time.perf_counter() - t) * 1000)
    hardware.stand(36.5)
    api_out = []
    for _ in range(SCANS):
        time.sleep(0.35)  # past the same-card window
        t = time.perf_counter()
        answer = requests.post(process.url + "api/v1/scans", json={"text": community.cards[CARD], "direction": "out"},
                               timeout=10).json()
        elapsed = (time.perf_counter() - t) * 1000
        if answer["direction"] == "out":
            api_out.append(elapsed)
    process.close()
    office.close()

    out = results["out"]
    bar = "meets" if percentile(out, 99) <= 50 else "misses"
    markdown = "\n".join([
        "## Scan to screen",
        "",
        f"Measured {report.today()} on {report.machine_description(scratch)}.",
        "Rerun: `.venv/bin/python bench/gate_latency_bench.py` (about 3 minutes). Demo office + simulated gate "
        "(`GateProcess`, as `make demo`) in the bench process; headless Debian chromium at 800×480 on the page; "
        f"{SCANS} passages each way with the same card (the volunteer's 进 / 出 alternates).",
        "",
        "| from a card frame leaving the camera to … | p50 / p99 |",
        "|---|---:|",
        f"| the decision in the page's DOM, going out (no temperature needed) | **{summary(out)}** |",
        f"| the \"measuring\" screen in the DOM, coming in | {summary(results['measuring'])} |",
        f"| the decision in the DOM, coming in (includes the thermometer's {process.config.thermometer.window_s:.1f} s read window) | {summary(results['in'])} |",
        f"| baseline: raw `zxingcpp.read_barcodes` on the same 640×480 frame | {summary(decode)} |",
        f"| baseline: `POST /api/v1/scans` round trip for the same text, going out (no camera, decoder or page) | {summary(api_out)} |",
        "",
        f"- Bar: p99 ≤ 50 ms from frame to decision on screen — **{bar}** for the path with no temperature. "
        "Coming in, the screen changes to \"measuring\" as fast, and the decision follows the thermometer's read "
        "window (physical time the sensor needs, not processing).",
        "- The decision is journaled (one fsync) before it is published, so the figure includes the disk's fsync.",
        "- One run on a shared virtual machine; figures move between runs.",
    ])
    report.write_section("scan-to-screen", markdown)
    print(markdown)


if __name__ == "__main__":
    main()
