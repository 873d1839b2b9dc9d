"""Registers the incident jobs (auto-open, SLA timers, volume trigger) with the worker (U3, U4)."""

from __future__ import annotations

from orderwatch.entrypoints.incident_wiring import INCIDENT_JOBS, IncidentJob
from orderwatch.entrypoints.worker.jobs import Job, register


def _runner(job: IncidentJob) -> Job:
    return Job(job.name, job.every, lambda app: job.run(app, app.clock))


for _job in INCIDENT_JOBS:
    register(_runner(_job))
