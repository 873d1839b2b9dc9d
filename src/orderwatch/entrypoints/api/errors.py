"""Stable API error codes and the handlers that turn domain errors into JSON responses.

Every error body is ``{"error": {"code": ..., "message": ..., "field": ...}}``; ``code`` is part
of the API contract (clients switch on it), ``message`` is for people.
"""

from __future__ import annotations

from enum import StrEnum

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from orderwatch.domain.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)


class ErrorCode(StrEnum):
    """Machine-readable error codes of the API."""

    invalid = "invalid"
    not_found = "not_found"
    conflict = "conflict"
    forbidden = "forbidden"
    unauthenticated = "unauthenticated"
    bad_signature = "bad_signature"


def error_body(code: ErrorCode, message: str, field: str | None = None) -> dict[str, object]:
    """The JSON body of an error response."""
    return {"error": {"code": code.value, "message": message, "field": field}}


def install_error_handlers(api: FastAPI) -> None:
    """Map the domain error tree onto HTTP statuses."""

    @api.exception_handler(ValidationFailed)
    async def _invalid(_: Request, error: ValidationFailed) -> JSONResponse:
        return JSONResponse(error_body(ErrorCode.invalid, str(error), error.field), status_code=422)

    @api.exception_handler(RequestValidationError)
    async def _request_invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"],
             "value": e.get("input") if isinstance(e.get("input"), str | int | float | None) else None}
            for e in error.errors()
        ]
        first = problems[0] if problems else {"field": None, "message": "invalid request"}
        body = error_body(ErrorCode.invalid, f"{first['field']}: {first['message']}", first["field"])
        body["error"]["problems"] = problems  # type: ignore[index]
        return JSONResponse(body, status_code=422)

    @api.exception_handler(NotFound)
    async def _not_found(_: Request, error: NotFound) -> JSONResponse:
        return JSONResponse(error_body(ErrorCode.not_found, str(error)), status_code=404)

    @api.exception_handler(Conflict)
    async def _conflict(_: Request, error: Conflict) -> JSONResponse:
        return JSONResponse(error_body(ErrorCode.conflict, str(error)), status_code=409)

    @api.exception_handler(PermissionDenied)
    async def _forbidden(_: Request, error: PermissionDenied) -> JSONResponse:
        return JSONResponse(error_body(ErrorCode.forbidden, str(error)), status_code=403)

    @api.exception_handler(AuthenticationFailed)
    async def _unauthenticated(_: Request, error: AuthenticationFailed) -> JSONResponse:
        return JSONResponse(error_body(ErrorCode.unauthenticated, str(error)), status_code=401)
