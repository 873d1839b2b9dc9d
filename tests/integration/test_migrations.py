"""Alembic migrations build exactly the schema the code declares, on both backends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from orderwatch.adapters.db.engine import make_engine
from orderwatch.adapters.db.migrate import current_heads, upgrade
from orderwatch.adapters.db.tables import Base
from tests.conftest import POSTGRES_ADMIN_URL


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        return
    request.getfixturevalue("postgres_url")  # skips or fails clearly when no server
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"orderwatch_migrate_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'create database "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


def test_upgrade_creates_the_declared_schema_without_drift(empty_database_url: str) -> None:
    upgrade(empty_database_url)

    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
            version = connection.execute(text("select version_num from alembic_version")).scalar_one()
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert differences == []
    assert (version,) == current_heads()
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


def test_upgrade_twice_is_a_no_op(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    upgrade(empty_database_url)

    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("select version_num from alembic_version")).scalars().all()
    finally:
        engine.dispose()
    assert versions == list(current_heads())


@pytest.mark.parametrize("start", ["0005", "0007", "0009"])
def test_upgrading_a_shop_with_data_keeps_every_row(empty_database_url: str, start: str) -> None:
    """A migration that copied ``orders`` or ``shipments`` (SQLite batch mode: 0006 copies orders)
    would delete their children first: with foreign keys on, SQLite's DROP TABLE deletes every
    row, cascading. The migration environment turns them off for the upgrade."""
    upgrade(empty_database_url, start)
    engine = make_engine(empty_database_url)
    stamp = {"at": "2018-01-02 10:00:00"}
    rows = (
        "insert into orders (id, ref, status, currency, value_cents, purchased_at, source, created_at,"
        " updated_at) values (1, 'o-1', 'placed', 'BRL', 100, :at, 'test', :at, :at)",
        "insert into order_lines (order_id, line_no, quantity, unit_price_cents, freight_cents)"
        " values (1, 1, 1, 100, 0)",
        "insert into carriers (id, code, name) values (1, 'correios', 'Correios')",
        "insert into shipments (id, order_id, carrier_id, tracking_number, status, status_precedence,"
        " event_count, created_at, updated_at) values (1, 1, 1, 'T-1', 'in_transit', 1, 1, :at, :at)",
        "insert into tracking_events (shipment_id, fingerprint, status, occurred_at, received_at, source)"
        " values (1, 'f-1', 'in_transit', :at, :at, 'test')",
    )
    tables = ("orders", "order_lines", "shipments", "tracking_events")
    try:
        with engine.begin() as connection:
            for row in rows:
                connection.execute(text(row), stamp)
        upgrade(empty_database_url)
        with engine.connect() as connection:
            counts = [connection.execute(text(f"select count(*) from {t}")).scalar_one() for t in tables]
            marks = connection.execute(text("select rescore_marks from orders")).scalar_one()
    finally:
        engine.dispose()
    assert counts == [1, 1, 1, 1]
    assert marks == 0
