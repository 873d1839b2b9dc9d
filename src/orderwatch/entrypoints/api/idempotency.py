"""``Idempotency-Key`` support for every write route (D1, ANCHORS §7 "duplicate creation on retry").

Routers that accept writes are built with ``APIRouter(route_class=IdempotentRoute)``; the route
class wraps each POST/PUT/PATCH handler::

    no Idempotency-Key ──▶ handler (the ingestion service still deduplicates events and rows)
    Idempotency-Key ──▶ authenticate ──▶ stored answer? ── same request ──▶ replay it
                                             │                 └ other request ──▶ 409 conflict
                                             └ none ──▶ handler ──▶ store status + JSON body

Only answers the handler returned are stored (2xx, and the 422 of a rejected item, which the
service has recorded); errors raised before the service ran (401, 403, a malformed body) are
not, so fixing the request and retrying with the same key works. Keys are scoped to the
principal: two integrations may use the same key without seeing each other's answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from orderwatch.adapters.db.idempotency import MAX_KEY_LENGTH, SqlIdempotencyStore, request_hash
from orderwatch.domain.errors import Conflict, ValidationFailed
from orderwatch.entrypoints.api.auth import authenticate
from orderwatch.entrypoints.api.deps import get_app

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _store(request: Request) -> SqlIdempotencyStore:
    application = get_app(request)
    store: SqlIdempotencyStore | None = getattr(request.app.state, "idempotency", None)
    if store is None:
        store = SqlIdempotencyStore(application.session_factory, clock=application.clock)
        request.app.state.idempotency = store
    return store


def _check_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed(
            IDEMPOTENCY_HEADER, f"must be 1 to {MAX_KEY_LENGTH} printable characters", key[:80]
        )


def _replay(status_code: int, body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, headers={REPLAYED_HEADER: "true"})


def _conflict(key: str) -> Conflict:
    return Conflict(
        f"{IDEMPOTENCY_HEADER} {key!r} was already used for a different request; "
        "send a new key for a new request"
    )


def _is_storable(response: Response) -> bool:
    # 401/403 cannot come from a handler that ran; 5xx is worth retrying for real.
    return (
        200 <= response.status_code < 500
        and response.status_code not in {401, 403}
        and response.media_type == "application/json"
    )


async def _run_once(request: Request, key: str, handler: Handler) -> Response:
    _check_key(key)
    application = get_app(request)
    principal = await run_in_threadpool(authenticate, request, application)
    digest = request_hash(request.method, request.url.path, await request.body())
    store = _store(request)
    stored = await run_in_threadpool(store.find, principal=principal.name, key=key)
    if stored is not None:
        if stored.request_hash != digest:
            raise _conflict(key)
        return _replay(stored.status_code, stored.body)
    response = await handler(request)
    if not _is_storable(response):
        return response
    body = json.loads(bytes(response.body))
    first, ours = await run_in_threadpool(
        store.remember, principal=principal.name, key=key, request_hash=digest,
        status_code=response.status_code, body=body,
    )
    if ours:
        return response
    # A concurrent attempt with the same key finished first: everyone gets the first answer.
    if first.request_hash != digest:
        raise _conflict(key)
    return _replay(first.status_code, first.body)


class IdempotentRoute(APIRoute):
    """An API route whose writes honour the ``Idempotency-Key`` header."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        if not (self.methods or set()) & _WRITE_METHODS:
            return handler

        async def idempotent_handler(request: Request) -> Response:
            key = request.headers.get(IDEMPOTENCY_HEADER)
            if key is None:
                return await handler(request)
            return await _run_once(request, key, handler)

        return idempotent_handler
