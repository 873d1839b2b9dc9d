"""Which use case handles which command: the one table replay and batch entry points share.

The cosmicpython ``COMMAND_HANDLERS`` idea: the replay (``services/replay.py``) looks commands up
here, so a command kind added later needs one line here and nothing in the replay.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orderwatch.domain.commands import (
    RecordFeedback,
    RecordMilestone,
    RecordPayment,
    RecordTrackingEvent,
    UpsertOrder,
    UpsertShipment,
)
from orderwatch.services import ingest, master_data
from orderwatch.services.ports import Clock, UnitOfWork
from orderwatch.services.replay import Handler


def _feedback(uow: UnitOfWork, items: Sequence[Any], clock: Clock) -> Sequence[Any]:
    source = items[0].source if items else "replay"
    return master_data.import_feedback(uow, items, clock=clock, source=source)


def _payments(uow: UnitOfWork, items: Sequence[Any], clock: Clock) -> Sequence[Any]:
    return master_data.import_payments(uow, items, clock=clock, source="replay")


COMMAND_HANDLERS: dict[type, Handler] = {
    UpsertOrder: lambda uow, items, clock: ingest.ingest_orders(uow, items, clock=clock),
    RecordMilestone: lambda uow, items, clock: ingest.ingest_milestones(uow, items, clock=clock),
    UpsertShipment: lambda uow, items, clock: ingest.ingest_shipments(uow, items, clock=clock),
    RecordTrackingEvent: lambda uow, items, clock: ingest.ingest_events(uow, items, clock=clock),
    RecordFeedback: _feedback,
    RecordPayment: _payments,
}
