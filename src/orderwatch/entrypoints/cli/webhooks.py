"""`orderwatch webhooks`: Manage inbound webhook secrets (two may be active for rotation)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Manage inbound webhook secrets (two may be active for rotation).", no_args_is_help=True
)
