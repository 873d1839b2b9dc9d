"""Registers the delay model's scoring (D2) with the worker: full runs and re-scores on new events."""

from __future__ import annotations

from collections.abc import Callable

from orderwatch.bootstrap import App
from orderwatch.entrypoints.model_wiring import (
    FULL_JOB,
    RESCORE_JOB,
    rescore_every,
    rescore_job,
    scoring_every,
    scoring_job,
)
from orderwatch.entrypoints.worker.jobs import Job, register
from orderwatch.services.ports import Clock
from orderwatch.services.prediction import ScoringRun
from orderwatch.settings import get_settings

ScoringJob = Callable[[Clock], ScoringRun | None]
# One job per (kind, app) in this process, so each keeps its loaded history between runs.
_jobs: dict[tuple[str, int], ScoringJob] = {}


def _runner(kind: str, build: Callable[[App], ScoringJob]) -> Callable[[App], object]:
    def run(app: App) -> object:
        job = _jobs.get((kind, id(app)))
        if job is None:
            job = _jobs[(kind, id(app))] = build(app)
        return job(app.clock)

    return run


register(Job(FULL_JOB, scoring_every(get_settings()), _runner(FULL_JOB, scoring_job)))
register(Job(RESCORE_JOB, rescore_every(get_settings()), _runner(RESCORE_JOB, rescore_job)))
