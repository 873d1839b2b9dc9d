"""Scoring open orders with the active delay model, and the ``predicted_late`` flags (D2).

    active model ──▶ predictions of every open order (batch, on a schedule) ──▶ predictions table
                 └─▶ the orders ingestion queued with new events or milestones          │
    p_late ≥ threshold ──▶ flag ``predicted_late`` raised once (outbox ``risk.flag_raised``)
    p_late < threshold - hysteresis, or the order closed ──▶ flag cleared

One row per (order, kind) and a coarse reason text (risk in 10 % bands, top reasons), so a
re-run with small changes in probability rewrites nothing: no churn for the incident workflow
that reads the flags. Only the ``predicted_late`` kind is read or written here.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from orderwatch.domain.detectors import Finding
from orderwatch.domain.errors import NotFound
from orderwatch.domain.risk import risk_severity
from orderwatch.domain.risk_flags import RiskFlagKind
from orderwatch.services.detectors import RAISED_TOPIC, plan_flags
from orderwatch.services.ports import (
    Clock,
    ModelEvaluation,
    ModelUnitOfWork,
    ModelVersionInfo,
    OrderPrediction,
    OutboxMessage,
    PredictionBatch,
    PredictionUnitOfWork,
    RescoreMark,
    RiskModel,
)

KIND = RiskFlagKind.predicted_late
HYSTERESIS = 0.05  # an open flag stays until the risk falls this far below the threshold
FULL_RUN_MARKS = 50_000  # re-score marks a full run clears (the rest wait for the next run)


@dataclass
class ScoringRun:
    """What one scoring run did."""

    at: datetime
    model_version: str
    scored: int = 0
    raised: int = 0
    updated: int = 0
    cleared: int = 0


def _finding(prediction: OrderPrediction, *, threshold: float) -> Finding | None:
    severity = risk_severity(max(prediction.p_late, threshold), threshold=threshold)
    if severity is None:  # pragma: no cover - max(..., threshold) is never below it
        return None
    band = min(9, int(prediction.p_late * 10)) * 10
    because = "; ".join(prediction.reasons) if prediction.reasons else "a mix of small factors"
    reason = f"Likely to arrive after the promise ({band}-{band + 10} % risk): {because}"
    details = {
        "p_late": round(prediction.p_late, 4),
        "eta_p50_at": prediction.eta_p50_at.isoformat(),
        "eta_p90_at": prediction.eta_p90_at.isoformat(),
        "stage": prediction.stage,
        "model_version": prediction.model_version,
    }
    return Finding(prediction.order_id, KIND, severity, reason, None, details)


def _message(flag_id: int, order_ref: str, finding: Finding, raised_at: datetime) -> OutboxMessage:
    return OutboxMessage(
        topic=RAISED_TOPIC,
        idempotency_key=f"{RAISED_TOPIC}:{flag_id}:{raised_at.isoformat()}",
        payload={
            "flag_id": flag_id,
            "order_ref": order_ref,
            "kind": KIND.value,
            "severity": finding.severity.value,
            "cause": None,
            "reason": finding.reason,
            "raised_at": raised_at.isoformat(),
            # The expected window (P50–P90): the delay message tells it, and the next delay
            # message is only sent when it moved enough (ANCHORS §7, no churn) (D3).
            "expected_at": finding.details["eta_p50_at"],
            "expected_until": finding.details["eta_p90_at"],
        },
    )


def apply_predictions(
    uow: PredictionUnitOfWork,
    predictions: Sequence[OrderPrediction],
    *,
    now: datetime,
    threshold: float,
    complete: bool,
    covered: Collection[int] = (),
    consumed: Sequence[RescoreMark] = (),
) -> tuple[int, int, int]:
    """Store predictions and bring the ``predicted_late`` flags in line, in one transaction.

    ``complete`` says the predictions cover every open order, so open flags of orders not in
    them are cleared (the order was delivered or canceled); a partial re-score clears only the
    flags of the ``covered`` orders it left out (they closed). ``consumed`` re-score marks are
    cleared in the same transaction. Returns (raised, updated, cleared).
    """
    batch = PredictionBatch.of(predictions)
    with uow:
        store = uow.risk_flags
        uow.predictions.save_predictions(batch, now=now)
        scored = set(batch.order_ids)
        open_flags = store.open_flags([KIND])
        if not complete:
            in_scope = scored | set(covered)
            open_flags = [flag for flag in open_flags if flag.order_id in in_scope]
        flagged = {flag.order_id for flag in open_flags}
        # Only orders at or near the threshold can raise or keep a flag: read just those.
        findings = [
            finding
            for p in batch.at_least(threshold - HYSTERESIS)
            if p.p_late >= threshold or (p.order_id in flagged and p.p_late >= threshold - HYSTERESIS)
            if (finding := _finding(p, threshold=threshold)) is not None
        ]
        plan = plan_flags(findings, open_flags)
        raised = store.raise_flags(plan.to_raise, now=now)
        by_order = {f.order_id: f for f in plan.to_raise}
        uow.outbox.enqueue(
            [_message(r.id, r.order_ref, by_order[r.order_id], r.raised_at) for r in raised], now=now
        )
        store.update_flags(plan.to_update, now=now)
        store.clear_flags([flag.id for flag in plan.to_clear], now=now)
        uow.predictions.clear_rescores(consumed)
        uow.commit()
    return len(raised), len(plan.to_update), len(plan.to_clear)


def _pending(uow: PredictionUnitOfWork, limit: int) -> list[RescoreMark]:
    with uow:
        return uow.predictions.pending_rescores(limit=limit)


def score_open_orders(
    uow: PredictionUnitOfWork, model: RiskModel, clock: Clock, *, threshold: float
) -> ScoringRun:
    """Score every open order with ``model`` and store the results and flags (the periodic job).

    The re-score marks read before scoring are cleared too: the run saw their events.
    """
    now = clock.now()
    marks = _pending(uow, FULL_RUN_MARKS)
    predictions = model.score_open_orders(now=now, explain_above=threshold - HYSTERESIS)
    run = ScoringRun(at=now, model_version=model.version, scored=len(predictions))
    run.raised, run.updated, run.cleared = apply_predictions(
        uow, predictions, now=now, threshold=threshold, complete=True, consumed=marks
    )
    return run


def rescore_orders(
    uow: PredictionUnitOfWork, model: RiskModel, order_ids: Sequence[int], clock: Clock, *, threshold: float
) -> PredictionBatch:
    """Re-score ``order_ids`` after new events and update their predictions and flags."""
    now = clock.now()
    predictions = model.score_orders(order_ids, now=now, explain_above=threshold - HYSTERESIS)
    apply_predictions(uow, predictions, now=now, threshold=threshold, complete=False, covered=order_ids)
    return predictions


def rescore_pending(
    uow: PredictionUnitOfWork, model: RiskModel, clock: Clock, *, threshold: float, limit: int = 2_000
) -> ScoringRun:
    """Re-score the orders with news since their last score (D2): tracking events or milestones.

    Ingestion marks the shipments in the transaction that stores their events, and the order
    itself in the one that records a milestone (approval, cancellation ...: Olist-style news
    that comes with no parcel scan, for orders that may have no shipment yet); this reads up to
    ``limit`` marks, re-scores exactly those orders (closed ones lose their flag) and clears the
    marks that saw no newer news.
    """
    now = clock.now()
    marks = _pending(uow, limit)
    run = ScoringRun(at=now, model_version=model.version)
    if not marks:
        return run
    order_ids = sorted({mark.order_id for mark in marks})
    predictions = model.score_orders(order_ids, now=now, explain_above=threshold - HYSTERESIS)
    run.scored = len(predictions)
    run.raised, run.updated, run.cleared = apply_predictions(
        uow, predictions, now=now, threshold=threshold, complete=False, covered=order_ids, consumed=marks
    )
    return run


# ------------------------------------------------------------------ model lifecycle


def register_model(
    uow: ModelUnitOfWork, info: ModelVersionInfo, blob: bytes, *, activate: bool, now: datetime
) -> None:
    """Store a trained version (and make it the active one when ``activate``), in one transaction."""
    with uow:
        uow.models.add(info, blob)
        if activate:
            uow.models.activate(info.version, now=now)
        uow.commit()


def version_blob(uow: ModelUnitOfWork, version: str) -> bytes:
    """The serialized model of ``version``; ``NotFound`` when it was never stored."""
    with uow:
        blob = uow.models.blob(version)
    if blob is None:
        raise NotFound("model version", version)
    return blob


def record_evaluation(uow: ModelUnitOfWork, evaluation: ModelEvaluation) -> int:
    """Store a ``model evaluate`` run (shown on ``/models/<version>``, or on ``/models``); its id."""
    with uow:
        evaluation_id = uow.models.add_evaluation(evaluation)
        uow.commit()
    return evaluation_id


def activate_model(uow: ModelUnitOfWork, version: str, clock: Clock) -> None:
    """Make ``version`` the only active model; ``NotFound`` when it was never stored."""
    with uow:
        if not uow.models.activate(version, now=clock.now()):
            raise NotFound("model version", version)
        uow.commit()


def list_models(uow: ModelUnitOfWork) -> list[ModelVersionInfo]:
    """Every stored version, newest first."""
    with uow:
        return uow.models.versions()
