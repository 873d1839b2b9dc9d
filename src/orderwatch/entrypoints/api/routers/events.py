"""``/api/v1/events`` (D1): carrier tracking events, singly and in batches of up to 5,000.

The batch route is the bulk ingestion path (target ≥ 10,000 events/s on PostgreSQL): it parses
the items, calls ``ingest_events`` once for the whole request and renders per-item results.
Deduplication, status derivation and the outbox all happen in that one service call.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from orderwatch.entrypoints.api.auth import EventsWrite
from orderwatch.entrypoints.api.deps import AppDep
from orderwatch.entrypoints.api.idempotency import IdempotentRoute
from orderwatch.entrypoints.api.rendering import ERROR_RESPONSES, item_response
from orderwatch.entrypoints.api.schemas import (
    SOURCE,
    EventBatchIn,
    EventBatchOut,
    EventResultOut,
    TrackingEventIn,
    split_items,
    unreadable_items,
)
from orderwatch.services.ingest import ingest_events, record_unreadable

router = APIRouter(route_class=IdempotentRoute, responses=ERROR_RESPONSES)


@router.post("", response_model=EventResultOut, summary="Record one tracking event")
def post_event(event: TrackingEventIn, application: AppDep, _: EventsWrite) -> Response:
    """``accepted`` or ``duplicate`` (same scan already stored) with the shipment's status."""
    (outcome,) = ingest_events(application.uow(), [event.to_command()], clock=application.clock)
    return item_response(EventResultOut.from_outcome(outcome, index=0))


@router.post("/batch", response_model=EventBatchOut, summary="Record up to 5,000 tracking events")
def post_events(batch: EventBatchIn, application: AppDep, _: EventsWrite) -> EventBatchOut:
    """Per-item results in request order; bad items are rejected with a reason naming the field."""
    positions, events, problems = split_items(batch.events)
    commands = [event.to_command() for event in events]
    outcomes = ingest_events(application.uow(), commands, clock=application.clock) if commands else []
    unreadable = unreadable_items(
        batch.events, source=SOURCE, kind="tracking_event", reference_key="tracking_number"
    )
    record_unreadable(application.uow(), unreadable, clock=application.clock)
    return EventBatchOut.build(positions, outcomes, problems)
