"""Office ingest over HTTP on loopback: 20 gates sending at once, and one gate draining a 60,000-event backlog.

    .venv/bin/python bench/office_ingest_bench.py

The office runs as its own process (`kiosk office serve`, hypercorn through web.serving), like in
the field. Beside it, in the same run, a raw sqlite-utils ``insert_all`` of
the same rows into the same schema shows the storage floor.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

import report

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kiosk.events import EventKind  # noqa: E402
from kiosk.gate.journal import EventDraft, Journal  # noqa: E402
from kiosk.gate.sync import SyncClient  # noqa: E402
from kiosk.keys import init_keys  # noqa: E402
from kiosk.office.store import OfficeStore  # noqa: E402
from kiosk.registry import Registry  # noqa: E402
from tests.office_fixtures import child_pids, free_port  # noqa: E402  (the bench runs with the test extra: requests)

GATES = 20
PER_GATE = 3000
BATCH = 1000
BACKLOG = 60_000
ROUNDS = 3  # the machine is shared and noisy: report the median of three and the spread


def _event(gate: str, seq: int) -> dict:
    return {"seq": seq, "id": uuid.uuid4().hex, "ts": "2026-11-28T01:00:00.000Z", "gate_id": gate,
            "volunteer_id": "1", "kind": "passage", "subject": f"resident:{seq % 500}", "household_id": seq % 200,
            "data": {"verdict": "admit", "direction": "in", "prompt": "welcome", "reasons": ["card_valid", "temperature_normal"],
                     "temperature_c": 36.5, "card": {"kind": "resident", "card_id": seq, "subject_id": seq % 500,
                                                      "valid_from": "2026-01-01", "valid_until": "2026-12-31",
                                                      "kid": "3FA2", "version": 1}}}


def _start_office(folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    init_keys(folder / "keys")
    config = folder / "office.yaml"
    config.write_text(f"office: {{data_dir: {folder / 'data'}, keys_dir: {folder / 'keys'}}}\n"
                      f"server: {{host: 127.0.0.1, port: {port}}}\n", encoding="utf-8")
    OfficeStore(folder / "data" / "office.db").close()
    process = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "office", "serve", "--config", str(config), "--threads", "8"],
                               # a file, not a pipe nobody reads: an office stopping under load logs enough to
                               # fill a pipe, and then blocks in its logging until the bench's wait() gives up
                               stdout=subprocess.DEVNULL, stderr=(folder / "office.log").open("wb"),
                               env={**os.environ, "PYTHONPATH": str(REPO)})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/healthz", timeout=1)
            return process, url
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("office did not start")


def _cpu_s(pid: int) -> float:
    """A process's CPU seconds so far (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu_s(pid: int) -> float:
    total = 0.0
    for child in child_pids(pid):
        try:
            total += _cpu_s(child)
        except OSError:  # ended meanwhile
            continue
    return total


# CPU seconds summed over the timed rounds: the office's serving process, its checking processes, the gates
CPU: dict[str, float] = {"office": 0.0, "checking": 0.0, "gates": 0.0, "wall": 0.0}


def concurrent_ingest(folder: Path, url: str, round_: int = 0, office_pid: int | None = None) -> tuple[float, list[float]]:
    store = OfficeStore(folder / "data" / "office.db")
    tokens = {f"r{round_}-gate-{i:02d}": store.add_gate(f"r{round_}-gate-{i:02d}") for i in range(GATES)}
    bodies = {gate: [json.dumps({"events": [_event(gate, s) for s in range(b, b + BATCH)]}).encode()
                     for b in range(1, PER_GATE + 1, BATCH)] for gate in tokens}
    latencies: list[float] = []
    errors: list[str] = []
    start = threading.Barrier(GATES + 1)

    def gate(name: str) -> None:
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {tokens[name]}", "Content-Type": "application/json"})
        start.wait()
        for body in bodies[name]:
            t = time.perf_counter()
            answer = session.post(url + "/api/v1/sync/events", data=body, timeout=120)
            latencies.append(time.perf_counter() - t)
            if answer.status_code != 200:
                errors.append(f"{name}: {answer.status_code} {answer.text[:200]}")

    threads = [threading.Thread(target=gate, args=(name,)) for name in tokens]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    office_cpu, gates_cpu = (_cpu_s(office_pid) if office_pid else 0.0), _cpu_s(os.getpid())
    checking_cpu = _children_cpu_s(office_pid) if office_pid else 0.0
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    if office_pid:
        CPU["office"] += _cpu_s(office_pid) - office_cpu
        CPU["checking"] += _children_cpu_s(office_pid) - checking_cpu
        CPU["gates"] += _cpu_s(os.getpid()) - gates_cpu
        CPU["wall"] += elapsed
    if errors:
        raise RuntimeError(errors[0])
    held = sum(store.count_events(gate) for gate in tokens)
    assert held == GATES * PER_GATE, held
    return GATES * PER_GATE / elapsed, latencies


class DeskStream:
    """A staff page's live stream (``/api/v1/stream``) open during rounds, read to its end in a thread: the office
    then also reads every new passage back for it (web.office.stream)."""

    def __init__(self, folder: Path, url: str) -> None:
        token = OfficeStore(folder / "data" / "office.db").add_user("bench-desk", "staff")
        self.items = 0
        self.response = requests.get(url + "/api/v1/stream", headers={"Authorization": f"Bearer {token}"},
                                     stream=True, timeout=120)
        self.response.raise_for_status()  # the office subscribed the page before it answered (web.office.stream)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for line in self.response.iter_lines():
                if line.startswith(b"data:"):
                    self.items += 1
        except requests.RequestException:
            return

    def close(self) -> None:
        self.response.close()


def raw_insert_all(folder: Path) -> float:
    store = OfficeStore(folder / "raw" / "office.db")  # same schema and pragmas as the office
    rows = [{**e, "received_at": "x", "data": json.dumps(e["data"])} for e in
            (_event(f"gate-{i:02d}", s) for i in range(GATES) for s in range(1, PER_GATE + 1))]
    began = time.perf_counter()
    db = store._db()
    for i in range(0, len(rows), BATCH):
        with db.atomic():
            db["events"].insert_all(rows[i:i + BATCH], batch_size=BATCH)
    return len(rows) / (time.perf_counter() - began)


def drain_backlog(folder: Path, url: str) -> tuple[float, int]:
    store = OfficeStore(folder / "data" / "office.db")
    token = store.add_gate("drain")
    gate = folder / "gate"
    gate.mkdir()
    journal = Journal(gate / "journal.db", "drain")
    for start in range(0, BACKLOG, 10_000):
        journal.append_many(EventDraft(EventKind.PASSAGE, _event("drain", s)["data"], "1", f"resident:{s % 500}", s % 200)
                            for s in range(start, start + 10_000))
    client = SyncClient(journal, Registry(gate / "registry.db"), office_url=url, token=token, timeout_s=120)
    began = time.perf_counter()
    acknowledged = client.push_once()
    elapsed = time.perf_counter() - began
    client.close()
    journal.close()
    assert acknowledged == BACKLOG and store.count_events("drain") == BACKLOG
    return elapsed, acknowledged


def main() -> None:
    load_before = os.getloadavg()[0]
    folder = Path(tempfile.mkdtemp(prefix="office-bench-", dir=REPO / ".bench-tmp" if (REPO / ".bench-tmp").exists() else None))
    office, url = _start_office(folder)
    try:
        concurrent_ingest(folder, url, -1)  # warm-up: the office's first batches pay for imports and compiled schemas
        rounds = [concurrent_ingest(folder, url, r, office.pid) for r in range(ROUNDS)]
        desk = DeskStream(folder, url)
        try:  # the same rounds with a desk page open, measured apart (its CPU is not in CPU's figures)
            desk_rates = sorted(concurrent_ingest(folder, url, ROUNDS + r)[0] for r in range(ROUNDS))
        finally:
            desk.close()
        rates = sorted(rate for rate, _ in rounds)
        rate = statistics.median(rates)
        latencies = [x for _, lat in rounds for x in lat]
        drain_s, drained = drain_backlog(folder, url)
    finally:
        office.terminate()
        try:
            office.wait(timeout=60)
        except subprocess.TimeoutExpired:
            office.kill()
            raise RuntimeError(f"the office did not stop within 60 s of SIGTERM (see {folder / 'office.log'})") from None
    raw = raw_insert_all(folder)
    latencies.sort()
    desk_rate = statistics.median(desk_rates)
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    table = "\n".join([
        "| measurement | figure |",
        "|---|---:|",
        f"| ingest, {GATES} gates at once, batches of {BATCH}, over HTTP (median of {ROUNDS}; min–max) "
        f"| **{rate:,.0f} events/s** ({rates[0]:,.0f}–{rates[-1]:,.0f}) |",
        f"| batch round trip p50 / p99 under that load | {p50:,.0f} ms / {p99:,.0f} ms |",
        f"| the same with a desk page's live stream open (median of {ROUNDS}; min–max) "
        f"| **{desk_rate:,.0f} events/s** ({desk_rates[0]:,.0f}–{desk_rates[-1]:,.0f}) |",
        f"| raw sqlite-utils `insert_all`, same rows and schema, {BATCH} per transaction | {raw:,.0f} events/s |",
        f"| drain a {BACKLOG:,}-event backlog, one gate (`SyncClient.push_once`) | **{drain_s:.1f} s** ({drained / drain_s:,.0f} events/s) |",
    ])
    share, desk_share = rate / raw, desk_rate / raw
    verdict_ingest = "meets" if share >= 0.5 else "does **not** meet"
    verdict_desk = "meets" if desk_share >= 0.5 else "does **not** meet"
    verdict_drain = "meets" if drain_s <= 10 else "does **not** meet"
    cores = CPU["wall"] * (os.cpu_count() or 1)
    batches = ROUNDS * GATES * PER_GATE / BATCH
    markdown = (
        "## Office ingest\n\n"
        f"Measured {report.today()} on {report.machine_description(folder)}, a shared virtual machine (load average "
        f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; figures vary from run to run with "
        "what else runs: compare the ratio, whose figures come from one run).\n"
        "Rerun: `.venv/bin/python bench/office_ingest_bench.py` (a few minutes). The office is its own process "
        "(`kiosk office serve`, hypercorn through web.serving, 8 app threads; every event's data checked against its kind's schema); gates are threads of the bench process sending prepared JSON.\n\n"
        f"{table}\n\n"
        f"- Ingest over HTTP is **{share:.0%}** of the raw `insert_all` measured in the same run: it {verdict_ingest} "
        f"the ≥ 50 % bar (issue 14); with a desk page's live stream open **{desk_share:.0%}**: it {verdict_desk} it "
        f"({desk.items:,} items reached the page). Draining {verdict_drain} the ≤ 10 s bar.\n"
        f"- CPU during the timed rounds, of the machine's {os.cpu_count()} cores: the office's serving process "
        f"{CPU['office'] / cores:.0%}, its checking process(es) {CPU['checking'] / cores:.0%}, the 20 gate threads "
        f"(this bench process: requests, sockets) {CPU['gates'] / cores:.0%}; the rest idle or other work on the "
        f"machine. The office's CPU per {BATCH}-event batch: {CPU['office'] * 1000 / batches:.0f} ms serving, "
        f"{CPU['checking'] * 1000 / batches:.0f} ms checking.\n"
        "- Each batch is checked in a checking process beside the serving one (web/office/batch_check.py; "
        "`server.check_processes`, one on this 2-core machine), in one pass over the raw body (pydantic-core; a body "
        "it refuses is checked again by the documented `EventBatch` model in the serving process, whose 400 names the "
        "problem), every event's data against its kind's strict schema (a problem is stored as the event's flag), "
        "and turned into positional rows there (kiosk/office/ingest.py); the serving process receives the rows and "
        "stores them with one `executemany` on the store's one ingest connection. "
        "Batches that wait for the write lock are stored together (group commit: one transaction and one fsync "
        "with `synchronous=FULL`, each batch in its own savepoint, at most 5,000 events a group; a gate is answered "
        "after the commit that holds its batch); a re-sent batch is found with one range query, not a look-up per event.\n"
        "- The raw baseline is rows of the envelope and the data's JSON (its derived columns left NULL), so it pays "
        "neither checking nor the derived columns; the office's rows carry them, and the same indexes.\n"
        "- With a desk page open the serving process also reads each new passage back from its row (`json.loads`), "
        "copies it for the live stream and writes it to the page; with none open it skips that. A page that falls "
        "1,000 items behind is dropped (kiosk/broadcast.py) and its browser reconnects: at these rates that happens, "
        "so part of those rounds ran with no page listening.\n"
    )
    report.write_section("office-ingest", markdown)
    print(markdown)


if __name__ == "__main__":
    main()
