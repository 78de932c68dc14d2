"""The office's sync API (``/api/v1``): gates send events and heartbeats and pull the registry; staff read gates and alarms."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NoReturn

from flask import Blueprint, current_app, g, jsonify, request
from pydantic import BaseModel

from kiosk.office.ingest import FLAG, SEQ, row_event
from kiosk.office.store import EventConflictError, OfficeStoreError, now_iso
from web.json_api import ApiError, error_response, parse_body
from web.office import schemas
from web.office.batch_check import CheckedBatch, ForeignEvent

api = Blueprint("api", __name__, url_prefix="/api/v1")

CLOCK_TOLERANCE_S = 120.0


@api.errorhandler(ApiError)
def _api_error(exc: ApiError):
    response = error_response(exc)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="kiosk-office"'
    return response


def _principal():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "missing bearer token: send 'Authorization: Bearer <token>'")
    principal = current_app.config["STORE"].authenticate(token.strip())
    if principal is None:
        raise ApiError(401, "unknown or revoked token")
    return principal


def requires(kind: str | None) -> Callable:
    """Allow only a gate token (``gate``), only a staff token (``staff``), or either (None)."""

    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def inner(*args, **kwargs):
            principal = _principal()
            if kind is not None and principal.kind != kind:
                raise ApiError(403, f"this route is for {kind} tokens, not {principal.kind} tokens")
            g.principal = principal
            return view(*args, **kwargs)

        inner.auth = kind  # type: ignore[attr-defined]  # read by the OpenAPI document
        return inner

    return wrap


_body = functools.partial(parse_body, people=False)  # read by gates, not people: English (web/json_api.py)


def _query_int(name: str, default: int, *, maximum: int) -> int:
    """A whole-number query parameter: ASCII digits only ('²' and '٣' are digits to str.isdigit, not to us), ≤ maximum."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) > maximum:
        raise ApiError(400, f"{name}: expected a whole number from 0 to {maximum}, got {raw[:40]!r}")
    return int(raw)


def _answer(model: BaseModel, status: int = 200):
    response = jsonify(model.model_dump(mode="json"))
    response.status_code = status
    return response


@api.post("/sync/events")
@requires("gate")
def sync_events():
    """Store a batch of the calling gate's events exactly once; answer with its high-water seq."""
    gate_id = g.principal.name
    store = current_app.config["STORE"]
    # One pass over the raw body and its rows, in a checking process (web.office.batch_check); a body it refuses
    # is checked here by EventBatch, whose 400 names the problem
    checked = current_app.config["CHECKER"].check(gate_id, request.get_data(), now_iso()) if request.is_json else None
    if isinstance(checked, ForeignEvent):
        _refuse_foreign(checked.seq, checked.gate_id)
    try:
        if isinstance(checked, CheckedBatch):
            new_rows, high = store.ingest_rows(gate_id, checked.rows)
            # the live stream's events, parsed back from the rows nobody flagged, only when someone listens (a desk
            # page open): at night no page is, and a backlog of thousands is stored without being read back
            heard = ([row_event(row, checked.sent_data.get(row[SEQ])) for row in new_rows if not row[FLAG]]
                     if current_app.config["EVENTS_WANTED"]() else [])
            stored = len(new_rows)
        else:
            events = [e.as_event() for e in _body(schemas.EventBatch).events]
            foreign = next((e for e in events if e["gate_id"] != gate_id), None)
            if foreign is not None:
                _refuse_foreign(foreign["seq"], foreign["gate_id"])
            new, high = store.ingest(gate_id, events)
            heard = [e for e in new if not e.get("flag")]  # a flagged event waits for staff review, not on live screens
            stored = len(new)
    except EventConflictError as exc:
        raise ApiError(409, str(exc)) from None
    except OfficeStoreError as exc:
        raise ApiError(400, str(exc)) from None
    if heard:
        current_app.config["EVENTS_HOOK"](gate_id, heard)
    return _answer(schemas.SyncAnswer(stored=stored, high_water=high))


def _refuse_foreign(seq: int, other: str) -> NoReturn:
    raise ApiError(403, f"event seq {seq} belongs to gate {other!r}: a gate may send only its own events")


@api.get("/sync/registry")
@requires("gate")
def sync_registry():
    """Registry changes after ``since``, or a full snapshot when the office's log no longer reaches back."""
    unknown = sorted(set(request.args) - {"since"})
    if unknown:
        raise ApiError(400, f"unknown query parameter(s): {', '.join(unknown)} (only 'since' is understood)")
    since = _query_int("since", 0, maximum=schemas.INT64_MAX)
    registry = current_app.config["REGISTRY"]
    version = registry.version
    changes = registry.gate_changes_since(since) if since <= version else None
    if changes is not None:
        return _answer(schemas.RegistryAnswer(version=version, mode="changes", changes=changes))
    return _answer(schemas.RegistryAnswer(version=version, mode="snapshot", tables=registry.gate_snapshot()))


@api.post("/sync/heartbeat")
@requires("gate")
def sync_heartbeat():
    """Record the gate's state; answer with the office's time and the gate clock's offset."""
    beat = _body(schemas.Heartbeat)
    now = datetime.now(UTC)
    try:
        offset = current_app.config["STORE"].heartbeat(g.principal.name, beat.model_dump(mode="json"), now)
    except OfficeStoreError as exc:
        raise ApiError(400, str(exc)) from None
    return _answer(schemas.HeartbeatAnswer(server_time=now.isoformat(), clock_offset_s=round(offset, 3),
                                           clock_off=abs(offset) > CLOCK_TOLERANCE_S, clock_tolerance_s=CLOCK_TOLERANCE_S))


@api.get("/gates")
@requires("staff")
def gates():
    """Each gate: last heartbeat, high-water seq, clock offset (flagged beyond 2 minutes), backlog."""
    return _answer(schemas.GateList(gates=current_app.config["STORE"].gates(CLOCK_TOLERANCE_S)))


@api.get("/gates/<gate_id>/events")
@requires("staff")
def gate_events(gate_id: str):
    """A gate's events after seq ``after`` (at most ``limit``), each with its time corrected where the gate's clock was
    not trusted, in true order (kiosk.office.clock_correction, docs/clock.md); an unknown gate has none."""
    from kiosk.office.clock_correction import corrected_events

    unknown = sorted(set(request.args) - {"after", "limit"})
    if unknown:
        raise ApiError(400, f"unknown query parameter(s): {', '.join(unknown)} (only 'after' and 'limit' are understood)")
    if len(gate_id) > 64:
        raise ApiError(400, "gate_id: expected at most 64 characters")
    after = _query_int("after", 0, maximum=schemas.INT64_MAX)
    limit = _query_int("limit", 1000, maximum=1000)
    events = corrected_events(current_app.config["STORE"], gate_id, after, max(limit, 1))
    return _answer(schemas.CorrectedList.model_validate({"events": events}))


@api.get("/alarms")
@requires("staff")
def alarms():
    """Alarms not yet acknowledged at a gate, newest first."""
    return _answer(schemas.AlarmList(alarms=current_app.config["STORE"].open_alarms()))


@api.get("/events/flagged")
@requires("staff")
def flagged_events():
    """Events the office kept but flagged for review: data that fits no schema, or reaching for another gate's things."""
    unknown = sorted(set(request.args) - {"limit"})
    if unknown:
        raise ApiError(400, f"unknown query parameter(s): {', '.join(unknown)} (only 'limit' is understood)")
    limit = _query_int("limit", 200, maximum=1000)
    return _answer(schemas.FlaggedList(events=current_app.config["STORE"].flagged_events(max(limit, 1))))


@api.get("/stream")
@requires("staff")
def stream():
    """Server-sent events: alarms and passages as gates deliver them (a comment line every 15 s keeps it alive)."""
    from web.office.stream import stream_response

    return stream_response()


@api.get("/openapi.json")
@requires(None)
def openapi():
    """This API described as OpenAPI 3.1."""
    from web.office.openapi import document

    return jsonify(document(current_app))
