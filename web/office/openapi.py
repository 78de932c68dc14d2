"""The OpenAPI 3.1 document of the sync API, built from the routes and the pydantic body models."""

from __future__ import annotations

from typing import Any

from flask import Flask

from web.office import schemas

ROUTES = {
    ("/api/v1/sync/events", "post"): ("Send a batch of this gate's events", schemas.EventBatch, schemas.SyncAnswer, "gate"),
    ("/api/v1/sync/registry", "get"): ("Registry changes since a version", None, schemas.RegistryAnswer, "gate"),
    ("/api/v1/sync/heartbeat", "post"): ("Report the gate's state", schemas.Heartbeat, schemas.HeartbeatAnswer, "gate"),
    ("/api/v1/gates", "get"): ("Every gate's state", None, schemas.GateList, "staff"),
    ("/api/v1/gates/{gate_id}/events", "get"): ("A gate's events, their times corrected where its clock was not trusted",
                                                None, schemas.CorrectedList, "staff"),
    ("/api/v1/alarms", "get"): ("Open alarms", None, schemas.AlarmList, "staff"),
    ("/api/v1/events/flagged", "get"): ("Events kept but flagged for review", None, schemas.FlaggedList, "staff"),
    ("/api/v1/stream", "get"): ("Server-sent events of alarms and passages", None, None, "staff"),
}


def _schema(model, components: dict) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def document(app: Flask) -> dict:
    """The whole document; every answer lists its error statuses with the Error body."""
    components: dict = {}
    error = {"content": {"application/json": {"schema": _schema(schemas.Error, components)}}}
    paths: dict = {}
    for (path, method), (summary, body, answer, who) in ROUTES.items():
        operation: dict[str, Any] = {
            "summary": summary,
            "description": f"Needs a {who} token.",
            "security": [{"bearer": []}],
            "responses": {
                "200": ({"description": "OK", "content": {"application/json": {"schema": _schema(answer, components)}}}
                        if answer is not None else
                        {"description": "An endless text/event-stream: `event: <kind>` and `data: <event JSON>` per event",
                         "content": {"text/event-stream": {"schema": {"type": "string"}}}}),
                "400": {"description": "Bad request", **error},
                "401": {"description": "Missing, unknown or revoked token", **error},
                "403": {"description": "A token of the wrong kind, or another gate's events", **error},
            },
        }
        if body is not None:
            # Strict: a JSON body must match exactly; the schema says so to fuzzers and clients alike.
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _schema(body, components)}}}
            operation["responses"]["409"] = {"description": "Conflicts with events already stored", **error}
            operation["responses"]["413"] = {"description": "Body too large", **error}
            operation["responses"]["415"] = {"description": "Not JSON", **error}
        if path.endswith("/registry"):
            operation["parameters"] = [{"name": "since", "in": "query", "required": False,
                                        "schema": {"type": "integer", "minimum": 0, "maximum": schemas.INT64_MAX}}]
        if path.endswith("/{gate_id}/events"):
            operation["parameters"] = [
                {"name": "gate_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}},
                {"name": "after", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 0, "maximum": schemas.INT64_MAX}},
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 0, "maximum": 1000}}]
        if path.endswith("/flagged"):
            operation["parameters"] = [{"name": "limit", "in": "query", "required": False,
                                        "schema": {"type": "integer", "minimum": 0, "maximum": 1000}}]
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Checkpoint kiosk office sync API", "version": "1"},
        "paths": paths,
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
