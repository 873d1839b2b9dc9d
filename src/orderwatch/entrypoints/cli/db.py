"""``orderwatch db``: create and migrate the database."""

from __future__ import annotations

import typer

from orderwatch.adapters.db.migrate import upgrade
from orderwatch.entrypoints.cli.common import console, make_app

app = typer.Typer(help="Create and migrate the database.", no_args_is_help=True)

DatabaseUrl = typer.Option(None, "--database-url", help="Overrides ORDERWATCH_DATABASE_URL")


@app.command("upgrade")
def upgrade_command(database_url: str | None = DatabaseUrl, revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    application = make_app(database_url)
    upgrade(application.settings.resolved_database_url, revision)
    console.print(f"database at [bold]{application.engine.url.render_as_string()}[/bold] is at {revision}")
