"""What the office and gate JSON APIs share: the error answer and strict request bodies."""

from __future__ import annotations

from typing import TypeVar

from flask import jsonify, request
from pydantic import BaseModel, ValidationError


class ApiError(Exception):
    """An error answer: HTTP status and a message for the person reading the log (or the screen)."""

    def __init__(self, status: int, message: str, **extra):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


M = TypeVar("M", bound=BaseModel)


def error_response(exc: ApiError):
    """The JSON answer for an ApiError: ``{"error": message, **extra}``."""
    response = jsonify({"error": exc.message, **exc.extra})
    response.status_code = exc.status
    return response


def parse_body(model: type[M]) -> M:
    """The request's JSON body as ``model``; a 415 or 400 ApiError naming the first problem otherwise."""
    if not request.is_json:
        raise ApiError(415, "expected Content-Type: application/json")
    try:
        return model.model_validate_json(request.get_data())
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ApiError(400, f"{where}: {first['msg']} ({exc.error_count()} problem(s) in all)") from None
