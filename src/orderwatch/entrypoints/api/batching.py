"""Group commit for tracking events that arrive one request at a time (carrier webhooks, D1).

    request 1 ─┐                        ┌─▶ outcome 1
    request 2 ─┼─▶ pending ─▶ one ingest_events(...) transaction ─┼─▶ outcome 2
    request 3 ─┘   (whatever queued while the previous batch ran)  └─▶ outcome 3

A webhook carries one or a few events, and one transaction per request spends most of its time
on fixed costs: the commit's fsync, the lock and read of the shipment rows, the round trips. So
concurrent requests share a transaction, the way databases group their commits. There is no
timer: a batch starts as soon as the previous one ends and takes everything that queued up
meanwhile (at most ``max_events``), so a lone request waits for nobody and a busy server
batches as much as its load offers.

Guarantees: every request is answered only after the transaction holding its events has
committed (a 200 means stored, as before); each request gets the outcomes of its own events,
indexed from 0 as if it had been alone; identical events in two requests of one batch are
stored once (the later is a ``duplicate``), exactly as if they had arrived one after the other.
If a batch fails as a whole (a database error), each request of it is retried alone, so one
poisoned request cannot fail its neighbours.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import deque
from collections.abc import Callable, Sequence

from starlette.concurrency import run_in_threadpool

from orderwatch.domain.commands import EventOutcome, RecordTrackingEvent

Ingest = Callable[[Sequence[RecordTrackingEvent]], list[EventOutcome]]
DEFAULT_MAX_EVENTS = 2_000


class EventBatcher:
    """Collects concurrent submissions on one event loop and ingests them together."""

    def __init__(self, ingest: Ingest, *, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        self._ingest = ingest
        self._max_events = max_events
        self._pending: deque[tuple[Sequence[RecordTrackingEvent], asyncio.Future[list[EventOutcome]]]] = (
            deque()
        )
        self._runner: asyncio.Task[None] | None = None
        self.batches = 0
        self.events = 0

    async def submit(self, events: Sequence[RecordTrackingEvent]) -> list[EventOutcome]:
        """Ingest ``events`` in the next batch; returns their outcomes once it has committed."""
        if not events:
            return []
        future: asyncio.Future[list[EventOutcome]] = asyncio.get_running_loop().create_future()
        self._pending.append((events, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self._run())
        # shield: a client that hangs up must not cancel the batch its events are part of.
        return await asyncio.shield(future)

    async def _run(self) -> None:
        while self._pending:
            batch = self._take()
            flat = [event for events, _ in batch for event in events]
            try:
                outcomes = await run_in_threadpool(self._checked_ingest, flat)
            except Exception:
                await self._one_by_one(batch)
                continue
            self.batches += 1
            self.events += len(flat)
            offset = 0
            for events, future in batch:
                mine = outcomes[offset : offset + len(events)]
                _resolve(future, [dataclasses.replace(o, index=o.index - offset) for o in mine])
                offset += len(events)

    def _checked_ingest(self, events: Sequence[RecordTrackingEvent]) -> list[EventOutcome]:
        outcomes = self._ingest(events)
        if len(outcomes) != len(events):  # ingest_events answers every item; anything else is a bug
            raise RuntimeError(f"{len(outcomes)} outcomes for {len(events)} events")
        return outcomes

    def _take(self) -> list[tuple[Sequence[RecordTrackingEvent], asyncio.Future[list[EventOutcome]]]]:
        batch = [self._pending.popleft()]
        count = len(batch[0][0])
        while self._pending and count + len(self._pending[0][0]) <= self._max_events:
            entry = self._pending.popleft()
            batch.append(entry)
            count += len(entry[0])
        return batch

    async def _one_by_one(
        self, batch: list[tuple[Sequence[RecordTrackingEvent], asyncio.Future[list[EventOutcome]]]]
    ) -> None:
        for events, future in batch:
            try:
                outcomes = await run_in_threadpool(self._checked_ingest, events)
            except Exception as error:
                if not future.done():
                    future.set_exception(error)
                continue
            self.batches += 1
            self.events += len(events)
            _resolve(future, outcomes)


def _resolve(future: asyncio.Future[list[EventOutcome]], outcomes: list[EventOutcome]) -> None:
    if not future.done():
        future.set_result(outcomes)
