"""Alembic environment: the shared metadata, batch mode on SQLite (foreign keys off), type comparison on."""

from alembic import context
from sqlalchemy import pool

from orderwatch.adapters.db.engine import make_engine
from orderwatch.adapters.db.tables import Base

config = context.config


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    connectable = make_engine(url) if url.startswith("sqlite") else None
    if connectable is None:
        from sqlalchemy import create_engine

        connectable = create_engine(url, poolclass=pool.NullPool)
    with connectable.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        driver = connection.connection.driver_connection
        assert driver is not None  # a checked-out connection always has its driver connection
        if sqlite:
            # Batch mode copies a table and drops the old one. With foreign keys on, SQLite's
            # DROP TABLE first deletes every row and cascades into the children (shipments,
            # events, ...): an upgrade of a populated database emptied them. Off for the
            # migration (it can only change outside a transaction), checked before commit.
            driver.execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        try:
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"migration left rows with missing parents: {broken[:5]}")
        finally:
            if sqlite:
                driver.execute("PRAGMA foreign_keys=ON")
    connectable.dispose()


run_migrations_online()
