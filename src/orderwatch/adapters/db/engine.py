"""Engine and session factory for the two supported databases.

SQLite (the embedded default) runs in WAL mode with foreign keys on, and every transaction
starts with ``BEGIN IMMEDIATE``: SQLite has no row locks, so a writer takes the database write
lock up front instead of failing half-way when two writers meet (see ``locking.py``).
Each SQLite connection also gets a page cache and a memory map sized by the settings
(``ORDERWATCH_SQLITE_CACHE_MB``, ``ORDERWATCH_SQLITE_MMAP_MB``): SQLite's default 2 MB cache
made every write of a 160 MB demo database re-read index pages through system calls; with
64 MB and a map the demo ran about a quarter faster (issue 3, measured in its note).
PostgreSQL is reached through psycopg 3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def normalize_url(url: str) -> str:
    """Pick the psycopg 3 driver for plain ``postgresql://`` URLs."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


SQLITE_CACHE_MB = 64
SQLITE_MMAP_MB = 1024
# NORMAL: in WAL mode a commit is safe against a crash of the process, and the file syncs at
# checkpoints. OFF never syncs: only for databases that are rebuilt from scratch (the demo's build).
SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL")


def make_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = 10,
    sqlite_cache_mb: int = SQLITE_CACHE_MB,
    sqlite_mmap_mb: int = SQLITE_MMAP_MB,
    sqlite_synchronous: str = "NORMAL",
) -> Engine:
    """Create the engine for ``url`` with the per-backend settings OrderWatch relies on."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if sqlite_synchronous not in SQLITE_SYNCHRONOUS:
            raise ValueError(f"sqlite_synchronous: {sqlite_synchronous!r} is not one of {SQLITE_SYNCHRONOUS}")
        return _sqlite_engine(
            url, echo=echo, cache_mb=sqlite_cache_mb, mmap_mb=sqlite_mmap_mb, synchronous=sqlite_synchronous
        )
    # Sessions in UTC: psycopg then returns datetime.UTC itself as the zone of every timestamp,
    # which ``UtcDateTime`` passes through untouched instead of converting each value.
    return create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"options": "-c timezone=UTC"},
    )


def _sqlite_engine(url: str, *, echo: bool, cache_mb: int, mmap_mb: int, synchronous: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # A negative cache_size is in KiB; pages are allocated as used, not up front.
        cursor.execute(f"PRAGMA cache_size=-{int(cache_mb) * 1024}")
        cursor.execute(f"PRAGMA mmap_size={int(mmap_mb) * 1024 * 1024}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Readers (pages, reports) need no write lock: WAL lets them run beside the writer.
        readonly = connection.get_execution_options().get("readonly", False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that never expire loaded rows on commit (they are mapped to domain objects)."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


def is_sqlite(engine: Engine) -> bool:
    """Whether ``engine`` talks to SQLite."""
    return engine.dialect.name == "sqlite"
