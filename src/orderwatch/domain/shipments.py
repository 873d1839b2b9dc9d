"""Shipment statuses (D1): one normalized vocabulary and the derivation of a shipment's status.

Every tracking event carries a normalized :class:`ShipmentStatus` plus the carrier's raw code and
text (ANCHORS §2.1). A shipment's status is *derived* from its events ordered by event time, never
by arrival order: carriers resend, reorder and duplicate scans.

    events (any arrival order) ──dedupe──▶ sort by (occurred_at, precedence) ──▶ last = status

:func:`fold_event` is the incremental form used on the hot ingestion path; a property test
checks that folding events in any order equals :func:`derive_shipment_state` on the whole set.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum


class ShipmentStatus(StrEnum):
    """Canonical shipment statuses (ANCHORS §2.1); ``stale`` is derived from time, never received."""

    created = "created"
    picked_up = "picked_up"
    in_transit = "in_transit"
    customs_hold = "customs_hold"
    out_for_delivery = "out_for_delivery"
    available_for_pickup = "available_for_pickup"
    delivery_failed = "delivery_failed"
    delivered = "delivered"
    exception = "exception"
    returning = "returning"
    returned = "returned"
    refused = "refused"
    lost = "lost"
    damaged = "damaged"
    stale = "stale"
    unknown = "unknown"


# When two events carry the same timestamp (carriers often stamp a whole batch with one minute),
# the one further along the journey wins. Terminal outcomes rank highest.
PRECEDENCE: dict[ShipmentStatus, int] = {
    ShipmentStatus.unknown: 0,
    ShipmentStatus.created: 1,
    ShipmentStatus.picked_up: 2,
    ShipmentStatus.in_transit: 3,
    ShipmentStatus.customs_hold: 4,
    ShipmentStatus.exception: 5,
    ShipmentStatus.stale: 5,
    ShipmentStatus.out_for_delivery: 6,
    ShipmentStatus.available_for_pickup: 7,
    ShipmentStatus.delivery_failed: 8,
    ShipmentStatus.returning: 9,
    ShipmentStatus.refused: 10,
    ShipmentStatus.damaged: 11,
    ShipmentStatus.lost: 12,
    ShipmentStatus.returned: 13,
    ShipmentStatus.delivered: 14,
}

TERMINAL_STATUSES = frozenset(
    {ShipmentStatus.delivered, ShipmentStatus.returned, ShipmentStatus.lost}
)
# Statuses that mean the parcel will not reach the customer without intervention (U3).
UNDELIVERABLE_STATUSES = frozenset(
    {ShipmentStatus.returned, ShipmentStatus.returning, ShipmentStatus.lost, ShipmentStatus.refused}
)
EXCEPTION_STATUSES = frozenset(
    {
        ShipmentStatus.exception,
        ShipmentStatus.delivery_failed,
        ShipmentStatus.customs_hold,
        ShipmentStatus.refused,
        ShipmentStatus.lost,
        ShipmentStatus.damaged,
        ShipmentStatus.returning,
        ShipmentStatus.returned,
    }
)
# The carrier has the parcel from the first of these onwards.
HANDED_OVER_STATUSES = frozenset(set(ShipmentStatus) - {ShipmentStatus.created, ShipmentStatus.unknown})
# "Late is judged at the first delivery attempt, not final delivery" (ANCHORS §6).
ATTEMPT_STATUSES = frozenset(
    {ShipmentStatus.delivered, ShipmentStatus.delivery_failed, ShipmentStatus.refused}
)


@dataclass(frozen=True, slots=True)
class EventFact:
    """The part of a tracking event that the status derivation needs."""

    occurred_at: datetime
    status: ShipmentStatus

    @property
    def sort_key(self) -> tuple[datetime, int]:
        return (self.occurred_at, PRECEDENCE[self.status])


@dataclass(frozen=True, slots=True)
class ShipmentState:
    """What the events of a shipment say, independent of the order they arrived in.

    ``status_at``/``status_precedence`` identify the event that set ``status``; ``last_scan_at``
    is the newest event of any kind (an unreadable scan is still a sign of life).
    """

    status: ShipmentStatus = ShipmentStatus.created
    status_at: datetime | None = None
    status_precedence: int = -1
    last_scan_at: datetime | None = None
    handed_over_at: datetime | None = None
    first_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    event_count: int = 0


def _earliest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate < current else current


def _latest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate > current else current


def fold_event(state: ShipmentState, event: EventFact) -> ShipmentState:
    """Apply one (already deduplicated) event to ``state``; commutative over event order.

    Every field is a max or min over the events, which is what makes arrival order irrelevant.
    ``unknown`` events stay on the timeline but never set the status.
    """
    status, status_at, precedence = state.status, state.status_at, state.status_precedence
    if event.status is not ShipmentStatus.unknown and (
        status_at is None or event.sort_key > (status_at, precedence)
    ):
        status, status_at, precedence = event.status, event.occurred_at, PRECEDENCE[event.status]
    handed = state.handed_over_at
    if event.status in HANDED_OVER_STATUSES:
        handed = _earliest(handed, event.occurred_at)
    attempt = state.first_attempt_at
    if event.status in ATTEMPT_STATUSES:
        attempt = _earliest(attempt, event.occurred_at)
    delivered = state.delivered_at
    if event.status is ShipmentStatus.delivered:
        delivered = _earliest(delivered, event.occurred_at)
    return replace(
        state,
        status=status,
        status_at=status_at,
        status_precedence=precedence,
        last_scan_at=_latest(state.last_scan_at, event.occurred_at),
        handed_over_at=handed,
        first_attempt_at=attempt,
        delivered_at=delivered,
        event_count=state.event_count + 1,
    )


def derive_shipment_state(events: Iterable[EventFact]) -> ShipmentState:
    """The state of a shipment from all its distinct events (the reference definition)."""
    state = ShipmentState()
    for event in sorted(set(events), key=lambda e: e.sort_key):
        state = fold_event(state, event)
    return state


def is_stale(
    state: ShipmentState, *, now: datetime, threshold: timedelta = timedelta(days=5)
) -> bool:
    """A parcel in the carrier's hands with no scan for longer than ``threshold`` (ANCHORS §6)."""
    if state.status in TERMINAL_STATUSES or state.last_scan_at is None:
        return False
    if state.status is ShipmentStatus.created:
        return False
    return now - state.last_scan_at > threshold
