"""The office's paperwork as jobs: an export of a day or a range (.xlsx, or a .zip of CSVs) or the daily report
(.pdf, .xlsx), made in the background, one at a time, then downloaded once.

Why a job: a 30-day range of 2,000,000 events takes minutes, so it never runs on a request thread. Why one at a
time: two exports at once would only share the same two cores and both take twice as long. Why a child process
(run by the single worker thread, ``nice``-d): the export is pure Python; on a thread of the server it would hold the
GIL for minutes and every gate's sync request would queue behind it. The child reads the databases in short
transactions (kiosk.office.queries.exports pages its scans), so the gates' sync writes are never held up either.

    jobs = PaperworkJobs(JobPaths(store, registry, folder), tz="Asia/Shanghai", community="…")
    job = jobs.submit("staff1", "export", date(2026, 11, 1), date(2026, 11, 30), "xlsx")
    jobs.status(job.id, "staff1")   # {"state": "queued"|"running"|"done"|"failed", "percent", "position" …}
    path, name = jobs.take(job.id, "staff1")   # the file (removed once sent: see ``finished``)

A finished file is kept for ``keep_s`` (15 minutes) or until downloaded, whichever comes first; a job's record
is forgotten an hour after it ended. No Flask here: the desk (web.office.desk_paperwork) is a thin layer over this.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import secrets
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from kiosk.exc import KioskError

KINDS = {"export": ("xlsx", "zip"), "report": ("pdf", "xlsx")}
"""What a job makes and in which formats (the desk's choices)."""
MAX_WAITING = 3  # jobs queued behind the running one, office-wide: a fourth is told to wait
KEEP_S = 15 * 60  # a finished file waits this long for its download
FORGET_S = 60 * 60  # a job's record (state, error) is kept this long after it ended
NICE = 10  # the child's CPU priority below the server's
MAX_JOB_S = 30 * 60  # a 30-day export of 2M events takes minutes; one still running after this is ended

log = logging.getLogger(__name__)


class PaperworkError(KioskError, ValueError):
    """A job refused (busy, bad range or format, not yours, gone): one line, zh-CN first, then English."""


@dataclass(frozen=True)
class JobPaths:
    """Where a job reads (office.db, registry.db) and where its files are made (a folder of the office's own)."""

    store: Path
    registry: Path
    folder: Path


@dataclass
class Job:
    """One export or report: who asked, what, and how far it got."""

    id: str
    user: str
    kind: str
    first: date
    last: date
    fmt: str
    state: str = "queued"  # queued → running → done | failed; "taken" once downloaded
    done: int = 0
    total: int = 0
    error: str = ""
    file: Path | None = None
    size: int = 0
    created: float = field(default_factory=time.monotonic)
    ended: float | None = None

    @property
    def download_name(self) -> str:
        """An ASCII file name for the browser (``export-2026-11-01-2026-11-30.xlsx``, ``daily-report-2026-11-28.pdf``)."""
        if self.kind == "report":
            return f"daily-report-{self.first}.{self.fmt}"
        span = f"{self.first}" if self.first == self.last else f"{self.first}-{self.last}"
        return f"export-{span}.{self.fmt}"


class PaperworkJobs:
    """The office's job queue: one worker thread, at most one job running, MAX_WAITING waiting behind it."""

    def __init__(self, paths: JobPaths, *, tz: str = "Asia/Shanghai", community: str = "",
                 followup: dict[str, Any] | None = None, keep_s: float = KEEP_S, nice: int = NICE):
        self.paths, self.tz, self.community = paths, tz, community
        self.followup = followup or {}
        self.keep_s, self.nice = keep_s, nice
        self._jobs: dict[str, Job] = {}
        self._queue: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._child: subprocess.Popen | None = None
        self._stopping = False

    # -- asking ------------------------------------------------------------------------------------------

    def submit(self, user: str, kind: str, first: date, last: date, fmt: str) -> Job:
        """Queue a job; PaperworkError when the range or format is wrong, the user has one already, or the queue
        is full."""
        from kiosk.office.exports import check_range

        if kind not in KINDS:
            raise PaperworkError(f"未知的文件类型 {kind[:20]!r} / unknown kind of paperwork")
        if fmt not in KINDS[kind]:
            raise PaperworkError(f"{'日报' if kind == 'report' else '导出'}不能生成 .{fmt[:10]} 文件 / "
                                 f"a {kind} is made as {' or '.join('.' + f for f in KINDS[kind])}")
        if kind == "report":
            last = first
        check_range(first, last)
        with self._lock:
            self._sweep()
            if any(j.user == user and j.state in ("queued", "running") for j in self._jobs.values()):
                raise PaperworkError("您已有一个文件正在生成，请等它完成 / you have a file being made already: wait for it")
            waiting = sum(1 for j in self._jobs.values() if j.state == "queued")
            if waiting >= MAX_WAITING:
                raise PaperworkError(f"已有 {waiting} 个文件在排队，请稍后再试 / {waiting} files are waiting already: "
                                     "try again in a few minutes")
            job = Job(secrets.token_urlsafe(12), user, kind, first, last, fmt)
            self._jobs[job.id] = job
            self._queue.put(job.id)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="paperwork", daemon=True)
                self._worker.start()
        return job

    def status(self, job_id: str, user: str) -> dict[str, Any]:
        """The job's state for its owner: ``{"id", "state", "kind", "first", "last", "format", "done", "total",
        "percent", "position" (jobs before it), "error", "size", "name"}``; PaperworkError when unknown."""
        with self._lock:
            self._sweep()
            job = self._own(job_id, user)
            queued = [j for j in self._jobs.values() if j.state in ("queued", "running")]
            position = sum(1 for j in queued if j.created < job.created) if job.state == "queued" else 0
            percent = 100 if job.state == "done" else (min(99, 100 * job.done // job.total) if job.total else 0)
            return {"id": job.id, "state": job.state, "kind": job.kind, "first": job.first.isoformat(),
                    "last": job.last.isoformat(), "format": job.fmt, "done": job.done, "total": job.total,
                    "percent": percent, "position": position, "error": job.error, "size": job.size,
                    "name": job.download_name}

    def take(self, job_id: str, user: str) -> tuple[Path, str]:
        """The finished file and its download name, once: the job is "taken" from here on (a second download needs a
        new job: an export holds personal data). Call ``finished`` once it has been sent; a file never finished is
        removed by the sweep after keep_s all the same."""
        with self._lock:
            job = self._own(job_id, user)
            if job.state != "done" or job.file is None or not job.file.exists():
                raise PaperworkError("文件不存在或已被下载 / the file is not ready or was downloaded already")
            job.state, job.ended = "taken", time.monotonic()
            return job.file, job.download_name

    def finished(self, job_id: str) -> None:
        """The file was sent: remove it."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                self._remove(job)

    def stop(self) -> None:
        """End the running child and the worker (the server is stopping); queued jobs are dropped."""
        self._stopping = True
        child = self._child
        if child is not None and child.poll() is None:
            child.terminate()
        self._queue.put("")
        if self._worker is not None:
            self._worker.join(timeout=10)
        shutil.rmtree(self.paths.folder / "jobs", ignore_errors=True)

    # -- inside ------------------------------------------------------------------------------------------

    def _own(self, job_id: str, user: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None or job.user != user:  # someone else's job is as unknown as no job: its file is personal
            raise PaperworkError("没有这个导出任务（可能已过期） / no such job (it may have expired)")
        return job

    def _remove(self, job: Job) -> None:
        if job.file is not None:
            shutil.rmtree(job.file.parent, ignore_errors=True)
            job.file = None

    def _sweep(self) -> None:
        """Remove files nobody fetched within keep_s, and forget old jobs (called with the lock held)."""
        now = time.monotonic()
        for job in list(self._jobs.values()):
            if job.ended is None:
                continue
            if job.state == "done" and now - job.ended > self.keep_s:
                job.state, job.error = "expired", "文件已过期删除，请重新生成 / the file expired: make it again"
                self._remove(job)
            elif job.state == "taken" and job.file is not None and now - job.ended > self.keep_s:
                self._remove(job)  # a download cut off before its end
            if now - job.ended > FORGET_S:
                self._remove(job)
                del self._jobs[job.id]

    def _work(self) -> None:
        while not self._stopping:
            try:
                job_id = self._queue.get(timeout=30)
            except queue.Empty:
                with self._lock:
                    self._sweep()
                continue
            with self._lock:
                job = self._jobs.get(job_id)
                if job is None or job.state != "queued":
                    continue
                job.state = "running"
            try:
                self._run(job)
            except Exception as exc:  # the worker must outlive any one job: the job says what went wrong
                with self._lock:
                    job.state, job.error = "failed", f"生成失败 / the job failed: {exc}"[:300]
                    job.ended = time.monotonic()

    def _run(self, job: Job) -> None:
        folder = self.paths.folder / "jobs" / job.id
        folder.mkdir(parents=True, exist_ok=True)
        out = folder.resolve() / job.download_name
        spec = {"kind": job.kind, "first": job.first.isoformat(), "last": job.last.isoformat(), "out": str(out),
                "store": str(self.paths.store.resolve()), "registry": str(self.paths.registry.resolve()), "tz": self.tz,
                "community": self.community, "followup": self.followup, "nice": self.nice}
        errors = folder / "stderr.txt"  # a file, not a pipe: a chatty child never blocks on a full pipe
        with open(errors, "w+", encoding="utf-8") as stderr:
            child = subprocess.Popen([sys.executable, "-m", "kiosk.office.paperwork", json.dumps(spec)],
                                     stdout=subprocess.PIPE, stderr=stderr, text=True,
                                     cwd=str(Path(__file__).resolve().parents[2]))
            self._child = child
            watchdog = threading.Timer(MAX_JOB_S, child.kill)  # a child that hangs must not stop the queue for good
            watchdog.start()
            result: dict[str, Any] = {}
            try:
                assert child.stdout is not None
                for line in child.stdout:
                    try:
                        message = json.loads(line)
                    except ValueError:
                        continue
                    if "done" in message:
                        with self._lock:
                            job.done, job.total = int(message["done"]), int(message["total"])
                    else:
                        result = message
                child.wait()
            finally:
                watchdog.cancel()
                self._child = None
            stderr.seek(0)
            detail = stderr.read()[-2000:]
        with self._lock:
            job.ended = time.monotonic()
            if child.returncode == 0 and result.get("ok") and out.exists():
                errors.unlink(missing_ok=True)
                job.state, job.file, job.size = "done", out, out.stat().st_size
                return
            job.state = "failed"
            # the library's own refusal is one clear line; anything else goes to the log, not to the page
            job.error = str(result.get("error") or "生成失败，请重试或联系管理员 / the job failed: try again or ask "
                            "the administrator")[:300]
            shutil.rmtree(folder, ignore_errors=True)
        if not result.get("error"):
            log.error("paperwork job %s (%s %s..%s) failed with exit code %s: %s", job.id, job.kind, job.first,
                      job.last, child.returncode, detail.strip())


# -- the child: one job, progress on stdout as JSON lines -------------------------------------------------------


def make(spec: dict[str, Any], progress: Any = None) -> list[Path]:
    """Make the job's file(s) from ``spec`` (what PaperworkJobs passes its child); the files written."""
    from kiosk.config.office import FollowupSettings
    from kiosk.office import daily_report, exports
    from kiosk.office.registry_master import RegistryMaster
    from kiosk.office.store import OfficeStore

    store, master = OfficeStore(Path(spec["store"])), RegistryMaster(Path(spec["registry"]))
    first, last, out = date.fromisoformat(spec["first"]), date.fromisoformat(spec["last"]), Path(spec["out"])
    if spec["kind"] == "report":
        figures = daily_report.compute(store, master, first, tz=spec["tz"],
                                       settings=FollowupSettings(**(spec.get("followup") or {})),
                                       office_name=spec.get("community") or "")
        if progress:
            progress(1, 1)
        writer = daily_report.write_pdf if out.suffix == ".pdf" else daily_report.write_xlsx
        return [writer(figures, out, community=spec.get("community") or "")]
    return exports.export(store, master, first, last, out, tz=spec["tz"], progress=progress,
                          office_name=spec.get("community") or "")


def _child(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    if spec.get("nice"):
        os.nice(int(spec["nice"]))

    def progress(done: int, total: int) -> None:
        print(json.dumps({"done": done, "total": total}), flush=True)

    try:
        make(spec, progress)
    except KioskError as exc:
        print(json.dumps({"error": str(exc)}), flush=True)
        return 1
    print(json.dumps({"ok": True}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
