"""Many-row INSERT and UPDATE in the fewest round trips each backend allows (mission D1 speed).

The ingestion store writes thousands of rows per call (an Olist chunk, an event batch). The
straightforward forms are slow in opposite ways on our two backends:

* a multi-row ``VALUES`` list is a new, huge SQL string for every batch: SQLAlchemy compiles
  it, psycopg re-parses it (no cache for long queries) and neither reuses anything;
* ``executemany`` on PostgreSQL is one statement per row: pipelined, but still bound and
  executed row by row on the server.

So on PostgreSQL each column travels as one array and the statement reads the rows back with
``unnest``: a short statement that is compiled and prepared once, one round trip per batch::

    INSERT INTO t (a, b) SELECT v.a, v.b FROM unnest(%(u_a)s::BIGINT[], %(u_b)s::VARCHAR[]) AS v(a, b)
    UPDATE t SET b = v.b FROM unnest(%(u_id)s::BIGINT[], ...) AS v(id, b) WHERE t.id = v.id

SQLite runs in-process: ``executemany`` of one cached statement loops over the rows in C, the
fastest form it has, so there the rows are passed as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

# Rows per statement: bounds one message and the server's memory for the unnest, not results.
BATCH_ROWS = 20_000

Column = Callable[[str], ColumnElement[Any]]
"""Gives the incoming value of a named parameter inside the statement being built."""


def is_postgresql(session: Session) -> bool:
    """Whether ``session`` talks to PostgreSQL (array parameters and ``unnest`` available)."""
    return session.get_bind().dialect.name == "postgresql"


def insert_many(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    finish: Callable[[Any], Any] = lambda statement: statement,
) -> list[Any]:
    """Insert ``rows`` (dicts keyed by column name); return the RETURNING rows, if any.

    ``finish`` receives the dialect ``INSERT`` (with ``.excluded``) and adds ``on_conflict_*``
    and ``returning``, exactly as it would for a plain one-row insert.
    """
    if not rows:
        return []
    names = list(rows[0])
    if not is_postgresql(session):
        return _run(session, finish(sqlite.insert(table)), rows)
    source = _unnest({name: table.c[name].type for name in names})
    statement = finish(postgresql.insert(table).from_select(names, select(source)))
    return _run_arrays(session, statement, names, rows)


def update_many(
    session: Session,
    rows: Sequence[Mapping[str, Any]],
    *,
    types: Mapping[str, Any],
    build: Callable[[Column], Executable],
) -> None:
    """Run the UPDATE that ``build(column)`` returns once per row of ``rows``.

    ``types`` gives the SQL type of each parameter (the arrays are cast to it on PostgreSQL);
    ``column(name)`` is the row's value of parameter ``name`` inside the statement.
    """
    if not rows:
        return
    if not is_postgresql(session):
        statement = build(lambda name: bindparam(name, type_=types[name]))
        _run(session, statement, rows)
        return
    source = _unnest(types)
    _run_arrays(session, build(lambda name: source.c[name]), list(types), rows)


def _unnest(types: Mapping[str, Any]) -> Any:
    arrays = [bindparam(f"u_{name}", type_=postgresql.ARRAY(type_)) for name, type_ in types.items()]
    return func.unnest(*arrays).table_valued(*types).render_derived(name="v")


def _run(session: Session, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    returned: list[Any] = []
    for start in range(0, len(rows), BATCH_ROWS):
        result = session.execute(
            statement,
            list(rows[start : start + BATCH_ROWS]),
            execution_options={"synchronize_session": False},
        )
        if cast(CursorResult[Any], result).returns_rows:
            returned.extend(result.all())
    return returned


def _run_arrays(
    session: Session, statement: Executable, names: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> list[Any]:
    returned: list[Any] = []
    for start in range(0, len(rows), BATCH_ROWS):
        batch = rows[start : start + BATCH_ROWS]
        params = {f"u_{name}": [row[name] for row in batch] for name in names}
        result = session.execute(statement, params, execution_options={"synchronize_session": False})
        if cast(CursorResult[Any], result).returns_rows:
            returned.extend(result.all())
    return returned
