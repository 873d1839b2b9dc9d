"""Running a replay from the command line: progress bar, periodic jobs, the KPI summary (issue 3).

Shared by ``orderwatch replay olist`` and ``orderwatch demo``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.kpi_queries import load_outcomes
from orderwatch.adapters.sinks import RecordingSink
from orderwatch.bootstrap import App
from orderwatch.domain.commands import TimedCommand
from orderwatch.domain.kpis import KpiFigures, MonthBasis, compute, compute_grouped, month_of
from orderwatch.entrypoints.cli.demo_messages import DemoMessages
from orderwatch.entrypoints.detector_wiring import JOB_NAME as DETECTORS
from orderwatch.entrypoints.detector_wiring import detector_every, detector_job
from orderwatch.entrypoints.incident_wiring import INCIDENT_JOBS
from orderwatch.entrypoints.model_wiring import (
    FULL_JOB,
    RESCORE_JOB,
    rescore_every,
    rescore_job,
    scoring_every,
    scoring_job,
)
from orderwatch.services.handlers import COMMAND_HANDLERS
from orderwatch.services.outbox import drain
from orderwatch.services.ports import Clock
from orderwatch.services.replay import PeriodicJob, ReplayReport, replay


def run_replay(
    app: App,
    clock: SimulatedClock,
    commands: list[TimedCommand],
    *,
    quiet: bool,
    label: str,
    messages_since: datetime | None = None,
) -> tuple[ReplayReport, RecordingSink]:
    """Replay ``commands`` through ingestion with the periodic jobs, showing a progress bar.

    ``messages_since``: from then on the outbox also goes through the worker's consumers and
    customer messages are delivered to the local mailbox table (the demo shop's mailbox).
    """
    sink = RecordingSink()
    outbox: Callable[[Clock], int] = partial(_drain, app, sink)
    if messages_since is not None:
        outbox = DemoMessages(app, sink, since=messages_since)
    detectors = detector_job(app)
    jobs = [
        PeriodicJob(DETECTORS, detector_every(app.settings), detectors),
        # Incident jobs after the detectors (which raise the flags they open cases from).
        *(PeriodicJob(j.name, j.every, partial(j.run, app)) for j in INCIDENT_JOBS),
        # The delay model scores open orders, and re-scores those with new events in between
        # (no-ops until a model version is active).
        PeriodicJob(FULL_JOB, scoring_every(app.settings), scoring_job(app)),
        PeriodicJob(RESCORE_JOB, rescore_every(app.settings), rescore_job(app)),
        PeriodicJob("outbox", timedelta(hours=1), outbox),
    ]
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, disable=quiet, transient=True) as bar:
        task = bar.add_task(label, total=len(commands))
        report = replay(
            commands,
            uow_factory=app.uow,
            clock=clock,
            handlers=COMMAND_HANDLERS,
            jobs=jobs,
            progress=lambda n: bar.advance(task, n),
        )
    detectors(clock)  # the flags as of the end of the history, whatever the last job's time
    report.jobs_run[DETECTORS] += 1
    outbox(clock)
    return report, sink


def _drain(app: App, sink: RecordingSink, clock: Clock) -> int:
    return drain(app.uow, sink, clock=clock, limit=5_000)


def figures_json(figures: KpiFigures) -> dict[str, Any]:
    """A KPI group as JSON, rates rounded to 4 decimals, ``None`` kept as ``null`` (no data)."""
    data = asdict(figures)
    for key, value in data.items():
        if isinstance(value, float):
            data[key] = round(value, 4)
    data["not_delivered"] = {k: round(v, 4) for k, v in figures.not_delivered.items()}
    data["meets_delay_target"] = figures.meets_delay_target
    data["meets_satisfaction_target"] = figures.meets_satisfaction_target
    return data


def kpi_summary(
    app: App, *, purchased_from: datetime | None = None, purchased_until: datetime | None = None
) -> dict[str, Any]:
    """Overall and per-month KPIs (purchase-month basis) for orders purchased in the window."""
    zone = ZoneInfo(app.settings.shop_timezone)
    with app.read_session() as session:
        outcomes = load_outcomes(session, purchased_from=purchased_from, purchased_until=purchased_until)
    monthly = compute_grouped(outcomes, lambda o: month_of(o, MonthBasis.purchase, zone), local=zone)
    return {
        "overall": figures_json(compute(outcomes, local=zone)),
        "by_month": {month: figures_json(f) for month, f in monthly.items()},
    }


def replay_json(report: ReplayReport, sink: RecordingSink) -> dict[str, Any]:
    """The replay part of ``--json``."""
    return {
        "commands": report.commands,
        "events_replayed": report.by_kind.get("RecordTrackingEvent", 0),
        "by_kind": dict(report.by_kind),
        "results": dict(report.results),
        "windows": report.windows,
        "simulated_from": report.first_at,
        "simulated_until": report.last_at,
        "wall_seconds": round(report.wall_seconds, 2),
        "jobs_run": dict(report.jobs_run),
        "seconds_by_step": {
            name: round(seconds, 2) for name, seconds in sorted(report.seconds.items(), key=lambda kv: -kv[1])
        },
        "outbox_dispatched": dict(sink.by_topic),
    }
