"""Group commit of webhook events (entrypoints/api/batching.py, D1): grouping, outcomes, failures."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from orderwatch.domain.commands import EventOutcome, RecordTrackingEvent
from orderwatch.domain.shipments import ShipmentStatus
from orderwatch.entrypoints.api.batching import EventBatcher

AT = datetime(2018, 3, 1, 12, tzinfo=UTC)


def event(number: str, status: ShipmentStatus = ShipmentStatus.in_transit) -> RecordTrackingEvent:
    return RecordTrackingEvent(carrier_code="c", tracking_number=number, status=status, occurred_at=AT)


class FakeIngest:
    """Answers like ingest_events: one outcome per event, duplicates of earlier identical ones."""

    def __init__(self, *, poison: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.seen: set[tuple[str, ShipmentStatus]] = set()
        self.poison = poison
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, events: Sequence[RecordTrackingEvent]) -> list[EventOutcome]:
        self.gate.wait(5)
        numbers = [e.tracking_number for e in events]
        self.calls.append(numbers)
        if self.poison in numbers:
            raise RuntimeError("database said no")
        outcomes = []
        for index, item in enumerate(events):
            key = (item.tracking_number, item.status)
            result = "duplicate" if key in self.seen else "accepted"
            outcomes.append(EventOutcome(index, result, None, item.status))
            self.seen.add(key)
        return outcomes


def test_a_lone_request_is_ingested_at_once_with_its_own_indexes() -> None:
    ingest = FakeIngest()

    outcomes = asyncio.run(EventBatcher(ingest).submit([event("A"), event("B")]))

    assert [(o.index, o.result) for o in outcomes] == [(0, "accepted"), (1, "accepted")]
    assert ingest.calls == [["A", "B"]]


def test_requests_that_queue_behind_a_running_batch_share_the_next_transaction() -> None:
    ingest = FakeIngest()
    batcher = EventBatcher(ingest)

    async def scenario() -> list[list[EventOutcome]]:
        ingest.gate.clear()  # hold the first batch in the "database"
        first = asyncio.ensure_future(batcher.submit([event("A")]))
        await asyncio.sleep(0.05)
        waiting = [asyncio.ensure_future(batcher.submit([event(n), event(n + "2")])) for n in "BCD"]
        await asyncio.sleep(0.05)
        ingest.gate.set()
        return [await first, *[await w for w in waiting]]

    results = asyncio.run(scenario())

    assert ingest.calls == [["A"], ["B", "B2", "C", "C2", "D", "D2"]]
    assert (batcher.batches, batcher.events) == (2, 7)
    for outcomes in results[1:]:  # each request sees indexes 0.. of its own events
        assert [o.index for o in outcomes] == [0, 1]


def test_the_same_event_in_two_requests_of_one_batch_is_stored_once() -> None:
    ingest = FakeIngest()
    batcher = EventBatcher(ingest)

    async def scenario() -> tuple[list[EventOutcome], list[EventOutcome]]:
        ingest.gate.clear()
        blocker = asyncio.ensure_future(batcher.submit([event("Z")]))
        await asyncio.sleep(0.05)
        one = asyncio.ensure_future(batcher.submit([event("A")]))
        two = asyncio.ensure_future(batcher.submit([event("A")]))
        await asyncio.sleep(0.05)
        ingest.gate.set()
        await blocker
        return await one, await two

    one, two = asyncio.run(scenario())

    assert (one[0].result, two[0].result) == ("accepted", "duplicate")


def test_a_batch_is_bounded_by_max_events() -> None:
    ingest = FakeIngest()
    batcher = EventBatcher(ingest, max_events=3)

    async def scenario() -> None:
        ingest.gate.clear()
        blocker = asyncio.ensure_future(batcher.submit([event("Z")]))
        await asyncio.sleep(0.05)
        rest = [asyncio.ensure_future(batcher.submit([event(n)])) for n in "ABCDE"]
        await asyncio.sleep(0.05)
        ingest.gate.set()
        await asyncio.gather(blocker, *rest)

    asyncio.run(scenario())

    assert ingest.calls == [["Z"], ["A", "B", "C"], ["D", "E"]]


def test_a_failing_request_fails_alone_and_its_neighbours_are_stored() -> None:
    ingest = FakeIngest(poison="BAD")
    batcher = EventBatcher(ingest)

    async def scenario() -> tuple[list[EventOutcome], BaseException | None, list[EventOutcome]]:
        ingest.gate.clear()
        blocker = asyncio.ensure_future(batcher.submit([event("Z")]))
        await asyncio.sleep(0.05)
        good = asyncio.ensure_future(batcher.submit([event("A")]))
        bad = asyncio.ensure_future(batcher.submit([event("BAD")]))
        later = asyncio.ensure_future(batcher.submit([event("C")]))
        await asyncio.sleep(0.05)
        ingest.gate.set()
        await blocker
        failure = None
        try:
            await bad
        except RuntimeError as error:
            failure = error
        return await good, failure, await later

    good, failure, later = asyncio.run(scenario())

    assert (good[0].result, later[0].result) == ("accepted", "accepted")
    assert isinstance(failure, RuntimeError)
    # the shared batch failed, then each request was retried on its own
    assert ingest.calls[1] == ["A", "BAD", "C"]
    assert ingest.calls[2:] == [["A"], ["BAD"], ["C"]]


def test_nothing_to_ingest_costs_no_transaction() -> None:
    ingest = FakeIngest()

    assert asyncio.run(EventBatcher(ingest).submit([])) == []
    assert ingest.calls == []


def test_a_miscounting_ingest_is_an_error_not_a_silent_misattribution() -> None:
    def short(events: Sequence[RecordTrackingEvent]) -> list[EventOutcome]:
        return []

    with pytest.raises(RuntimeError):
        asyncio.run(EventBatcher(short).submit([event("A")]))
