"""Shared fixtures: an ``app`` per database backend (SQLite and PostgreSQL), a simulated clock.

PostgreSQL tests use ``ORDERWATCH_TEST_POSTGRES_URL`` (default: the local server, user postgres)
and a throw-away database per test session. Where no server answers they are skipped with a
message, except under ``CI=true``, where a missing server is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.tables import Base
from orderwatch.bootstrap import App, build_app
from orderwatch.settings import Settings

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_ADMIN_URL = os.environ.get(
    "ORDERWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
START = datetime(2018, 3, 1, 12, 0, tzinfo=UTC)
SHARED = Path(__file__).resolve().parents[2] / "shared"
OLIST_DIR = Path(os.environ.get("ORDERWATCH_OLIST_DIR", SHARED / "data" / "olist"))


def missing(reason: str) -> None:
    """Skip for a user's machine; fail in CI, where everything must be present."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must not be skipped)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as error:
        admin.dispose()
        missing(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {type(error).__name__}")
    name = f"orderwatch_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'create database "{name}"'))
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_schema(postgres_url: str) -> str:
    engine = create_engine(postgres_url)
    Base.metadata.create_all(engine)
    engine.dispose()
    return postgres_url


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


def _truncate_all(app: App) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with app.engine.begin() as connection:
        connection.execute(text(f"truncate {names} restart identity cascade"))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def app(backend: str, request: pytest.FixtureRequest, tmp_path: Path, clock: SimulatedClock) -> Iterator[App]:
    """An application on an empty database of the parametrized backend."""
    if backend == "sqlite":
        settings = Settings(data_dir=tmp_path, database_url=None, environment="test")
        application = build_app(settings, clock=clock)
        Base.metadata.create_all(application.engine)
    else:
        url = request.getfixturevalue("postgres_schema")
        settings = Settings(data_dir=tmp_path, database_url=url, environment="test")
        application = build_app(settings, clock=clock)
        _truncate_all(application)
    try:
        yield application
    finally:
        application.engine.dispose()


@pytest.fixture
def sqlite_app(tmp_path: Path, clock: SimulatedClock) -> Iterator[App]:
    """An application on SQLite only (for tests whose subject is not the database)."""
    settings = Settings(data_dir=tmp_path, database_url=None, environment="test")
    application = build_app(settings, clock=clock)
    Base.metadata.create_all(application.engine)
    yield application
    application.engine.dispose()


@pytest.fixture(autouse=True)
def _collect_garbage_per_test() -> Iterator[None]:
    """Collect after every test, so a leaked connection is reported at the test that leaked it."""
    yield
    import gc

    gc.collect()
