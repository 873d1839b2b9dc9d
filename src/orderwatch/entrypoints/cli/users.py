"""`orderwatch users`: Manage staff logins and roles."""

from __future__ import annotations

import typer

app = typer.Typer(help="Manage staff logins and roles.", no_args_is_help=True)
