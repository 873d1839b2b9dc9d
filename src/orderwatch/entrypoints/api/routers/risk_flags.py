"""``GET /api/v1/risk-flags`` (D2): the detectors' and the model's flags, ranked like the risk queue.

Open flags by default, highest *severity weight × order value* first, keyset-paginated with
``next_cursor``; filters by kind, severity, carrier, lane and order. Reading flags needs the
``orders:read`` scope: a flag says no more about an order than the order itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from orderwatch.adapters.db.risk_queries import FlagFilter, FlagView, count_flags, list_risk_queue
from orderwatch.domain.risk_flags import RiskFlagKind, RiskSeverity
from orderwatch.entrypoints.api.auth import OrdersRead
from orderwatch.entrypoints.api.deps import ReadSessionDep
from orderwatch.entrypoints.api.rendering import ERROR_RESPONSES

router = APIRouter(responses=ERROR_RESPONSES)


class RiskFlagQuery(BaseModel):
    """Filters of ``GET /risk-flags``; they combine with AND."""

    model_config = ConfigDict(extra="forbid")

    kind: RiskFlagKind | None = None
    severity: RiskSeverity | None = None
    carrier: str | None = Field(None, max_length=64)
    origin_region: str | None = Field(None, max_length=64, description="Lane origin (supplier's region)")
    destination_region: str | None = Field(None, max_length=64, description="Lane destination (customer's)")
    order_ref: str | None = Field(None, max_length=64)
    include_cleared: bool = Field(False, description="Also flags whose condition has ended")
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=200, description="`next_cursor` of the previous page")
    count: bool = Field(False, description="Also count all matching flags (one more query)")

    def to_filter(self) -> FlagFilter:
        return FlagFilter(
            kind=self.kind.value if self.kind else None,
            severity=self.severity.value if self.severity else None,
            carrier=self.carrier,
            origin_region=self.origin_region,
            destination_region=self.destination_region,
            order_ref=self.order_ref,
            include_cleared=self.include_cleared,
        )


class RiskFlagOut(BaseModel):
    """One flag on one order."""

    id: int
    order_ref: str
    kind: str
    severity: str
    cause: str | None
    reason: str = Field(description="Plain English; `details.reason_code` + `details.params` to translate")
    details: dict[str, Any]
    raised_at: datetime
    updated_at: datetime
    cleared_at: datetime | None
    order_status: str
    order_value_cents: int
    currency: str
    carrier_code: str | None
    lane: str
    rank: int = Field(description="Severity weight (1–4) × order value in cents: the queue's order")

    @classmethod
    def from_view(cls, view: FlagView) -> RiskFlagOut:
        return cls(
            id=view.id, order_ref=view.order_ref, kind=view.kind, severity=view.severity, cause=view.cause,
            reason=view.reason, details=view.details, raised_at=view.raised_at, updated_at=view.updated_at,
            cleared_at=view.cleared_at, order_status=view.order_status, order_value_cents=view.value_cents,
            currency=view.currency, carrier_code=view.carrier_code, lane=view.lane, rank=view.rank,
        )  # fmt: skip


class RiskFlagListOut(BaseModel):
    items: list[RiskFlagOut]
    next_cursor: str | None
    total: int | None = None


@router.get("", response_model=RiskFlagListOut, summary="List risk flags, highest risk × value first")
def get_risk_flags(
    query: Annotated[RiskFlagQuery, Query()], session: ReadSessionDep, _: OrdersRead
) -> RiskFlagListOut:
    """Open flags unless ``include_cleared``; follow ``next_cursor`` until it is null."""
    flt = query.to_filter()
    page = list_risk_queue(session, flt, limit=query.limit, cursor=query.cursor)
    return RiskFlagListOut(
        items=[RiskFlagOut.from_view(view) for view in page.items],
        next_cursor=page.next_cursor,
        total=count_flags(session, flt) if query.count else None,
    )
