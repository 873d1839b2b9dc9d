"""The transactional outbox: side effects are rows written with the change that causes them.

``enqueue`` runs inside the caller's transaction, so a message exists exactly when its cause
was committed. Workers claim due rows (``locking.claim_due``: ``SKIP LOCKED`` on PostgreSQL),
and on failure store the error on the row and retry with a doubling delay capped at one hour
(the sentry ``next_schedule`` rule). The unique ``idempotency_key`` makes a cause that is
processed twice (a retried webhook, a replayed import) produce one message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from orderwatch.adapters.db.dialect import chunks, insert_for
from orderwatch.adapters.db.tables import OutboxRow, table_of
from orderwatch.services.ports import OutboxMessage

MAX_BACKOFF = timedelta(hours=1)


def next_attempt_delay(attempts: int) -> timedelta:
    """30 s after the first failure, doubling, never more than an hour."""
    delay: timedelta = timedelta(seconds=30) * (2 ** max(attempts - 1, 0))
    return min(delay, MAX_BACKOFF)


class SqlOutbox:
    """Outbox writes inside the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue(self, messages: Sequence[OutboxMessage], *, now: datetime) -> int:
        rows = [
            {
                "topic": m.topic, "idempotency_key": m.idempotency_key, "payload": dict(m.payload),
                "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
            }
            for m in messages
        ]
        written = 0
        for part in chunks(rows, columns=7):
            result = self.session.execute(
                insert_for(self.session, table_of(OutboxRow))
                .values(list(part))
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
            )
            written += max(result.rowcount or 0, 0)  # type: ignore[attr-defined]
        return written
