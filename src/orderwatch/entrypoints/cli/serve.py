"""``orderwatch serve``: run the HTTP API and the staff web app with uvicorn."""

from __future__ import annotations

import typer
import uvicorn

from orderwatch.adapters.db.migrate import upgrade
from orderwatch.bootstrap import App
from orderwatch.entrypoints.cli.common import console, make_app


def serve(
    host: str | None = typer.Option(None, help="Address to listen on (ORDERWATCH_HOST)"),
    port: int | None = typer.Option(None, help="Port to listen on (ORDERWATCH_PORT)"),
    database_url: str | None = typer.Option(None, "--database-url", help="Overrides ORDERWATCH_DATABASE_URL"),
) -> None:
    """Migrate the database if needed, then serve the API (/api/v1, /docs) and the web app."""
    application = make_app(database_url)
    upgrade(application.settings.resolved_database_url)
    run_server(application, host=host, port=port)


def run_server(application: App, *, host: str | None = None, port: int | None = None) -> None:
    """Serve ``application`` until interrupted."""
    from orderwatch.entrypoints.api.app import create_app

    host = host or application.settings.host
    port = port or application.settings.port
    console.print(f"OrderWatch on [bold]http://{host}:{port}/[/bold]  (API docs: /docs)")
    uvicorn.run(create_app(application), host=host, port=port, log_level="warning")
