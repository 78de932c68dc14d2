"""The office's export of a 30-day range at 2,000,000 events: wall time and peak memory, median of 3, with a baseline.

    .venv/bin/python bench/office_export_bench.py [--events N] [--runs 3] [--no-write]

Reuses bench/office_desk_bench.py's cached database (50 gates, 30 days; built once under the temp dir). Each
case runs in a fresh Python process, so its peak RSS (ru_maxrss) is its own: the baseline is a raw SELECT of
the same rows (every passage, visitor, vehicle and fever of the range, read and dropped); then the export to
.xlsx (openpyxl write-only, every sheet) and to .zip (a CSV per ledger).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import report

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import office_desk_bench as desk  # noqa: E402

FIRST, LAST = date(2026, 10, 29), date(2026, 11, 28)  # the cached data's 30 days (Shanghai), and a day either side
CASES = ("baseline", "openpyxl", "xlsx", "zip")


def _openpyxl_writer(target, sheet_list, ticker, *, title_row=None) -> None:
    """The export's earlier .xlsx writer (openpyxl write-only, text-safe cells), measured beside XlsxWriter's."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    from kiosk.office.exports import SHEET_ROWS, UNSAFE

    book = Workbook(write_only=True)

    def cell(ws, value):
        if isinstance(value, datetime):
            c = WriteOnlyCell(ws, value=value)
            c.number_format = "yyyy-mm-dd hh:mm:ss"
            return c
        if isinstance(value, str) and value.startswith(UNSAFE):
            c = WriteOnlyCell(ws, value=value)
            c.data_type, c.quotePrefix = "s", True
            return c
        return value

    for sheet in sheet_list:
        part, count = 1, 0
        ws = book.create_sheet(sheet.title)
        ws.append(list(sheet.headers))
        for row in sheet.rows():
            if count >= SHEET_ROWS:
                part, count = part + 1, 0
                ws = book.create_sheet(f"{sheet.title} {part}")
                ws.append(list(sheet.headers))
            ws.append([cell(ws, v) for v in row])
            count += 1
            ticker.tick()
    book.save(target)


def _folder(events: int) -> Path:
    folder = Path(tempfile.gettempdir()) / f"office-desk-bench-v{desk.CACHE_VERSION}-{events}"
    if not (folder / "done").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.iterdir():
            stale.unlink()
        desk.build(folder, events)
        (folder / "done").write_text("ok\n")
    return folder


def one(case: str, folder: Path, out_dir: Path, first: date = FIRST) -> dict:
    """Run one case in this process: ``{"seconds", "rss_mb", "rows", "bytes"}``."""
    from kiosk.office import exports
    from kiosk.office.queries import exports as q
    from kiosk.office.queries.common import day_bounds
    from kiosk.office.registry_master import RegistryMaster
    from kiosk.office.store import OfficeStore

    store = OfficeStore(folder / "office.db")
    master = RegistryMaster(folder / "registry.db")
    began = time.perf_counter()
    rows, size = 0, 0
    if case == "baseline":
        lo, _ = day_bounds(first, desk.TZ)
        _, hi = day_bounds(LAST, desk.TZ)
        for _row in q.events(store, ("passage", "visitor_registration", "vehicle"), lo, hi,
                             "subject, household_id, volunteer_id, direction, verdict, temperature_c, card_id, data"):
            rows += 1
        rows += sum(1 for _ in store.database().execute(
            "SELECT * FROM alarms WHERE kind = 'fever' AND raised_at >= ? AND raised_at < ?", [lo, hi]))
    else:
        seen = [0]
        if case == "openpyxl":
            exports.write_xlsx = _openpyxl_writer  # type: ignore[assignment]
        out = out_dir / f"export.{'xlsx' if case == 'openpyxl' else case}"
        written = exports.export(store, master, first, LAST, out, tz=desk.TZ,
                                 progress=lambda done, total: seen.__setitem__(0, done))
        rows = seen[0]
        size = sum(p.stat().st_size for p in written)
        for p in written:
            p.unlink()
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rows": rows,
            "bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=desk.EVENTS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print, do not write docs/benchmarks.md")
    parser.add_argument("--days", type=int, default=(LAST - FIRST).days + 1,
                        help="export the last N days of the range (a shorter run for the repetitions)")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated cases, of " + ", ".join(CASES))
    parser.add_argument("--one", choices=CASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = _folder(args.events)
    first = LAST - timedelta(days=args.days - 1)
    if args.one:
        with tempfile.TemporaryDirectory(dir=folder) as out_dir:
            print(json.dumps(one(args.one, folder, Path(out_dir), first)))
        return
    cases = [c for c in CASES if c in args.cases.split(",")]
    figures: dict[str, list[dict]] = {case: [] for case in cases}
    for _run in range(args.runs):
        for case in cases:
            done = subprocess.run([sys.executable, __file__, "--events", str(args.events), "--days", str(args.days),
                                   "--one", case],
                                  check=True, capture_output=True, text=True)
            figures[case].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(case, figures[case][-1], flush=True)
    from kiosk.office.store import OfficeStore

    held = OfficeStore(folder / "office.db").count_events()
    lines = ["| case | rows written | file | time (median) | spread (min–max) | peak RSS (median) |",
             "|---|---:|---:|---:|---:|---:|"]
    titles = {"baseline": "raw SELECT of the same rows (read, dropped)",
              "openpyxl": "export → .xlsx, the earlier writer (openpyxl write-only)",
              "xlsx": "export → .xlsx (every sheet; XlsxWriter constant_memory)",
              "zip": "export → .zip (a CSV per ledger)"}
    for case in cases:
        runs = figures[case]
        size = statistics.median(r["bytes"] for r in runs)
        lines.append(f"| {titles[case]} | {statistics.median(r['rows'] for r in runs):,.0f} | "
                     f"{size / 1e6:,.0f} MB | {statistics.median(r['seconds'] for r in runs):.1f} s | "
                     f"{min(r['seconds'] for r in runs):.1f}–{max(r['seconds'] for r in runs):.1f} s | "
                     f"{statistics.median(r['rss_mb'] for r in runs):.0f} MB |" if size else
                     f"| {titles[case]} | {statistics.median(r['rows'] for r in runs):,.0f} | — | "
                     f"{statistics.median(r['seconds'] for r in runs):.1f} s | "
                     f"{min(r['seconds'] for r in runs):.1f}–{max(r['seconds'] for r in runs):.1f} s | "
                     f"{statistics.median(r['rss_mb'] for r in runs):.0f} MB |")
    markdown = (
        f"## Office export ({args.days} days of 2,000,000 events)\n\n"
        f"Measured {report.today()} on {report.machine_description(folder)}.\n"
        f"Rerun: `.venv/bin/python bench/office_export_bench.py` (bench/office_desk_bench.py's cached database: "
        f"{held:,} events from {desk.GATES} gates over {desk.DAYS} days). `export({first}..{LAST})` ({args.days} days), median of "
        f"{args.runs} runs, each case in a fresh process (peak RSS is that process's ru_maxrss).\n\n"
        + "\n".join(lines) + "\n\n"
        "- Rows stream from one ordered scan of `events_kind_ts` per kind (no sort), so memory stays flat: the "
        "peak is the process with its caches, not the rows. Passages past Excel's 1,048,575 rows per sheet go on "
        "in `出入记录 2`.\n"
        "- The .xlsx writer is XlsxWriter in constant-memory mode (pure Python, rows go straight to a temp file); "
        "openpyxl's write-only mode, the earlier writer, spent ~80% of its time in its XML serialiser (cProfile). "
        "The CSV export shows the cost of the rows themselves. Each row of the table is the same run, case after "
        "case, so the machine's load is shared alike.\n"
        "- Event pages are read 2,000 rows at a time, each its own short read (keyset on ts, gate, seq): the WAL "
        "is never pinned for the minutes an export takes.\n"
    )
    if not args.no_write:
        report.write_section("office-export", markdown)
    print(markdown)


if __name__ == "__main__":
    main()
