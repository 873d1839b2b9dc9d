"""Helpers every command group shares: building the app, printing JSON, failing clearly."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

from orderwatch.bootstrap import App, build_app
from orderwatch.settings import Settings

console = Console()
err_console = Console(stderr=True)


def make_app(database_url: str | None = None) -> App:
    """The application, with ``--database-url`` overriding ``ORDERWATCH_DATABASE_URL``."""
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return build_app(settings)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def print_json(data: Any) -> None:
    """One JSON object on standard output (no Rich markup, for scripts)."""
    typer.echo(json.dumps(data, default=_default, ensure_ascii=False, sort_keys=False))


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` to standard error and exit with ``code``."""
    err_console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)
