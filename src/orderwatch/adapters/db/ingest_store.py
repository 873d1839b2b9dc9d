"""SQL implementation of the ingestion port (``services.ports.IngestStore``).

Written with SQLAlchemy Core in batches: the same code serves one webhook event and a chunk of
the Olist import, so every method takes and returns collections and issues a fixed number of
statements per call, whatever the batch size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, case, delete, func, select, tuple_, update
from sqlalchemy.orm import Session

from orderwatch.adapters.db.dialect import chunks, insert_for
from orderwatch.adapters.db.locking import lock_orders
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
    "status_at", "status_precedence", "last_scan_at", "handed_over_at", "first_attempt_at",
    "delivered_at", "event_count",
)


def _ids_by(session: Session, column: Any, key_column: Any, keys: Iterable[Any]) -> dict[Any, int]:
    keys = list(keys)
    found: dict[Any, int] = {}
    for part in chunks(keys, columns=1):
        rows = session.execute(select(key_column, column).where(key_column.in_(part)))
        found.update((k, i) for k, i in rows)
    return found


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
                "ref": c.ref, "person_ref": c.person_ref, "name": c.name, "email": c.email,
                "phone": c.phone, "language": Language.parse(c.language).value,
                "zip_prefix": c.zip_prefix, "city": c.city, "region": c.region,
                "country": c.country, "address_line": c.address_line,
            }
            for c in latest.values()
        ]
        table = table_of(CustomerRow)
        for part in chunks(rows, columns=len(rows[0])):
            statement = insert_for(self.session, table).values(list(part))
            updatable = {k: statement.excluded[k] for k in rows[0] if k != "ref"}
            self.session.execute(statement.on_conflict_do_update(index_elements=["ref"], set_=updatable))
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
            for part in chunks(rows, columns=2):
                self.session.execute(
                    insert_for(self.session, table).values(list(part)).on_conflict_do_nothing()
                )
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
                "ref": o.ref, "purchased_at": o.purchased_at, "promised_at": o.promised_at,
                "currency": o.currency.upper(), "source": o.source,
                "customer_id": customer_ids.get(o.customer.ref) if o.customer else None,
                "value_cents": sum(ln.quantity * ln.unit_price_cents + ln.freight_cents for ln in o.lines),
                "status": OrderStatus.placed.value, "created_at": now, "updated_at": now,
            }
            rows.append(row)
        table = table_of(OrderRow)
        for part in chunks(rows, columns=len(rows[0])):
            statement = insert_for(self.session, table).values(list(part))
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
            self.session.execute(statement.on_conflict_do_update(index_elements=["ref"], set_=updates))
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
                "order_id": order_ids[o.ref], "line_no": ln.line_no,
                "product_id": product_ids.get(ln.product_ref) if ln.product_ref else None,
                "supplier_id": supplier_ids.get(ln.supplier_ref) if ln.supplier_ref else None,
                "quantity": ln.quantity, "unit_price_cents": ln.unit_price_cents,
                "freight_cents": ln.freight_cents, "dispatch_deadline": ln.dispatch_deadline,
            }
            for o in latest.values()
            for ln in o.lines
        ]
        for line_part in chunks(rows, columns=8):
            self.session.execute(table_of(OrderLineRow).insert(), list(line_part))

    def record_milestones(
        self, rows: Sequence[tuple[int, OrderMilestone, datetime, str]], *, now: datetime
    ) -> None:
        if not rows:
            return
        values = [
            {"order_id": oid, "milestone": m.value, "occurred_at": at, "source": src, "received_at": now}
            for oid, m, at, src in rows
        ]
        table = table_of(OrderEventRow)
        for part in chunks(values, columns=5):
            statement = insert_for(self.session, table).values(list(part))
            self.session.execute(
                statement.on_conflict_do_update(
                    index_elements=["order_id", "milestone"],
                    set_={"occurred_at": statement.excluded.occurred_at},
                )
            )
        by_column: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for oid, milestone, at, _ in rows:
            column = _MILESTONE_COLUMNS.get(milestone)
            if column:
                by_column[column].append({"b_id": oid, "b_at": at})
        for column, params in by_column.items():
            self.session.execute(
                update(table_of(OrderRow))
                .where(table_of(OrderRow).c.id == bindparam("b_id"))
                .values({column: bindparam("b_at")}),
                params,
                execution_options={"synchronize_session": False},
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
                "order_id": order_ids[s.order_ref], "carrier_id": carrier_ids[s.carrier_code],
                "tracking_number": s.tracking_number, "origin_region": s.origin_region,
                "destination_region": s.destination_region, "promised_at": s.promised_at,
                "status": ShipmentStatus.created.value, "status_precedence": -1, "event_count": 0,
                "created_at": now, "updated_at": now,
            }
            for s in latest.values()
        ]
        table = table_of(ShipmentRow)
        for part in chunks(rows, columns=len(rows[0])):
            statement = insert_for(self.session, table).values(list(part))
            excluded = statement.excluded
            self.session.execute(
                statement.on_conflict_do_update(
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
            )
        # The order list filters on carrier and lane without joining shipments.
        params = [
            {"b_id": order_ids[s.order_ref], "b_carrier": s.carrier_code,
             "b_origin": s.origin_region, "b_destination": s.destination_region}
            for s in latest.values()
        ]
        orders = table_of(OrderRow)
        self.session.execute(
            update(orders)
            .where(orders.c.id == bindparam("b_id"))
            .values(
                carrier_code=bindparam("b_carrier"),
                origin_region=func.coalesce(bindparam("b_origin"), orders.c.origin_region),
                destination_region=func.coalesce(bindparam("b_destination"), orders.c.destination_region),
            ),
            params,
            execution_options={"synchronize_session": False},
        )
        return {key: 0 for key in latest}

    def lock_shipments(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], ShipmentRecord]:
        keys = list(keys)
        if not keys:
            return {}
        shipments, carriers = table_of(ShipmentRow), table_of(CarrierRow)
        query = select(shipments, carriers.c.code.label("carrier_code")).join(
            carriers, carriers.c.id == shipments.c.carrier_id
        )
        rows: list[Any] = []
        for part in chunks(keys, columns=2):
            rows.extend(
                self.session.execute(
                    query.where(tuple_(carriers.c.code, shipments.c.tracking_number).in_(list(part)))
                ).all()
            )
        if rows and self.session.get_bind().dialect.name != "sqlite":
            lock_orders(self.session, {row.order_id for row in rows})
            # Re-read under the lock: another transaction may have folded events meanwhile.
            ids = [row.id for row in rows]
            rows = list(self.session.execute(query.where(shipments.c.id.in_(ids))).all())
        return {
            (row.carrier_code, row.tracking_number): ShipmentRecord(
                id=row.id, order_id=row.order_id, carrier_code=row.carrier_code,
                tracking_number=row.tracking_number, state=_state_of(row),
            )
            for row in rows
        }

    def insert_events(self, events: Sequence[NewEvent], *, now: datetime) -> set[tuple[int, str]]:
        table = table_of(TrackingEventRow)
        inserted: set[tuple[int, str]] = set()
        rows = [
            {
                "shipment_id": e.shipment_id, "fingerprint": e.fingerprint, "status": e.status.value,
                "occurred_at": e.occurred_at, "received_at": now, "raw_code": e.raw_code,
                "raw_text": e.raw_text, "location": e.location, "source": e.source,
            }
            for e in events
        ]
        for part in chunks(rows, columns=9):
            statement = (
                insert_for(self.session, table)
                .values(list(part))
                .on_conflict_do_nothing(index_elements=["shipment_id", "fingerprint"])
                .returning(table.c.shipment_id, table.c.fingerprint)
            )
            inserted.update((sid, fp) for sid, fp in self.session.execute(statement))
        return inserted

    def save_shipment_states(self, states: Mapping[int, ShipmentState], *, now: datetime) -> None:
        table = table_of(ShipmentRow)
        params = [
            {"b_id": sid, "b_status": s.status.value, "b_updated_at": now}
            | {f"b_{c}": getattr(s, c) for c in _STATE_COLUMNS}
            for sid, s in states.items()
        ]
        values: dict[str, Any] = {c: bindparam(f"b_{c}") for c in _STATE_COLUMNS}
        self.session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(status=bindparam("b_status"), updated_at=bindparam("b_updated_at"), **values),
            params,
            execution_options={"synchronize_session": False},
        )

    # -------------------------------------------------------------- order derivation

    def load_orders(self, order_ids: Iterable[int]) -> dict[int, OrderRecord]:
        ids = list(order_ids)
        orders = table_of(OrderRow)
        result: dict[int, OrderRecord] = {}
        for part in chunks(ids, columns=1):
            for row in self.session.execute(select(orders).where(orders.c.id.in_(part))):
                milestones = {OrderMilestone.placed} | {
                    m for m, column in _MILESTONE_COLUMNS.items() if getattr(row, column) is not None
                }
                result[row.id] = OrderRecord(
                    id=row.id, ref=row.ref, status=OrderStatus(row.status),
                    milestones=frozenset(milestones), delivered_at=row.delivered_at,
                    handed_over_at=row.handed_over_at,
                )
        return result

    def load_shipment_states(self, order_ids: Iterable[int]) -> dict[int, list[ShipmentState]]:
        ids = list(order_ids)
        table = table_of(ShipmentRow)
        result: dict[int, list[ShipmentState]] = defaultdict(list)
        for part in chunks(ids, columns=1):
            for row in self.session.execute(select(table).where(table.c.order_id.in_(part))):
                result[row.order_id].append(_state_of(row))
        return result

    def save_order_derivations(
        self, rows: Mapping[int, tuple[OrderStatus, datetime | None, datetime | None]], *, now: datetime
    ) -> None:
        table = table_of(OrderRow)
        self.session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                status=bindparam("b_status"),
                handed_over_at=bindparam("b_handed"),
                delivered_at=bindparam("b_delivered"),
                updated_at=bindparam("b_now"),
            ),
            [
                {"b_id": oid, "b_status": s.value, "b_handed": h, "b_delivered": d, "b_now": now}
                for oid, (s, h, d) in rows.items()
            ],
            execution_options={"synchronize_session": False},
        )
