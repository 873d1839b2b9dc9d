"""Regenerate the single initial migration from the metadata (only while nothing has shipped).

Run: python scripts/regen_initial_migration.py
"""

import tempfile
from pathlib import Path

from alembic import command

from orderwatch.adapters.db.migrate import MIGRATIONS, alembic_config

versions = MIGRATIONS / "versions"
for old in versions.glob("*.py"):
    old.unlink()
with tempfile.TemporaryDirectory() as folder:
    config = alembic_config(f"sqlite:///{Path(folder) / 'empty.sqlite3'}")
    command.revision(config, message="initial schema", autogenerate=True, rev_id="0001")
print("written:", [p.name for p in versions.glob("*.py")])
