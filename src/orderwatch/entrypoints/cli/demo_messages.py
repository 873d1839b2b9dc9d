"""The demo's customer messages (issue 6 staff side: D4, U14): planned as the worker plans them.

In a replay the outbox is drained on the simulated clock. For the demo shop that drain hands
each batch to the worker's own outbox consumers (``entrypoints/worker/jobs.py``: the
notification planner, automatic remedy offers) and then delivers the due e-mails and SMS to
the local mailbox table (``adapters/db/demo_mailbox.py``), never to a real address. Staff read
it on ``/notifications/mailbox``.

Only the last ``since`` part of the history is messaged (``--mailbox-days``, 7): all of it,
four months, was 23 k messages for 5 000 orders and +38 % CPU time for the demo, for messages
nobody opens; before ``since`` the outbox is only recorded, as in a plain replay (the shop
"switched its notifications on" then).
"""

from __future__ import annotations

import logging
from datetime import datetime

from orderwatch.adapters.db.demo_mailbox import deliver_due
from orderwatch.adapters.sinks import RecordingSink
from orderwatch.bootstrap import App
from orderwatch.entrypoints.worker import jobs
from orderwatch.services.outbox import dispatch_batch, dispatch_due, drain
from orderwatch.services.ports import Clock

log = logging.getLogger("orderwatch.demo")
BATCH = 5_000


class DemoMessages:
    """A replay job: drain the outbox through the recording sink and the worker's consumers."""

    def __init__(self, app: App, sink: RecordingSink, *, since: datetime) -> None:
        jobs.load_all()
        self.app, self.sink, self.since = app, sink, since
        self.delivered = 0

    def __call__(self, clock: Clock) -> int:
        if clock.now() < self.since:
            return drain(self.app.uow, self.sink, clock=clock, limit=BATCH)
        handed = self._drain(clock)
        with self.app.uow() as uow:
            self.delivered += deliver_due(uow.session, now=clock.now())
            uow.commit()
        return handed

    def _drain(self, clock: Clock) -> int:
        total = 0
        while True:
            uow = self.app.uow()
            try:
                handed = dispatch_batch(
                    uow, [self.sink, *jobs.consumers(self.app, uow)], clock=clock, limit=BATCH
                )
            except Exception:  # as the worker does: one bad event must not stop the rest
                log.exception("demo outbox batch failed; dispatching row by row")
                row_uow = self.app.uow()
                sinks = jobs.FanOut([self.sink, *jobs.consumers(self.app, row_uow)])
                result = dispatch_due(row_uow, sinks, clock=clock, limit=BATCH)
                handed = result.sent + result.retried + result.dead
            total += handed
            if handed < BATCH:
                return total
