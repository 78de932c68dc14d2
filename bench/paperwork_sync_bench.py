"""A gate's sync round while the desk's export runs as a job: unloaded, then during a long .xlsx export.

    .venv/bin/python bench/paperwork_sync_bench.py [--days 7] [--passes 3] [--format xlsx] [--no-write]

The office runs as its own process (`kiosk office serve`, web.serving on hypercorn) over a copy of
bench/office_desk_bench.py's cached database (2,000,000 events from 50 gates over 30 days; built once under the
temp dir, copied here so the bench's own sync writes never reach the cache). One gate (kiosk.gate.sync's
SyncClient, its own journal) runs sync rounds — a few new events out, registry changes in — as
bench/office_hostile_bench.py does. Each pass: ROUNDS rounds unloaded, then a staff member signs in to the desk
over HTTP and POSTs /paperwork/jobs (with the CSRF token, as the page's script does), so the export runs exactly
as the desk runs it: PaperworkJobs' worker thread in the server, the work in its `nice`d child process; the gate
syncs round after round until the job is done (its state polled once a second, as static/paperwork.js does),
then the file is downloaded once. Figures: p50 / p99 of a round for both, median of the passes with the spread;
bar: p99 during the export within 2× the unloaded p99 of the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import requests

import report

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import office_desk_bench as desk  # noqa: E402
from kiosk.events import EventKind  # noqa: E402
from kiosk.gate.journal import EventDraft, Journal  # noqa: E402
from kiosk.gate.sync import SyncClient  # noqa: E402
from kiosk.keys import init_keys  # noqa: E402
from kiosk.office.store import OfficeStore  # noqa: E402
from kiosk.registry import Registry  # noqa: E402

ROUNDS = 200  # warm-up rounds (as bench/office_hostile_bench.py's pass)
UNLOADED_S = 30.0  # an unloaded pass is this long: a window of the machine's noise like the export's, not 200 rounds
EVENTS_PER_ROUND = 5
LAST = date(2026, 11, 28)  # the cached data's last day (Shanghai)
STAFF, PASSWORD = "bench-staff", "a long enough password"
STALL_S = 0.1  # a round this long is counted as a stall in the report
POLL_S = 1.0  # the page's script polls a job about this often


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cache(events: int) -> Path:
    """bench/office_desk_bench.py's cached folder (built the first time, a few minutes)."""
    folder = Path(tempfile.gettempdir()) / f"office-desk-bench-v{desk.CACHE_VERSION}-{events}"
    if not (folder / "done").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.iterdir():
            if stale.is_file():
                stale.unlink()
        desk.build(folder, events)
        (folder / "done").write_text("ok\n")
    return folder


class Office:
    """``kiosk office serve`` in its own process over a copy of the cached history."""

    def __init__(self, folder: Path, cache: Path):
        data = folder / "data"
        data.mkdir(parents=True)
        for name in ("office.db", "registry.db", "id-hash.key"):  # the databases only: never a stale -wal of the cache
            shutil.copyfile(cache / name, data / name)
        self.port = _free_port()
        init_keys(folder / "keys")
        config = folder / "office.yaml"
        config.write_text(f"office: {{data_dir: {data}, keys_dir: {folder / 'keys'}}}\n"
                          f"server: {{host: 127.0.0.1, port: {self.port}}}\n", encoding="utf-8")
        store = OfficeStore(data / "office.db")
        self.gate_token = store.add_gate("north")
        store.add_user(STAFF, "staff", PASSWORD)
        self.events = store.count_events()
        store.close()
        self.log = open(folder / "server.log", "w", encoding="utf-8")  # noqa: SIM115 - open for the server's life
        self.process = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "office", "serve", "--config", str(config)],
                                        stdout=self.log, stderr=subprocess.STDOUT,
                                        env={**os.environ, "PYTHONPATH": str(REPO)})
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 300  # a migration over 2M rows may run on the first start
        while True:
            try:
                requests.get(self.url + "/healthz", timeout=1)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"office did not start (see {folder / 'server.log'})") from None
                time.sleep(0.2)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


class DeskBrowser:
    """A staff member's browser on the desk: signed in, with the session's CSRF token."""

    def __init__(self, url: str):
        import re

        self.url = url
        self.session = requests.Session()
        self.session.trust_env = False
        page = self.session.get(url + "/signin", timeout=30)
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        if page.status_code != 200 or found is None:
            raise RuntimeError(f"no sign-in form at {url}/signin ({page.status_code})")
        answer = self.session.post(url + "/signin", allow_redirects=False, timeout=30,
                                   data={"name": STAFF, "password": PASSWORD, "csrf_token": found.group(1), "next": ""})
        if answer.status_code != 303:
            raise RuntimeError(f"sign-in refused ({answer.status_code}): {answer.text[:200]}")
        self.csrf = self.session.get(url + "/desk/api/me", timeout=30).json()["csrf_token"]

    def start_export(self, first: date, last: date, fmt: str) -> str:
        """POST /paperwork/jobs as the page's script does; the job's id."""
        answer = self.session.post(self.url + "/paperwork/jobs", timeout=30,
                                   headers={"Accept": "application/json", "X-CSRF-Token": self.csrf,
                                            "X-Requested-With": "fetch"},
                                   data={"kind": "export", "from": first.isoformat(), "to": last.isoformat(),
                                         "format": fmt})
        if answer.status_code != 202:
            raise RuntimeError(f"the export did not start ({answer.status_code}): {answer.text[:300]}")
        return answer.json()["job"]["id"]

    def status(self, job_id: str) -> dict:
        answer = self.session.get(f"{self.url}/paperwork/jobs/{job_id}", timeout=30,
                                  headers={"Accept": "application/json"})
        return answer.json()["job"]

    def download(self, job_id: str) -> int:
        """Fetch the finished file once (it is removed from the office when sent); its size in bytes."""
        size = 0
        with self.session.get(f"{self.url}/paperwork/jobs/{job_id}/file", stream=True, timeout=60) as answer:
            if answer.status_code != 200:
                raise RuntimeError(f"no file ({answer.status_code})")
            for chunk in answer.iter_content(256 * 1024):
                size += len(chunk)
        return size


@dataclass
class Watch:
    """The job as the page sees it, polled from a thread of its own so the gate's rounds never wait for it."""

    browser: DeskBrowser
    job_id: str
    started: float
    state: str = "queued"
    running_at: float | None = None
    ended_at: float | None = None
    rows: int = 0
    error: str = ""
    polls: list[float] = field(default_factory=list)  # how long each status request took (the desk's own wait)

    def run(self) -> None:
        while True:
            began = time.perf_counter()
            job = self.browser.status(self.job_id)
            self.polls.append(time.perf_counter() - began)
            if job["state"] == "running" and self.running_at is None:
                self.running_at = time.perf_counter()
            self.rows = max(self.rows, int(job.get("done") or 0))
            if job["state"] not in ("queued", "running"):
                self.ended_at, self.error = time.perf_counter(), job.get("error") or ""
                self.state = job["state"]  # last: the gate's loop stops on it
                return
            time.sleep(POLL_S)


def _round(client: SyncClient, journal: Journal) -> float:
    journal.append_many(EventDraft(EventKind.PASSAGE, {"verdict": "admit"}) for _ in range(EVENTS_PER_ROUND))
    start = time.perf_counter()
    client.round()
    took = time.perf_counter() - start
    assert journal.backlog() == 0
    return took


def _rounds(client: SyncClient, journal: Journal, seconds: float = 0.0) -> list[float]:
    """ROUNDS rounds, or as many as fit in ``seconds`` (at least ROUNDS)."""
    took, end = [], time.perf_counter() + seconds
    while len(took) < ROUNDS or time.perf_counter() < end:
        took.append(_round(client, journal))
    return took


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class ExportPass:
    """One pass's rounds during an export, and the export's own figures."""

    took: list[float]
    seconds: float  # POST → the job seen done
    running_s: float  # the job seen running → seen done (about the child's life)
    rows: int
    size: int
    poll_p99: float
    at: list[float]  # each round's start, seconds after the POST

    def slow(self, over_s: float) -> list[tuple[float, float]]:
        """(seconds after the POST, round's seconds) of each round over ``over_s``."""
        return [(a, t) for a, t in zip(self.at, self.took, strict=True) if t > over_s]


def _during_export(client: SyncClient, journal: Journal, browser: DeskBrowser, first: date, last: date,
                   fmt: str) -> ExportPass:
    started = time.perf_counter()
    watch = Watch(browser, browser.start_export(first, last, fmt), started)
    thread = threading.Thread(target=watch.run, daemon=True)
    thread.start()
    took, at = [], []
    while watch.state in ("queued", "running"):
        at.append(time.perf_counter() - started)
        took.append(_round(client, journal))
    thread.join()
    if watch.state != "done":
        raise RuntimeError(f"the export ended {watch.state}: {watch.error}")
    assert watch.ended_at is not None
    size = browser.download(watch.job_id)
    return ExportPass(took, watch.ended_at - started, watch.ended_at - (watch.running_at or started), watch.rows, size,
                      _p(watch.polls, 0.99), at)


def _spread(values: list[float], digits: int = 1) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=desk.EVENTS)
    parser.add_argument("--days", type=int, default=7, help="export the last N days of the cached 30 (default 7)")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--unloaded-s", type=float, default=UNLOADED_S, help="length of an unloaded pass (s)")
    parser.add_argument("--format", choices=("xlsx", "zip"), default="xlsx")
    parser.add_argument("--no-write", action="store_true", help="print, do not write docs/benchmarks.md")
    args = parser.parse_args()
    cache = _cache(args.events)
    first = LAST - timedelta(days=args.days - 1)
    load_before = os.getloadavg()
    unloaded: list[list[float]] = []
    during: list[ExportPass] = []
    with tempfile.TemporaryDirectory(prefix="paperwork-sync-bench-") as tmp:
        office = Office(Path(tmp) / "office", cache)
        gate_dir = Path(tmp) / "gate"
        gate_dir.mkdir()
        journal = Journal(gate_dir / "journal.db", "north")
        client = SyncClient(journal, Registry(gate_dir / "registry.db"), office_url=office.url,
                            token=office.gate_token, timeout_s=60)
        try:
            browser = DeskBrowser(office.url)
            _rounds(client, journal)  # warm up: first registry snapshot, connection
            for n in range(args.passes):
                unloaded.append(_rounds(client, journal, args.unloaded_s))
                print(f"pass {n + 1} unloaded: p50 {_p(unloaded[-1], 0.5) * 1000:.1f} ms  "
                      f"p99 {_p(unloaded[-1], 0.99) * 1000:.1f} ms", flush=True)
                during.append(_during_export(client, journal, browser, first, LAST, args.format))
                d = during[-1]
                print(f"pass {n + 1} export:   p50 {_p(d.took, 0.5) * 1000:.1f} ms  p99 {_p(d.took, 0.99) * 1000:.1f} ms"
                      f"  max {max(d.took) * 1000:.1f} ms  ({len(d.took)} rounds; export {d.seconds:.1f} s, "
                      f"{d.rows:,} rows, {d.size / 1e6:.1f} MB)", flush=True)
                slow = d.slow(3 * _p(unloaded[-1], 0.99))
                print(f"  rounds over 3× unloaded p99: {len(slow)}: "
                      + ", ".join(f"{a:.1f}s:{t * 1000:.0f}ms" for a, t in slow[:40]), flush=True)
        finally:
            client.close()
            journal.close()
            office.close()
    load_after = os.getloadavg()
    markdown = _markdown(args, first, office.events, unloaded, during, load_before, load_after, cache)
    print(markdown)
    if not args.no_write:
        report.write_section("paperwork-sync", markdown)


def _markdown(args: argparse.Namespace, first: date, events: int, unloaded: list[list[float]],
              during: list[ExportPass], load_before: tuple[float, float, float],
              load_after: tuple[float, float, float], cache: Path) -> str:
    base50 = [_p(t, 0.5) * 1000 for t in unloaded]
    base99 = [_p(t, 0.99) * 1000 for t in unloaded]
    exp50 = [_p(d.took, 0.5) * 1000 for d in during]
    exp99 = [_p(d.took, 0.99) * 1000 for d in during]
    exp_max = [max(d.took) * 1000 for d in during]
    base_max = [max(t) * 1000 for t in unloaded]
    ratio = statistics.median(exp99) / statistics.median(base99)
    per_pass = [e / b for e, b in zip(exp99, base99, strict=True)]
    seconds = [d.seconds for d in during]
    rows = [
        f"| unloaded | {statistics.median(len(t) for t in unloaded):.0f} | {_spread(base50)} | {_spread(base99)} | {_spread(base_max)} | — | — |",
        f"| during the export | {statistics.median(len(d.took) for d in during):.0f} | {_spread(exp50)} | "
        f"{_spread(exp99)} | {_spread(exp_max)} | {ratio:.2f}× ({min(per_pass):.2f}–{max(per_pass):.2f}×) | "
        f"{'✓' if ratio <= 2 else '✗'} |",
    ]
    return (
        f"## The gates' sync during a desk export ({args.days} days, .{args.format})\n\n"
        f"Measured {report.today()} on {report.machine_description(cache)}; load average "
        f"{load_before[0]:.1f} before the run, {load_after[0]:.1f} after (1-minute) — the machine is shared with "
        "other sessions' test suites, so absolute times move from run to run; compare within the table (every pass "
        "ran its unloaded rounds, then its export rounds, one after the other).\n\n"
        f"`kiosk office serve` in its own process over a copy of bench/office_desk_bench.py's cached database "
        f"({events:,} events from {desk.GATES} gates over {desk.DAYS} days). One gate (Journal + SyncClient) runs "
        f"sync rounds of {EVENTS_PER_ROUND} new events over loopback, back to back: for "
        f"{args.unloaded_s:.0f} s unloaded, then for as long as an export of {first}..{LAST} ({args.days} days, .{args.format}) runs. The export starts the "
        "way the desk starts it: a staff member signed in over HTTP POSTs /paperwork/jobs with the CSRF token, so it "
        "runs in the server's PaperworkJobs (one worker thread, the work in a `nice`d child process); its state is "
        f"polled every {POLL_S:.0f} s from another thread (as the page's script does) and the file is downloaded "
        f"once at the end. Median of {args.passes} passes (spread in brackets), in ms. Bar: p99 during the export "
        "within 2× the unloaded p99.\n\n"
        "| gate's sync round | rounds per pass | p50 | p99 | max | p99 / unloaded (per pass) | bar |\n"
        "|---|---:|---:|---:|---:|---:|---|\n" + "\n".join(rows) + "\n\n"
        f"The export: {_spread(seconds)} s from the POST to the job seen done, "
        f"{statistics.median(d.rows for d in during):,.0f} rows, {statistics.median(d.size for d in during) / 1e6:.0f} "
        f"MB downloaded; the desk's status poll p99 {statistics.median(d.poll_p99 for d in during) * 1000:.0f} ms. "
        f"Rounds over {STALL_S * 1000:.0f} ms, pass by pass: unloaded "
        f"{', '.join(f'{sum(1 for t in took if t > STALL_S)} of {len(took)}' for took in unloaded)}; during the export "
        f"{', '.join(f'{len(d.slow(STALL_S))} of {len(d.took)}' for d in during)}.\n\n"
        "What competes with a round: the child is `nice`d (CPU) but not `ionice`d; it reads office.db and writes "
        "its file (XlsxWriter's temp files, then the .xlsx) under the data folder, on the same disk as office.db, "
        "whose every sync batch is committed with synchronous=FULL (an fsync of the WAL). The gate, the server and "
        "the child share the machine's cores with each other (and here with other sessions' work).\n\n"
        "Rerun: `.venv/bin/python bench/paperwork_sync_bench.py [--days N] [--passes 3] [--format xlsx|zip]` "
        "(copies the 1.7 GB cached database into a temp folder first).\n"
    )


if __name__ == "__main__":
    main()
