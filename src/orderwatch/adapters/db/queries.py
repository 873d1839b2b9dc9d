"""The read side for lists, pages and reports: SQL in, plain view models out (D1, U11).

Order lists use keyset (cursor) pagination on ``(purchased_at, id)`` descending, so a page costs
the same at the millionth order as at the first and concurrent inserts never shift pages.

The overview's "needs attention" counts (D1, D2) are defined once, in :func:`attention_condition`;
the order list's ``attention`` filter and :func:`count_attention` both use it, so a number on the
home page and the list it links to can never disagree.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from orderwatch.adapters.db.tables import (
    CarrierRow,
    CustomerRow,
    FeedbackRow,
    OrderEventRow,
    OrderLineRow,
    OrderRow,
    PaymentRow,
    ProductRow,
    RejectedItemRow,
    ShipmentRow,
    SupplierRow,
    TrackingEventRow,
)
from orderwatch.domain.errors import NotFound, ValidationFailed
from orderwatch.domain.kpis import MonthBasis
from orderwatch.domain.orders import OPEN_ORDER_STATUSES, OrderStatus, is_late, is_overdue
from orderwatch.domain.shipments import EXCEPTION_STATUSES, TERMINAL_STATUSES, ShipmentStatus

ATTENTION_KINDS = ("at_risk", "overdue", "stalled", "exception", "undeliverable")
# A parcel in one of these will not reach the customer without someone acting (U3).
LOST_PARCEL_STATUSES = frozenset({ShipmentStatus.lost, ShipmentStatus.returned, ShipmentStatus.refused})


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """Filters of the order list; every field is optional and they combine with AND."""

    status: tuple[str, ...] = ()
    lateness: str | None = None  # "late" (delivered late), "on_time", "overdue" (open, promise passed)
    carrier: str | None = None
    supplier: str | None = None
    region: str | None = None  # destination region (customer state)
    origin_region: str | None = None
    purchased_from: datetime | None = None
    purchased_until: datetime | None = None
    search: str | None = None  # order ref or tracking number prefix
    attention: str | None = None  # one of ATTENTION_KINDS (see attention_condition)
    stale_after: timedelta | None = None  # settings.stale_after_hours; needed by "stalled"/"at_risk"


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """One line of the order list."""

    id: int
    ref: str
    status: str
    purchased_at: datetime
    promised_at: datetime | None
    delivered_at: datetime | None
    carrier_code: str | None
    origin_region: str | None
    destination_region: str | None
    value_cents: int
    currency: str
    is_late: bool | None
    is_overdue: bool


@dataclass(frozen=True, slots=True)
class OrderPage:
    """A page of orders and the cursor of the next page (``None`` at the end)."""

    items: list[OrderSummary]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of an order's timeline: a milestone or a tracking event."""

    occurred_at: datetime
    kind: str  # "milestone" or "tracking"
    status: str
    raw_code: str | None = None
    raw_text: str | None = None
    location: str | None = None
    source: str | None = None
    tracking_number: str | None = None
    carrier_code: str | None = None


@dataclass
class OrderDetail:
    """Everything the order page and ``GET /api/v1/orders/{ref}`` show."""

    summary: OrderSummary
    customer: dict[str, Any] | None
    lines: list[dict[str, Any]] = field(default_factory=list)
    shipments: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)


def encode_cursor(purchased_at: datetime, order_id: int) -> str:
    """An opaque cursor for the keyset position after this order."""
    raw = json.dumps([purchased_at.isoformat(), order_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The keyset position in ``cursor``; a tampered cursor is a validation error."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, order_id = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(moment), int(order_id)
    except (ValueError, TypeError) as error:
        raise ValidationFailed("cursor", "is not a cursor returned by this API", cursor) from error


def _summary(row: Any, now: datetime) -> OrderSummary:
    late = (
        is_late(delivered_at=row.delivered_at, promised_at=row.promised_at)
        if row.delivered_at is not None and row.promised_at is not None
        else None
    )
    return OrderSummary(
        id=row.id, ref=row.ref, status=row.status, purchased_at=row.purchased_at,
        promised_at=row.promised_at, delivered_at=row.delivered_at, carrier_code=row.carrier_code,
        origin_region=row.origin_region, destination_region=row.destination_region,
        value_cents=row.value_cents, currency=row.currency, is_late=late,
        is_overdue=is_overdue(promised_at=row.promised_at, delivered_at=row.delivered_at, now=now),
    )


def _lateness_condition(lateness: str, now: datetime) -> Any:
    o = OrderRow
    conditions = {
        "late": o.delivered_at > o.promised_at,
        "on_time": o.delivered_at <= o.promised_at,
        "overdue": and_(o.delivered_at.is_(None), o.promised_at < now),
    }
    if lateness not in conditions:
        raise ValidationFailed("lateness", "must be one of late, on_time, overdue", lateness)
    return conditions[lateness]


def _apply_filter(query: Select[Any], flt: OrderFilter, now: datetime) -> Select[Any]:
    o = OrderRow
    if flt.status:
        query = query.where(o.status.in_(flt.status))
    if flt.lateness is not None:
        query = query.where(_lateness_condition(flt.lateness, now))
    if flt.attention is not None:
        if flt.stale_after is None:
            raise ValidationFailed("stale_after", "is needed by the attention filter")
        query = query.where(attention_condition(flt.attention, now=now, stale_after=flt.stale_after))
    if flt.carrier:
        query = query.where(o.carrier_code == flt.carrier)
    if flt.region:
        query = query.where(o.destination_region == flt.region)
    if flt.origin_region:
        query = query.where(o.origin_region == flt.origin_region)
    if flt.purchased_from:
        query = query.where(o.purchased_at >= flt.purchased_from)
    if flt.purchased_until:
        query = query.where(o.purchased_at < flt.purchased_until)
    if flt.supplier:
        query = query.where(
            exists(
                select(OrderLineRow.id)
                .join(SupplierRow, SupplierRow.id == OrderLineRow.supplier_id)
                .where(OrderLineRow.order_id == o.id, SupplierRow.ref == flt.supplier)
            )
        )
    if flt.search:
        term = flt.search.strip()
        query = query.where(
            or_(
                o.ref.startswith(term, autoescape=True),
                exists(
                    select(ShipmentRow.id).where(
                        ShipmentRow.order_id == o.id,
                        ShipmentRow.tracking_number.startswith(term, autoescape=True),
                    )
                ),
            )
        )
    return query


def _has_shipment(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(select(ShipmentRow.id).where(ShipmentRow.order_id == OrderRow.id, *conditions))


def attention_condition(kind: str, *, now: datetime, stale_after: timedelta) -> ColumnElement[bool]:
    """Which orders need attention, by ``kind`` — the one definition behind the overview counts.

    * ``overdue``: open, not delivered, and the promise has passed;
    * ``stalled``: open, with a parcel in the carrier's hands and no scan for ``stale_after``
      (the rule of ``domain.shipments.is_stale``, in SQL);
    * ``exception``: open, with a parcel in an exception status (``EXCEPTION_STATUSES``);
    * ``at_risk``: any of the three. Until the predictive detectors exist, "at risk" means
      "already going wrong"; they will widen it, here.
    * ``undeliverable``: the order's status says so, or an open order has a parcel lost, returned
      or refused. It overlaps ``exception`` on purpose: a lost parcel is both a carrier
      exception to chase and an order the customer will not receive.
    """
    is_open = OrderRow.status.in_(sorted(OPEN_ORDER_STATUSES))
    overdue = and_(is_open, OrderRow.delivered_at.is_(None), OrderRow.promised_at < now)
    moving = sorted(set(ShipmentStatus) - TERMINAL_STATUSES - {ShipmentStatus.created})
    stalled = and_(
        is_open, _has_shipment(ShipmentRow.status.in_(moving), ShipmentRow.last_scan_at < now - stale_after)
    )
    exception = and_(is_open, _has_shipment(ShipmentRow.status.in_(sorted(EXCEPTION_STATUSES))))
    conditions: dict[str, ColumnElement[bool]] = {
        "overdue": overdue,
        "stalled": stalled,
        "exception": exception,
        "at_risk": or_(overdue, stalled, exception),
        "undeliverable": or_(
            OrderRow.status == OrderStatus.undeliverable,
            and_(is_open, _has_shipment(ShipmentRow.status.in_(sorted(LOST_PARCEL_STATUSES)))),
        ),
    }
    if kind not in conditions:
        raise ValidationFailed("attention", f"must be one of {', '.join(ATTENTION_KINDS)}", kind)
    return conditions[kind]


def count_attention(session: Session, *, now: datetime, stale_after: timedelta) -> dict[str, int]:
    """How many orders match each of ``ATTENTION_KINDS``, in one pass over the candidate orders."""
    candidates = sorted(OPEN_ORDER_STATUSES | {OrderStatus.undeliverable})
    columns = [
        func.count(case((attention_condition(kind, now=now, stale_after=stale_after), 1))).label(kind)
        for kind in ATTENTION_KINDS
    ]
    # Every kind implies an open or undeliverable order, so the (indexed) status filter first
    # narrows 100k orders to the few thousand still in play.
    row = session.execute(select(*columns).where(OrderRow.status.in_(candidates))).one()
    return {kind: int(row._mapping[kind]) for kind in ATTENTION_KINDS}


def count_by_status(session: Session) -> dict[str, int]:
    """How many orders are in each status (statuses without orders are left out)."""
    query = select(OrderRow.status, func.count()).group_by(OrderRow.status)
    return {status: int(count) for status, count in session.execute(query)}


def find_latest_purchase(session: Session) -> datetime | None:
    """The newest purchase moment in the database, ``None`` when there are no orders."""
    return session.scalar(select(func.max(OrderRow.purchased_at)))


def find_purchase_span(
    session: Session, *, basis: MonthBasis, start: datetime, end: datetime
) -> tuple[datetime, datetime] | None:
    """The first and last purchase of the orders whose ``basis`` date lies in ``[start, end)``.

    Lets the overview load exactly the orders a promise- or delivery-month chart needs: an
    order delivered in the window may have been bought months before it starts.
    """
    column = {
        MonthBasis.purchase: OrderRow.purchased_at,
        MonthBasis.promise: OrderRow.promised_at,
        MonthBasis.delivery: OrderRow.delivered_at,
    }[basis]
    query = select(func.min(OrderRow.purchased_at), func.max(OrderRow.purchased_at)).where(
        column >= start, column < end
    )
    # min() and max() of no rows are NULL, which the row's static type does not say.
    first, last = tuple[datetime | None, datetime | None](session.execute(query).one())
    return None if first is None or last is None else (first, last)


def list_orders(
    session: Session, flt: OrderFilter, *, now: datetime, limit: int = 50, cursor: str | None = None
) -> OrderPage:
    """Orders matching ``flt``, newest purchase first, ``limit`` per page."""
    if not 1 <= limit <= 500:
        raise ValidationFailed("limit", "must be between 1 and 500", limit)
    query = _apply_filter(select(OrderRow.__table__), flt, now)
    if cursor:
        moment, order_id = decode_cursor(cursor)
        query = query.where(
            or_(OrderRow.purchased_at < moment, and_(OrderRow.purchased_at == moment, OrderRow.id < order_id))
        )
    query = query.order_by(OrderRow.purchased_at.desc(), OrderRow.id.desc()).limit(limit + 1)
    rows = session.execute(query).all()
    items = [_summary(row, now) for row in rows[:limit]]
    next_cursor = encode_cursor(items[-1].purchased_at, items[-1].id) if len(rows) > limit else None
    return OrderPage(items=items, next_cursor=next_cursor)


def count_orders(session: Session, flt: OrderFilter, *, now: datetime) -> int:
    """How many orders match ``flt`` (for list headers)."""
    query = _apply_filter(select(func.count()).select_from(OrderRow), flt, now)
    return int(session.scalar(query) or 0)


def get_order_detail(session: Session, ref: str, *, now: datetime) -> OrderDetail:
    """The order ``ref`` with customer, lines, shipments and its merged timeline."""
    row = session.execute(select(OrderRow.__table__).where(OrderRow.ref == ref)).first()
    if row is None:
        raise NotFound("order", ref)
    detail = OrderDetail(summary=_summary(row, now), customer=None)
    if row.customer_id is not None:
        customer = session.get(CustomerRow, row.customer_id)
        if customer is not None:
            detail.customer = {
                "ref": customer.ref, "name": customer.name, "email": customer.email,
                "phone": customer.phone, "language": customer.language, "city": customer.city,
                "region": customer.region, "zip_prefix": customer.zip_prefix,
                "country": customer.country, "address_line": customer.address_line,
            }
    detail.lines = [
        {
            "line_no": ln.line_no, "product_ref": pref, "category": category, "supplier_ref": sref,
            "quantity": ln.quantity, "unit_price_cents": ln.unit_price_cents,
            "freight_cents": ln.freight_cents, "dispatch_deadline": ln.dispatch_deadline,
        }
        for ln, pref, category, sref in session.execute(
            select(OrderLineRow, ProductRow.ref, ProductRow.category, SupplierRow.ref)
            .outerjoin(ProductRow, ProductRow.id == OrderLineRow.product_id)
            .outerjoin(SupplierRow, SupplierRow.id == OrderLineRow.supplier_id)
            .where(OrderLineRow.order_id == row.id)
            .order_by(OrderLineRow.line_no)
        )
    ]
    shipments = session.execute(
        select(ShipmentRow, CarrierRow.code, CarrierRow.tracking_url_template)
        .join(CarrierRow, CarrierRow.id == ShipmentRow.carrier_id)
        .where(ShipmentRow.order_id == row.id)
        .order_by(ShipmentRow.id)
    ).all()
    detail.shipments = [
        {
            "carrier": code, "tracking_number": s.tracking_number, "status": s.status,
            "origin_region": s.origin_region, "destination_region": s.destination_region,
            "handed_over_at": s.handed_over_at, "delivered_at": s.delivered_at,
            "last_scan_at": s.last_scan_at, "event_count": s.event_count,
            "tracking_url": template.format(tracking_number=s.tracking_number) if template else None,
        }
        for s, code, template in shipments
    ]
    payments = select(PaymentRow).where(PaymentRow.order_id == row.id).order_by(PaymentRow.sequence)
    detail.payments = [
        {"sequence": p.sequence, "method": p.method, "installments": p.installments,
         "value_cents": p.value_cents}
        for p in session.scalars(payments)
    ]
    detail.feedback = [
        {"score": f.score, "title": f.title, "comment": f.comment, "created_at": f.created_at,
         "source": f.source}
        for f in session.scalars(select(FeedbackRow).where(FeedbackRow.order_id == row.id))
    ]
    numbers = {s.id: (code, s.tracking_number) for s, code, _ in shipments}
    detail.timeline = _timeline(session, row.id, numbers)
    return detail


def _timeline(session: Session, order_id: int, shipments: dict[int, tuple[str, str]]) -> list[TimelineEntry]:
    entries = [
        TimelineEntry(occurred_at=e.occurred_at, kind="milestone", status=e.milestone, source=e.source)
        for e in session.scalars(select(OrderEventRow).where(OrderEventRow.order_id == order_id))
    ]
    if shipments:
        for e in session.scalars(
            select(TrackingEventRow).where(TrackingEventRow.shipment_id.in_(list(shipments)))
        ):
            carrier, number = shipments[e.shipment_id]
            entries.append(
                TimelineEntry(
                    occurred_at=e.occurred_at, kind="tracking", status=e.status, raw_code=e.raw_code,
                    raw_text=e.raw_text, location=e.location, source=e.source,
                    tracking_number=number, carrier_code=carrier,
                )
            )
    return sorted(entries, key=lambda entry: entry.occurred_at)


def list_rejected(
    session: Session, *, source: str | None = None, kind: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The most recent rejected inputs, newest first."""
    query = select(RejectedItemRow).order_by(RejectedItemRow.id.desc()).limit(limit)
    if source:
        query = query.where(RejectedItemRow.source == source)
    if kind:
        query = query.where(RejectedItemRow.kind == kind)
    return [
        {"id": r.id, "source": r.source, "kind": r.kind, "reference": r.reference, "reason": r.reason,
         "payload": r.payload, "received_at": r.received_at}
        for r in session.scalars(query)
    ]
