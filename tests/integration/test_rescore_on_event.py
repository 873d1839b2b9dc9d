"""Re-scoring on each new tracking event (D2), on SQLite and PostgreSQL.

Ingestion marks the shipment in the transaction that stores the event; the re-score job
re-scores exactly the marked orders, long before the next full run, and clears the marks
that saw no newer event.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.tables import OrderRow, PredictionRow, RiskFlagRow, ShipmentRow
from orderwatch.adapters.ml.dataset import from_days, load_orders
from orderwatch.adapters.ml.model import DelayModel, train
from orderwatch.adapters.ml.scorer import active_scorer, dumps
from orderwatch.bootstrap import App
from orderwatch.domain.commands import RecordMilestone
from orderwatch.domain.orders import OrderMilestone
from orderwatch.domain.shipments import ShipmentStatus
from orderwatch.entrypoints.model_wiring import rescore_job, scoring_job
from orderwatch.services.ingest import (
    ingest_events,
    ingest_milestones,
    ingest_orders,
    ingest_shipments,
    summarize,
)
from orderwatch.services.ports import ModelVersionInfo
from orderwatch.services.prediction import register_model, rescore_pending, score_open_orders
from tests.factories import make_event, make_order, make_shipment
from tests.ml_frames import BASE, synthetic_history


@pytest.fixture(scope="module")
def trained() -> DelayModel:
    return train(synthetic_history(2, 900), until=BASE + 100, promise_quantile=0.9, fast=True)


@pytest.fixture
def shop(app: App, trained: DelayModel) -> App:
    """An active model and two open orders, each with a shipment the carrier has not scanned yet."""
    now = app.clock.now()
    info = ModelVersionInfo("20180201-test0001", from_days(BASE + 100), trained.n_train, {}, False, now)
    register_model(app.uow(), info, dumps(trained), activate=True, now=now)
    for ref in ("o-1", "o-2"):
        order = make_order(ref=ref, purchased_at=now - timedelta(days=2), promised_days=12)
        assert summarize(ingest_orders(app.uow(), [order], clock=app.clock))["accepted"] == 1
        shipment = make_shipment(order_ref=ref, tracking=f"TRK-{ref}")
        assert summarize(ingest_shipments(app.uow(), [shipment], clock=app.clock))["accepted"] == 1
    return app


def _predictions(app: App) -> dict[str, tuple[str, object]]:
    with app.read_session() as session:
        rows = session.execute(select(PredictionRow.order_id, PredictionRow.stage, PredictionRow.scored_at))
        return {f"{order_id}:{stage}": (stage, scored_at) for order_id, stage, scored_at in rows}


def _pending(app: App) -> dict[str, bool]:
    with app.read_session() as session:
        rows = session.execute(select(ShipmentRow.tracking_number, ShipmentRow.rescore_pending))
        return {number: bool(pending) for number, pending in rows}


def _scan(app: App, ref: str, status: ShipmentStatus, *, hours_ago: float = 1) -> None:
    event = make_event(tracking=f"TRK-{ref}", status=status, at=app.clock.now() - timedelta(hours=hours_ago))
    assert summarize(ingest_events(app.uow(), [event], clock=app.clock))["accepted"] == 1


def test_an_event_gets_its_order_rescored_before_the_next_full_run(shop: App) -> None:
    clock = shop.clock
    assert isinstance(clock, SimulatedClock)
    full, rescore = scoring_job(shop), rescore_job(shop)
    first = full(clock)
    assert first is not None
    assert first.scored == 2
    before = _predictions(shop)
    assert {stage for stage, _ in before.values()} == {"purchase"}

    clock.advance(timedelta(minutes=5))
    _scan(shop, "o-1", ShipmentStatus.picked_up)  # the carrier has it: hand-off
    assert _pending(shop) == {"TRK-o-1": True, "TRK-o-2": False}

    clock.advance(timedelta(minutes=1))
    run = rescore(clock)

    assert run is not None
    assert run.scored == 1  # exactly the order with the new event
    after = _predictions(shop)
    new = {key: value for key, value in after.items() if key not in before}
    assert [stage for stage, _ in new.values()] == ["handoff"]
    assert all(scored_at == clock.now() for _, scored_at in new.values())
    untouched = [key for key, (_, at) in after.items() if key in before and at == before[key][1]]
    assert len(untouched) == 2  # the purchase-stage rows of both orders were not rewritten
    assert _pending(shop) == {"TRK-o-1": False, "TRK-o-2": False}
    again = rescore(clock)
    assert again is not None
    assert again.scored == 0  # nothing queued: the run reads the (empty) queue and stops


def test_a_mark_read_before_a_newer_event_is_kept(shop: App) -> None:
    _scan(shop, "o-1", ShipmentStatus.picked_up, hours_ago=3)
    with shop.uow() as uow:
        marks = uow.predictions.pending_rescores(limit=10)
    _scan(shop, "o-1", ShipmentStatus.in_transit)  # lands while the re-score is running
    with shop.uow() as uow:
        uow.predictions.clear_rescores(marks)
        uow.commit()

    assert [m.order_id for m in marks] == [marks[0].order_id]
    assert _pending(shop)["TRK-o-1"] is True  # the next run will see the in-transit scan


def test_a_delivered_order_loses_its_predicted_late_flag_on_the_rescore(shop: App) -> None:
    scorer = active_scorer(shop.uow(), shop.read_session)
    assert scorer is not None
    score_open_orders(shop.uow(), scorer, shop.clock, threshold=0.0)  # every open order flagged
    assert _open_flags(shop) == 2

    _scan(shop, "o-2", ShipmentStatus.delivered)
    run = rescore_pending(shop.uow(), scorer, shop.clock, threshold=0.0)

    assert (run.scored, run.cleared) == (0, 1)  # closed: not scored, its flag cleared at once
    assert _open_flags(shop) == 1


def _open_flags(app: App) -> int:
    with app.read_session() as session:
        return len(session.scalars(select(RiskFlagRow.id).where(RiskFlagRow.cleared_at.is_(None))).all())


def test_the_in_memory_rescore_equals_scoring_the_rows_read_again(shop: App) -> None:
    scorer = active_scorer(shop.uow(), shop.read_session)
    assert scorer is not None
    now = shop.clock.now()
    context = scorer.context(now, fresh=True)  # the history as the job holds it
    _scan(shop, "o-1", ShipmentStatus.picked_up)  # after the history was loaded
    ids = [int(i) for i in context.frame["id"]]

    cached = scorer.score_orders(ids, now=now)
    with shop.read_session() as session:
        rows = load_orders(session, order_ids=ids)
    reloaded = scorer.score_frame(rows, now, context.history, explain_above=0.0)

    assert sorted(cached, key=lambda p: p.order_id) == sorted(reloaded, key=lambda p: p.order_id)
    assert {p.stage for p in cached} == {"purchase", "handoff"}  # o-1's hand-off was seen


def test_an_order_bought_after_the_history_was_loaded_is_rescored_from_the_database(shop: App) -> None:
    scorer = active_scorer(shop.uow(), shop.read_session)
    assert scorer is not None
    now = shop.clock.now()
    context = scorer.context(now, fresh=True)  # holds o-1 and o-2 only
    order = make_order(ref="o-3", purchased_at=now - timedelta(hours=5), promised_days=9)
    assert summarize(ingest_orders(shop.uow(), [order], clock=shop.clock))["accepted"] == 1
    ids = [*(int(i) for i in context.frame["id"]), 10_000_000]  # and an id that does not exist
    with shop.read_session() as session:
        rows = load_orders(session)
    new_id = int(rows.loc[rows["ref"] == "o-3", "id"].iloc[0])
    assert new_id not in context.positions()

    rescored = scorer.score_orders([new_id, *ids], now=now, explain_above=0.0)
    reloaded = scorer.score_frame(rows, now, context.history, explain_above=0.0)

    assert sorted(rescored, key=lambda p: p.order_id) == sorted(reloaded, key=lambda p: p.order_id)
    assert {p.order_ref for p in rescored} == {"o-1", "o-2", "o-3"}


def _order_marks(app: App) -> dict[str, int]:
    with app.read_session() as session:
        return {ref: marks for ref, marks in session.execute(select(OrderRow.ref, OrderRow.rescore_marks))}


def _milestone(app: App, ref: str, milestone: OrderMilestone) -> None:
    item = RecordMilestone(ref, milestone, app.clock.now() - timedelta(minutes=30))
    assert summarize(ingest_milestones(app.uow(), [item], clock=app.clock))["accepted"] == 1


def test_a_milestone_alone_gets_its_order_rescored(shop: App) -> None:
    """Olist-style histories tell some news only as order milestones, with no parcel scan."""
    scorer = active_scorer(shop.uow(), shop.read_session)
    assert scorer is not None
    score_open_orders(shop.uow(), scorer, shop.clock, threshold=0.0)  # every open order flagged
    assert _order_marks(shop) == {"o-1": 0, "o-2": 0}  # the full run cleared what it read
    # o-3 has no shipment at all: only its own row can carry the mark.
    order = make_order(ref="o-3", purchased_at=shop.clock.now() - timedelta(days=1), promised_days=12)
    assert summarize(ingest_orders(shop.uow(), [order], clock=shop.clock))["accepted"] == 1

    _milestone(shop, "o-2", OrderMilestone.canceled)
    _milestone(shop, "o-3", OrderMilestone.approved)
    assert _order_marks(shop) == {"o-1": 0, "o-2": 1, "o-3": 1}
    assert _pending(shop) == {"TRK-o-1": False, "TRK-o-2": False}  # no scan: no shipment marked

    run = rescore_pending(shop.uow(), scorer, shop.clock, threshold=0.0)

    assert (run.scored, run.cleared) == (1, 1)  # o-3 scored; canceled o-2 loses its flag at once
    assert _open_flags(shop) == 2  # o-1's and o-3's
    assert _order_marks(shop) == {"o-1": 0, "o-2": 0, "o-3": 0}


def test_an_order_mark_read_before_a_newer_milestone_is_kept(shop: App) -> None:
    _milestone(shop, "o-1", OrderMilestone.approved)
    with shop.uow() as uow:
        marks = uow.predictions.pending_rescores(limit=10)
    _milestone(shop, "o-1", OrderMilestone.invoiced)  # lands while the re-score is running
    with shop.uow() as uow:
        uow.predictions.clear_rescores(marks)
        uow.commit()

    with shop.read_session() as session:
        o1 = session.scalar(select(OrderRow.id).where(OrderRow.ref == "o-1"))
    assert [(m.shipment_id, m.order_id, m.count) for m in marks if m.order_id == o1] == [(None, o1, 1)]
    assert _order_marks(shop)["o-1"] == 2  # kept: the next run sees the invoice
