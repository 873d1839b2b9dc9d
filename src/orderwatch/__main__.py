"""`python -m orderwatch` runs the command-line interface."""

from orderwatch.entrypoints.cli.main import app

app()
