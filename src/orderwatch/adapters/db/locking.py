"""Every row lock OrderWatch takes lives here, always in id order (no deadlocks).

PostgreSQL: ``SELECT ... FOR UPDATE`` on the rows, ordered by id, so two transactions that touch
the same orders queue instead of deadlocking; workers add ``SKIP LOCKED`` to share work.
SQLite has no row locks: every writing transaction already holds the database write lock from
``BEGIN IMMEDIATE`` (``engine.py``), so the same functions are plain selects there.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from orderwatch.adapters.db.tables import OrderRow


def lock_orders(session: Session, order_ids: Iterable[int]) -> None:
    """Lock these orders (and so their shipments, which change only under the order's lock)."""
    ids = sorted(set(order_ids))
    if not ids or session.get_bind().dialect.name == "sqlite":
        return
    for start in range(0, len(ids), 5000):
        session.execute(
            select(OrderRow.id).where(OrderRow.id.in_(ids[start : start + 5000]))
            .order_by(OrderRow.id).with_for_update()
        ).all()


def claim_due(session: Session, query: Select[Any]) -> Select[Any]:
    """Add ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so parallel workers take different rows."""
    if session.get_bind().dialect.name == "sqlite":
        return query
    return query.with_for_update(skip_locked=True)
