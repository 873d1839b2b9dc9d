"""Rendering helpers shared by the ``/api/v1`` routers (D1): single-item answers, error docs.

A single item that the ingestion service rejects is answered 422 in the error shape of
``errors.py``, with the reason (which starts with the field name) as the message.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from orderwatch.entrypoints.api.errors import ErrorCode, error_body
from orderwatch.services.ingest import REJECTED


class ErrorDetailOut(BaseModel):
    code: ErrorCode
    message: str
    field: str | None


class ErrorOut(BaseModel):
    """The body of every error response."""

    error: ErrorDetailOut


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No API key, or an invalid or revoked one"},
    403: {"model": ErrorOut, "description": "The API key lacks the scope this route needs"},
    409: {"model": ErrorOut, "description": "Idempotency-Key reused for a different request"},
    422: {"model": ErrorOut, "description": "Invalid input; `field` names the first bad field"},
}


def reason_field(reason: str) -> str | None:
    """The field a service reason names (reasons read ``field: problem``)."""
    field, separator, _ = reason.partition(": ")
    return field if separator and " " not in field else None


def item_response(result: BaseModel) -> JSONResponse:
    """200 with the item result, or 422 naming the field when the item was rejected."""
    outcome = result.model_dump(mode="json")
    if outcome["result"] == REJECTED:
        reason = str(outcome["reason"])
        return JSONResponse(error_body(ErrorCode.invalid, reason, reason_field(reason)), status_code=422)
    return JSONResponse(outcome)
