"""Builders for test data with keyword defaults and unique references."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from orderwatch.domain.commands import (
    CustomerData,
    OrderLineData,
    RecordTrackingEvent,
    UpsertOrder,
    UpsertShipment,
)
from orderwatch.domain.shipments import ShipmentStatus

_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_counter):06d}"


def make_order(
    *,
    ref: str | None = None,
    purchased_at: datetime,
    promised_days: int | None = 10,
    customer_ref: str | None = None,
    lines: int = 1,
    supplier_ref: str = "supplier-1",
    language: str = "pt_BR",
) -> UpsertOrder:
    return UpsertOrder(
        ref=ref or unique("order"),
        purchased_at=purchased_at,
        promised_at=purchased_at + timedelta(days=promised_days) if promised_days is not None else None,
        customer=CustomerData(
            ref=customer_ref or unique("customer"), email="ana@example.com", language=language,
            region="SP", city="sao paulo", zip_prefix="01310",
        ),
        lines=tuple(
            OrderLineData(
                line_no=n + 1, product_ref=f"product-{n + 1}", supplier_ref=supplier_ref,
                unit_price_cents=5_000, freight_cents=1_000,
                dispatch_deadline=purchased_at + timedelta(days=2),
            )
            for n in range(lines)
        ),
    )


def make_shipment(
    *, order_ref: str, carrier: str = "correios", tracking: str | None = None
) -> UpsertShipment:
    return UpsertShipment(
        order_ref=order_ref, carrier_code=carrier, tracking_number=tracking or unique("TRK"),
        origin_region="SP", destination_region="RJ",
    )


def make_event(
    *,
    tracking: str,
    status: ShipmentStatus,
    at: datetime,
    carrier: str = "correios",
    raw_code: str | None = None,
    location: str | None = None,
) -> RecordTrackingEvent:
    return RecordTrackingEvent(
        carrier_code=carrier, tracking_number=tracking, status=status, occurred_at=at,
        raw_code=raw_code or status.value, location=location,
    )
