"""The interfaces services need from the outside world (implemented in ``adapters``).

Services import only these Protocols and the domain; ``bootstrap.py`` wires real adapters
(SQLAlchemy) or test fakes behind them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from orderwatch.domain.commands import CustomerData, UpsertOrder, UpsertShipment
from orderwatch.domain.orders import OrderMilestone, OrderStatus
from orderwatch.domain.shipments import ShipmentState, ShipmentStatus


class Clock(Protocol):
    """Where services get the time; tests and replay pass a controllable one."""

    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class ShipmentRecord:
    """A stored shipment with its folded state, as ingestion needs it."""

    id: int
    order_id: int
    carrier_code: str
    tracking_number: str
    state: ShipmentState


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """A stored order with what its status derivation needs."""

    id: int
    ref: str
    status: OrderStatus
    milestones: frozenset[OrderMilestone]
    delivered_at: datetime | None
    handed_over_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewEvent:
    """A deduplicated tracking event ready to insert."""

    shipment_id: int
    fingerprint: str
    status: ShipmentStatus
    occurred_at: datetime
    raw_code: str | None
    raw_text: str | None
    location: str | None
    source: str


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A side effect to dispatch after commit; ``idempotency_key`` makes it happen once."""

    topic: str
    idempotency_key: str
    payload: Mapping[str, Any]


class IngestStore(Protocol):
    """Batch reads and writes of the ingestion service (one transaction per call site)."""

    def upsert_customers(self, customers: Sequence[CustomerData]) -> dict[str, int]: ...

    def ensure_refs(self, kind: str, refs: Iterable[str]) -> dict[str, int]:
        """Ids of suppliers/products/carriers by ref, creating bare rows for new refs."""
        ...

    def upsert_orders(
        self, orders: Sequence[UpsertOrder], customer_ids: Mapping[str, int], *, now: datetime
    ) -> dict[str, int]: ...

    def replace_order_lines(
        self,
        orders: Sequence[UpsertOrder],
        order_ids: Mapping[str, int],
        supplier_ids: Mapping[str, int],
        product_ids: Mapping[str, int],
    ) -> None: ...

    def record_milestones(
        self, rows: Sequence[tuple[int, OrderMilestone, datetime, str]], *, now: datetime
    ) -> None: ...

    def find_order_ids(self, refs: Iterable[str]) -> dict[str, int]: ...

    def upsert_shipments(
        self,
        shipments: Sequence[UpsertShipment],
        order_ids: Mapping[str, int],
        carrier_ids: Mapping[str, int],
        *,
        now: datetime,
    ) -> dict[tuple[str, str], int]: ...

    def lock_shipments(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], ShipmentRecord]:
        """Load shipments by (carrier code, tracking number), locking their orders first."""
        ...

    def insert_events(self, events: Sequence[NewEvent], *, now: datetime) -> set[tuple[int, str]]:
        """Insert events, skipping stored duplicates; return (shipment_id, fingerprint) inserted."""
        ...

    def save_shipment_states(self, states: Mapping[int, ShipmentState], *, now: datetime) -> None: ...

    def load_orders(self, order_ids: Iterable[int]) -> dict[int, OrderRecord]: ...

    def load_shipment_states(self, order_ids: Iterable[int]) -> dict[int, list[ShipmentState]]: ...

    def save_order_derivations(
        self, rows: Mapping[int, tuple[OrderStatus, datetime | None, datetime | None]], *, now: datetime
    ) -> None:
        """Store (status, handed_over_at, delivered_at) per order id."""
        ...


class OutboxStore(Protocol):
    """The transactional outbox: enqueue inside the caller's transaction."""

    def enqueue(self, messages: Sequence[OutboxMessage], *, now: datetime) -> int: ...


class RejectStore(Protocol):
    """Rejected inputs kept for inspection (D1, bad-input rule)."""

    def add(
        self, *, source: str, kind: str, reference: str | None, reason: str, payload: Any, now: datetime
    ) -> None: ...


class UnitOfWork(Protocol):
    """One transaction: ``with uow: ...; uow.commit()``; leaving without commit rolls back."""

    ingest: IngestStore
    outbox: OutboxStore
    rejects: RejectStore

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
