"""The desk's paperwork (``/paperwork``, staff): export a day or a range of every ledger (.xlsx, or CSVs in a .zip)
and the daily report (日报) of a day (.pdf or .xlsx), made in the background with progress on the page, then
downloaded once.

A thin layer over kiosk.office.paperwork.PaperworkJobs (one worker thread for the whole office, the export itself in
a low-priority child process): this module only reads the form, asks the jobs, answers JSON to the page's script
(static/paperwork.js polls ``/paperwork/jobs/<id>``) and sends the file. Starting a job and downloading its file are
both in the audit log (``paperwork.start``, ``paperwork.download``).
"""

from __future__ import annotations

import atexit
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from web.office.desk_auth import current_user, desk_login_required

desk_paperwork = Blueprint("desk_paperwork", __name__, template_folder="templates", static_folder="static",
                           static_url_path="/static/office-paperwork")
blueprint = desk_paperwork  # web.office.desk.PARTS
NAV = [("desk_paperwork.paperwork", _l("Exports and report"), "staff")]

EXPORT_FORMATS = ("xlsx", "zip")
REPORT_FORMATS = ("pdf", "xlsx")


def jobs() -> Any:
    """The app's one PaperworkJobs (made on first use from the app's store, registry and office.yaml)."""
    from kiosk.office.paperwork import JobPaths, PaperworkJobs

    found = current_app.extensions.get("paperwork_jobs")
    if found is None:
        store, master = current_app.config["STORE"], current_app.config["REGISTRY"]
        config = current_app.config.get("OFFICE_CONFIG")
        folder = Path(current_app.config.get("DATA_DIR") or Path(store.path).parent) / "paperwork"
        followup = config.followup.model_dump() if config is not None else {}
        found = PaperworkJobs(JobPaths(Path(store.path).resolve(), Path(master.path).resolve(), folder.resolve()),
                              tz=current_app.config.get("TIMEZONE", "Asia/Shanghai"),
                              community=current_app.config.get("COMMUNITY", "") or
                              (config.office.name if config is not None else ""), followup=followup)
        current_app.extensions["paperwork_jobs"] = found
        atexit.register(found.stop)  # a running export's child ends with the server, its part file removed
    return found


def _today() -> date:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    return datetime.now(UTC).astimezone(ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))).date()


class _Refused(Exception):
    """A form value the page cannot use (shown in Chinese and English, nothing starts)."""


def _date(name: str, what_zh: str, what: str) -> date:
    text = request.form.get(name, "").strip()[:20]
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _Refused(f"{what_zh}须为日期，如 2026-11-28 / {what}: write a date such as 2026-11-28") from None


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.headers.get("X-Requested-With") == "fetch"


def _page(status: int = 200, *, job: dict | None = None, message: str = "") -> tuple[str, int]:
    from web.office.desk import render_page

    today = _today()
    return render_page("paperwork.html", "paperwork", _l("Exports and report"), today=today.isoformat(),
                       yesterday=(today - timedelta(days=1)).isoformat(), job=job, message=message,
                       words=words()), status


@desk_paperwork.get("/paperwork")
@desk_login_required("staff")
def paperwork():
    """The forms (export, daily report) and, after a start without the script, the job's state."""
    job = None
    if request.args.get("job"):
        user = current_user()
        assert user is not None
        try:
            job = jobs().status(request.args.get("job", "")[:40], user.name)
        except ValueError:
            job = None
    return _page(job=job, message=request.args.get("m", "")[:300])


@desk_paperwork.post("/paperwork/jobs")
@desk_login_required("staff")
def start():
    """Start an export (``kind=export``, ``from``, ``to``, ``format`` xlsx|zip) or a report (``kind=report``,
    ``day``, ``format`` pdf|xlsx); JSON ``{"job": {...}}`` (202) to the script, a redirect to the page otherwise."""
    from kiosk.office import audit
    from kiosk.office.paperwork import PaperworkError

    user = current_user()
    assert user is not None
    kind = request.form.get("kind", "")[:20]
    fmt = request.form.get("format", "")[:10]
    try:
        if kind == "report":
            first = last = _date("day", "日期", "Day")
        else:
            first, last = _date("from", "开始日期", "From"), _date("to", "结束日期", "To")
        job = jobs().submit(user.name, kind, first, last, fmt)
    except (_Refused, PaperworkError, ValueError) as exc:
        message = str(exc)
        if _wants_json():
            return jsonify({"error": message}), 400
        return redirect(url_for("desk_paperwork.paperwork", m=message), 303)
    audit.record(current_app.config["STORE"], user.name, "paperwork.start", job.id,
                 {"kind": job.kind, "from": job.first.isoformat(), "to": job.last.isoformat(), "format": job.fmt},
                 address=request.remote_addr)
    status = jobs().status(job.id, user.name)
    if _wants_json():
        return jsonify({"job": status}), 202
    return redirect(url_for("desk_paperwork.paperwork", job=job.id), 303)


@desk_paperwork.get("/paperwork/jobs/<job_id>")
@desk_login_required("staff")
def status(job_id: str):
    """A job's state for the page's script: ``{"job": {"state", "percent", "position", "error", …}}``."""
    from kiosk.office.paperwork import PaperworkError

    user = current_user()
    assert user is not None
    try:
        found = jobs().status(job_id[:40], user.name)
    except PaperworkError as exc:
        return jsonify({"error": str(exc)}), 404
    response = jsonify({"job": found})
    response.headers["Cache-Control"] = "no-store"
    return response


MIMETYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "zip": "application/zip",
             "pdf": "application/pdf"}


@desk_paperwork.get("/paperwork/jobs/<job_id>/file")
@desk_login_required("staff")
def download(job_id: str):
    """The finished file, once: it is removed when sent (a second copy is a new export, in the audit log again)."""
    from kiosk.office import audit
    from kiosk.office.paperwork import PaperworkError

    user = current_user()
    assert user is not None
    try:
        path, name = jobs().take(job_id[:40], user.name)
    except PaperworkError as exc:
        return _page(404, message=str(exc))
    audit.record(current_app.config["STORE"], user.name, "paperwork.download", job_id[:40],
                 {"file": name, "bytes": path.stat().st_size}, address=request.remote_addr)
    the_jobs, the_id = jobs(), job_id[:40]

    def chunks() -> Any:
        # streamed (an export can be 100 MB), and removed from the office once the last chunk is out
        try:
            with open(path, "rb") as handle:
                while chunk := handle.read(256 * 1024):
                    yield chunk
        finally:
            the_jobs.finished(the_id)

    response = Response(chunks(), mimetype=MIMETYPES.get(name.rsplit(".", 1)[-1], "application/octet-stream"))
    response.headers["Content-Disposition"] = f"attachment; filename={name}"
    response.headers["Content-Length"] = str(path.stat().st_size)
    response.headers["Cache-Control"] = "no-store"
    return response


def words() -> dict[str, str]:
    """The words the page's script shows (in the page's language), passed in a data attribute."""
    return {"queued": _("Waiting: {n} before it"), "queued_next": _("Waiting to start"),
            "running": _("Making the file: {percent}% ({done} of {total} rows)"),
            "running_report": _("Making the report…"),
            "running_export": _("Preparing the export…"), "done": _("Ready: {name} ({size})"),
            "download": _("Download"), "failed": _("Failed"), "expired": _("The file expired: make it again"),
            "taken": _("Downloaded. The file was removed from the office."),
            "lost": _("The page lost the office: retrying…")}
