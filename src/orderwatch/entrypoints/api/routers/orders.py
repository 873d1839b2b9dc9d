"""``/api/v1/orders`` (D1): create or update orders singly and in batches; list, filter, detail.

Writes go through ``services.ingest.ingest_orders``; reads through ``adapters/db/queries.py``.
Every write honours ``Idempotency-Key`` (``IdempotentRoute``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from orderwatch.adapters.db.queries import count_orders, get_order_detail, list_orders
from orderwatch.domain.roles import Permission
from orderwatch.entrypoints.api.auth import OrdersRead, OrdersWrite
from orderwatch.entrypoints.api.deps import AppDep, ReadSessionDep
from orderwatch.entrypoints.api.idempotency import IdempotentRoute
from orderwatch.entrypoints.api.rendering import ERROR_RESPONSES, item_response
from orderwatch.entrypoints.api.schemas import (
    SOURCE,
    ItemResultOut,
    OrderBatchIn,
    OrderBatchOut,
    OrderBody,
    OrderDetailOut,
    OrderIn,
    OrderListOut,
    OrderListQuery,
    OrderSummaryOut,
    split_items,
    unreadable_items,
)
from orderwatch.services.ingest import ingest_orders, record_unreadable

router = APIRouter(route_class=IdempotentRoute, responses=ERROR_RESPONSES)


@router.post("", response_model=ItemResultOut, summary="Create or update one order")
def post_order(order: OrderIn, application: AppDep, _: OrdersWrite) -> Response:
    """Create the order, or update it if ``ref`` exists (absent parts keep their stored values)."""
    (outcome,) = ingest_orders(application.uow(), [order.to_command(order.ref)], clock=application.clock)
    return item_response(ItemResultOut.from_outcome(outcome, index=0))


@router.post("/batch", response_model=OrderBatchOut, summary="Create or update many orders")
def post_orders(batch: OrderBatchIn, application: AppDep, _: OrdersWrite) -> OrderBatchOut:
    """Per-item results; a bad order is rejected with its reason and never stops the others."""
    positions, orders, problems = split_items(batch.orders)
    commands = [order.to_command(order.ref) for order in orders]
    outcomes = ingest_orders(application.uow(), commands, clock=application.clock) if commands else []
    unreadable = unreadable_items(batch.orders, source=SOURCE, kind="order", reference_key="ref")
    record_unreadable(application.uow(), unreadable, clock=application.clock)
    return OrderBatchOut.build(positions, outcomes, problems)


@router.put("/{ref}", response_model=ItemResultOut, summary="Create or update the order `ref`")
def put_order(ref: str, order: OrderBody, application: AppDep, _: OrdersWrite) -> Response:
    """Like ``POST /orders`` with the reference taken from the path."""
    (outcome,) = ingest_orders(application.uow(), [order.to_command(ref)], clock=application.clock)
    return item_response(ItemResultOut.from_outcome(outcome, index=0))


@router.get("", response_model=OrderListOut, summary="List and filter orders")
def get_orders(
    query: Annotated[OrderListQuery, Query()], session: ReadSessionDep, application: AppDep, _: OrdersRead
) -> OrderListOut:
    """Newest purchase first, keyset-paginated: follow ``next_cursor`` until it is null."""
    now = application.clock.now()
    flt = query.to_filter()
    page = list_orders(session, flt, now=now, limit=query.limit, cursor=query.cursor)
    return OrderListOut(
        items=[OrderSummaryOut.from_summary(s) for s in page.items],
        next_cursor=page.next_cursor,
        total=count_orders(session, flt, now=now) if query.count else None,
    )


@router.get("/{ref}", response_model=OrderDetailOut, summary="One order with its timeline")
def get_order(
    ref: str, session: ReadSessionDep, application: AppDep, principal: OrdersRead
) -> OrderDetailOut:
    """Customer, lines, shipments and the milestones and scans by event time.

    Customer name, e-mail, phone and address are null unless the caller holds
    ``customers:read_pii``.
    """
    detail = get_order_detail(session, ref, now=application.clock.now())
    include_pii = Permission.customers_read_pii in principal.permissions
    return OrderDetailOut.from_detail(detail, include_pii=include_pii)
