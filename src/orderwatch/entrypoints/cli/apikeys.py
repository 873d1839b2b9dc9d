"""`orderwatch apikeys`: Create, list and revoke API keys for integrations."""

from __future__ import annotations

import typer

app = typer.Typer(help="Create, list and revoke API keys for integrations.", no_args_is_help=True)
