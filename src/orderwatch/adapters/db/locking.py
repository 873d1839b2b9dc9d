"""Every row lock OrderWatch takes lives here, always in id order (no deadlocks).

PostgreSQL: ``SELECT ... FOR UPDATE`` on the rows, ordered by id, so two transactions that touch
the same orders queue instead of deadlocking; workers add ``SKIP LOCKED`` to share work.
SQLite has no row locks: every writing transaction already holds the database write lock from
``BEGIN IMMEDIATE`` (``engine.py``), so the same functions are plain selects there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, Table
from sqlalchemy.orm import Session


def lock_rows(session: Session, query: Select[Any], *, of: Sequence[Table]) -> Select[Any]:
    """Add ``FOR UPDATE OF <tables>`` on PostgreSQL; the query must order by the locked ids.

    Used by the ingestion store to lock an event's shipment and its order (every change to an
    order's shipments happens under the order's lock, so two shipments of one order cannot race
    on the order status).
    """
    if session.get_bind().dialect.name == "sqlite":
        return query
    return query.with_for_update(of=list(of))


def claim_due(session: Session, query: Select[Any]) -> Select[Any]:
    """Add ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so parallel workers take different rows."""
    if session.get_bind().dialect.name == "sqlite":
        return query
    return query.with_for_update(skip_locked=True)
