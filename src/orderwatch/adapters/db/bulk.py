"""Many-row INSERT and UPDATE in the fewest round trips each backend allows (mission D1 speed).

The ingestion store writes thousands of rows per call (an Olist chunk, an event batch). The
straightforward forms are slow in opposite ways on our two backends:

* a multi-row ``VALUES`` list is a new, huge SQL string for every batch: SQLAlchemy compiles
  it, psycopg re-parses it (no cache for long queries) and neither reuses anything;
* ``executemany`` on PostgreSQL is one statement per row: pipelined, but still bound and
  executed row by row on the server.

So on PostgreSQL the rows travel as ONE JSON text and the statement reads them back with
``json_to_recordset``: a short statement that is compiled and prepared once, one round trip and
one parameter per batch::

    INSERT INTO t (a, b) SELECT v.a, v.b FROM json_to_recordset(%(rows)s) AS v(a BIGINT, b VARCHAR)
    UPDATE t SET b = v.b FROM json_to_recordset(%(rows)s) AS v(id BIGINT, b VARCHAR) WHERE t.id = v.id

Why JSON and not one array per column (``unnest``): psycopg dumps array parameters element by
element in Python, escaping each string with a regular expression; for a 1,000-event batch that
was a fifth of the request's time. ``json.dumps`` of the rows runs in C, and PostgreSQL parses
JSON faster than it parses array literals. Values are made JSON-ready here: aware datetimes as
ISO 8601 in UTC (naive ones are refused, as ``UtcDateTime`` refuses them), enums by value.

SQLite runs in-process: ``executemany`` of one statement loops over the rows in C, the fastest
form it has. What costs there is SQLAlchemy's per-row parameter processing (a dict and a type
processor call per value: half the CPU of the Olist import), so a statement without RETURNING
is compiled once and handed to the driver with rows already converted to tuples of what SQLite
stores (``UtcDateTime`` as the same naive-UTC text SQLAlchemy writes, JSON as text). Statements
with RETURNING keep SQLAlchemy's path, which batches them into multi-row VALUES.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import JSON, ColumnElement, Table, Text, bindparam, column, func, select
from sqlalchemy import cast as cast_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from orderwatch.adapters.db.tables import UtcDateTime

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
        return _run(session, finish(_base_insert(table, None)), rows)
    return _run_json(session, finish(_base_insert(table, tuple(names))), names, rows)


@lru_cache(maxsize=256)
def _base_insert(table: Table, names: tuple[str, ...] | None) -> Any:
    """The dialect INSERT that ``finish`` completes, one per table (and column list on PostgreSQL).

    ``finish`` derives new statements from it (they are generative), and ``.excluded`` is
    memoized on it: building that alias of the table anew cost about a millisecond per call,
    in every upsert of every replay window. ``names`` is None for SQLite (rows bound as such).
    """
    if names is None:
        return sqlite.insert(table)
    source = _recordset({name: table.c[name].type for name in names})
    return postgresql.insert(table).from_select(list(names), select(source))


def update_many(
    session: Session,
    rows: Sequence[Mapping[str, Any]],
    *,
    types: Mapping[str, Any],
    build: Callable[[Column], Executable],
) -> None:
    """Run the UPDATE that ``build(column)`` returns once per row of ``rows``.

    ``types`` gives the SQL type of each parameter (the recordset's column types on PostgreSQL);
    ``column(name)`` is the row's value of parameter ``name`` inside the statement.
    """
    if not rows:
        return
    if not is_postgresql(session):
        statement = build(lambda name: bindparam(name, type_=types[name]))
        _run(session, statement, rows)
        return
    source = _recordset(types)
    _run_json(session, build(lambda name: source.c[name]), list(types), rows)


def _recordset(types: Mapping[str, Any]) -> Any:
    columns = [column(name, type_) for name, type_ in types.items()]
    rows = bindparam("bulk_rows", type_=Text())
    return (
        func.json_to_recordset(cast_(rows, JSON))
        .table_valued(*columns)
        .render_derived(name="v", with_types=True)
    )


def _json_default(value: Any) -> Any:
    """What ``json.dumps`` cannot encode itself (str enums it can: they are strings)."""
    if isinstance(value, datetime):
        if value.tzinfo is UTC:
            return value.isoformat()
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: give a time zone")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot store {type(value).__name__} value {value!r} in a bulk statement")


def _run(session: Session, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    # A count of 0 is an answer too (every row conflicted): only ``None`` means "not taken".
    if not getattr(statement, "_returning", ()) and _run_sqlite_driver(session, statement, rows) is not None:
        return []
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


def _run_json(
    session: Session, statement: Executable, names: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> list[Any]:
    returned: list[Any] = []
    for start in range(0, len(rows), BATCH_ROWS):
        batch = rows[start : start + BATCH_ROWS]
        # Rows with exactly ``names`` as keys go to the C encoder as they are.
        exact = all(len(row) == len(names) for row in batch)
        text = json.dumps(
            batch if exact else [{name: row[name] for name in names} for row in batch],
            separators=(",", ":"),
            default=_json_default,
        )
        result = session.execute(
            statement, {"bulk_rows": text}, execution_options={"synchronize_session": False}
        )
        if cast(CursorResult[Any], result).returns_rows:
            returned.extend(result.all())
    return returned


def insert_many_count(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    finish: Callable[[Any], Any] = lambda statement: statement,
) -> int:
    """Like :func:`insert_many` without RETURNING: the number of rows inserted.

    ``finish`` adds ``on_conflict_*`` (rows skipped by a conflict are not counted).
    """
    if not rows:
        return 0
    if not is_postgresql(session):
        return run_many(session, finish(sqlite.insert(table)), rows)
    key = next(iter(table.primary_key.columns))
    return len(insert_many(session, table, rows, finish=lambda statement: finish(statement).returning(key)))


def run_many(session: Session, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> int:
    """Execute ``statement`` once per row without RETURNING; the number of rows changed.

    On SQLite this takes the driver's ``executemany`` path described in the module docstring.
    """
    if not rows:
        return 0
    if not is_postgresql(session):
        counted = _run_sqlite_driver(session, statement, rows)
        if counted is not None:
            return counted
    result = session.execute(statement, list(rows), execution_options={"synchronize_session": False})
    return max(getattr(result, "rowcount", 0) or 0, 0)


def _run_sqlite_driver(
    session: Session, statement: Executable, rows: Sequence[Mapping[str, Any]]
) -> int | None:
    """``executemany`` straight on the driver; ``None`` when the statement needs SQLAlchemy."""
    keys = tuple(rows[0])
    plan = _driver_plan(session, statement, keys)
    if plan is None:
        return None
    sql, converters = plan
    # Column by column: one C-level ``map`` per column instead of a Python call per value, and
    # no call at all for the (many) values SQLite takes as they are.
    columns: list[Sequence[Any]] = []
    for name, convert, present, default in converters:
        if not present:
            columns.append([convert(default)] * len(rows))
        elif convert is _same:
            columns.append([row[name] for row in rows])
        else:
            columns.append(list(map(convert, [row[name] for row in rows])))
    result = session.connection().exec_driver_sql(sql, list(zip(*columns, strict=True)))
    return max(result.rowcount or 0, 0)


_Converter = tuple[str, Callable[[Any], Any], bool, Any]
_PLANS: dict[tuple[Any, ...], Any] = {}
_PLANS_MAX = 512


def _driver_plan(
    session: Session, statement: Executable, keys: tuple[str, ...]
) -> tuple[str, list[_Converter]] | None:
    """The SQL text and per-parameter converters of ``statement`` for rows with ``keys``.

    Compiling costs ~0.8 ms, and the outbox and the incident jobs write a few rows at a time
    thousands of times per replay, so the compiled form is kept under SQLAlchemy's own cache
    key of the statement (~60 µs to compute). That key leaves out the values of the statement's
    literal parameters (``values(status="sent")``), so those are read from this statement's key
    each time, as SQLAlchemy's compiled cache does.
    """
    dialect = session.get_bind().dialect
    cache_key = cast(Any, statement)._generate_cache_key()
    key = None if cache_key is None else (dialect.name, cache_key.key, keys)
    compiled = _PLANS.get(key) if key is not None else None
    if compiled is None:
        compiled = cast(Any, statement).compile(dialect=dialect, column_keys=list(keys), cache_key=cache_key)
        if key is not None:
            if len(_PLANS) >= _PLANS_MAX:
                _PLANS.clear()
            _PLANS[key] = compiled
    order: Sequence[str] | None = compiled.positiontup
    if order is None or compiled.literal_execute_params or compiled.post_compile_params:
        return None
    literal = [name for name in order if name not in keys]
    defaults: Mapping[str, Any] = {}
    if literal:
        extracted = cache_key.bindparams if cache_key is not None else None
        defaults = compiled.construct_params(extracted_parameters=extracted, _check=False)
    converters: list[_Converter] = []
    for name in order:
        type_ = compiled.binds[name].type
        convert = _sqlite_time if isinstance(type_, UtcDateTime) else type_._cached_bind_processor(dialect)
        default = defaults.get(name) if name not in keys else None
        if name not in keys and default is None:
            return None  # a parameter with neither a row value nor a statement value
        converters.append((name, convert or _same, name in keys, default))
    return compiled.string, converters


def _same(value: Any) -> Any:
    return value


# Moments written again and again (a shipment's hand-off time on each of its updates, the
# transaction's "now" on every row) are formatted once: ``isoformat`` with arguments costs about
# 1 µs, a dict hit about 60 ns. Bounded by emptying it when full; equal instants in different
# zones are equal keys and format to the same UTC text, so any of them may fill the entry.
_TIME_TEXT: dict[datetime, str] = {}
_TIME_TEXT_MAX = 65_536


def _sqlite_time(value: datetime | None) -> str | None:
    """What SQLAlchemy's SQLite ``DATETIME`` stores for ``UtcDateTime``: naive UTC with microseconds."""
    if value is None:
        return None
    text = _TIME_TEXT.get(value)
    if text is not None:
        return text
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: give a time zone")
        value = value.astimezone(UTC)
    text = value.isoformat(" ", "microseconds")[:26]  # without the "+00:00"
    if len(_TIME_TEXT) >= _TIME_TEXT_MAX:
        _TIME_TEXT.clear()
    _TIME_TEXT[value] = text
    return text
