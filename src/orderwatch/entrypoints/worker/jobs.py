"""The worker's job registry: periodic jobs (detectors, SLA timers ...) and outbox consumers.

Add a periodic job with ``register(Job(name, every, run))``, where ``run(app)`` does one
transaction-sized unit of work; the runner runs it at most once per ``every`` across all worker
processes (``adapters/db/worker_jobs.py``). Add an outbox consumer with
``register_consumer(factory)``: ``factory(app, uow)`` returns a ``Sink`` called for every
outbox row in the dispatching transaction; it must tolerate a repeat of the same key.
Import your module from ``ALL_JOB_MODULES`` so the worker loads it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from orderwatch.bootstrap import App
from orderwatch.services.ports import ClaimedMessage, Sink


@dataclass(frozen=True, slots=True)
class Job:
    """A periodic job: ``run(app)`` every ``every``."""

    name: str
    every: timedelta
    run: Callable[[App], object]


ConsumerFactory = Callable[[App, Any], Sink]

JOBS: dict[str, Job] = {}
CONSUMERS: dict[str, ConsumerFactory] = {}

# Modules that register jobs when imported (other areas append theirs here).
ALL_JOB_MODULES: list[str] = [
    "orderwatch.entrypoints.worker.channels",
    "orderwatch.entrypoints.worker.incident_jobs",
    "orderwatch.entrypoints.worker.detector_jobs",
    "orderwatch.entrypoints.worker.maintenance_jobs",
    "orderwatch.entrypoints.worker.offer_jobs",
    "orderwatch.entrypoints.worker.model_jobs",
]


def register(job: Job) -> Job:
    if job.name in JOBS:
        raise ValueError(f"worker job {job.name!r} is registered twice")
    JOBS[job.name] = job
    return job


def register_consumer(name: str, factory: ConsumerFactory) -> None:
    if name in CONSUMERS:
        raise ValueError(f"outbox consumer {name!r} is registered twice")
    CONSUMERS[name] = factory


def load_all() -> None:
    for module in ALL_JOB_MODULES:
        importlib.import_module(module)


def consumers(app: App, uow: Any) -> list[Sink]:
    """Every registered outbox consumer bound to ``uow``, in name order (load_all() first)."""
    return [factory(app, uow) for _, factory in sorted(CONSUMERS.items())]


class FanOut:
    """One outbox sink that hands each message to every registered consumer, in name order."""

    def __init__(self, sinks: list[Sink]) -> None:
        self.sinks = sinks

    def send(self, message: ClaimedMessage) -> None:
        for sink in self.sinks:
            sink.send(message)
