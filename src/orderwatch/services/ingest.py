"""The one ingestion service (D1): orders, shipments and tracking events from every source.

API routes, carrier webhooks, CSV imports, the Olist importer and the replay all call these
three functions, so validation, deduplication, status derivation and the outbox behave the same
whatever the source::

    commands ──validate──▶ rejected (kept, reason named)
        │
        ▼
    upsert / dedupe (fingerprint) ──▶ fold new events into shipment state
        │                                   │
        ▼                                   ▼
    derive order status ──changed?──▶ outbox rows (same transaction)

Each public function is one transaction; a batch is all-or-nothing only for its valid items:
invalid items are rejected individually and never abort the rest.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from orderwatch.domain.commands import (
    EventOutcome,
    RecordMilestone,
    RecordTrackingEvent,
    UpsertOrder,
    UpsertShipment,
)
from orderwatch.domain.errors import ValidationFailed
from orderwatch.domain.orders import (
    OrderFacts,
    OrderMilestone,
    OrderStatus,
    derive_order_status,
    order_delivered_at,
)
from orderwatch.domain.shipments import EventFact, ShipmentState, fold_event
from orderwatch.domain.types import Language
from orderwatch.services.ports import (
    Clock,
    NewEvent,
    OrderRecord,
    OutboxMessage,
    ShipmentRecord,
    UnitOfWork,
)
from orderwatch.services.validation import check_aware, check_ref, payload

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REJECTED = "rejected"

# Carriers' clocks drift and time zones get mislabelled; beyond this an event is an input error.
MAX_FUTURE_SKEW = timedelta(hours=26)
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """Per-item result of an order or shipment upsert."""

    index: int
    result: str
    reference: str
    reason: str | None = None


# ------------------------------------------------------------------ validation (check_*)


def check_order(order: UpsertOrder) -> None:
    """Raise :class:`ValidationFailed` naming the first bad field of ``order``."""
    check_ref("ref", order.ref)
    check_aware("purchased_at", order.purchased_at)
    check_aware("promised_at", order.promised_at)
    if len(order.currency) != 3 or not order.currency.isalpha():
        raise ValidationFailed("currency", "must be a three-letter ISO 4217 code", order.currency)
    if order.customer is not None:
        check_ref("customer.ref", order.customer.ref)
        try:
            Language.parse(order.customer.language)
        except ValueError as error:
            raise ValidationFailed("customer.language", str(error), order.customer.language) from None
    seen: set[int] = set()
    for position, line in enumerate(order.lines):
        prefix = f"lines[{position}]"
        if line.line_no in seen:
            raise ValidationFailed(f"{prefix}.line_no", "appears twice in the order", line.line_no)
        seen.add(line.line_no)
        if line.quantity < 1:
            raise ValidationFailed(f"{prefix}.quantity", "must be at least 1", line.quantity)
        if line.unit_price_cents < 0 or line.freight_cents < 0:
            raise ValidationFailed(f"{prefix}.unit_price", "must not be negative", line.unit_price_cents)
        check_aware(f"{prefix}.dispatch_deadline", line.dispatch_deadline)
    for milestone, moment in order.milestones:
        check_aware(f"milestones.{milestone}", moment)


def check_shipment(shipment: UpsertShipment) -> None:
    """Raise :class:`ValidationFailed` naming the first bad field of ``shipment``."""
    check_ref("order_ref", shipment.order_ref)
    check_ref("carrier", shipment.carrier_code)
    check_ref("tracking_number", shipment.tracking_number)
    check_aware("promised_at", shipment.promised_at)


def check_event(event: RecordTrackingEvent, *, now: datetime) -> None:
    """Raise :class:`ValidationFailed` naming the first bad field of ``event``."""
    check_ref("carrier", event.carrier_code)
    check_ref("tracking_number", event.tracking_number)
    check_aware("occurred_at", event.occurred_at)
    if event.occurred_at > now + MAX_FUTURE_SKEW:
        raise ValidationFailed(
            "occurred_at", f"is more than {MAX_FUTURE_SKEW} in the future", event.occurred_at.isoformat()
        )


def fingerprint(event: RecordTrackingEvent) -> str:
    """Identity of a scan: the same status, time, carrier code and place is the same event.

    The carrier's free text is left out on purpose: carriers reword resent scans.
    """
    key = "|".join(
        (event.status.value, event.occurred_at.isoformat(), event.raw_code or "", event.location or "")
    )
    return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:32]


# ------------------------------------------------------------------ orders


def ingest_orders(uow: UnitOfWork, orders: Sequence[UpsertOrder], *, clock: Clock) -> list[ItemOutcome]:
    """Create or update orders with their customer, lines and milestones (one transaction)."""
    now = clock.now()
    outcomes, valid = _partition_orders(uow, orders, now=now)
    if not valid:
        return outcomes
    with uow:
        _rederive_orders(uow, _store_orders(uow, valid, now=now), now=now)
        uow.commit()
    outcomes.extend(ItemOutcome(index, ACCEPTED, order.ref) for index, order in valid)
    return sorted(outcomes, key=lambda o: o.index)


def _store_orders(uow: UnitOfWork, valid: Sequence[tuple[int, UpsertOrder]], *, now: datetime) -> set[int]:
    """Upsert valid orders inside the caller's transaction; returns the ids whose status may change."""
    customers = [o.customer for _, o in valid if o.customer is not None]
    customer_ids = uow.ingest.upsert_customers(customers)
    existing = set(uow.ingest.find_order_ids({o.ref for _, o in valid}))
    order_ids = uow.ingest.upsert_orders([o for _, o in valid], customer_ids, now=now)
    with_lines = [o for _, o in valid if o.lines]
    if with_lines:
        supplier_ids = uow.ingest.ensure_refs(
            "supplier", {ln.supplier_ref for o in with_lines for ln in o.lines if ln.supplier_ref}
        )
        product_ids = uow.ingest.ensure_refs(
            "product", {ln.product_ref for o in with_lines for ln in o.lines if ln.product_ref}
        )
        uow.ingest.replace_order_lines(with_lines, order_ids, supplier_ids, product_ids)
    # One row per (order, milestone): the purchase is always "placed", and a later mention of
    # the same milestone in the batch (a retried update) wins.
    milestones = {
        (order_ids[o.ref], milestone): (order_ids[o.ref], milestone, moment, o.source)
        for _, o in valid
        for milestone, moment in ((OrderMilestone.placed, o.purchased_at), *o.milestones)
    }
    uow.ingest.record_milestones(list(milestones.values()), now=now)
    # A new order starts as "placed"; only milestones or stored shipments can change that.
    return {order_ids[o.ref] for _, o in valid if o.milestones or o.ref in existing}


def ingest_milestones(
    uow: UnitOfWork, milestones: Sequence[RecordMilestone], *, clock: Clock
) -> list[ItemOutcome]:
    """Record order milestones (approved, canceled ...) of known orders (one transaction)."""
    now = clock.now()
    outcomes: list[ItemOutcome] = []
    with uow:
        order_ids = uow.ingest.find_order_ids({m.order_ref for m in milestones})
        rows: dict[tuple[int, OrderMilestone], tuple[int, OrderMilestone, datetime, str]] = {}
        for index, item in enumerate(milestones):
            try:
                check_aware("occurred_at", item.occurred_at)
                if item.order_ref not in order_ids:
                    raise ValidationFailed("order_ref", "order not found", item.order_ref)
            except ValidationFailed as error:
                uow.rejects.add(
                    source=item.source,
                    kind="milestone",
                    reference=item.order_ref[:200],
                    reason=str(error),
                    payload=payload(item),
                    now=now,
                )
                outcomes.append(ItemOutcome(index, REJECTED, item.order_ref, str(error)))
                continue
            order_id = order_ids[item.order_ref]
            rows[(order_id, item.milestone)] = (order_id, item.milestone, item.occurred_at, item.source)
            outcomes.append(ItemOutcome(index, ACCEPTED, item.order_ref))
        if rows:
            uow.ingest.record_milestones(list(rows.values()), now=now)
            _rederive_orders(uow, {order_id for order_id, _ in rows}, now=now)
        uow.commit()
    return outcomes


# ------------------------------------------------------------------ shipments


def ingest_shipments(
    uow: UnitOfWork, shipments: Sequence[UpsertShipment], *, clock: Clock
) -> list[ItemOutcome]:
    """Create or update shipments of known orders (one transaction)."""
    now = clock.now()
    outcomes, valid = _partition_shipments(uow, shipments, now=now)
    if not valid:
        return outcomes
    with uow:
        touched = _store_shipments(uow, valid, outcomes, now=now)
        _rederive_orders(uow, touched, now=now)
        uow.commit()
    return sorted(outcomes, key=lambda o: o.index)


def _store_shipments(
    uow: UnitOfWork,
    valid: Sequence[tuple[int, UpsertShipment]],
    outcomes: list[ItemOutcome],
    *,
    now: datetime,
) -> set[int]:
    """Upsert valid shipments in the caller's transaction; the ids of orders to re-derive.

    Each shipment's outcome (accepted, or rejected for an unknown order) is added to ``outcomes``.
    """
    order_ids = uow.ingest.find_order_ids({s.order_ref for _, s in valid})
    known: list[tuple[int, UpsertShipment]] = []
    for index, shipment in valid:
        if shipment.order_ref in order_ids:
            known.append((index, shipment))
            continue
        reason = f"order_ref: order {shipment.order_ref!r} not found"
        uow.rejects.add(
            source=shipment.source,
            kind="shipment",
            reference=shipment.tracking_number,
            reason=reason,
            payload=payload(shipment),
            now=now,
        )
        outcomes.append(ItemOutcome(index, REJECTED, shipment.tracking_number, reason))
    if not known:
        return set()
    carrier_ids = uow.ingest.ensure_refs("carrier", {s.carrier_code for _, s in known})
    uow.ingest.upsert_shipments([s for _, s in known], order_ids, carrier_ids, now=now)
    outcomes.extend(
        ItemOutcome(index, ACCEPTED, f"{s.carrier_code}:{s.tracking_number}") for index, s in known
    )
    return {order_ids[s.order_ref] for _, s in known}


# ------------------------------------------------------------------ tracking events


def ingest_events(
    uow: UnitOfWork, events: Sequence[RecordTrackingEvent], *, clock: Clock
) -> list[EventOutcome]:
    """Record tracking events: dedupe, fold into shipment state, derive order status, outbox.

    Events for an unknown (carrier, tracking number) are rejected unless they name the order,
    in which case the shipment is created first (generic webhooks often do this).
    """
    now = clock.now()
    with uow:
        outcomes = _store_events(uow, events, now=now, deferred=None)
        uow.commit()
    return outcomes


def _store_events(
    uow: UnitOfWork, events: Sequence[RecordTrackingEvent], *, now: datetime, deferred: set[int] | None
) -> list[EventOutcome]:
    """Record events in the caller's transaction; derive order statuses now or defer them.

    With ``deferred`` a set, the ids of the orders to derive are added to it instead.
    """
    outcomes: dict[int, EventOutcome] = {}
    valid: list[tuple[int, RecordTrackingEvent]] = []
    for index, event in enumerate(events):
        try:
            check_event(event, now=now)
        except ValidationFailed as error:
            outcomes[index] = _reject_event(uow, index, event, str(error), now=now)
            continue
        valid.append((index, event))
    records = uow.ingest.lock_shipments({(e.carrier_code, e.tracking_number) for _, e in valid})
    unknown = [e for _, e in valid if (e.carrier_code, e.tracking_number) not in records]
    if unknown and _create_named_shipments(uow, unknown, now=now):
        records |= uow.ingest.lock_shipments({(e.carrier_code, e.tracking_number) for e in unknown})
    new_events: list[NewEvent] = []
    pending: dict[tuple[int, str], list[int]] = defaultdict(list)
    for index, event in valid:
        record = records.get((event.carrier_code, event.tracking_number))
        if record is None:
            reason = (
                f"tracking_number: no shipment {event.tracking_number!r} for carrier "
                f"{event.carrier_code!r}"
            )
            outcomes[index] = _reject_event(uow, index, event, reason, now=now)
            continue
        key = (record.id, fingerprint(event))
        if key not in pending:
            new_events.append(_new_event(record.id, key[1], event))
        pending[key].append(index)
    inserted = uow.ingest.insert_events(new_events, now=now) if new_events else set()
    states = _fold_inserted(records, new_events, inserted)
    _record_event_outcomes(outcomes, pending, inserted, states, records, events)
    if states:
        _save_shipment_changes(uow, records, states, now=now, deferred=deferred)
    return [outcomes[i] for i in sorted(outcomes)]


@dataclass(frozen=True)
class HistoryOutcomes:
    """Per-item results of :func:`ingest_history`, one list per kind, in input order."""

    orders: list[ItemOutcome]
    shipments: list[ItemOutcome]
    events: list[EventOutcome]


def ingest_history(
    uow: UnitOfWork,
    orders: Sequence[UpsertOrder],
    shipments: Sequence[UpsertShipment],
    events: Sequence[RecordTrackingEvent],
    *,
    clock: Clock,
) -> HistoryOutcomes:
    """A chunk of order history (an import) in ONE transaction, order status derived once.

    Orders, then their shipments, then their tracking events, with the same validation,
    deduplication, folding and outbox rows as the three calls ``ingest_orders``,
    ``ingest_shipments``, ``ingest_events`` would give, without deriving and writing each order
    three times.
    """
    now = clock.now()
    order_outcomes, valid_orders = _partition_orders(uow, orders, now=now)
    shipment_outcomes, valid_shipments = _partition_shipments(uow, shipments, now=now)
    with uow:
        touched = _store_orders(uow, valid_orders, now=now) if valid_orders else set()
        if valid_shipments:
            touched |= _store_shipments(uow, valid_shipments, shipment_outcomes, now=now)
        event_outcomes = _store_events(uow, events, now=now, deferred=touched) if events else []
        _rederive_orders(uow, touched, now=now)
        uow.commit()
    order_outcomes.extend(ItemOutcome(index, ACCEPTED, order.ref) for index, order in valid_orders)
    return HistoryOutcomes(
        orders=sorted(order_outcomes, key=lambda o: o.index),
        shipments=sorted(shipment_outcomes, key=lambda o: o.index),
        events=event_outcomes,
    )


def _new_event(shipment_id: int, fp: str, event: RecordTrackingEvent) -> NewEvent:
    return NewEvent(
        shipment_id=shipment_id,
        fingerprint=fp,
        status=event.status,
        occurred_at=event.occurred_at,
        raw_code=event.raw_code[:64] if event.raw_code else None,
        raw_text=event.raw_text[:500] if event.raw_text else None,
        location=event.location[:200] if event.location else None,
        source=event.source,
    )


def _create_named_shipments(uow: UnitOfWork, events: Sequence[RecordTrackingEvent], *, now: datetime) -> bool:
    """Create the shipments that events name by order; whether any was created."""
    named = {(e.carrier_code, e.tracking_number): e.order_ref for e in events if e.order_ref}
    if not named:
        return False
    order_ids = uow.ingest.find_order_ids({ref for ref in named.values() if ref})
    wanted = [
        UpsertShipment(order_ref=ref, carrier_code=carrier, tracking_number=number, source="event")
        for (carrier, number), ref in named.items()
        if ref in order_ids
    ]
    if not wanted:
        return False
    carrier_ids = uow.ingest.ensure_refs("carrier", {s.carrier_code for s in wanted})
    uow.ingest.upsert_shipments(wanted, order_ids, carrier_ids, now=now)
    _rederive_orders(uow, {order_ids[s.order_ref] for s in wanted}, now=now)
    return True


def _fold_inserted(
    records: dict[tuple[str, str], ShipmentRecord],
    new_events: Sequence[NewEvent],
    inserted: set[tuple[int, str]],
) -> dict[int, ShipmentState]:
    by_id = {record.id: record for record in records.values()}
    states: dict[int, ShipmentState] = {}
    for event in new_events:
        if (event.shipment_id, event.fingerprint) not in inserted:
            continue
        state = states.get(event.shipment_id, by_id[event.shipment_id].state)
        states[event.shipment_id] = fold_event(state, EventFact(event.occurred_at, event.status))
    return states


def _record_event_outcomes(
    outcomes: dict[int, EventOutcome],
    pending: dict[tuple[int, str], list[int]],
    inserted: set[tuple[int, str]],
    states: dict[int, ShipmentState],
    records: dict[tuple[str, str], ShipmentRecord],
    events: Sequence[RecordTrackingEvent],
) -> None:
    current = {record.id: record.state for record in records.values()} | states
    for key, indexes in pending.items():
        status = current[key[0]].status
        first, *repeats = indexes
        outcomes[first] = EventOutcome(first, ACCEPTED if key in inserted else DUPLICATE, None, status)
        for index in repeats:
            outcomes[index] = EventOutcome(index, DUPLICATE, "same event earlier in this batch", status)


def _save_shipment_changes(
    uow: UnitOfWork,
    records: dict[tuple[str, str], ShipmentRecord],
    states: dict[int, ShipmentState],
    *,
    now: datetime,
    deferred: set[int] | None,
) -> None:
    uow.ingest.save_shipment_states(states, now=now)
    by_id = {record.id: record for record in records.values()}
    messages = [
        OutboxMessage(
            topic="shipment.status_changed",
            idempotency_key=f"shipment:{sid}:{state.status.value}:{state.status_at.isoformat()}",
            payload={
                "shipment_id": sid,
                "order_id": by_id[sid].order_id,
                "previous": by_id[sid].state.status.value,
                "status": state.status.value,
                "status_at": state.status_at.isoformat(),
            },
        )
        for sid, state in states.items()
        if state.status is not by_id[sid].state.status and state.status_at is not None
    ]
    if messages:
        uow.outbox.enqueue(messages, now=now)
    order_ids = {by_id[sid].order_id for sid in states}
    if deferred is not None:
        deferred |= order_ids
        return
    involved = [r for r in records.values() if r.order_id in order_ids]
    orders = {r.order_id: r.order for r in involved if r.order is not None}
    locked = {r.id: (r.order_id, states.get(r.id, r.state)) for r in involved}
    _rederive_orders(
        uow, order_ids, now=now, orders=orders if len(orders) == len(order_ids) else None, shipments=locked
    )


# ------------------------------------------------------------------ shared steps


def _rederive_orders(
    uow: UnitOfWork,
    order_ids: set[int],
    *,
    now: datetime,
    orders: Mapping[int, OrderRecord] | None = None,
    shipments: Mapping[int, tuple[int, ShipmentState]] | None = None,
) -> None:
    """Derive each order's status from its milestones and shipments; outbox on change.

    ``orders`` and ``shipments`` (shipment id → (order id, state)) are what the caller already
    holds under lock in this transaction; only what is missing is read.
    """
    if orders is None:
        orders = uow.ingest.load_orders(order_ids)
    held = shipments or {}
    states_by_order = uow.ingest.load_shipment_states(order_ids, except_shipments=held.keys())
    for order_id, state in held.values():
        states_by_order.setdefault(order_id, []).append(state)
    changes: dict[int, tuple[OrderStatus, datetime | None, datetime | None]] = {}
    messages: list[OutboxMessage] = []
    for order_id, order in orders.items():
        states = states_by_order.get(order_id, [])
        status = derive_order_status(OrderFacts(order.milestones, states))
        handed = min((s.handed_over_at for s in states if s.handed_over_at), default=None)
        delivered = order_delivered_at(states)
        if (status, handed, delivered) == (order.status, order.handed_over_at, order.delivered_at):
            continue
        changes[order_id] = (status, handed, delivered)
        if status is not order.status:
            messages.append(
                OutboxMessage(
                    topic="order.status_changed",
                    idempotency_key=f"order:{order_id}:{status.value}",
                    payload={
                        "order_id": order_id,
                        "order_ref": order.ref,
                        "previous": order.status.value,
                        "status": status.value,
                    },
                )
            )
    if changes:
        uow.ingest.save_order_derivations(changes, now=now)
    if messages:
        uow.outbox.enqueue(messages, now=now)


def _reject_event(
    uow: UnitOfWork, index: int, event: RecordTrackingEvent, reason: str, *, now: datetime
) -> EventOutcome:
    uow.rejects.add(
        source=event.source,
        kind="tracking_event",
        reference=event.tracking_number,
        reason=reason,
        payload=payload(event),
        now=now,
    )
    return EventOutcome(index, REJECTED, reason)


def _partition_orders(
    uow: UnitOfWork, orders: Sequence[UpsertOrder], *, now: datetime
) -> tuple[list[ItemOutcome], list[tuple[int, UpsertOrder]]]:
    return _partition(
        orders, check_order, lambda o: o.ref, uow=uow, source_of=lambda o: o.source, kind="order", now=now
    )


def _partition_shipments(
    uow: UnitOfWork, shipments: Sequence[UpsertShipment], *, now: datetime
) -> tuple[list[ItemOutcome], list[tuple[int, UpsertShipment]]]:
    return _partition(
        shipments,
        check_shipment,
        lambda s: f"{s.carrier_code}:{s.tracking_number}",
        uow=uow,
        source_of=lambda s: s.source,
        kind="shipment",
        now=now,
    )


def _partition(
    items: Sequence[_T],
    check: Callable[[_T], None],
    reference_of: Callable[[_T], str],
    *,
    uow: UnitOfWork,
    source_of: Callable[[_T], str],
    kind: str,
    now: datetime,
) -> tuple[list[ItemOutcome], list[tuple[int, _T]]]:
    """Split ``items`` into rejected outcomes (stored for inspection) and valid items."""
    outcomes: list[ItemOutcome] = []
    valid: list[tuple[int, _T]] = []
    failures: list[tuple[int, _T, str]] = []
    for index, item in enumerate(items):
        try:
            check(item)
        except ValidationFailed as error:
            failures.append((index, item, str(error)))
            continue
        valid.append((index, item))
    if failures:
        with uow:
            for index, item, reason in failures:
                uow.rejects.add(
                    source=source_of(item),
                    kind=kind,
                    reference=reference_of(item)[:200],
                    reason=reason,
                    payload=payload(item),
                    now=now,
                )
                outcomes.append(ItemOutcome(index, REJECTED, reference_of(item), reason))
            uow.commit()
    return outcomes, valid


@dataclass(frozen=True, slots=True)
class Unreadable:
    """An input refused before it became a command (unparsable batch item, bad webhook body)."""

    source: str
    kind: str
    reason: str
    payload: Any
    reference: str | None = None


def record_unreadable(uow: UnitOfWork, items: Sequence[Unreadable], *, clock: Clock) -> None:
    """Keep inputs refused at the boundary with the other rejected items (one transaction)."""
    if not items:
        return
    now = clock.now()
    with uow:
        for item in items:
            uow.rejects.add(
                source=item.source,
                kind=item.kind,
                reference=item.reference[:200] if item.reference else None,
                reason=item.reason,
                payload=item.payload,
                now=now,
            )
        uow.commit()


def summarize(outcomes: Iterable[EventOutcome | ItemOutcome]) -> dict[str, int]:
    """Counts per result, for CLI and API summaries."""
    counts = {ACCEPTED: 0, DUPLICATE: 0, REJECTED: 0}
    for outcome in outcomes:
        counts[outcome.result] += 1
    return counts
