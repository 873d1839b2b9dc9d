"""Wiring of the delay model's scoring for every entry point (D2): the full run and the re-score.

    every ``scoring_every_minutes``: score all open orders (clears the re-score marks it saw)
    every ``rescore_every_seconds``: re-score only the orders ingestion marked with new events

``orderwatch worker`` runs both in real time, ``orderwatch replay`` / ``orderwatch demo`` in
simulated time. Each job keeps its scorer (and the history it loaded) while the active version
stays the same, so a re-score run costs the marked orders, not a reload of the history.
Both are no-ops until a model version is active.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from orderwatch.adapters.ml.scorer import DelayScorer, active_scorer
from orderwatch.bootstrap import App
from orderwatch.services.ports import Clock
from orderwatch.services.prediction import ScoringRun, rescore_pending, score_open_orders
from orderwatch.settings import Settings

FULL_JOB = "delay_model"
RESCORE_JOB = "delay_rescore"


def scoring_every(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.scoring_every_minutes)


def rescore_every(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.rescore_every_seconds)


class _Scorers:
    """The active version's scorer, kept between runs of one job."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.current: DelayScorer | None = None

    def get(self) -> DelayScorer | None:
        self.current = active_scorer(self.app.uow(), self.app.read_session, previous=self.current)
        return self.current


def scoring_job(app: App) -> Callable[[Clock], ScoringRun | None]:
    """The periodic full run: score every open order when a model is active."""
    scorers = _Scorers(app)

    def run(clock: Clock) -> ScoringRun | None:
        scorer = scorers.get()
        if scorer is None:
            return None
        return score_open_orders(app.uow(), scorer, clock, threshold=app.settings.risk_threshold)

    return run


def rescore_job(app: App) -> Callable[[Clock], ScoringRun | None]:
    """The frequent run: re-score the orders queued by ingestion since the last run."""
    scorers = _Scorers(app)

    def run(clock: Clock) -> ScoringRun | None:
        scorer = scorers.get()
        if scorer is None:
            return None
        return rescore_pending(app.uow(), scorer, clock, threshold=app.settings.risk_threshold)

    return run
