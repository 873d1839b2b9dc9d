"""Worked examples of the shipment status derivation and staleness (D1, D2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orderwatch.domain.shipments import (
    EventFact,
    ShipmentStatus,
    derive_shipment_state,
    is_stale,
)

T0 = datetime(2018, 5, 2, 9, 0, tzinfo=UTC)
S = ShipmentStatus


def test_late_arriving_older_scan_does_not_move_status_back() -> None:
    state = derive_shipment_state(
        [EventFact(T0 + timedelta(days=2), S.delivered), EventFact(T0, S.in_transit)]
    )

    assert state.status is S.delivered
    assert state.handed_over_at == T0
    assert state.delivered_at == T0 + timedelta(days=2)
    assert state.first_attempt_at == T0 + timedelta(days=2)


def test_same_timestamp_the_later_stage_wins() -> None:
    state = derive_shipment_state([EventFact(T0, S.delivered), EventFact(T0, S.out_for_delivery)])

    assert state.status is S.delivered


def test_unknown_code_keeps_the_known_status_but_counts_as_a_scan() -> None:
    state = derive_shipment_state(
        [EventFact(T0, S.in_transit), EventFact(T0 + timedelta(hours=3), S.unknown)]
    )

    assert state.status is S.in_transit
    assert state.last_scan_at == T0 + timedelta(hours=3)


def test_failed_attempt_then_delivery_keeps_the_first_attempt() -> None:
    state = derive_shipment_state(
        [EventFact(T0, S.delivery_failed), EventFact(T0 + timedelta(days=1), S.delivered)]
    )

    assert state.first_attempt_at == T0
    assert state.delivered_at == T0 + timedelta(days=1)


@pytest.mark.parametrize(
    ("status", "idle", "expected"),
    [
        pytest.param(S.in_transit, timedelta(days=6), True, id="in_transit_idle_6d_case"),
        pytest.param(S.in_transit, timedelta(days=4), False, id="in_transit_idle_4d_case"),
        pytest.param(S.delivered, timedelta(days=60), False, id="delivered_never_stale_case"),
        pytest.param(S.lost, timedelta(days=60), False, id="lost_is_terminal_case"),
    ],
)
def test_stale_after_threshold(status: ShipmentStatus, idle: timedelta, expected: bool) -> None:
    state = derive_shipment_state([EventFact(T0, status)])

    assert is_stale(state, now=T0 + idle, threshold=timedelta(days=5)) is expected
