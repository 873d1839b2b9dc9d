"""Scheduled jobs shared by several worker processes: the database decides who runs a job when.

Each job has a row; a worker runs it only if one conditional UPDATE moves ``next_run_at`` from
a due value to the next period (``UPDATE ... WHERE name = :n AND next_run_at <= :now``). Two
workers racing for the same period: the second UPDATE matches no row, so the job runs once
per period across all workers, on SQLite and PostgreSQL alike, with no lock held while it runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from orderwatch.adapters.db.dialect import insert_for
from orderwatch.adapters.db.tables import WorkerJobRow, table_of


def try_acquire(engine: Engine, name: str, *, every: timedelta, now: datetime, holder: str) -> bool:
    """Claim this period of job ``name``; True if this worker should run it now."""
    with Session(engine) as session, session.begin():
        session.execute(
            insert_for(session, table_of(WorkerJobRow))
            .values(name=name, next_run_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        result = session.execute(
            update(WorkerJobRow)
            .where(WorkerJobRow.name == name, WorkerJobRow.next_run_at <= now)
            .values(next_run_at=now + every, holder=holder, last_started_at=now)
        )
        return bool(getattr(result, "rowcount", 0))


def record_finish(engine: Engine, name: str, *, now: datetime, error: str | None) -> None:
    with Session(engine) as session, session.begin():
        session.execute(
            update(WorkerJobRow)
            .where(WorkerJobRow.name == name)
            .values(last_finished_at=now, last_error=error[:2000] if error else None)
        )
