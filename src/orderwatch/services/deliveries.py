"""Sending planned messages: lease a batch, send each, mark each at once (D4; issue 6 reliable delivery).

    claim due (SKIP LOCKED) ──commit──▶ status sending, lease until now + lease
      for each message:  sender.send ──ok──▶ mark sent ──commit   (one short transaction each)
                                     └─error──▶ pending again after back-off (30 s doubling ≤ 1 h),
                                                dead after MAX_ATTEMPTS or a permanent refusal
      stop requested: the rest of the batch is released (pending, due now)

The guarantee, exactly:

* **nothing is lost**: a message leaves ``pending``/``sending`` only when its channel accepted
  it (``sent``) or gave up on it (``dead``, shown to staff, redrivable); a worker killed at any
  point leaves its leased messages ``sending`` and they are due again when the lease ends.
* **a message is sent once**, except in one window: the worker dies (or loses the database)
  after the channel accepted the message and before the ``sent`` mark committed. Then that one
  message (per sending thread) is sent again after the lease. Every copy carries the same
  idempotency key (e-mail ``Message-ID`` and ``X-OrderWatch-Idempotency-Key``; webhook
  ``Idempotency-Key`` and identical body; SMS gateway field), so a receiver that
  de-duplicates — the demo mailbox, the shop's webhook verifier — sees it exactly once.
  A channel that is slower than the lease could also be re-sent; senders' time-outs are
  therefore shorter than the lease (settings check it). On PostgreSQL the marks do not wait
  for the WAL flush (``adapters/db/notifications.py``): only a database-server crash in that
  instant widens the re-send window, with the same idempotency key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
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


def deliver_due(
    uow_factory: Callable[[], NotificationUnitOfWork],
    senders: Mapping[str, ChannelSender],
    *,
    clock: Clock,
    lease: timedelta,
    limit: int = 50,
    should_stop: Callable[[], bool] = lambda: False,
) -> DeliveryResult:
    """Send up to ``limit`` due messages, each marked in its own transaction right after its send."""
    now = clock.now()
    with uow_factory() as uow:
        batch = uow.notifications.claim_due(now=now, lease_until=now + lease, limit=limit)
        uow.commit()
    sent = retried = dead = 0
    held: list[int] = []  # messages to endpoints disabled during this batch: not tried again now
    disabled: set[int] = set()
    for position, message in enumerate(batch):
        if should_stop():
            _release(uow_factory, held + [m.id for m in batch[position:]], clock=clock)
            return DeliveryResult(len(batch), sent, retried, dead, len(held) + len(batch) - position)
        if message.endpoint_id in disabled:
            held.append(message.id)
            continue
        outcome = _send_one(uow_factory, senders, message, clock=clock)
        if outcome == "endpoint_disabled":
            disabled.add(message.endpoint_id or 0)
            outcome = "retried"
        sent += outcome == "sent"
        retried += outcome == "retried"
        dead += outcome == "dead"
    _release(uow_factory, held, clock=clock)
    return DeliveryResult(len(batch), sent, retried, dead, len(held))


def _send_one(
    uow_factory: Callable[[], NotificationUnitOfWork],
    senders: Mapping[str, ChannelSender],
    message: OutgoingMessage,
    *,
    clock: Clock,
) -> str:
    error: str | None = None
    permanent = False
    try:
        sender = senders.get(message.channel)
        if sender is None:
            raise PermanentFailure(f"no sender configured for channel {message.channel!r}")
        sender.send(message)
    except PermanentFailure as failure:
        error, permanent = f"permanent: {failure}", True
    except Exception as failure:
        error = f"{type(failure).__name__}: {failure}"
    now = clock.now()
    with uow_factory() as uow:
        store = uow.notifications
        if error is None:
            store.mark_sent(message.id, now=now)
        give_up = error is not None and (permanent or message.attempts >= MAX_ATTEMPTS)
        if error is not None:
            store.mark_failed(
                message.id, error=error, retry_at=None if give_up else now + retry_delay(message.attempts)
            )
        active = True
        if message.endpoint_id is not None:
            active = store.record_endpoint_result(
                message.endpoint_id, ok=error is None, disable_after=WEBHOOK_DISABLE_AFTER, now=now
            )
        uow.commit()
    if error is None:
        return "sent"
    return "dead" if give_up else "retried" if active else "endpoint_disabled"


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
