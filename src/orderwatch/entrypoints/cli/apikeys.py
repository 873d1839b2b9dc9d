"""``orderwatch apikeys``: create, list and revoke API keys for integrations (D1).

``create`` prints the full key once; only its hash is stored, so a lost key is revoked and
replaced, never recovered. A running server notices a revocation within a few seconds (its
cache of verified keys, see ``adapters/db/api_keys.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.table import Table

from orderwatch.adapters.db.api_keys import ApiKeyInfo, ApiKeyRegistry
from orderwatch.domain.errors import NotFound, ValidationFailed
from orderwatch.domain.roles import Permission
from orderwatch.entrypoints.cli.common import console, fail, make_app, print_json

app = typer.Typer(help="Create, list and revoke API keys for integrations.", no_args_is_help=True)

DatabaseUrl = typer.Option(None, "--database-url", help="Overrides ORDERWATCH_DATABASE_URL")
SCOPES_HELP = "A permission the key grants; repeat for several: " + ", ".join(p.value for p in Permission)


@contextmanager
def _registry(database_url: str | None) -> Iterator[ApiKeyRegistry]:
    application = make_app(database_url)
    try:
        yield ApiKeyRegistry(application.session_factory, clock=application.clock)
    finally:
        application.engine.dispose()


def _as_json(info: ApiKeyInfo) -> dict[str, object]:
    return {
        "prefix": info.prefix, "name": info.name, "scopes": sorted(s.value for s in info.scopes),
        "created_at": info.created_at, "last_used_at": info.last_used_at, "revoked_at": info.revoked_at,
    }


@app.command("create")
def create(
    name: str = typer.Argument(..., help="Who uses the key, e.g. 'shop-erp'"),
    scope: list[str] = typer.Option(..., "--scope", "-s", help=SCOPES_HELP),  # noqa: B008 - Typer's idiom
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object"),
    database_url: str | None = DatabaseUrl,
) -> None:
    """Create a key for NAME and print it; it is shown this once only."""
    with _registry(database_url) as registry:
        try:
            key, info = registry.create(name=name, scopes=scope)
        except ValidationFailed as error:
            fail(str(error))
    if json_output:
        print_json({"key": key, **_as_json(info)})
        return
    console.print(f"API key for [bold]{info.name}[/bold] ({', '.join(sorted(info.scopes))}):")
    # Printed without markup or wrapping so it can be copied as is.
    typer.echo(key)
    console.print("Store it now: it is not shown again.")


@app.command("list")
def list_keys(
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object"),
    database_url: str | None = DatabaseUrl,
) -> None:
    """Every key with its scopes and when it was last used (never the secret)."""
    with _registry(database_url) as registry:
        keys = registry.list_keys()
    if json_output:
        print_json({"keys": [_as_json(info) for info in keys]})
        return
    table = Table("prefix", "name", "scopes", "created", "last used", "revoked")
    for info in keys:
        table.add_row(
            info.prefix, info.name, " ".join(sorted(info.scopes)), f"{info.created_at:%Y-%m-%d %H:%M}",
            f"{info.last_used_at:%Y-%m-%d %H:%M}" if info.last_used_at else "-",
            f"{info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "-",
        )
    console.print(table)


@app.command("revoke")
def revoke(
    prefix: str = typer.Argument(..., help="The key's prefix (the part after 'ow_')"),
    database_url: str | None = DatabaseUrl,
) -> None:
    """Revoke the key PREFIX; running servers refuse it within a few seconds."""
    with _registry(database_url) as registry:
        try:
            info = registry.revoke(prefix)
        except NotFound as error:
            fail(str(error))
    console.print(f"revoked {info.prefix} ({info.name})")
