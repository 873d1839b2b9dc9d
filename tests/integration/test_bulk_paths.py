"""The bulk paths of ingestion give the same stored result as the plain ones (D1, issue 2 speed).

* ``ingest_history`` (one transaction, one derivation per chunk) stores exactly what
  ``ingest_orders`` + ``ingest_shipments`` + ``ingest_events`` store;
* the SQLite driver path of ``adapters/db/bulk.py`` writes the same text SQLAlchemy writes and
  refuses naive datetimes as ``UtcDateTime`` does;
* ``dialect.matching`` finds every value of a long list with one parameter.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import bindparam, select, text, update

from orderwatch.adapters.db.bulk import insert_many_count, run_many
from orderwatch.adapters.db.dialect import matching
from orderwatch.adapters.db.tables import (
    OrderRow,
    OutboxRow,
    RejectedItemRow,
    ShipmentRow,
    TrackingEventRow,
    table_of,
)
from orderwatch.bootstrap import App
from orderwatch.domain.commands import RecordTrackingEvent, UpsertOrder, UpsertShipment
from orderwatch.domain.shipments import ShipmentStatus
from orderwatch.services.ingest import ingest_events, ingest_history, ingest_orders, ingest_shipments
from tests.conftest import START
from tests.factories import make_event, make_order, make_shipment

Snapshot = dict[str, list[tuple[Any, ...]]]


def _history() -> tuple[list[UpsertOrder], list[UpsertShipment], list[RecordTrackingEvent]]:
    orders, shipments, events = [], [], []
    for n in range(12):
        bought = START - timedelta(days=20 - n)
        order = make_order(ref=f"H-{n:03d}", purchased_at=bought, customer_ref=f"HC-{n:03d}")
        orders.append(order)
        if n % 4 == 3:  # some orders never leave
            continue
        shipment = make_shipment(order_ref=order.ref, tracking=f"HT-{n:03d}")
        shipments.append(shipment)
        steps = [ShipmentStatus.picked_up, ShipmentStatus.in_transit, ShipmentStatus.delivered][: 1 + n % 3]
        for day, status in enumerate(steps):
            events.append(make_event(tracking=shipment.tracking_number, status=status,
                                     at=bought + timedelta(days=1 + day * 3)))
    events.append(events[0])  # a duplicate in the same chunk
    events.append(make_event(tracking="HT-unknown", status=ShipmentStatus.in_transit, at=START))
    # an order the validation refuses (a purchase time without its zone)
    naive = START.replace(tzinfo=None)
    orders.append(dataclasses.replace(make_order(ref="H-bad", purchased_at=START), purchased_at=naive))
    return orders, shipments, events


def _snapshot(app: App) -> Snapshot:
    with app.session_factory() as session:
        return {
            "orders": sorted(
                session.execute(select(OrderRow.ref, OrderRow.status, OrderRow.handed_over_at,
                                       OrderRow.delivered_at)).all()
            ),
            "shipments": sorted(
                session.execute(select(ShipmentRow.tracking_number, ShipmentRow.status,
                                       ShipmentRow.status_at, ShipmentRow.last_scan_at,
                                       ShipmentRow.delivered_at, ShipmentRow.event_count)).all()
            ),
            "events": sorted(session.execute(select(TrackingEventRow.fingerprint, TrackingEventRow.status,
                                                    TrackingEventRow.occurred_at)).all()),
            # ids differ between runs on PostgreSQL (sequences go on): compare what the rows say
            "outbox": sorted(
                (topic, payload.get("previous"), payload["status"])
                for topic, payload in session.execute(select(OutboxRow.topic, OutboxRow.payload))
            ),
            "rejects": sorted(session.execute(select(RejectedItemRow.kind, RejectedItemRow.reason)).all()),
        }


def test_history_in_one_transaction_stores_what_three_calls_store(app: App) -> None:
    orders, shipments, events = _history()

    outcome = ingest_history(app.uow(), orders, shipments, events, clock=app.clock)
    in_one = _snapshot(app)

    assert [o.result for o in outcome.shipments] == ["accepted"] * len(shipments)
    assert [o.result for o in outcome.events].count("duplicate") == 1
    assert [o.result for o in outcome.events][-1] == "rejected"
    assert len(outcome.orders) == len(orders)
    # the same commands again, as three separate calls, on a fresh schema
    with app.engine.begin() as connection:
        for table in ("outbox", "rejected_items", "tracking_events", "shipments", "order_events",
                      "order_lines", "orders", "customers"):
            connection.execute(text(f"delete from {table}"))
    ingest_orders(app.uow(), orders, clock=app.clock)
    ingest_shipments(app.uow(), shipments, clock=app.clock)
    ingest_events(app.uow(), events, clock=app.clock)

    assert _snapshot(app) == in_one
    assert {status for _, status, *_ in in_one["orders"]} >= {"placed", "shipped", "delivered"}


def test_history_twice_changes_nothing(app: App) -> None:
    orders, shipments, events = _history()
    ingest_history(app.uow(), orders, shipments, events, clock=app.clock)
    before = _snapshot(app)

    again = ingest_history(app.uow(), orders, shipments, events, clock=app.clock)

    after = _snapshot(app)
    assert after["orders"] == before["orders"]
    assert after["shipments"] == before["shipments"]
    assert after["events"] == before["events"]
    assert after["outbox"] == before["outbox"]
    assert "accepted" not in {o.result for o in again.events}


def _stored_times(app: App, write: Callable[[Any, list[dict[str, Any]]], None]) -> list[tuple[Any, ...]]:
    table = table_of(OutboxRow)
    at = datetime(2018, 3, 1, 9, 30, 15, 250, tzinfo=UTC)
    rows = [
        {"topic": "t", "idempotency_key": f"k{n}", "payload": {"n": n, "text": "çã"}, "status": "pending",
         "attempts": 0, "next_attempt_at": at + timedelta(seconds=n), "created_at": at}
        for n in range(3)
    ]
    with app.session_factory() as session:
        write(session, rows)
        session.commit()
        raw = session.execute(
            text("select idempotency_key, next_attempt_at, created_at, payload from outbox order by id")
        ).all()
        session.execute(table.delete())
        session.commit()
    return [tuple(r) for r in raw]


def test_sqlite_driver_path_writes_what_sqlalchemy_writes(app: App) -> None:
    table = table_of(OutboxRow)

    def plain(session: Any, rows: list[dict[str, Any]]) -> None:
        session.execute(table.insert(), rows)

    def bulk(session: Any, rows: list[dict[str, Any]]) -> None:
        assert insert_many_count(session, table, rows) == 3

    assert _stored_times(app, bulk) == _stored_times(app, plain)


def test_bulk_path_refuses_naive_datetimes(app: App) -> None:
    table = table_of(OutboxRow)
    row = {"topic": "t", "idempotency_key": "naive", "payload": {}, "status": "pending", "attempts": 0,
           "next_attempt_at": START.replace(tzinfo=None), "created_at": START}
    with app.session_factory() as session, pytest.raises(Exception, match="naive datetime"):
        run_many(session, table.insert(), [row])


def test_one_instant_in_any_zone_is_stored_as_the_same_utc_text(app: App) -> None:
    # The SQLite path formats each instant once and reuses the text: an equal instant given in
    # another zone must still be stored as UTC, and a naive copy must still be refused.
    table = table_of(OutboxRow)
    at = datetime(2018, 3, 1, 9, 30, 15, 250, tzinfo=UTC)
    local = at.astimezone(ZoneInfo("America/Sao_Paulo"))
    rows = [
        {"topic": "t", "idempotency_key": f"zone-{n}", "payload": {}, "status": "pending",
         "attempts": 0, "next_attempt_at": moment, "created_at": moment}
        for n, moment in enumerate([at, local, local + timedelta(microseconds=1)])
    ]
    with app.session_factory() as session:
        run_many(session, table.insert(), rows)
        stored = session.execute(
            select(table.c.next_attempt_at).where(table.c.idempotency_key.like("zone-%")).order_by(table.c.id)
        ).scalars().all()
    assert stored == [at, at, at + timedelta(microseconds=1)]
    naive = {**rows[0], "idempotency_key": "zone-naive", "next_attempt_at": at.replace(tzinfo=None)}
    with app.session_factory() as session, pytest.raises(Exception, match="naive datetime"):
        run_many(session, table.insert(), [naive])


def test_a_cached_statement_uses_each_statements_own_literal_values(app: App) -> None:
    # The compiled form is reused for statements of the same shape; their literal values differ.
    table = table_of(OutboxRow)
    rows = [{"topic": "t", "idempotency_key": f"lit-{n}", "payload": {}, "status": "pending",
             "attempts": 0, "next_attempt_at": START, "created_at": START} for n in range(3)]
    with app.session_factory() as session:
        run_many(session, table.insert(), rows)
        for n, status in enumerate(["sent", "dead", "pending-again"]):
            statement = update(table).where(table.c.idempotency_key == bindparam("key")).values(status=status)
            assert run_many(session, statement, [{"key": f"lit-{n}"}]) == 1
        stored = {k: v for k, v in session.execute(select(table.c.idempotency_key, table.c.status))}
    assert stored == {"lit-0": "sent", "lit-1": "dead", "lit-2": "pending-again"}


def test_matching_finds_every_value_of_a_long_list(app: App) -> None:
    orders = [make_order(ref=f"M-{n:05d}", purchased_at=START) for n in range(1_500)]
    ingest_orders(app.uow(), orders, clock=app.clock)
    wanted = {f"M-{n:05d}" for n in range(0, 1_500, 3)} | {"M-missing"}

    with app.session_factory() as session:
        (clause,) = list(matching(session, OrderRow.ref, sorted(wanted)))
        found = set(session.scalars(select(OrderRow.ref).where(clause)))

    assert found == wanted - {"M-missing"}
