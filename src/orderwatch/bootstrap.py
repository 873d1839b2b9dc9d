"""The composition root: settings → engine → unit-of-work factory → clock → services' needs.

Entry points (API, web, CLI, worker) build one :class:`App` here and pass its parts to the
services; tests build one with a temporary database and a simulated clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from orderwatch.adapters.clock import SystemClock
from orderwatch.adapters.db.engine import make_engine, make_session_factory
from orderwatch.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from orderwatch.services.ports import Clock
from orderwatch.settings import Settings, get_settings


@dataclass
class App:
    """Everything a request, command or job needs, wired once per process."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock

    def uow(self) -> SqlAlchemyUnitOfWork:
        """A fresh unit of work (one transaction per ``with`` block)."""
        return SqlAlchemyUnitOfWork(self.session_factory)

    def read_session(self) -> Session:
        """A session for read-only queries (no write lock on SQLite)."""
        session = self.session_factory()
        session.connection(execution_options={"readonly": True})
        return session

    @property
    def uow_factory(self) -> Callable[[], SqlAlchemyUnitOfWork]:
        return self.uow


def build_app(settings: Settings | None = None, *, clock: Clock | None = None) -> App:
    """Wire the application for ``settings`` (the environment's when omitted)."""
    settings = settings or get_settings()
    engine = make_engine(
        settings.resolved_database_url,
        sqlite_cache_mb=settings.sqlite_cache_mb,
        sqlite_mmap_mb=settings.sqlite_mmap_mb,
        sqlite_synchronous=settings.sqlite_synchronous,
    )
    return App(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        clock=clock or SystemClock(),
    )
