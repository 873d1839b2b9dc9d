"""`orderwatch imports`: Import orders from CSV exports and the Olist dataset."""

from __future__ import annotations

import typer

app = typer.Typer(help="Import orders from CSV exports and the Olist dataset.", no_args_is_help=True)
