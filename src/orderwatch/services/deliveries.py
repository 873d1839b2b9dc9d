"""Sending planned messages: lease a batch, send, mark in small groups (D4; issue 6 reliable delivery).

    claim due (SKIP LOCKED) ──commit──▶ status sending, lease until now + lease
      for each message:  sender.send ──ok──▶ kept until ``mark_every`` are done, then
                                             mark them sent ──commit (one short transaction)
                                     └─error──▶ marked at once: pending again after back-off
                                                (30 s doubling ≤ 1 h), dead after MAX_ATTEMPTS
                                                or a permanent refusal
      webhook: marked at once (its result may disable its endpoint for the rest of the batch)
      stop requested: what was sent is marked, the rest of the batch released (pending, due now)

The guarantee, exactly:

* **nothing is lost**: a message leaves ``pending``/``sending`` only when its channel accepted
  it (``sent``) or gave up on it (``dead``, shown to staff, redrivable); a worker killed at any
  point leaves its leased messages ``sending`` and they are due again when the lease ends.
* **a message is sent once**, except in one window: the worker dies (or loses the database)
  after the channel accepted a message and before its ``sent`` mark committed. Then those
  messages — at most ``mark_every`` (``ORDERWATCH_WORKER_MARK_BATCH``, 10) per sending thread;
  1 gives the narrowest window at one transaction per message — are sent again after the
  lease. Every copy carries the same
  idempotency key (e-mail ``Message-ID`` and ``X-OrderWatch-Idempotency-Key``; webhook
  ``Idempotency-Key`` and identical body; SMS gateway field), so a receiver that
  de-duplicates — the demo mailbox, the shop's webhook verifier — sees it exactly once.
  A channel that is slower than the lease could also be re-sent; senders' time-outs are
  therefore shorter than the lease (settings check it), and a failed send (often a time-out)
  is marked at once with the sends before it. On PostgreSQL the marks do not wait
  for the WAL flush (``adapters/db/notifications.py``): only a database-server crash in that
  instant widens the re-send window, with the same idempotency key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from orderwatch.services.outbox import MAX_ATTEMPTS, retry_delay
from orderwatch.services.ports import (
    ChannelSender,
    Clock,
    NotificationUnitOfWork,
    OutgoingMessage,
    PermanentFailure,
)

WEBHOOK_DISABLE_AFTER = 5  # straight failures (karrio disables after more than five, ANCHORS §6)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What one ``deliver_due`` call did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    released: int = 0


@dataclass
class _Tally:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    disabled: set[int] = field(default_factory=set)  # endpoints disabled during this batch


Attempt = tuple[OutgoingMessage, str | None, bool]  # the message, its error (None: sent), permanent


def deliver_due(
    uow_factory: Callable[[], NotificationUnitOfWork],
    senders: Mapping[str, ChannelSender],
    *,
    clock: Clock,
    lease: timedelta,
    limit: int = 50,
    should_stop: Callable[[], bool] = lambda: False,
    mark_every: int = 1,
) -> DeliveryResult:
    """Send up to ``limit`` due messages, marking them every ``mark_every`` sends (one transaction).

    ``mark_every=1`` marks each message right after its send. A larger value saves a
    transaction per message and widens the re-send window to that many messages per thread; a
    webhook is always marked at once (its result may disable its endpoint for the rest).
    """
    now = clock.now()
    with uow_factory() as uow:
        batch = uow.notifications.claim_due(now=now, lease_until=now + lease, limit=limit)
        uow.commit()
    tally = _Tally()
    held: list[int] = []  # messages to endpoints disabled during this batch: not tried again now
    done: list[Attempt] = []  # sent or failed, not recorded yet
    for position, message in enumerate(batch):
        if should_stop():
            _record(uow_factory, done, clock=clock, tally=tally)
            _release(uow_factory, held + [m.id for m in batch[position:]], clock=clock)
            released = len(held) + len(batch) - position
            return DeliveryResult(len(batch), tally.sent, tally.retried, tally.dead, released)
        if message.endpoint_id in tally.disabled:
            held.append(message.id)
            continue
        attempt = _attempt(senders, message)
        done.append(attempt)
        if message.endpoint_id is not None or attempt[1] is not None or len(done) >= mark_every:
            _record(uow_factory, done, clock=clock, tally=tally)
            done = []
    _record(uow_factory, done, clock=clock, tally=tally)
    _release(uow_factory, held, clock=clock)
    return DeliveryResult(len(batch), tally.sent, tally.retried, tally.dead, len(held))


def _attempt(senders: Mapping[str, ChannelSender], message: OutgoingMessage) -> Attempt:
    try:
        sender = senders.get(message.channel)
        if sender is None:
            raise PermanentFailure(f"no sender configured for channel {message.channel!r}")
        sender.send(message)
    except PermanentFailure as failure:
        return message, f"permanent: {failure}", True
    except Exception as failure:
        return message, f"{type(failure).__name__}: {failure}", False
    return message, None, False


def _record(
    uow_factory: Callable[[], NotificationUnitOfWork],
    attempts: list[Attempt],
    *,
    clock: Clock,
    tally: _Tally,
) -> None:
    """Mark the attempts' outcomes in one transaction and count them."""
    if not attempts:
        return
    now = clock.now()
    with uow_factory() as uow:
        store = uow.notifications
        store.mark_sent([message.id for message, error, _ in attempts if error is None], now=now)
        for message, error, permanent in attempts:
            give_up = error is not None and (permanent or message.attempts >= MAX_ATTEMPTS)
            if error is not None:
                retry_at = None if give_up else now + retry_delay(message.attempts)
                store.mark_failed(message.id, error=error, retry_at=retry_at)
            active = True
            if message.endpoint_id is not None:
                active = store.record_endpoint_result(
                    message.endpoint_id, ok=error is None, disable_after=WEBHOOK_DISABLE_AFTER, now=now
                )
                if not active:
                    tally.disabled.add(message.endpoint_id)
            tally.sent += error is None
            tally.dead += give_up
            tally.retried += error is not None and not give_up
        uow.commit()


def _release(uow_factory: Callable[[], NotificationUnitOfWork], ids: list[int], *, clock: Clock) -> None:
    if not ids:
        return
    with uow_factory() as uow:
        uow.notifications.release(ids, now=clock.now())
        uow.commit()


def redrive(uow: NotificationUnitOfWork, *, clock: Clock, endpoint_id: int | None = None) -> int:
    """Dead messages back to pending (one endpoint's, or all) and the endpoint re-enabled."""
    with uow:
        count = uow.notifications.redrive(endpoint_id=endpoint_id, now=clock.now())
        uow.commit()
    return count
