"""`orderwatch webhooks`: Manage inbound webhook secrets (two may be active for rotation; D1).

Rotation without downtime: ``add-secret SOURCE`` (both secrets now verify), switch the sender to
the new secret, then ``retire SOURCE ID`` the old one. A running server sees the change within
the secret cache's few seconds (adapters/db/webhook_secrets.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.table import Table
from sqlalchemy.exc import OperationalError, ProgrammingError

from orderwatch.adapters.db.webhook_secrets import WebhookSecretInfo, WebhookSecretStore, parse_source
from orderwatch.adapters.webhooks.signatures import WebhookSource
from orderwatch.domain.errors import NotFound, ValidationFailed
from orderwatch.entrypoints.cli.common import console, fail, make_app, print_json

app = typer.Typer(
    help="Manage inbound webhook secrets (two may be active for rotation).", no_args_is_help=True
)

DatabaseUrl = typer.Option(None, "--database-url", help="Overrides ORDERWATCH_DATABASE_URL")
SOURCE_HELP = "One of: " + ", ".join(s.value for s in WebhookSource)


@contextmanager
def _store(database_url: str | None) -> Iterator[WebhookSecretStore]:
    """The secret store of the configured database; known errors exit 2 with a message."""
    application = make_app(database_url)
    try:
        yield WebhookSecretStore(application.session_factory, clock=application.clock)
    except (ValidationFailed, NotFound) as error:
        fail(str(error))
    except (OperationalError, ProgrammingError) as error:
        # The usual cause is a fresh install: the tables do not exist yet.
        fail(f"database not ready ({type(error).__name__}); run `orderwatch db upgrade` first")
    finally:
        application.engine.dispose()


def _source(value: str) -> WebhookSource:
    try:
        return parse_source(value)
    except ValidationFailed as error:
        fail(str(error))


def _as_json(info: WebhookSecretInfo) -> dict[str, object]:
    return {
        "id": info.id, "source": info.source, "hint": info.hint, "active": info.is_active,
        "created_at": info.created_at, "retired_at": info.retired_at,
    }


@app.command("add-secret")
def add_secret(
    source: str = typer.Argument(..., help=SOURCE_HELP),
    secret: str | None = typer.Option(
        None, "--secret", help="The sender's secret (AfterShip/17TRACK give you one); generated when omitted"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    database_url: str | None = DatabaseUrl,
) -> None:
    """Add a secret for SOURCE; with two already active, the oldest is retired.

    The secret is printed once, here, and never again.
    """
    kind = _source(source)
    with _store(database_url) as store:
        info, value = store.add(kind, secret)
    if as_json:
        print_json({**_as_json(info), "secret": value})
        return
    console.print(f"added {kind.value} webhook secret [bold]#{info.id}[/bold]")
    if secret is None:
        console.print("secret (shown only now, configure it at the sender):")
        # Plain print: Rich markup or wrapping must not alter the secret.
        typer.echo(value)


@app.command("list")
def list_secrets(
    source: str | None = typer.Argument(None, help=SOURCE_HELP + " (all when omitted)"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    database_url: str | None = DatabaseUrl,
) -> None:
    """List webhook secrets (the secret itself only as a hint), retired ones included."""
    kind = _source(source) if source is not None else None
    with _store(database_url) as store:
        infos = store.list_secrets(kind)
    if as_json:
        print_json({"secrets": [_as_json(info) for info in infos]})
        return
    table = Table("id", "source", "secret", "created", "retired")
    for info in infos:
        retired = info.retired_at.isoformat(timespec="seconds") if info.retired_at else "active"
        table.add_row(str(info.id), info.source, info.hint, info.created_at.isoformat(timespec="seconds"),
                      retired)
    console.print(table)


@app.command("retire")
def retire(
    source: str = typer.Argument(..., help=SOURCE_HELP),
    secret_id: int = typer.Argument(..., help="The id shown by `orderwatch webhooks list`"),
    database_url: str | None = DatabaseUrl,
) -> None:
    """Retire secret SECRET_ID of SOURCE: requests signed with it are refused from now on."""
    kind = _source(source)
    with _store(database_url) as store:
        info = store.retire(kind, secret_id)
    retired = info.retired_at.isoformat(timespec="seconds") if info.retired_at else "?"
    console.print(f"retired {kind.value} webhook secret [bold]#{info.id}[/bold] at {retired}")
