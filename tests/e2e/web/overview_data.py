"""A crafted shop for the overview tests: every KPI of every month is known in advance.

The clock stands at 2018-03-01 12:00 UTC (09:00 in the shop's São Paulo time). Times are 15:00
UTC (noon in the shop) unless a test needs a calendar-day edge.

* 2017-12, lane SP→RJ, supplier sup-a — five orders: late by two days (score 1), late by five
  hours on the promised day (score 4), on time (score 5), on time but delivered on 2 January
  (no rating), still in transit (no rating). Delay 2/4 = 50 %, by calendar day 1/4 = 25 %;
  satisfaction 2/3, response rate 3/5.
* 2018-01 — two orders in transit, none delivered, none rated: delay "no data", response 0 %.
* 2018-02 — SP→MG/sup-b: 20 delivered, 5 late (25 %); SP→RJ/sup-a: 21 delivered, 3 late
  (14.3 %); SP→BA/sup-c: 5 delivered, all late (100 %, but under the 20-order minimum).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from orderwatch.bootstrap import App
from orderwatch.domain.commands import (
    CustomerData,
    OrderLineData,
    RecordFeedback,
    RecordTrackingEvent,
    UpsertOrder,
    UpsertShipment,
)
from orderwatch.domain.shipments import ShipmentStatus
from orderwatch.services.ingest import ingest_events, ingest_orders, ingest_shipments, summarize
from orderwatch.services.master_data import import_feedback


def at(year: int, month: int, day: int, hour: int = 15) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


@dataclass(frozen=True)
class Spec:
    """One order of the crafted shop and what happened to it."""

    ref: str
    purchased: datetime
    promised: datetime
    delivered: datetime | None = None
    score: int | None = None
    region: str = "RJ"
    supplier: str = "sup-a"
    last_status: ShipmentStatus = ShipmentStatus.in_transit
    last_scan: datetime | None = None  # default: a day after purchase


def seed(app: App, specs: list[Spec]) -> None:
    """Ingest ``specs`` through the normal services (orders, shipments, scans, ratings)."""
    orders = [
        UpsertOrder(
            ref=s.ref, purchased_at=s.purchased, promised_at=s.promised,
            customer=CustomerData(ref=f"cust-{s.ref}", language="pt_BR", region=s.region),
            lines=(OrderLineData(line_no=1, product_ref="prod-1", supplier_ref=s.supplier,
                                 unit_price_cents=5_000),),
        )
        for s in specs
    ]
    shipments = [
        UpsertShipment(order_ref=s.ref, carrier_code="correios", tracking_number=f"TRK-{s.ref}",
                       origin_region="SP", destination_region=s.region)
        for s in specs
    ]
    events: list[RecordTrackingEvent] = []
    for s in specs:
        number = f"TRK-{s.ref}"
        events.append(RecordTrackingEvent(carrier_code="correios", tracking_number=number,
                                          status=ShipmentStatus.picked_up,
                                          occurred_at=s.purchased + timedelta(hours=6)))
        if s.delivered is not None:
            events.append(RecordTrackingEvent(carrier_code="correios", tracking_number=number,
                                              status=ShipmentStatus.delivered, occurred_at=s.delivered))
        else:
            events.append(RecordTrackingEvent(carrier_code="correios", tracking_number=number,
                                              status=s.last_status,
                                              occurred_at=s.last_scan or s.purchased + timedelta(days=1)))
    assert summarize(ingest_orders(app.uow(), orders, clock=app.clock))["accepted"] == len(orders)
    assert summarize(ingest_shipments(app.uow(), shipments, clock=app.clock))["accepted"] == len(shipments)
    assert summarize(ingest_events(app.uow(), events, clock=app.clock))["accepted"] == len(events)
    ratings = [RecordFeedback(ref=f"rv-{s.ref}", order_ref=s.ref, score=s.score) for s in specs
               if s.score is not None]
    if ratings:
        outcomes = import_feedback(app.uow(), ratings, clock=app.clock, source="test")
        assert summarize(outcomes)["accepted"] == len(ratings)


def _february(prefix: str, *, count: int, late: int, region: str, supplier: str) -> list[Spec]:
    specs = []
    for n in range(count):
        purchased = at(2018, 2, 1 + n % 20)
        promised = purchased + timedelta(days=5)
        delivered = promised + (timedelta(days=2) if n < late else -timedelta(days=1))
        specs.append(Spec(f"{prefix}-{n:02d}", purchased, promised, delivered, score=5 if n >= late else 2,
                          region=region, supplier=supplier))
    return specs


DECEMBER = [
    Spec("dec-late", at(2017, 12, 5), at(2017, 12, 10), at(2017, 12, 12), score=1),
    Spec("dec-late-same-day", at(2017, 12, 6), at(2017, 12, 15), at(2017, 12, 15, hour=20), score=4),
    Spec("dec-on-time", at(2017, 12, 7), at(2017, 12, 14), at(2017, 12, 13), score=5),
    Spec("dec-on-time-january", at(2017, 12, 20), at(2018, 1, 5), at(2018, 1, 2)),
    # In transit since December, last scanned in mid-February: not stalled (scan < 120 h ago).
    Spec("dec-open", at(2017, 12, 28), at(2018, 3, 20), last_scan=at(2018, 2, 27)),
]
JANUARY = [
    Spec("jan-open-1", at(2018, 1, 10), at(2018, 3, 25), last_scan=at(2018, 2, 28)),
    Spec("jan-open-2", at(2018, 1, 11), at(2018, 3, 25), last_scan=at(2018, 2, 28)),
]
FEBRUARY_MG = _february("feb-mg", count=20, late=5, region="MG", supplier="sup-b")
FEBRUARY_RJ = _february("feb-rj", count=21, late=3, region="RJ", supplier="sup-a")
FEBRUARY_BA = _february("feb-ba", count=5, late=5, region="BA", supplier="sup-c")
SHOP = DECEMBER + JANUARY + FEBRUARY_MG + FEBRUARY_RJ + FEBRUARY_BA
