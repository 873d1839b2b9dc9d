"""Wiring of the rule detectors for every entry point (D2): thresholds from settings, the job.

``orderwatch worker`` runs it in real time, ``orderwatch replay`` / ``orderwatch demo`` in
simulated time, ``orderwatch risk scan`` once: one definition, so all schedules agree.
"""

from __future__ import annotations

from datetime import timedelta

from orderwatch.bootstrap import App
from orderwatch.domain.detectors import DetectorThresholds
from orderwatch.services.detectors import DetectorJob
from orderwatch.settings import Settings

JOB_NAME = "detectors"


def detector_thresholds(settings: Settings) -> DetectorThresholds:
    """The detectors' thresholds as configured (``ORDERWATCH_DETECTOR_*``, docs/settings.md)."""
    return DetectorThresholds(
        promise_severity_days=settings.detector_promise_severity_days,
        dispatch_severity_days=settings.detector_dispatch_severity_days,
        stall_quantile=settings.detector_stall_quantile,
        stall_min_samples=settings.detector_stall_min_samples,
        stall_default=timedelta(hours=settings.stale_after_hours),
        lane_lookback=timedelta(days=settings.detector_lane_lookback_days),
    )


def detector_every(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.detectors_every_minutes)


def detector_job(app: App) -> DetectorJob:
    """A detector job for ``app`` that keeps the learned lane gaps between its runs."""
    return DetectorJob(app.uow, thresholds=detector_thresholds(app.settings))
