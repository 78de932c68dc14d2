"""The desk's roster import (``/roster``, staff): upload a .csv or .xlsx roster, see what it would add, change and
remove and every problem by row, then apply it all as one registry version, or nothing.

The preview is held here, on the server, under a short-lived token bound to the staff member who made it: applying
sends the token (with the form's CSRF token), never the file again, so what is applied is exactly what was shown.
The library calls are kiosk.office.roster's ``plan_import`` and ``apply_import``, as the CLI's ``import-roster``.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, request
from flask_babel import lazy_gettext as _l

from web.office.desk_auth import current_user, desk_login_required

desk_roster = Blueprint("desk_roster", __name__, template_folder="templates")
blueprint = desk_roster  # web.office.desk.PARTS
NAV = [("desk_roster.roster_form", _l("Roster import"), "staff")]

UPLOAD_MAX_BYTES = 5 * 1024 * 1024
"""The largest roster the page takes (a community's 1,204 households are ~200 KB as CSV). The request body around it
is bounded by the app's MAX_CONTENT_LENGTH (web.office.MAX_BODY_BYTES, 4 MiB today), so the smaller of the two
applies: see ``upload_limit``."""
PREVIEW_TTL_S = 15 * 60  # a preview is applied within minutes, or the registry may have moved on anyway
MAX_PREVIEWS = 32  # held at once, across all staff: the oldest goes first
MULTIPART_SLACK = 64 * 1024  # the form's other fields and the multipart boundaries around the file
REMOVE_CHOICES = ("buildings", "none", "all")

WORDS: dict[str, Any] = {
    "title": _l("Import the roster"),
    "intro": _l("Upload the roster (.xlsx or .csv, GBK or UTF-8): first a preview of what is added, changed and "
                "removed and every problem by row, then import all of it at once."),
    "file": _l("Roster file"),
    "remove": _l("People not on the roster"),
    "remove_buildings": _l("Remove them from the buildings the roster lists (recommended)"),
    "remove_none": _l("Remove nobody: only add and change"),
    "remove_all": _l("Remove them from the whole community"),
    "preview": _l("Preview"),
    "apply": _l("Import"),
    "again": _l("Upload again"),
    "rows": _l("Rows"),
    "kind": _l("Kind"),
    "added": _l("Added"),
    "changed": _l("Changed"),
    "removed": _l("Removed"),
    "households": _l("Households"),
    "residents": _l("Residents"),
    "vehicles": _l("Vehicles"),
    "row": _l("Row"),
    "address": _l("Address (normalised)"),
    "name": _l("Name"),
    "plate": _l("Plate"),
    "compound": _l("Compound"),
    "was": _l("Was"),
    "problems": _l("Problems (fix them all before importing)"),
    "file_problem": _l("File"),
    "no_problems": _l("No problems: ready to import."),
    "nothing": _l("The registry already matches: nothing to import."),
    "ignored": _l("Columns not used"),
    "no_file": _l("Choose a .xlsx or .csv file."),
    "too_big": _l("The file is over {mb} MB: is it the roster?"),
    "expired": _l("The preview has expired or does not exist: upload the roster again."),
    "done": _l("Imported: registry version {version}."),
    "unchanged": _l("Nothing changed: the registry is still at version {version}."),
    "refused": _l("Nothing was imported."),
    "more": _l("{n} more not listed"),
}
"""The page's words (English msgids; the Chinese is in the office catalogs)."""
LIST_LIMIT = 200  # entries of each list shown; the counts are always whole


@dataclass
class _Held:
    preview: Any
    user: str
    expires: float


_lock = threading.Lock()


def _held() -> dict[str, _Held]:
    return current_app.extensions.setdefault("roster_previews", {})


def _hold(preview: Any, user: str) -> str:
    token = secrets.token_urlsafe(24)
    now = time.monotonic()
    with _lock:
        held = _held()
        for key in [k for k, v in held.items() if v.expires < now]:
            del held[key]
        while len(held) >= MAX_PREVIEWS:
            del held[min(held, key=lambda k: held[k].expires)]
        held[token] = _Held(preview, user, now + PREVIEW_TTL_S)
    return token


def _take(token: str, user: str) -> Any | None:
    """The preview held under ``token`` for ``user`` (taken away: one apply per preview), or None."""
    with _lock:
        held = _held()
        entry = held.get(token)
        if entry is None or entry.user != user or entry.expires < time.monotonic():
            return None
        del held[token]
        return entry.preview


def upload_limit() -> int:
    """The largest file this server can take: UPLOAD_MAX_BYTES, or less when the request-body limit is smaller."""
    body = current_app.config.get("MAX_CONTENT_LENGTH") or UPLOAD_MAX_BYTES + MULTIPART_SLACK
    return min(UPLOAD_MAX_BYTES, int(body) - MULTIPART_SLACK)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


def _words() -> dict[str, str]:
    """The page's words in the page's language (the template formats some of them: plain strings)."""
    return {key: str(word) for key, word in WORDS.items()}


def _id_key() -> bytes:
    from kiosk.office.roster import load_id_hash_key

    data_dir = current_app.config.get("DATA_DIR") or Path(current_app.config["REGISTRY"].path).parent
    return load_id_hash_key(data_dir)


def _page(status: int = 200, **context: Any) -> tuple[str, int]:
    from web.office.desk import render_page

    t = _words()
    context.setdefault("remove", "buildings")
    return render_page("roster.html", "roster", t["title"], t=t, limit_mb=_megabytes(upload_limit()),
                       list_limit=LIST_LIMIT, remove_choices=REMOVE_CHOICES, **context), status


@desk_roster.get("/roster")
@desk_login_required("staff")
def roster_form():
    """The upload form."""
    return _page()


@desk_roster.post("/roster")
@desk_login_required("staff")
def roster_preview():
    """Read the uploaded roster and show its preview (nothing changes yet)."""
    from kiosk.office.roster import plan_import

    t = _words()
    remove = request.form.get("remove", "buildings")
    remove = remove if remove in REMOVE_CHOICES else "buildings"
    upload = request.files.get("roster")
    if upload is None or not upload.filename:
        return _page(400, message=t["no_file"], remove=remove)
    limit = upload_limit()
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        return _page(413, message=t["too_big"].format(mb=_megabytes(limit)), remove=remove)
    filename = Path(upload.filename.replace("\\", "/")).name[:120] or "roster.csv"
    user = current_user()
    assert user is not None
    preview = plan_import(current_app.config["REGISTRY"], data, filename, id_key=_id_key(), remove=remove)
    token = _hold(preview, user.name) if preview.ok and preview.changes else ""
    return _page(preview=preview, token=token, remove=remove)


@desk_roster.post("/roster/apply")
@desk_login_required("staff")
def roster_apply():
    """Apply the preview held under the form's token as one registry version, and write it into the audit log."""
    from kiosk.office import audit
    from kiosk.office.roster import RosterError, apply_import

    t = _words()
    user = current_user()
    assert user is not None
    token = request.form.get("token", "")[:100]
    preview = _take(token, user.name) if token else None
    if preview is None:
        return _page(409, message=t["expired"])
    master = current_app.config["REGISTRY"]
    try:
        version = apply_import(master, preview, actor=user.name)
    except RosterError as exc:  # stale, or problems: nothing was applied
        return _page(409, message=t["refused"], preview=preview, problems=exc.problems, token="")
    changed = version != preview.base_version
    audit.record(current_app.config["STORE"], user.name, "registry.roster_import", preview.filename,
                 {"version": version, "base_version": preview.base_version, "rows": preview.rows,
                  "remove": preview.remove, "counts": preview.counts()}, address=request.remote_addr)
    return _page(done=(t["done"] if changed else t["unchanged"]).format(version=version))
