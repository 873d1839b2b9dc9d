"""The transactional outbox: side effects are rows written with the change that causes them.

``enqueue`` runs inside the caller's transaction, so a message exists exactly when its cause
was committed. Workers claim due rows (``locking.claim_due``: ``SKIP LOCKED`` on PostgreSQL),
and on failure store the error on the row and retry with a doubling delay capped at one hour
(the sentry ``next_schedule`` rule, in ``services/outbox.py``). The unique ``idempotency_key``
makes a cause that is processed twice (a retried webhook, a replayed import) produce one message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from orderwatch.adapters.db.bulk import insert_many_count
from orderwatch.adapters.db.dialect import matching
from orderwatch.adapters.db.locking import claim_due
from orderwatch.adapters.db.tables import OutboxRow, table_of
from orderwatch.services.ports import ClaimedMessage, OutboxMessage


class SqlOutbox:
    """Outbox writes inside the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue(self, messages: Sequence[OutboxMessage], *, now: datetime) -> int:
        rows = [
            {
                "topic": m.topic,
                "idempotency_key": m.idempotency_key,
                "payload": dict(m.payload),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for m in messages
        ]
        return insert_many_count(
            self.session,
            table_of(OutboxRow),
            rows,
            finish=lambda statement: statement.on_conflict_do_nothing(index_elements=["idempotency_key"]),
        )

    def claim_due(self, *, now: datetime, limit: int) -> list[ClaimedMessage]:
        # Columns, not ORM objects: a replay drains thousands of rows per run, and building and
        # tracking an object per row cost more than reading it.
        query = (
            select(
                OutboxRow.id,
                OutboxRow.topic,
                OutboxRow.idempotency_key,
                OutboxRow.payload,
                OutboxRow.attempts,
            )
            .where(OutboxRow.status == "pending", OutboxRow.next_attempt_at <= now)
            .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
            .limit(limit)
        )
        return [
            ClaimedMessage(
                id=r.id,
                topic=r.topic,
                idempotency_key=r.idempotency_key,
                payload=r.payload,
                attempts=r.attempts,
            )
            for r in self.session.execute(claim_due(self.session, query))
        ]

    def mark_sent(self, ids: Sequence[int], *, now: datetime) -> None:
        # A Core UPDATE on the session's connection: the ORM form would first try to find the
        # matched rows among loaded objects (none are; claims read columns).
        table = table_of(OutboxRow)
        connection = self.session.connection()
        for clause in matching(self.session, table.c.id, ids):
            connection.execute(
                update(table)
                .where(clause)
                .values(status="sent", sent_at=now, attempts=table.c.attempts + 1, last_error=None)
            )

    def mark_failed(self, message_id: int, *, error: str, retry_at: datetime | None, now: datetime) -> None:
        values: dict[str, object] = {"attempts": OutboxRow.attempts + 1, "last_error": error[:2000]}
        values |= {"status": "dead"} if retry_at is None else {"next_attempt_at": retry_at}
        self.session.execute(update(OutboxRow).where(OutboxRow.id == message_id).values(**values))
