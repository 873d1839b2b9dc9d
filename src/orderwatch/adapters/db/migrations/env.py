"""Alembic environment: the shared metadata, batch mode on SQLite, type comparison on."""

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
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    connectable.dispose()


run_migrations_online()
