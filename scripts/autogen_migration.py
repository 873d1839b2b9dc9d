"""Print the Alembic operations that bring the schema of revision PREVIOUS up to the metadata.

Run: python scripts/autogen_migration.py PREVIOUS
Paste the printed ``upgrade``/``downgrade`` bodies into the next migration file by hand, so that
each migration holds only its own tables even while several are written in parallel.
"""

import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.autogenerate import produce_migrations, render_python_code
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from orderwatch.adapters.db.migrate import alembic_config
from orderwatch.adapters.db.tables import Base

previous = sys.argv[1]
with tempfile.TemporaryDirectory() as folder:
    url = f"sqlite:///{Path(folder) / 'e.sqlite3'}"
    command.upgrade(alembic_config(url), previous)
    engine = create_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        script = produce_migrations(context, Base.metadata)
        print("# upgrade")
        print(render_python_code(script.upgrade_ops))
        print("# downgrade")
        print(render_python_code(script.downgrade_ops))
    engine.dispose()
