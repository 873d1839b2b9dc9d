"""Ingestion commands (D1): what every source (API, webhook, CSV, Olist) is turned into.

They are plain frozen dataclasses, built at the boundary after validation, so that one
ingestion service handles every way data comes in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from orderwatch.domain.orders import OrderMilestone
from orderwatch.domain.shipments import ShipmentStatus


@dataclass(frozen=True, slots=True)
class CustomerData:
    """A customer as the shop knows them; ``person_ref`` links several per-order customer ids."""

    ref: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str = "en"
    person_ref: str | None = None
    zip_prefix: str | None = None
    city: str | None = None
    region: str | None = None
    country: str = "BR"
    address_line: str | None = None


@dataclass(frozen=True, slots=True)
class OrderLineData:
    """One order line; ``dispatch_deadline`` is the supplier's deadline to hand over (D8)."""

    line_no: int
    product_ref: str | None
    supplier_ref: str | None
    quantity: int = 1
    unit_price_cents: int = 0
    freight_cents: int = 0
    dispatch_deadline: datetime | None = None


@dataclass(frozen=True, slots=True)
class UpsertOrder:
    """Create an order or update the fields given (absent fields keep their stored value)."""

    ref: str
    purchased_at: datetime
    promised_at: datetime | None = None
    currency: str = "BRL"
    customer: CustomerData | None = None
    lines: tuple[OrderLineData, ...] = ()
    milestones: tuple[tuple[OrderMilestone, datetime], ...] = ()
    source: str = "api"


@dataclass(frozen=True, slots=True)
class UpsertShipment:
    """Create or update a shipment of an order; (carrier, tracking number) identify it."""

    order_ref: str
    carrier_code: str
    tracking_number: str
    origin_region: str | None = None
    destination_region: str | None = None
    promised_at: datetime | None = None
    source: str = "api"


@dataclass(frozen=True, slots=True)
class RecordTrackingEvent:
    """One carrier scan, normalized; the raw code and text are kept as received (ANCHORS §2.1)."""

    carrier_code: str
    tracking_number: str
    status: ShipmentStatus
    occurred_at: datetime
    raw_code: str | None = None
    raw_text: str | None = None
    location: str | None = None
    source: str = "api"
    order_ref: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EventOutcome:
    """Per-item result of event ingestion: accepted, duplicate, or rejected with a reason."""

    index: int
    result: str
    reason: str | None = None
    shipment_status: ShipmentStatus | None = None


@dataclass(frozen=True, slots=True)
class RecordMilestone:
    """An order-level milestone (approved, invoiced, canceled ...) at a moment."""

    order_ref: str
    milestone: OrderMilestone
    occurred_at: datetime
    source: str = "api"


@dataclass(frozen=True, slots=True)
class RecordFeedback:
    """A customer's rating (1–5) of an order (D6); (ref, order_ref) identify it (Olist reuses ids)."""

    ref: str
    order_ref: str
    score: int
    title: str | None = None
    comment: str | None = None
    created_at: datetime | None = None
    answered_at: datetime | None = None
    source: str = "api"


@dataclass(frozen=True, slots=True)
class RecordPayment:
    """One payment of an order; (order_ref, sequence) identify it."""

    order_ref: str
    sequence: int
    method: str
    installments: int
    value_cents: int


Command = (
    UpsertOrder | UpsertShipment | RecordTrackingEvent | RecordMilestone | RecordFeedback | RecordPayment
)


@dataclass(frozen=True, slots=True)
class TimedCommand:
    """A command and the moment it happened, for replaying a history in simulated time."""

    at: datetime
    command: Command
