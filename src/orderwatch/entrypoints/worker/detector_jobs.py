"""Registers the rule detectors (D2) with the worker: all open orders, every ``detectors_every_minutes``."""

from __future__ import annotations

from orderwatch.bootstrap import App
from orderwatch.entrypoints.detector_wiring import JOB_NAME, detector_every, detector_job
from orderwatch.entrypoints.worker.jobs import Job, register
from orderwatch.settings import get_settings


def _run(app: App) -> object:
    # A fresh job per run relearns the lanes' gaps: once an hour is cheap next to a replay's
    # every simulated hour, where the cached gaps of ``DetectorJob`` matter.
    return detector_job(app)(app.clock)


register(Job(JOB_NAME, detector_every(get_settings()), _run))
