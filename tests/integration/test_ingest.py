"""The ingestion service against real SQLite and PostgreSQL (D1)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from orderwatch.adapters.db.tables import (
    OrderRow,
    OutboxRow,
    RejectedItemRow,
    ShipmentRow,
    TrackingEventRow,
)
from orderwatch.bootstrap import App
from orderwatch.domain.orders import OrderStatus
from orderwatch.domain.shipments import ShipmentStatus
from orderwatch.services.ingest import ingest_events, ingest_orders, ingest_shipments, summarize
from tests.conftest import START
from tests.factories import make_event, make_order, make_shipment


def _count(app: App, table: type) -> int:
    with app.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def _seed(app: App) -> tuple[str, str]:
    order = make_order(purchased_at=START - timedelta(days=3))
    shipment = make_shipment(order_ref=order.ref)
    assert summarize(ingest_orders(app.uow(), [order], clock=app.clock))["accepted"] == 1
    assert summarize(ingest_shipments(app.uow(), [shipment], clock=app.clock))["accepted"] == 1
    return order.ref, shipment.tracking_number


def test_events_derive_status_by_event_time_not_arrival(app: App) -> None:
    order_ref, tracking = _seed(app)
    t0 = START - timedelta(days=2)
    delivered = make_event(tracking=tracking, status=ShipmentStatus.delivered, at=t0 + timedelta(days=2))
    picked = make_event(tracking=tracking, status=ShipmentStatus.picked_up, at=t0)
    transit = make_event(tracking=tracking, status=ShipmentStatus.in_transit, at=t0 + timedelta(days=1))

    first = ingest_events(app.uow(), [delivered], clock=app.clock)
    late = ingest_events(app.uow(), [picked, transit], clock=app.clock)

    assert [o.result for o in first + late] == ["accepted", "accepted", "accepted"]
    assert [o.shipment_status for o in late] == [ShipmentStatus.delivered, ShipmentStatus.delivered]
    with app.session_factory() as session:
        shipment = session.scalars(select(ShipmentRow)).one()
        order = session.scalars(select(OrderRow).where(OrderRow.ref == order_ref)).one()
    assert shipment.status == "delivered"
    assert shipment.handed_over_at == t0
    assert shipment.delivered_at == t0 + timedelta(days=2)
    assert shipment.event_count == 3
    assert order.status == OrderStatus.delivered.value
    assert order.delivered_at == t0 + timedelta(days=2)


def test_same_event_twice_is_stored_once(app: App) -> None:
    _, tracking = _seed(app)
    event = make_event(tracking=tracking, status=ShipmentStatus.in_transit, at=START - timedelta(hours=5))

    batch = ingest_events(app.uow(), [event, event], clock=app.clock)
    again = ingest_events(app.uow(), [event], clock=app.clock)

    assert [(o.result, o.reason) for o in batch] == [
        ("accepted", None),
        ("duplicate", "same event earlier in this batch"),
    ]
    assert [o.result for o in again] == ["duplicate"]
    assert _count(app, TrackingEventRow) == 1


def test_bad_event_is_rejected_and_the_rest_is_kept(app: App) -> None:
    _, tracking = _seed(app)
    good = make_event(tracking=tracking, status=ShipmentStatus.in_transit, at=START - timedelta(hours=5))
    unknown = make_event(tracking="NOPE", status=ShipmentStatus.in_transit, at=START - timedelta(hours=5))
    future = make_event(tracking=tracking, status=ShipmentStatus.delivered, at=START + timedelta(days=3))

    outcomes = ingest_events(app.uow(), [good, unknown, future], clock=app.clock)

    assert [o.result for o in outcomes] == ["accepted", "rejected", "rejected"]
    assert outcomes[1].reason == "tracking_number: no shipment 'NOPE' for carrier 'correios'"
    assert outcomes[2].reason == (
        "occurred_at: is more than 1 day, 2:00:00 in the future (got '2018-03-04T12:00:00+00:00')"
    )
    assert _count(app, TrackingEventRow) == 1
    assert _count(app, RejectedItemRow) == 2


def test_status_changes_write_outbox_rows_once(app: App) -> None:
    _, tracking = _seed(app)
    event = make_event(tracking=tracking, status=ShipmentStatus.picked_up, at=START - timedelta(hours=5))
    with app.session_factory() as session:
        before = session.scalars(select(OutboxRow.topic)).all()

    ingest_events(app.uow(), [event], clock=app.clock)
    ingest_events(app.uow(), [event], clock=app.clock)

    with app.session_factory() as session:
        topics = session.scalars(select(OutboxRow.topic).order_by(OutboxRow.id)).all()
    assert topics[len(before) :] == ["shipment.status_changed", "order.status_changed"]


def test_order_update_keeps_fields_that_are_not_given(app: App) -> None:
    order = make_order(purchased_at=START - timedelta(days=3))
    ingest_orders(app.uow(), [order], clock=app.clock)
    bare = type(order)(ref=order.ref, purchased_at=order.purchased_at)

    outcomes = ingest_orders(app.uow(), [bare], clock=app.clock)

    assert [o.result for o in outcomes] == ["accepted"]
    with app.session_factory() as session:
        row = session.scalars(select(OrderRow)).one()
    assert row.promised_at == order.promised_at
    assert row.value_cents == 6_000
    assert row.customer_id is not None


def test_concurrent_writers_to_one_shipment_lose_no_event(app: App) -> None:
    from concurrent.futures import ThreadPoolExecutor

    _, tracking = _seed(app)
    base = START - timedelta(days=1)
    batches = [
        [
            make_event(
                tracking=tracking, status=ShipmentStatus.in_transit, at=base + timedelta(minutes=w * 100 + i)
            )
            for i in range(20)
        ]
        for w in range(4)
    ]
    last = max(e.occurred_at for batch in batches for e in batch)

    def post(batch: list) -> None:  # type: ignore[type-arg]
        for event in batch:
            ingest_events(app.uow(), [event], clock=app.clock)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(post, batches))

    with app.session_factory() as session:
        shipment = session.scalars(select(ShipmentRow)).one()
    assert shipment.event_count == 80
    assert shipment.last_scan_at == last
    assert _count(app, TrackingEventRow) == 80
