"""`POST /api/v1/webhooks/{source}`: carrier and aggregator webhooks into the ingestion service (D1).

    raw body ──verify (cached secrets, constant time)──401 bad_signature──▶ nothing stored
        │
        ▼
    parse (pure, adapters/carriers/<source>/parse.py) ──no event, problems──▶ 422 naming the field
        │
        ▼
    EventBatcher.submit(events) ──▶ one ingest_events transaction shared with concurrent requests
        │                           (group commit, entrypoints/api/batching.py)
        ▼
    per-event results in the sender's expected shape, sent after the commit

Verification and parsing are pure CPU work of some tens of microseconds, so they run on the
event loop; only a secret-cache miss (once per source every few seconds) and the ingestion
transaction go to a worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from orderwatch.adapters.carriers.aftership.parse import parse_tracking_webhook as parse_aftership
from orderwatch.adapters.carriers.base import ParseResult, problem_field
from orderwatch.adapters.carriers.generic.parse import parse_generic_webhook
from orderwatch.adapters.carriers.kuaidi100.parse import parse_push, read_form
from orderwatch.adapters.carriers.seventeentrack.parse import parse_tracking_webhook as parse_17track
from orderwatch.adapters.db.webhook_secrets import WebhookSecretStore
from orderwatch.adapters.webhooks.signatures import (
    AFTERSHIP_HEADER,
    GENERIC_HEADER,
    SEVENTEENTRACK_HEADER,
    BadSignature,
    WebhookSource,
    verify_17track,
    verify_aftership,
    verify_generic,
    verify_kuaidi100,
)
from orderwatch.bootstrap import App
from orderwatch.domain.commands import EventOutcome, RecordTrackingEvent
from orderwatch.entrypoints.api.batching import EventBatcher
from orderwatch.entrypoints.api.errors import ErrorCode, error_body
from orderwatch.services.ingest import Unreadable, ingest_events, record_unreadable, summarize

router = APIRouter()

KUAIDI100_SUCCESS = {"result": True, "returnCode": "200", "message": "成功"}
_store_lock = threading.Lock()

Handler = Callable[[Mapping[str, str], bytes, tuple[str, ...], App], ParseResult]


def webhook_secret_store(api: FastAPI) -> WebhookSecretStore:
    """The secret store of this ASGI app, created on first use and kept for the process.

    It lives on the FastAPI app's state so that its cache spans requests; the CLI builds its own.
    """
    store: WebhookSecretStore | None = getattr(api.state, "webhook_secrets", None)
    if store is None:
        with _store_lock:
            store = getattr(api.state, "webhook_secrets", None)
            if store is None:
                application: App = api.state.orderwatch
                store = WebhookSecretStore(application.session_factory, clock=application.clock)
                api.state.webhook_secrets = store
    return store


# ------------------------------------------------------------------ per-source verify + parse


def _aftership(headers: Mapping[str, str], body: bytes, secrets: tuple[str, ...], _: App) -> ParseResult:
    verify_aftership(headers.get(AFTERSHIP_HEADER), body, secrets)
    return parse_aftership(body)


def _17track(headers: Mapping[str, str], body: bytes, secrets: tuple[str, ...], _: App) -> ParseResult:
    verify_17track(headers.get(SEVENTEENTRACK_HEADER), body, secrets)
    return parse_17track(body)


def _kuaidi100(headers: Mapping[str, str], body: bytes, secrets: tuple[str, ...], _: App) -> ParseResult:
    form = read_form(body)
    verify_kuaidi100(form.get("sign"), form.get("param"), secrets)
    return parse_push(form.get("param") or "")


def _generic(headers: Mapping[str, str], body: bytes, secrets: tuple[str, ...], app: App) -> ParseResult:
    verify_generic(
        headers.get(GENERIC_HEADER),
        body,
        secrets,
        now=app.clock.now().timestamp(),
        window_seconds=app.settings.webhook_replay_window_seconds,
    )
    return parse_generic_webhook(body)


HANDLERS: Mapping[WebhookSource, Handler] = {
    WebhookSource.aftership: _aftership,
    WebhookSource.seventeentrack: _17track,
    WebhookSource.kuaidi100: _kuaidi100,
    WebhookSource.generic: _generic,
}


# ------------------------------------------------------------------ route


@router.post(
    "/{source}",
    summary="Receive a carrier webhook (aftership, 17track, kuaidi100, generic)",
    responses={401: {"description": "bad_signature"}, 404: {"description": "unknown source"},
               422: {"description": "signed but unreadable body"}},
)
async def receive_webhook(source: str, request: Request) -> JSONResponse:
    """Verify the sender's signature over the raw body, parse, and record the events."""
    try:
        kind = WebhookSource(source)
    except ValueError:
        known = ", ".join(s.value for s in WebhookSource)
        message = f"source: unknown webhook source {source!r}; expected one of {known}"
        return JSONResponse(error_body(ErrorCode.not_found, message, "source"), status_code=404)
    body = await request.body()


    api: FastAPI = request.app
    application: App = api.state.orderwatch
    store = webhook_secret_store(api)
    secrets = store.cached_active_secrets(kind)
    if secrets is None:
        secrets = await run_in_threadpool(store.active_secrets, kind)
    try:
        events, problems = HANDLERS[kind](request.headers, body, secrets, application)
    except BadSignature as error:
        return _error(kind, ErrorCode.bad_signature, str(error), None, status_code=401)
    if problems:
        # Signed, so from the sender: what could not be read is kept for inspection.
        await run_in_threadpool(_keep_unreadable, application, kind, body, problems)
    if not events and problems:
        return _error(kind, ErrorCode.invalid, problems[0], problem_field(problems[0]), status_code=422,
                      problems=problems)
    outcomes = await event_batcher(api).submit(events)
    return JSONResponse(_success(kind, outcomes, problems))


MAX_KEPT_BODY = 65_536


def _keep_unreadable(application: App, kind: WebhookSource, body: bytes, problems: list[str]) -> None:
    text = body[:MAX_KEPT_BODY].decode("utf-8", errors="replace")
    item = Unreadable(
        source=kind.value,
        kind="webhook",
        reason="; ".join(problems),
        payload={"body": text, "truncated": len(body) > MAX_KEPT_BODY},
    )
    record_unreadable(application.uow(), [item], clock=application.clock)


def event_batcher(api: FastAPI) -> EventBatcher:
    """The group-commit batcher of this ASGI app (one per process, made on first use)."""
    batcher: EventBatcher | None = getattr(api.state, "event_batcher", None)
    if batcher is None:
        application: App = api.state.orderwatch

        def ingest(events: Sequence[RecordTrackingEvent]) -> list[EventOutcome]:
            return ingest_events(application.uow(), events, clock=application.clock)

        batcher = EventBatcher(ingest)
        api.state.event_batcher = batcher
    return batcher


def _success(kind: WebhookSource, outcomes: list[EventOutcome], problems: list[str]) -> dict[str, Any]:
    details: dict[str, Any] = {
        "source": kind.value,
        "summary": summarize(outcomes),
        "results": [
            {
                "index": outcome.index,
                "result": outcome.result,
                "reason": outcome.reason,
                "shipment_status": outcome.shipment_status.value if outcome.shipment_status else None,
            }
            for outcome in outcomes
        ],
        "problems": problems,
    }
    # Kuaidi100 counts a push as delivered only on result=true, returnCode "200"; otherwise it
    # retries three times, 30 minutes apart. Our details ride along as extra keys.
    return {**KUAIDI100_SUCCESS, **details} if kind is WebhookSource.kuaidi100 else details


def _error(
    kind: WebhookSource,
    code: ErrorCode,
    message: str,
    field: str | None,
    *,
    status_code: int,
    problems: list[str] | None = None,
) -> JSONResponse:
    body = error_body(code, message, field)
    if problems is not None:
        body["error"]["problems"] = problems  # type: ignore[index]
    if kind is WebhookSource.kuaidi100:
        body.update({"result": False, "returnCode": str(status_code), "message": message})
    return JSONResponse(body, status_code=status_code)
