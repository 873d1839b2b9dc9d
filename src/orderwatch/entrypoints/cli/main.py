"""The ``orderwatch`` command: one Typer app composed of the command groups."""

from __future__ import annotations

import typer

from orderwatch.entrypoints.cli import (
    apikeys,
    bench,
    db,
    demo,
    imports,
    incidents,
    model,
    replay,
    risk,
    serve,
    users,
    webhooks,
    worker,
)

app = typer.Typer(
    name="orderwatch",
    help="OrderWatch: keep late and undelivered e-commerce orders under control.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="users")
app.add_typer(apikeys.app, name="apikeys")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(imports.app, name="import")
app.add_typer(bench.app, name="bench")
app.add_typer(replay.app, name="replay")
app.add_typer(risk.app, name="risk")
app.add_typer(model.app, name="model")
app.add_typer(incidents.app, name="incidents")
app.command("serve")(serve.serve)
app.command("demo")(demo.demo)
app.command("worker")(worker.worker)
