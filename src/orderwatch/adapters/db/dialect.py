"""The few statements whose SQL differs between SQLite and PostgreSQL (upserts, chunking)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

_T = TypeVar("_T")

# SQLite allows 32,766 bound parameters per statement; PostgreSQL 65,535.
MAX_PARAMETERS = 30_000


def insert_for(session: Session, table: Table) -> Any:
    """A dialect ``INSERT`` that supports ``on_conflict_do_nothing/do_update``."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def chunks(items: Sequence[_T], *, columns: int) -> Iterator[Sequence[_T]]:
    """Split a multi-row statement so it stays under the bound-parameter limit."""
    size = max(1, MAX_PARAMETERS // max(columns, 1))
    for start in range(0, len(items), size):
        yield items[start : start + size]
