"""The Olist history as a time-ordered stream of commands, for ``orderwatch replay olist`` (issue 3).

Each Olist timestamp becomes the command that would have arrived at that moment::

    purchase ──▶ UpsertOrder (customer, lines, promise)    + RecordPayment (same moment)
    approval / final status ──▶ RecordMilestone
    carrier hand-off ──▶ UpsertShipment + RecordTrackingEvent(picked_up)
    customer delivery ──▶ RecordTrackingEvent(delivered)
    review answered ──▶ RecordFeedback (at the answer time: that is when the shop learns it)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from orderwatch.adapters.datasets.olist import OlistOrder
from orderwatch.domain.commands import (
    RecordFeedback,
    RecordMilestone,
    RecordPayment,
    TimedCommand,
)


@dataclass
class Timeline:
    """The commands in time order, and what could not be placed in time."""

    commands: list[TimedCommand] = field(default_factory=list)
    undated_feedback: int = 0
    outside_window: int = 0


def build_timeline(
    orders: Iterable[OlistOrder],
    payments: Iterable[RecordPayment],
    feedback: Iterable[RecordFeedback],
    *,
    purchased_from: datetime | None = None,
    purchased_until: datetime | None = None,
    stop_at: datetime | None = None,
) -> Timeline:
    """Commands of the orders purchased in ``[purchased_from, purchased_until)``, up to ``stop_at``."""
    timeline = Timeline()
    placed: dict[str, datetime] = {}
    out = timeline.commands

    for item in orders:
        order = item.order
        if (purchased_from and order.purchased_at < purchased_from) or (
            purchased_until and order.purchased_at >= purchased_until
        ):
            timeline.outside_window += 1
            continue
        purchased = placed[order.ref] = order.purchased_at
        out.append(TimedCommand(purchased, replace(order, milestones=())))
        # A few Olist dates precede the purchase (clock errors at the source): they keep their
        # value, but arrive no earlier than the order they belong to.
        out.extend(
            TimedCommand(max(moment, purchased), RecordMilestone(order.ref, milestone, moment, order.source))
            for milestone, moment in order.milestones
        )
        if item.shipment is not None:
            first_scan = min((e.occurred_at for e in item.events), default=purchased)
            out.append(TimedCommand(max(first_scan, purchased), item.shipment))
        out.extend(TimedCommand(max(event.occurred_at, purchased), event) for event in item.events)
    for payment in payments:
        if payment.order_ref in placed:
            out.append(TimedCommand(placed[payment.order_ref], payment))
    for review in feedback:
        if review.order_ref not in placed:
            continue
        moment = review.answered_at or review.created_at
        if moment is None:
            timeline.undated_feedback += 1
            continue
        out.append(TimedCommand(max(moment, placed[review.order_ref]), review))
    if stop_at is not None:
        out[:] = [c for c in out if c.at <= stop_at]
    out.sort(key=lambda c: c.at)
    return timeline
