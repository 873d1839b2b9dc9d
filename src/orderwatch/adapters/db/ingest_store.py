"""SQL implementation of the ingestion port (``services.ports.IngestStore``).

Written with SQLAlchemy Core in batches: the same code serves one webhook event and a chunk of
the Olist import, so every method takes and returns collections and issues a fixed number of
statements per call, whatever the batch size.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, case, delete, func, select, true, update
from sqlalchemy.orm import Session

from orderwatch.adapters.db.bulk import insert_many, insert_many_count, is_postgresql, update_many
from orderwatch.adapters.db.dialect import chunks, insert_for, matching
from orderwatch.adapters.db.locking import lock_rows
from orderwatch.adapters.db.tables import (
    CarrierRow,
    CustomerRow,
    OrderEventRow,
    OrderLineRow,
    OrderRow,
    ProductRow,
    ShipmentRow,
    SupplierRow,
    TrackingEventRow,
    table_of,
)
from orderwatch.domain.commands import CustomerData, UpsertOrder, UpsertShipment
from orderwatch.domain.orders import OrderMilestone, OrderStatus
from orderwatch.domain.shipments import ShipmentState, ShipmentStatus
from orderwatch.domain.types import Language
from orderwatch.services.ports import NewEvent, OrderRecord, ShipmentRecord

_REF_TABLES: dict[str, tuple[Table, str]] = {
    "supplier": (table_of(SupplierRow), "ref"),
    "product": (table_of(ProductRow), "ref"),
    "carrier": (table_of(CarrierRow), "code"),
}
_MILESTONE_COLUMNS = {
    OrderMilestone.approved: "approved_at",
    OrderMilestone.invoiced: "invoiced_at",
    OrderMilestone.processing: "processing_at",
    OrderMilestone.canceled: "canceled_at",
    OrderMilestone.unavailable: "unavailable_at",
}
_STATE_COLUMNS = (
    "status_at",
    "status_precedence",
    "last_scan_at",
    "handed_over_at",
    "first_attempt_at",
    "delivered_at",
    "event_count",
)


def _ids_by(session: Session, column: Any, key_column: Any, keys: Iterable[Any]) -> dict[Any, int]:
    keys = list(keys)
    found: dict[Any, int] = {}
    for clause in matching(session, key_column, keys):
        rows = session.execute(select(key_column, column).where(clause))
        found.update((k, i) for k, i in rows)
    return found


def _order_columns(orders: Table) -> list[Any]:
    """What order-status derivation reads of an order; milestones only as "reached or not"."""
    names = ("id", "ref", "status", "delivered_at", "handed_over_at")
    columns: list[Any] = [orders.c[name] for name in names]
    return columns + [orders.c[name].is_not(None).label(name) for name in _MILESTONE_COLUMNS.values()]


def _order_of(row: Any, prefix: str = "") -> OrderRecord:
    values = row._mapping
    milestones = frozenset(
        {OrderMilestone.placed}
        | {m for m, column in _MILESTONE_COLUMNS.items() if values[prefix + column]}
    )
    return OrderRecord(
        id=values[prefix + "id"],
        ref=values[prefix + "ref"],
        status=OrderStatus(values[prefix + "status"]),
        milestones=milestones,
        delivered_at=values[prefix + "delivered_at"],
        handed_over_at=values[prefix + "handed_over_at"],
    )


def _state_of(row: Any) -> ShipmentState:
    return ShipmentState(
        status=ShipmentStatus(row.status),
        status_at=row.status_at,
        status_precedence=row.status_precedence,
        last_scan_at=row.last_scan_at,
        handed_over_at=row.handed_over_at,
        first_attempt_at=row.first_attempt_at,
        delivered_at=row.delivered_at,
        event_count=row.event_count,
    )


class SqlIngestStore:
    """Batch reads and writes for ``services.ingest`` inside the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -------------------------------------------------------------- master data

    def upsert_customers(self, customers: Sequence[CustomerData]) -> dict[str, int]:
        if not customers:
            return {}
        latest = {c.ref: c for c in customers}
        rows = [
            {
                "ref": c.ref,
                "person_ref": c.person_ref,
                "name": c.name,
                "email": c.email,
                "phone": c.phone,
                "language": Language.parse(c.language).value,
                "zip_prefix": c.zip_prefix,
                "city": c.city,
                "region": c.region,
                "country": c.country,
                "address_line": c.address_line,
            }
            for c in latest.values()
        ]
        insert_many(
            self.session,
            table_of(CustomerRow),
            rows,
            finish=lambda statement: statement.on_conflict_do_update(
                index_elements=["ref"], set_={k: statement.excluded[k] for k in rows[0] if k != "ref"}
            ),
        )
        return _ids_by(self.session, CustomerRow.id, CustomerRow.ref, latest)

    def ensure_refs(self, kind: str, refs: Iterable[str]) -> dict[str, int]:
        table, key = _REF_TABLES[kind]
        refs = sorted(set(refs))
        if not refs:
            return {}
        found = _ids_by(self.session, table.c.id, table.c[key], refs)
        missing = [r for r in refs if r not in found]
        if missing:
            rows = [{key: r, "name": r} if kind == "carrier" else {key: r} for r in missing]
            self.session.execute(insert_for(self.session, table).on_conflict_do_nothing(), rows)
            found.update(_ids_by(self.session, table.c.id, table.c[key], missing))
        return found

    # -------------------------------------------------------------- orders

    def upsert_orders(
        self, orders: Sequence[UpsertOrder], customer_ids: Mapping[str, int], *, now: datetime
    ) -> dict[str, int]:
        latest = {o.ref: o for o in orders}
        rows = []
        for o in latest.values():
            row: dict[str, Any] = {
                "ref": o.ref,
                "purchased_at": o.purchased_at,
                "promised_at": o.promised_at,
                "currency": o.currency.upper(),
                "source": o.source,
                "customer_id": customer_ids.get(o.customer.ref) if o.customer else None,
                "value_cents": sum(ln.quantity * ln.unit_price_cents + ln.freight_cents for ln in o.lines),
                "status": OrderStatus.placed.value,
                "created_at": now,
                "updated_at": now,
            }
            rows.append(row)
        table = table_of(OrderRow)

        def finish(statement: Any) -> Any:
            excluded = statement.excluded
            # Keep stored values where the update leaves a field out (no customer, no lines ...).
            updates = {
                "purchased_at": excluded.purchased_at,
                "promised_at": func.coalesce(excluded.promised_at, table.c.promised_at),
                "customer_id": func.coalesce(excluded.customer_id, table.c.customer_id),
                "currency": excluded.currency,
                "value_cents": case(
                    (excluded.value_cents > 0, excluded.value_cents), else_=table.c.value_cents
                ),
                "updated_at": excluded.updated_at,
            }
            return statement.on_conflict_do_update(index_elements=["ref"], set_=updates)

        insert_many(self.session, table, rows, finish=finish)
        return _ids_by(self.session, OrderRow.id, OrderRow.ref, latest)

    def replace_order_lines(
        self,
        orders: Sequence[UpsertOrder],
        order_ids: Mapping[str, int],
        supplier_ids: Mapping[str, int],
        product_ids: Mapping[str, int],
    ) -> None:
        latest = {o.ref: o for o in orders}
        ids = [order_ids[ref] for ref in latest]
        for part in chunks(ids, columns=1):
            self.session.execute(delete(OrderLineRow).where(OrderLineRow.order_id.in_(part)))
        rows = [
            {
                "order_id": order_ids[o.ref],
                "line_no": ln.line_no,
                "product_id": product_ids.get(ln.product_ref) if ln.product_ref else None,
                "supplier_id": supplier_ids.get(ln.supplier_ref) if ln.supplier_ref else None,
                "quantity": ln.quantity,
                "unit_price_cents": ln.unit_price_cents,
                "freight_cents": ln.freight_cents,
                "dispatch_deadline": ln.dispatch_deadline,
            }
            for o in latest.values()
            for ln in o.lines
        ]
        insert_many(self.session, table_of(OrderLineRow), rows)

    def record_milestones(
        self, rows: Sequence[tuple[int, OrderMilestone, datetime, str]], *, now: datetime
    ) -> None:
        if not rows:
            return
        values = [
            {"order_id": oid, "milestone": m.value, "occurred_at": at, "source": src, "received_at": now}
            for oid, m, at, src in rows
        ]
        insert_many(
            self.session,
            table_of(OrderEventRow),
            values,
            finish=lambda statement: statement.on_conflict_do_update(
                index_elements=["order_id", "milestone"], set_={"occurred_at": statement.excluded.occurred_at}
            ),
        )
        by_column: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for oid, milestone, at, _ in rows:
            column = _MILESTONE_COLUMNS.get(milestone)
            if column:
                by_column[column].append({"b_id": oid, "b_at": at})
        orders = table_of(OrderRow)
        for column, params in by_column.items():
            update_many(
                self.session,
                params,
                types={"b_id": orders.c.id.type, "b_at": orders.c[column].type},
                build=lambda value, column=column: (
                    update(orders)  # type: ignore[misc]
                    .where(orders.c.id == value("b_id"))
                    # A milestone queues the order for the delay model's re-score (D2), in the
                    # UPDATE that runs anyway: it may close the order (canceled, unavailable).
                    .values({column: value("b_at"), "rescore_marks": orders.c.rescore_marks + 1})
                ),
            )

    def find_order_ids(self, refs: Iterable[str]) -> dict[str, int]:
        return _ids_by(self.session, OrderRow.id, OrderRow.ref, set(refs))

    # -------------------------------------------------------------- shipments

    def upsert_shipments(
        self,
        shipments: Sequence[UpsertShipment],
        order_ids: Mapping[str, int],
        carrier_ids: Mapping[str, int],
        *,
        now: datetime,
    ) -> dict[tuple[str, str], int]:
        latest = {(s.carrier_code, s.tracking_number): s for s in shipments}
        rows = [
            {
                "order_id": order_ids[s.order_ref],
                "carrier_id": carrier_ids[s.carrier_code],
                "tracking_number": s.tracking_number,
                "origin_region": s.origin_region,
                "destination_region": s.destination_region,
                "promised_at": s.promised_at,
                "status": ShipmentStatus.created.value,
                "status_precedence": -1,
                "event_count": 0,
                "created_at": now,
                "updated_at": now,
            }
            for s in latest.values()
        ]
        table = table_of(ShipmentRow)

        def finish(statement: Any) -> Any:
            excluded = statement.excluded
            return statement.on_conflict_do_update(
                index_elements=["carrier_id", "tracking_number"],
                set_={
                    "origin_region": func.coalesce(excluded.origin_region, table.c.origin_region),
                    "destination_region": func.coalesce(
                        excluded.destination_region, table.c.destination_region
                    ),
                    "promised_at": func.coalesce(excluded.promised_at, table.c.promised_at),
                    "updated_at": excluded.updated_at,
                },
            )

        insert_many(self.session, table, rows, finish=finish)
        # The order list filters on carrier and lane without joining shipments.
        params = [
            {
                "b_id": order_ids[s.order_ref],
                "b_carrier": s.carrier_code,
                "b_origin": s.origin_region,
                "b_destination": s.destination_region,
            }
            for s in latest.values()
        ]
        orders = table_of(OrderRow)
        update_many(
            self.session,
            params,
            types={
                "b_id": orders.c.id.type,
                "b_carrier": orders.c.carrier_code.type,
                "b_origin": orders.c.origin_region.type,
                "b_destination": orders.c.destination_region.type,
            },
            build=lambda value: (
                update(orders)
                .where(orders.c.id == value("b_id"))
                .values(
                    carrier_code=value("b_carrier"),
                    origin_region=func.coalesce(value("b_origin"), orders.c.origin_region),
                    destination_region=func.coalesce(value("b_destination"), orders.c.destination_region),
                )
            ),
        )
        return {key: 0 for key in latest}

    def lock_shipments(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], ShipmentRecord]:
        keys = list(keys)
        if not keys:
            return {}
        shipments, carriers, orders = table_of(ShipmentRow), table_of(CarrierRow), table_of(OrderRow)
        # The order's columns come along: ingestion re-derives the order's status from them
        # without reading the order again (it is locked by this same statement).
        order_columns = [c.label(f"o_{c.name}") for c in _order_columns(orders)]
        # Two plain lists (carrier codes, tracking numbers) use the (carrier_id, tracking_number)
        # index on every backend (a row-value IN does not on SQLite); the rare cross matches are
        # filtered out below.
        query = (
            select(
                *[shipments.c[name] for name in ("id", "order_id", "tracking_number", "status")],
                *[shipments.c[name] for name in _STATE_COLUMNS],
                carriers.c.code.label("carrier_code"),
                *order_columns,
            )
            .join(carriers, carriers.c.id == shipments.c.carrier_id)
            .join(orders, orders.c.id == shipments.c.order_id)
            .where(carriers.c.code.in_(sorted({c for c, _ in keys})))
            .order_by(orders.c.id, shipments.c.id)
        )
        # Locking the shipments as well as their orders makes PostgreSQL return the newest
        # committed shipment state when another transaction held the lock before us.
        query = lock_rows(self.session, query, of=[shipments, orders])
        wanted = set(keys)
        rows: list[Any] = []
        for clause in matching(self.session, shipments.c.tracking_number, sorted({n for _, n in keys})):
            found = self.session.execute(query.where(clause)).all()
            rows.extend(row for row in found if (row.carrier_code, row.tracking_number) in wanted)
        return {
            (row.carrier_code, row.tracking_number): ShipmentRecord(
                id=row.id,
                order_id=row.order_id,
                carrier_code=row.carrier_code,
                tracking_number=row.tracking_number,
                state=_state_of(row),
                order=_order_of(row, prefix="o_"),
            )
            for row in rows
        }

    def insert_events(self, events: Sequence[NewEvent], *, now: datetime) -> set[tuple[int, str]]:
        table = table_of(TrackingEventRow)
        inserted: set[tuple[int, str]] = set()
        rows = [
            {
                "shipment_id": e.shipment_id,
                "fingerprint": e.fingerprint,
                "status": e.status.value,
                "occurred_at": e.occurred_at,
                "received_at": now,
                "raw_code": e.raw_code,
                "raw_text": e.raw_text,
                "location": e.location,
                "source": e.source,
            }
            for e in events
        ]

        def skip_stored(statement: Any) -> Any:
            return statement.on_conflict_do_nothing(index_elements=["shipment_id", "fingerprint"])

        if not is_postgresql(self.session):
            # SQLite: the write lock is ours for the whole transaction, so what is stored now
            # is what a conflict would meet; the insert then takes the driver's fast path.
            # One index probe per candidate (shipment, fingerprint) pair, whatever the history.
            wanted = {(e.shipment_id, e.fingerprint) for e in events}
            pairs = func.json_each(json.dumps(sorted(wanted))).table_valued("value").alias("pairs")
            stored = self.session.execute(
                select(table.c.shipment_id, table.c.fingerprint)
                .select_from(pairs)
                .join(
                    table,
                    (table.c.shipment_id == func.json_extract(pairs.c.value, "$[0]"))
                    & (table.c.fingerprint == func.json_extract(pairs.c.value, "$[1]")),
                )
            )
            inserted = wanted - {(sid, fp) for sid, fp in stored}
            insert_many_count(self.session, table, rows, finish=skip_stored)
            return inserted
        returned = insert_many(
            self.session,
            table,
            rows,
            finish=lambda statement: skip_stored(statement).returning(
                table.c.shipment_id, table.c.fingerprint
            ),
        )
        inserted.update((sid, fp) for sid, fp in returned)
        return inserted

    def save_shipment_states(self, states: Mapping[int, ShipmentState], *, now: datetime) -> None:
        table = table_of(ShipmentRow)
        params = [
            {"b_id": sid, "b_status": s.status.value, "b_updated_at": now}
            | {f"b_{c}": getattr(s, c) for c in _STATE_COLUMNS}
            for sid, s in states.items()
        ]
        types = {
            "b_id": table.c.id.type,
            "b_status": table.c.status.type,
            "b_updated_at": table.c.updated_at.type,
        }
        types |= {f"b_{c}": table.c[c].type for c in _STATE_COLUMNS}
        update_many(
            self.session,
            params,
            types=types,
            build=lambda value: (
                update(table)
                .where(table.c.id == value("b_id"))
                .values(
                    status=value("b_status"),
                    updated_at=value("b_updated_at"),
                    # New events: queue the order for the delay model's re-score (D2); a
                    # constant in the same UPDATE, so ingestion pays no extra statement.
                    rescore_pending=true(),
                    **{c: value(f"b_{c}") for c in _STATE_COLUMNS},
                )
            ),
        )

    # -------------------------------------------------------------- order derivation

    def load_orders(self, order_ids: Iterable[int]) -> dict[int, OrderRecord]:
        orders = table_of(OrderRow)
        columns = _order_columns(orders)
        result: dict[int, OrderRecord] = {}
        for clause in matching(self.session, orders.c.id, order_ids):
            for row in self.session.execute(select(*columns).where(clause)):
                result[row.id] = _order_of(row)
        return result

    def load_shipment_states(
        self, order_ids: Iterable[int], *, except_shipments: Iterable[int] = ()
    ) -> dict[int, list[ShipmentState]]:
        table = table_of(ShipmentRow)
        columns = [table.c[name] for name in ("id", "order_id", "status", *_STATE_COLUMNS)]
        skip = set(except_shipments)
        result: dict[int, list[ShipmentState]] = defaultdict(list)
        for clause in matching(self.session, table.c.order_id, order_ids):
            for row in self.session.execute(select(*columns).where(clause)):
                if row.id not in skip:
                    result[row.order_id].append(_state_of(row))
        return result

    def save_order_derivations(
        self, rows: Mapping[int, tuple[OrderStatus, datetime | None, datetime | None]], *, now: datetime
    ) -> None:
        table = table_of(OrderRow)
        update_many(
            self.session,
            [
                {"b_id": oid, "b_status": s.value, "b_handed": h, "b_delivered": d, "b_now": now}
                for oid, (s, h, d) in rows.items()
            ],
            types={
                "b_id": table.c.id.type,
                "b_status": table.c.status.type,
                "b_handed": table.c.handed_over_at.type,
                "b_delivered": table.c.delivered_at.type,
                "b_now": table.c.updated_at.type,
            },
            build=lambda value: (
                update(table)
                .where(table.c.id == value("b_id"))
                .values(
                    status=value("b_status"),
                    handed_over_at=value("b_handed"),
                    delivered_at=value("b_delivered"),
                    updated_at=value("b_now"),
                )
            ),
        )
