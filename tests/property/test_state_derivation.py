"""Shipment and order status are derived by event time, whatever the arrival order (D1).

Hypothesis builds event sets with duplicates and shuffles them; folding them one by one in any
order (the hot ingestion path) must equal the reference derivation over the sorted set.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from orderwatch.domain.orders import OrderFacts, OrderMilestone, OrderStatus, derive_order_status
from orderwatch.domain.shipments import (
    PRECEDENCE,
    EventFact,
    ShipmentState,
    ShipmentStatus,
    derive_shipment_state,
    fold_event,
)

BASE = datetime(2018, 1, 1, tzinfo=UTC)
RECEIVED = [s for s in ShipmentStatus if s is not ShipmentStatus.stale]

events = st.builds(
    EventFact,
    occurred_at=st.integers(min_value=0, max_value=20).map(lambda h: BASE + timedelta(hours=h)),
    status=st.sampled_from(RECEIVED),
)


@given(st.lists(events, max_size=12), st.randoms(use_true_random=False))
def test_folding_in_any_order_equals_the_sorted_derivation(batch: list[EventFact], rnd: object) -> None:
    distinct = list(dict.fromkeys(batch))
    shuffled = distinct[:]
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]

    state = ShipmentState()
    for event in shuffled:
        state = fold_event(state, event)

    assert state == derive_shipment_state(distinct)


@given(st.lists(events, min_size=1, max_size=12))
def test_status_is_that_of_the_latest_known_event(batch: list[EventFact]) -> None:
    known = [e for e in batch if e.status is not ShipmentStatus.unknown]

    state = derive_shipment_state(batch)

    if not known:
        assert state.status is ShipmentStatus.created
        return
    latest = max(known, key=lambda e: (e.occurred_at, PRECEDENCE[e.status]))
    assert state.status is latest.status
    assert state.status_at == latest.occurred_at
    assert state.last_scan_at == max(e.occurred_at for e in batch)
    assert state.event_count == len(set(batch))


@given(st.lists(events, max_size=12))
def test_delivery_time_is_the_first_delivered_scan(batch: list[EventFact]) -> None:
    delivered = [e.occurred_at for e in batch if e.status is ShipmentStatus.delivered]

    state = derive_shipment_state(batch)

    assert state.delivered_at == (min(delivered) if delivered else None)


shipment_states = st.lists(events, max_size=6).map(derive_shipment_state)


@given(
    st.frozensets(st.sampled_from(list(OrderMilestone))),
    st.lists(shipment_states, max_size=3),
)
def test_order_status_rules(milestones: frozenset[OrderMilestone], shipments: list[ShipmentState]) -> None:
    status = derive_order_status(OrderFacts(milestones | {OrderMilestone.placed}, shipments))

    all_delivered = bool(shipments) and all(s.delivered_at is not None for s in shipments)
    if OrderMilestone.canceled in milestones:
        assert status is OrderStatus.canceled
    elif OrderMilestone.unavailable in milestones:
        assert status is OrderStatus.unavailable
    elif all_delivered:
        assert status is OrderStatus.delivered
    elif any(s.delivered_at is not None for s in shipments):
        assert status is OrderStatus.partially_delivered
    if status is OrderStatus.shipped:
        assert any(s.handed_over_at is not None for s in shipments)
