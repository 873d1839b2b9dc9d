"""`orderwatch bench`: benchmarks that print JSON (mission D1: ingestion speed).

The measuring code lives in ``benchmarks/bench_ingest.py`` (also runnable as a script); this
command finds it next to the package in a source checkout and prints its result.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Annotated

import typer

from orderwatch.entrypoints.cli.common import console, fail, print_json
from orderwatch.settings import Settings

app = typer.Typer(help="Benchmarks that print JSON.", no_args_is_help=True)
BENCHMARKS = Path(__file__).resolve().parents[4] / "benchmarks"


def _load(name: str) -> ModuleType:
    path = BENCHMARKS / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"benchmarks.{name}", path)
    if spec is None or spec.loader is None or not path.is_file():
        fail(f"{path}: benchmark not found (benchmarks run from a source checkout)")
    if str(BENCHMARKS.parent) not in sys.path:  # so benchmarks import their siblings (loadgen)
        sys.path.insert(0, str(BENCHMARKS.parent))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@app.command("ingest")
def ingest_command(
    database_url: Annotated[
        str, typer.Option("--database-url", help="Server to benchmark (a fresh DB is made)")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    events: Annotated[int, typer.Option("--events", help="Webhook events per run (batch: 10x)")] = 3_000,
    runs: Annotated[int, typer.Option("--runs", help="Repetitions of each HTTP measurement")] = 3,
    clients: Annotated[int, typer.Option("--clients", help="Concurrent webhook connections")] = 48,
    olist_runs: Annotated[int, typer.Option("--olist-runs", help="Full Olist imports (0 skips)")] = 1,
) -> None:
    """Webhook events/s, batch events/s and the full Olist import time against one server."""
    result = _load("bench_ingest").run(
        database_url, events=events, runs=runs, clients=clients, olist_runs=olist_runs
    )
    if as_json:
        print_json(result)
        return
    console.print_json(data=result)


@app.command("notifications")
def notifications_command(
    database_url: Annotated[
        str, typer.Option("--database-url", help="Server to benchmark (a fresh DB is made)")
    ] = "sqlite:///bench.sqlite3",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    emails: Annotated[int, typer.Option("--emails", help="E-mails in the throughput run")] = 5_000,
    rate: Annotated[int, typer.Option("--rate", help="New messages per second in the latency run")] = 200,
    seconds: Annotated[int, typer.Option("--seconds", help="Length of the latency run")] = 20,
    threads: Annotated[int, typer.Option("--threads", help="Sending threads of the one worker")] = 8,
    sink_processes: Annotated[
        int, typer.Option("--sink-processes", help="aiosmtpd server processes on the one SMTP port")
    ] = 2,
    poll_seconds: Annotated[
        float, typer.Option("--poll-seconds", help="The worker's idle pause (the default setting is 0.5)")
    ] = 0.05,
) -> None:
    """E-mails/s to a local SMTP server with one worker, and the outbox's due-age under load (issue 6)."""
    result = _load("bench_notifications").run(
        database_url,
        emails=emails,
        rate=rate,
        seconds=seconds,
        threads=threads,
        sink_processes=sink_processes,
        poll_seconds=poll_seconds,
    )
    if as_json:
        print_json(result)
        return
    console.print_json(data=result)


@app.command("detectors")
def detectors_command(
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="PostgreSQL server (a fresh DB is made); default SQLite"),
    ] = None,
    olist_dir: Annotated[
        Path | None, typer.Option("--olist", help="Olist folder (default ORDERWATCH_OLIST_DIR)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """The rule detectors over the 99,441 Olist orders: seconds per run, flags by kind (issue 4)."""
    module = _load("bench_detectors")
    result = module.run(olist_dir or Settings().olist_dir, database_url)
    if as_json:
        print_json(result)
        return
    console.print_json(data=result)


@app.command("models")
def models_command(
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="A database holding the history (default: the settings')"),
    ] = None,
    rescores: Annotated[int, typer.Option("--rescores", help="Single-order re-scores timed")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """The delay model: training time, batch orders/s and single re-score ms (issue 4).

    Import the history first (``orderwatch import olist``); the database is only read.
    """
    result = _load("bench_models").run(database_url, rescores=rescores)
    if as_json:
        print_json(result)
        return
    console.print_json(data=result)


@app.command("incidents")
def incidents_command(
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="PostgreSQL server (a fresh DB is made); default SQLite"),
    ] = None,
    olist_dir: Annotated[
        Path | None, typer.Option("--olist", help="Olist folder (default ORDERWATCH_OLIST_DIR)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Auto-opening and the SLA timer job over the 99,441 Olist orders (issue 5)."""
    result = _load("bench_incidents").run(olist_dir or Settings().olist_dir, database_url)
    if as_json:
        print_json(result)
        return
    console.print_json(data=result)
