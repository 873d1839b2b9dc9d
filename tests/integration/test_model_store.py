"""Model versions and predictions on SQLite and PostgreSQL (issue 4): save, load, activate, and
``predicted_late`` flags raised once, left alone on small changes, cleared when the risk falls."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import func, select

from orderwatch.adapters.db.tables import ModelVersionRow, OutboxRow, PredictionRow, RiskFlagRow
from orderwatch.adapters.ml.features import History, Stage
from orderwatch.adapters.ml.model import DelayModel, train
from orderwatch.adapters.ml.scorer import dumps, loads
from orderwatch.bootstrap import App
from orderwatch.domain.errors import NotFound
from orderwatch.services.ingest import ingest_orders
from orderwatch.services.ports import ModelVersionInfo, OrderPrediction
from orderwatch.services.prediction import activate_model, apply_predictions, list_models, register_model
from tests.factories import make_order
from tests.ml_frames import BASE, synthetic_history


@pytest.fixture(scope="module")
def trained() -> DelayModel:
    return train(synthetic_history(1, 700), until=BASE + 100, promise_quantile=0.9, fast=True)


def _info(version: str, app: App) -> ModelVersionInfo:
    now = app.clock.now()
    return ModelVersionInfo(version, now - timedelta(days=1), 600, {"train_seconds": 1.0}, False, now)


def test_versions_are_saved_loaded_and_one_is_active(app: App, trained: DelayModel) -> None:
    blob = dumps(trained)
    register_model(app.uow(), _info("v1", app), blob, activate=True, now=app.clock.now())
    register_model(app.uow(), _info("v2", app), blob, activate=False, now=app.clock.now())

    assert [(v.version, v.is_active) for v in sorted(list_models(app.uow()), key=lambda v: v.version)] == [
        ("v1", True),
        ("v2", False),
    ]
    activate_model(app.uow(), "v2", app.clock)
    with app.uow() as uow:
        active = uow.models.active()
        assert active is not None
        assert active[0].version == "v2"
        assert active[0].activated_at == app.clock.now()
        assert uow.session.scalar(select(func.count()).where(ModelVersionRow.is_active)) == 1
    frame = synthetic_history(2, 200)
    history = History.build(frame, trained.vocabulary)
    at = frame["purchased"].to_numpy()
    restored = loads(active[1])
    expected = trained.score(trained.features(frame, at, Stage.purchase, history), Stage.purchase, at)
    again = restored.score(restored.features(frame, at, Stage.purchase, history), Stage.purchase, at)
    np.testing.assert_array_equal(expected.p_late, again.p_late)
    np.testing.assert_array_equal(expected.p90, again.p90)


def test_activating_an_unknown_version_fails_and_changes_nothing(app: App, trained: DelayModel) -> None:
    register_model(app.uow(), _info("v1", app), dumps(trained), activate=True, now=app.clock.now())

    with pytest.raises(NotFound, match="model version 'v9' not found"):
        activate_model(app.uow(), "v9", app.clock)

    assert [(v.version, v.is_active) for v in list_models(app.uow())] == [("v1", True)]


def _prediction(order_id: int, ref: str, p_late: float, app: App) -> OrderPrediction:
    now = app.clock.now()
    return OrderPrediction(
        order_id,
        ref,
        "purchase",
        p_late,
        now + timedelta(days=5),
        now + timedelta(days=9),
        ("Long way from the seller: 2100 km (usual on this lane 400 km)",),
        "v1",
    )


def _flags(app: App) -> list[tuple[int, str, bool]]:
    with app.read_session() as session:
        rows = session.execute(select(RiskFlagRow.order_id, RiskFlagRow.severity, RiskFlagRow.cleared_at))
        return sorted((order_id, severity, cleared is None) for order_id, severity, cleared in rows)


def _count(app: App, row: type) -> int:
    with app.read_session() as session:
        return session.scalar(select(func.count()).select_from(row)) or 0


def test_predicted_late_flags_are_raised_once_and_cleared_when_the_risk_falls(app: App) -> None:
    orders = [make_order(purchased_at=app.clock.now() - timedelta(days=1)) for _ in range(3)]
    ingest_orders(app.uow(), orders, clock=app.clock)
    with app.uow() as uow:
        ids = uow.ingest.find_order_ids([o.ref for o in orders])
    (a, ra), (b, rb), (c, rc) = ((ids[o.ref], o.ref) for o in orders)
    outbox_before = _count(app, OutboxRow)

    def run(pa: float, pb: float, pc: float) -> tuple[int, int, int]:
        predictions = [_prediction(a, ra, pa, app), _prediction(b, rb, pb, app), _prediction(c, rc, pc, app)]
        return apply_predictions(app.uow(), predictions, now=app.clock.now(), threshold=0.5, complete=True)

    assert run(0.91, 0.20, 0.62) == (2, 0, 0)
    assert _flags(app) == [(a, "high", True), (c, "low", True)]
    assert _count(app, OutboxRow) == outbox_before + 2
    assert run(0.93, 0.25, 0.64) == (0, 0, 0)  # same band, same reasons: no churn
    assert run(0.93, 0.25, 0.47) == (0, 1, 0)  # within the hysteresis: the flag stays, reworded
    assert run(0.93, 0.25, 0.30) == (0, 0, 1)
    assert _flags(app) == [(a, "high", True), (c, "low", False)]
    assert _count(app, OutboxRow) == outbox_before + 2
    assert _count(app, PredictionRow) == 3  # the latest per (order, stage)
