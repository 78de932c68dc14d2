"""From a fever journaled at a gate to the alarm on the office desk's page, in a real browser, on loopback.

    .venv/bin/python bench/desk_alarm_bench.py

``kiosk demo --serve`` runs as its own process (the demo office with its
desk, the simulated north gate syncing with it). Debian's chromium, signed in
at the desk's alarm screen (1366×768), watches its list with a
MutationObserver. For each sample a resident stands at the simulated
thermometer with 38.6 °C and shows a card; the gate measures, measures again,
refuses and journals the fever alarm, and pokes its sync. The figure is the
page's clock when the alarm's card appeared minus the alarm event's ``ts``
(the gate's clock when it journaled it; one machine, one clock). Three passes
of SAMPLES fevers; p50 and p99 are the medians of the passes' (spread in
brackets). Bar: p99 ≤ 2 s with the gate online.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import requests

import report

REPO = Path(__file__).resolve().parent.parent
CARDS = ["wang-li", "wang-xiaoshan", "zhang-wei", "visitor-chen"]  # one after another: a card is re-shown, not
SAMPLES = 12                                                           # measured again, within 10 s of its last
PASSES = 3


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_demo(folder: Path) -> tuple[subprocess.Popen, str, str, str, str]:
    """``kiosk demo --serve``; returns the process, the desk's URL, user and password, and the gate's URL."""
    gate_port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "demo", "--dir", str(folder), "--serve",
                                "--gate-port", str(gate_port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"})
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout] and lines.put(None), daemon=True).start()
    while True:
        line = lines.get(timeout=90)
        if line is None:
            raise RuntimeError("the demo exited")
        found = re.match(r"office desk: (\S+)  user: (\S+)  password: (\S+)$", line.strip())
        if found:
            url, user, password = found.groups()
            return process, url.rstrip("/"), user, password, f"http://127.0.0.1:{gate_port}/api/v1/"


def stored_after(office_db: Path, event_ids: list[str]) -> list[float]:
    """The baseline: journaled at the gate → stored at the office (the event's received_at − ts), same alarms."""
    import sqlite3

    with sqlite3.connect(office_db) as db:
        rows = db.execute(f"SELECT ts, received_at FROM events WHERE id IN ({','.join('?' * len(event_ids))})",
                          event_ids).fetchall()
    parse = lambda t: datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()  # noqa: E731
    return [parse(received) - parse(ts) for ts, received in rows]


def one_pass(page, gate: str, ids: list[str]) -> list[float]:
    took = []
    for i in range(SAMPLES):
        card = CARDS[i % len(CARDS)]
        before = {a["id"] for a in requests.get(gate + "alarms", timeout=10).json()}
        requests.post(gate + "direction", json={"direction": "in", "hold": True}, timeout=10)
        requests.post(gate + "simulation", json={"person_c": 38.6}, timeout=10)
        requests.post(gate + "simulation", json={"card": card}, timeout=10)
        deadline = time.monotonic() + 30
        alarm = None
        while alarm is None:
            alarm = next((a for a in requests.get(gate + "alarms", timeout=10).json()
                          if a["id"] not in before and a["kind"] == "fever"), None)
            if time.monotonic() > deadline:
                raise RuntimeError(f"no fever alarm for {card}")
            time.sleep(0.05)
        page.wait_for_selector(f"#alarm-list article[data-event-id='{alarm['id']}']", timeout=10000)
        shown_ms = page.evaluate("(id) => window.appeared[id]", alarm["id"])
        journaled_ms = datetime.fromisoformat(alarm["ts"].replace("Z", "+00:00")).timestamp() * 1000
        took.append((shown_ms - journaled_ms) / 1000)
        ids.append(alarm["id"])
        requests.post(gate + "simulation", json={"person_c": None}, timeout=10)  # the person steps away
        time.sleep(1.5)
    return took


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    from playwright.sync_api import sync_playwright

    p50s, p99s, every, base50s, base99s = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        for n in range(PASSES):
            process, url, user, password, gate = start_demo(Path(tmp) / f"demo{n}")
            try:
                page = browser.new_page(viewport={"width": 1366, "height": 768})
                page.goto(url + "/")
                page.fill("input[name=name]", user)
                page.fill("input[name=password]", password)
                page.click("button[type=submit]")
                page.wait_for_selector("body[data-live='1']")
                page.evaluate("""() => { window.appeared = {};
                    new MutationObserver((changes) => { for (const c of changes) for (const node of c.addedNodes)
                        if (node.dataset && node.dataset.eventId && !(node.dataset.eventId in window.appeared))
                            window.appeared[node.dataset.eventId] = Date.now(); })
                    .observe(document.getElementById('alarm-list'), {childList: true}); }""")
                ids: list[str] = []
                took = one_pass(page, gate, ids)
                page.close()
                stored = stored_after(Path(tmp) / f"demo{n}" / "office" / "office.db", ids)
                base50s.append(_p(stored, 0.5))
                base99s.append(_p(stored, 0.99))
            finally:
                process.send_signal(signal.SIGINT)
                process.wait(timeout=30)
            every += took
            p50s.append(_p(took, 0.5))
            p99s.append(_p(took, 0.99))
            print(f"pass {n + 1}: p50 {p50s[-1] * 1000:.0f} ms  p99 {p99s[-1] * 1000:.0f} ms", flush=True)
        browser.close()
    p50, p99 = statistics.median(p50s), statistics.median(p99s)
    markdown = (
        "## A fever at the gate, on the office desk\n\n"
        f"Measured {report.today()} on {report.machine_description()}.\n\n"
        "`kiosk demo --serve` in its own process; Debian's chromium signed in at the desk's alarm screen (1366×768). "
        f"Each sample: a resident with 38.6 °C shows a card, the gate measures twice, refuses and journals the fever "
        "alarm; the figure is the page's clock when the alarm's card appeared minus the alarm event's `ts` (one "
        f"machine, one clock). {PASSES} passes of {SAMPLES} fevers, medians of the passes (spread in brackets).\n\n"
        "| | journaled → on the desk's page | baseline: journaled → stored at the office |\n|---|---:|---:|\n"
        f"| p50 | {p50 * 1000:.0f} ms ({min(p50s) * 1000:.0f}–{max(p50s) * 1000:.0f}) "
        f"| {statistics.median(base50s) * 1000:.0f} ms ({min(base50s) * 1000:.0f}–{max(base50s) * 1000:.0f}) |\n"
        f"| p99 | {p99 * 1000:.0f} ms ({min(p99s) * 1000:.0f}–{max(p99s) * 1000:.0f}) "
        f"| {statistics.median(base99s) * 1000:.0f} ms ({min(base99s) * 1000:.0f}–{max(base99s) * 1000:.0f}) |\n"
        f"| slowest of all {len(every)} | {max(every) * 1000:.0f} ms | |\n\n"
        f"- Bar: p99 ≤ 2 s with the gate online — **{'meets' if p99 <= 2 else 'misses'}**.\n"
        "- The path: the gate's alarm pokes its sync (no wait for the 5 s round), the office ingests and publishes, "
        "the stream sends an alarm within 0.1 s (passages wait up to 1 s), the page fetches the alarm list once.\n\n"
        "Rerun: `.venv/bin/python bench/desk_alarm_bench.py` (about three minutes).\n"
    )
    print(markdown)
    report.write_section("desk-alarm", markdown)


if __name__ == "__main__":
    main()
