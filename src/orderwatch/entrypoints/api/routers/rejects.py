"""``/api/v1/rejects`` (D1): inputs the ingestion service refused, kept for inspection."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from orderwatch.adapters.db.queries import list_rejected
from orderwatch.entrypoints.api.auth import RejectsRead
from orderwatch.entrypoints.api.deps import ReadSessionDep
from orderwatch.entrypoints.api.rendering import ERROR_RESPONSES
from orderwatch.entrypoints.api.schemas import RejectListOut, RejectOut

router = APIRouter(responses=ERROR_RESPONSES)


@router.get("", response_model=RejectListOut, summary="Recently rejected items, newest first")
def get_rejects(
    session: ReadSessionDep,
    _: RejectsRead,
    source: Annotated[str | None, Query(description="api, webhook source, csv, olist ...")] = None,
    kind: Annotated[str | None, Query(description="order, shipment or tracking_event")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> RejectListOut:
    """Each item carries the reason (naming the field) and the payload as received."""
    rows = list_rejected(session, source=source, kind=kind, limit=limit)
    return RejectListOut(items=[RejectOut.model_validate(row) for row in rows])
