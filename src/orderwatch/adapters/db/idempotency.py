"""Stored first answers to requests that carry an ``Idempotency-Key`` (D1, ANCHORS §7).

A client that retries a write after a timeout cannot know whether the first attempt ran. With an
idempotency key, the first answer (status and JSON body) is kept under ``(principal, key)``
with a hash of the request, and a retry gets that answer back instead of running again::

    (principal, key) ──find──▶ none ──▶ run the request ──remember──▶ stored answer
                          │
                          ├─ same request hash ──▶ replay the stored answer
                          └─ other request hash ──▶ conflict (the key was reused)

Two attempts racing each other both run (the ingestion service deduplicates what they write);
``remember`` keeps only the first answer and returns it to the loser as well.

The answer is stored in its own transaction, after the service committed: should the process
die in between, the retry runs again, which the service's deduplication makes harmless.

Stored answers are kept for ``ORDERWATCH_IDEMPOTENCY_RETENTION_HOURS`` (24 h, as Stripe keeps
its keys), then the worker's ``idempotency_purge`` job deletes them: a retry later than that
runs again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from orderwatch.adapters.db.dialect import insert_for
from orderwatch.adapters.db.tables import IdempotencyKeyRow, table_of
from orderwatch.services.ports import Clock

MAX_KEY_LENGTH = 200  # the width of idempotency_keys.key
MAX_PRINCIPAL_LENGTH = 80  # the width of idempotency_keys.principal


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The first answer given to a request under an idempotency key."""

    request_hash: str
    status_code: int
    body: Any


def request_hash(method: str, path: str, body: bytes) -> str:
    """Identity of a request: method, path and the exact body bytes.

    The raw bytes are hashed, not re-serialized JSON: a retry is expected to resend the same
    bytes, and the same key on another route or with another body is a client error.
    """
    digest = hashlib.sha256(f"{method.upper()} {path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


class SqlIdempotencyStore:
    """Find and remember first answers; each call is one short transaction."""

    def __init__(self, session_factory: sessionmaker[Session], *, clock: Clock) -> None:
        self._session_factory = session_factory
        self._clock = clock

    def find(self, *, principal: str, key: str) -> StoredResponse | None:
        """The stored answer for ``(principal, key)``, if any."""
        with self._session_factory() as session:
            session.connection(execution_options={"readonly": True})
            return self._find(session, principal=principal, key=key)

    def remember(
        self, *, principal: str, key: str, request_hash: str, status_code: int, body: Any
    ) -> tuple[StoredResponse, bool]:
        """Store this answer unless one is already stored; return the stored one and whether it is ours."""
        row = {
            "principal": principal[:MAX_PRINCIPAL_LENGTH],
            "key": key,
            "request_hash": request_hash,
            "status_code": status_code,
            "response": body,
            "created_at": self._clock.now(),
        }
        table = table_of(IdempotencyKeyRow)
        with self._session_factory.begin() as session:
            statement = (
                insert_for(session, table)
                .values(row)
                .on_conflict_do_nothing(index_elements=["principal", "key"])
                .returning(table.c.id)
            )
            # RETURNING, not rowcount: psycopg reports no reliable rowcount for this statement.
            inserted = session.execute(statement).scalar_one_or_none() is not None
            stored = self._find(session, principal=principal, key=key)
        assert stored is not None, "the row was inserted or already present in this transaction"
        return stored, inserted

    def purge(self, *, older_than: timedelta, batch: int = 5_000) -> int:
        """Delete answers stored more than ``older_than`` ago, ``batch`` rows per transaction.

        Rows are written in time order, so the oldest sit at the lowest ids: walking the primary
        key needs no index on the time.
        """
        cutoff = self._clock.now() - older_than
        removed = 0
        while True:
            with self._session_factory.begin() as session:
                ids = list(
                    session.scalars(
                        select(IdempotencyKeyRow.id)
                        .where(IdempotencyKeyRow.created_at < cutoff)
                        .order_by(IdempotencyKeyRow.id)
                        .limit(batch)
                    )
                )
                if ids:
                    session.execute(delete(IdempotencyKeyRow).where(IdempotencyKeyRow.id.in_(ids)))
            removed += len(ids)
            if len(ids) < batch:
                return removed

    @staticmethod
    def _find(session: Session, *, principal: str, key: str) -> StoredResponse | None:
        row = session.execute(
            select(
                IdempotencyKeyRow.request_hash, IdempotencyKeyRow.status_code, IdempotencyKeyRow.response
            ).where(
                IdempotencyKeyRow.principal == principal[:MAX_PRINCIPAL_LENGTH],
                IdempotencyKeyRow.key == key,
            )
        ).first()
        if row is None:
            return None
        return StoredResponse(request_hash=row.request_hash, status_code=row.status_code, body=row.response)
