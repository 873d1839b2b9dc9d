"""Dispatching the transactional outbox (side effects happen once, after their cause committed).

    claim due rows (SKIP LOCKED on PostgreSQL) ──▶ sink.send(message) ──ok──▶ mark sent
                                                           └──error──▶ attempts+1, retry later
                                                                       (30 s doubling, ≤ 1 h;
                                                                        dead after MAX_ATTEMPTS)

A message is marked sent in the transaction that claimed it, so a dispatcher that dies before
committing leaves the row pending and another one retries it: delivery is *at least once*, and
sinks de-duplicate on ``idempotency_key`` to make the effect *exactly once*.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from orderwatch.services.ports import Clock, Sink, UnitOfWork

MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(hours=1)


def retry_delay(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failed ones: 30 s, 1 min, 2 min ... ≤ 1 h."""
    delay: timedelta = timedelta(seconds=30) * (2 ** max(attempts - 1, 0))
    return min(delay, MAX_BACKOFF)


@dataclass(frozen=True, slots=True)
class DispatchResult:
    """How many claimed messages were sent, will be retried, or were given up."""

    sent: int = 0
    retried: int = 0
    dead: int = 0


def dispatch_due(uow: UnitOfWork, sink: Sink, *, clock: Clock, limit: int = 500) -> DispatchResult:
    """Send up to ``limit`` due messages through ``sink`` (one transaction)."""
    now = clock.now()
    sent: list[int] = []
    retried = dead = 0
    with uow:
        for message in uow.outbox.claim_due(now=now, limit=limit):
            try:
                sink.send(message)
            except Exception as error:
                attempts = message.attempts + 1
                give_up = attempts >= MAX_ATTEMPTS
                retry_at = None if give_up else now + retry_delay(attempts)
                uow.outbox.mark_failed(
                    message.id, error=f"{type(error).__name__}: {error}", retry_at=retry_at, now=now
                )
                dead += give_up
                retried += not give_up
                continue
            sent.append(message.id)
        uow.outbox.mark_sent(sent, now=now)
        uow.commit()
    return DispatchResult(sent=len(sent), retried=retried, dead=dead)


def dispatch_batch(uow: UnitOfWork, sinks: Sequence[Sink], *, clock: Clock, limit: int = 500) -> int:
    """Hand up to ``limit`` due rows to every sink as one batch, in one transaction; how many.

    A sink with ``send_many`` gets the whole batch at once (the notification planner plans it
    with a handful of queries); any error rolls the whole batch back for the caller to retry
    row by row with :func:`dispatch_due`.
    """
    now = clock.now()
    with uow:
        events = uow.outbox.claim_due(now=now, limit=limit)
        if not events:
            return 0
        for sink in sinks:
            send_many = getattr(sink, "send_many", None)
            if send_many is not None:
                send_many(events)
            else:
                for event in events:
                    sink.send(event)
        uow.outbox.mark_sent([e.id for e in events], now=now)
        uow.commit()
    return len(events)


def drain(uow_factory: Callable[[], UnitOfWork], sink: Sink, *, clock: Clock, limit: int = 500) -> int:
    """Dispatch until nothing is due; the number sent."""
    total = 0
    while True:
        result = dispatch_due(uow_factory(), sink, clock=clock, limit=limit)
        total += result.sent
        if result.sent + result.retried + result.dead < limit:
            return total
