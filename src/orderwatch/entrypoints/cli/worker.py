"""``orderwatch worker``: run the background worker until SIGTERM or Ctrl-C (issue 6)."""

from __future__ import annotations

import logging

import typer

from orderwatch.bootstrap import build_app
from orderwatch.entrypoints.worker.channels import senders
from orderwatch.entrypoints.worker.runner import Worker


def worker(
    threads: int = typer.Option(0, help="Sending threads (0: ORDERWATCH_WORKER_THREADS)"),
    batch: int = typer.Option(50, help="Messages a sending thread leases at a time"),
    jobs: bool = typer.Option(
        True, "--jobs/--no-jobs", help="Also run the scheduled jobs (detectors, SLA...)"
    ),
) -> None:
    """Run scheduled jobs, plan messages from the outbox and send them; stop on SIGTERM/SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = build_app()
    settings = app.settings
    runner = Worker(
        app,
        senders=lambda: senders(settings),
        threads=threads or settings.worker_threads,
        poll_seconds=settings.worker_poll_seconds,
        batch=batch,
        run_jobs=jobs,
    )
    runner.install_signal_handlers()
    typer.echo(f"worker {runner.holder}: {runner.threads} sending threads; Ctrl-C or SIGTERM stops it")
    runner.run()
    typer.echo("worker stopped")
