"""Loads what the KPI definitions (``domain/kpis.py``) need, one row per order (D14).

The arithmetic lives in the domain; this module only selects: order dates and status, the
mean rating, the lane (origin → destination region), the first line's supplier.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderwatch.adapters.db.tables import FeedbackRow, IncidentRow, OrderLineRow, OrderRow, SupplierRow
from orderwatch.domain.kpis import OrderOutcome


def load_outcomes(
    session: Session, *, purchased_from: datetime | None = None, purchased_until: datetime | None = None
) -> list[OrderOutcome]:
    """One :class:`OrderOutcome` per order purchased in ``[purchased_from, purchased_until)``."""
    scores = (
        select(FeedbackRow.order_id, func.avg(FeedbackRow.score).label("score"))
        .group_by(FeedbackRow.order_id)
        .subquery()
    )
    first_line = (
        select(OrderLineRow.order_id, func.min(OrderLineRow.line_no).label("line_no"))
        .group_by(OrderLineRow.order_id)
        .subquery()
    )
    suppliers = (
        select(OrderLineRow.order_id, SupplierRow.ref)
        .join(first_line, (first_line.c.order_id == OrderLineRow.order_id)
              & (first_line.c.line_no == OrderLineRow.line_no))
        .join(SupplierRow, SupplierRow.id == OrderLineRow.supplier_id)
        .subquery()
    )
    query = (
        select(
            OrderRow.id, OrderRow.status, OrderRow.purchased_at, OrderRow.promised_at, OrderRow.delivered_at,
            OrderRow.carrier_code, OrderRow.origin_region, OrderRow.destination_region,
            scores.c.score, suppliers.c.ref,
        )
        .outerjoin(scores, scores.c.order_id == OrderRow.id)
        .outerjoin(suppliers, suppliers.c.order_id == OrderRow.id)
    )
    if purchased_from is not None:
        query = query.where(OrderRow.purchased_at >= purchased_from)
    if purchased_until is not None:
        query = query.where(OrderRow.purchased_at < purchased_until)
    responses = _response_minutes(session)
    return [
        OrderOutcome(
            status=row.status, purchased_at=row.purchased_at, promised_at=row.promised_at,
            delivered_at=row.delivered_at,
            review_score=float(row.score) if row.score is not None else None,
            carrier=row.carrier_code,
            lane=f"{row.origin_region}→{row.destination_region}"
            if row.origin_region and row.destination_region else None,
            supplier=row.ref, region=row.destination_region, response_minutes=responses.get(row.id),
        )
        for row in session.execute(query)
    ]


def _response_minutes(session: Session) -> dict[int, float]:
    """Per order, minutes from its first contacted incident's report to that first contact (U14)."""
    query = (
        select(IncidentRow.order_id, IncidentRow.reported_at, IncidentRow.first_contact_at)
        .where(IncidentRow.order_id.is_not(None), IncidentRow.first_contact_at.is_not(None))
        .order_by(IncidentRow.reported_at.desc())
    )
    # Later reports first, so the earliest report of an order is the one that stays.
    return {
        row.order_id: (row.first_contact_at - row.reported_at).total_seconds() / 60
        for row in session.execute(query)
    }
