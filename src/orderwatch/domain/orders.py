"""Orders (D1, D14): order milestones, the derived order status and the lateness rules.

An order's status comes from its own milestones (placed, approved, invoiced, canceled ...) and
from the states of its shipments. Lateness follows the definition used everywhere in OrderWatch:
an order is *late* when it is delivered after the promised moment (timestamp comparison);
the calendar-day view (delivered on a later day than promised) is offered beside it because
shops quote both (Olist: 8.11 % by timestamp, 6.77 % by calendar day).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from orderwatch.domain.shipments import (
    UNDELIVERABLE_STATUSES,
    ShipmentState,
    ShipmentStatus,
)


class OrderMilestone(StrEnum):
    """Order-level events that are not parcel scans (the shop's own lifecycle)."""

    placed = "placed"
    approved = "approved"
    invoiced = "invoiced"
    processing = "processing"
    canceled = "canceled"
    unavailable = "unavailable"


class OrderStatus(StrEnum):
    """Derived status of an order, shown in lists and filters."""

    placed = "placed"
    approved = "approved"
    invoiced = "invoiced"
    processing = "processing"
    shipped = "shipped"
    partially_delivered = "partially_delivered"
    delivered = "delivered"
    undeliverable = "undeliverable"
    canceled = "canceled"
    unavailable = "unavailable"


OPEN_ORDER_STATUSES = frozenset(
    {
        OrderStatus.placed,
        OrderStatus.approved,
        OrderStatus.invoiced,
        OrderStatus.processing,
        OrderStatus.shipped,
        OrderStatus.partially_delivered,
    }
)

_MILESTONE_STATUS = {
    OrderMilestone.placed: OrderStatus.placed,
    OrderMilestone.approved: OrderStatus.approved,
    OrderMilestone.invoiced: OrderStatus.invoiced,
    OrderMilestone.processing: OrderStatus.processing,
}
_MILESTONE_RANK = {m: i for i, m in enumerate(_MILESTONE_STATUS)}


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What is known about an order when its status is derived."""

    milestones: frozenset[OrderMilestone]
    shipments: Sequence[ShipmentState]


def derive_order_status(facts: OrderFacts) -> OrderStatus:
    """The order status from its milestones and shipments.

    The shop's cancellation is authoritative, even when a parcel still arrived (Olist has six
    canceled orders with a delivery date: the sale was undone, so the order is not "delivered"
    in the delay statistics either).
    """
    if OrderMilestone.canceled in facts.milestones:
        return OrderStatus.canceled
    if OrderMilestone.unavailable in facts.milestones:
        return OrderStatus.unavailable
    delivered = [s for s in facts.shipments if s.delivered_at is not None]
    if facts.shipments and len(delivered) == len(facts.shipments):
        return OrderStatus.delivered
    if delivered:
        return OrderStatus.partially_delivered
    if facts.shipments and all(s.status in UNDELIVERABLE_STATUSES for s in facts.shipments):
        return OrderStatus.undeliverable
    if any(s.handed_over_at is not None for s in facts.shipments):
        return OrderStatus.shipped
    reached = [m for m in facts.milestones if m in _MILESTONE_RANK]
    if not reached:
        return OrderStatus.placed
    return _MILESTONE_STATUS[max(reached, key=_MILESTONE_RANK.__getitem__)]


def order_delivered_at(shipments: Sequence[ShipmentState]) -> datetime | None:
    """When the customer had everything: the last shipment's delivery, if all were delivered."""
    moments = [s.delivered_at for s in shipments]
    if not moments or any(m is None for m in moments):
        return None
    return max(m for m in moments if m is not None)


def is_late(*, delivered_at: datetime, promised_at: datetime) -> bool:
    """Delivered after the promised moment (timestamp comparison, the default definition)."""
    return delivered_at > promised_at


def is_late_by_calendar_day(*, delivered_at: datetime, promised_at: datetime) -> bool:
    """Delivered on a later calendar day than promised (both taken in the shop's local time)."""
    return delivered_at.date() > promised_at.date()


def is_overdue(*, promised_at: datetime | None, delivered_at: datetime | None, now: datetime) -> bool:
    """Not delivered and the promise has passed: the order is late already (D2)."""
    return promised_at is not None and delivered_at is None and now > promised_at


def last_shipment_status(shipments: Sequence[ShipmentState]) -> ShipmentStatus | None:
    """The status of the shipment that moved last, for one-line summaries."""
    moved = [s for s in shipments if s.status_at is not None]
    if not moved:
        return None
    return max(moved, key=lambda s: (s.status_at, s.status_precedence)).status
