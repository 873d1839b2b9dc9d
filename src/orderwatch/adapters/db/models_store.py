"""Model versions and predictions in the database (D2): ``model_versions`` and ``predictions``.

The fitted estimators are stored as bytes in ``model_versions.model`` (see the row's docstring
for why not a file). Predictions keep the latest row per (order, stage), written with one upsert
per batch, so scoring all open orders every hour does not grow the table. The re-score queue
is ``shipments.rescore_pending`` (new tracking events, ``ingest_store.save_shipment_states``)
and ``orders.rescore_marks`` (new milestones, ``ingest_store.record_milestones``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, defer

from orderwatch.adapters.db.bulk import update_many
from orderwatch.adapters.db.dialect import chunks, insert_for
from orderwatch.adapters.db.tables import (
    ModelEvaluationRow,
    ModelVersionRow,
    OrderRow,
    PredictionRow,
    ShipmentRow,
    table_of,
)
from orderwatch.services.ports import (
    ModelEvaluation,
    ModelVersionInfo,
    OrderPrediction,
    PredictionBatch,
    RescoreMark,
)

PREDICTIONS = table_of(PredictionRow)
SHIPMENTS = table_of(ShipmentRow)
ORDERS = table_of(OrderRow)


def _info(row: ModelVersionRow) -> ModelVersionInfo:
    return ModelVersionInfo(
        version=row.version,
        trained_until=row.trained_until,
        n_train=row.n_train,
        metrics=row.metrics,
        is_active=row.is_active,
        created_at=row.created_at,
        activated_at=row.activated_at,
    )


def model_versions(session: Session, *, version: str | None = None) -> list[ModelVersionInfo]:
    """Stored versions (or the one named ``version``), newest first, without the model bytes."""
    query = (
        select(ModelVersionRow)
        .options(defer(ModelVersionRow.model))
        .order_by(ModelVersionRow.created_at.desc(), ModelVersionRow.id.desc())
    )
    if version is not None:
        query = query.where(ModelVersionRow.version == version)
    return [_info(row) for row in session.scalars(query)]


def model_evaluations(session: Session, *, version: str | None, limit: int = 20) -> list[ModelEvaluation]:
    """Stored ``model evaluate`` runs of ``version``, newest first.

    ``version`` None: the runs that trained their own models and scored no stored version.
    """
    query = (
        select(ModelEvaluationRow)
        .where(
            ModelEvaluationRow.model_version.is_(None)
            if version is None
            else ModelEvaluationRow.model_version == version
        )
        .order_by(ModelEvaluationRow.created_at.desc(), ModelEvaluationRow.id.desc())
        .limit(limit)
    )
    return [
        ModelEvaluation(
            model_version=row.model_version,
            train_until=row.train_until,
            test_from=row.test_from,
            test_until=row.test_until,
            retrain=row.retrain,
            result=row.result,
            created_at=row.created_at,
            id=row.id,
        )
        for row in session.scalars(query)
    ]


class SqlModelRegistry:
    """Implements ``services.ports.ModelRegistry`` inside the unit of work's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, info: ModelVersionInfo, blob: bytes) -> None:
        self.session.add(
            ModelVersionRow(
                version=info.version,
                trained_until=info.trained_until,
                n_train=info.n_train,
                metrics=dict(info.metrics),
                model=blob,
                is_active=False,
                created_at=info.created_at,
            )
        )
        self.session.flush()

    def versions(self) -> list[ModelVersionInfo]:
        return model_versions(self.session)

    def blob(self, version: str) -> bytes | None:
        return self.session.scalar(select(ModelVersionRow.model).where(ModelVersionRow.version == version))

    def add_evaluation(self, evaluation: ModelEvaluation) -> int:
        row = ModelEvaluationRow(
            model_version=evaluation.model_version,
            train_until=evaluation.train_until,
            test_from=evaluation.test_from,
            test_until=evaluation.test_until,
            retrain=evaluation.retrain,
            result=dict(evaluation.result),
            created_at=evaluation.created_at,
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    def activate(self, version: str, *, now: datetime) -> bool:
        # Lock the chosen row first (PostgreSQL) so two activations cannot both win.
        chosen = self.session.scalar(
            select(ModelVersionRow).where(ModelVersionRow.version == version).with_for_update()
        )
        if chosen is None:
            return False
        self.session.execute(
            update(ModelVersionRow)
            .where(ModelVersionRow.is_active, ModelVersionRow.id != chosen.id)
            .values(is_active=False)
        )
        if not chosen.is_active:
            chosen.is_active = True
            chosen.activated_at = now
        self.session.flush()
        return True

    def active_version(self) -> str | None:
        return self.session.scalar(select(ModelVersionRow.version).where(ModelVersionRow.is_active).limit(1))

    def active(self) -> tuple[ModelVersionInfo, bytes] | None:
        row = self.session.scalar(select(ModelVersionRow).where(ModelVersionRow.is_active).limit(1))
        return None if row is None else (_info(row), row.model)


class SqlPredictionStore:
    """Implements ``services.ports.PredictionStore``: one upsert per chunk of predictions."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def save_predictions(self, predictions: Sequence[OrderPrediction], *, now: datetime) -> int:
        batch = PredictionBatch.of(predictions)  # columns: no object per order on the way
        version, reasons = batch.model_version, batch.reasons
        rows = [
            {
                "order_id": order_id,
                "stage": stage,
                "model_version": version,
                "p_late": float(p_late),
                "eta_p50_at": p50,
                "eta_p90_at": p90,
                "reasons": list(reasons.get(i, ())),
                "scored_at": now,
            }
            for i, (order_id, stage, p_late, p50, p90) in enumerate(
                zip(
                    batch.order_ids,
                    batch.stages,
                    batch.p_late,
                    batch.eta_p50_at,
                    batch.eta_p90_at,
                    strict=True,
                )
            )
        ]
        for part in chunks(rows, columns=9):
            statement = insert_for(self.session, PREDICTIONS).values(list(part))
            excluded = statement.excluded
            self.session.execute(
                statement.on_conflict_do_update(
                    index_elements=["order_id", "stage"],
                    set_={
                        name: getattr(excluded, name)
                        for name in (
                            "model_version",
                            "p_late",
                            "eta_p50_at",
                            "eta_p90_at",
                            "reasons",
                            "scored_at",
                        )
                    },
                )
            )
        return len(rows)

    def pending_rescores(self, *, limit: int) -> list[RescoreMark]:
        # The partial indexes ix_shipments_rescore and ix_orders_rescore hold only the marked
        # rows: no table scan. Shipments (tracking events) first, then orders (milestones).
        query = (
            select(SHIPMENTS.c.id, SHIPMENTS.c.order_id, SHIPMENTS.c.event_count)
            .where(SHIPMENTS.c.rescore_pending)
            .order_by(SHIPMENTS.c.id)
            .limit(limit)
        )
        marks = [RescoreMark(sid, oid, count) for sid, oid, count in self.session.execute(query)]
        if len(marks) < limit:
            orders = (
                select(ORDERS.c.id, ORDERS.c.rescore_marks)
                .where(ORDERS.c.rescore_marks > 0)
                .order_by(ORDERS.c.id)
                .limit(limit - len(marks))
            )
            marks += [RescoreMark(None, oid, count) for oid, count in self.session.execute(orders)]
        return marks

    def clear_rescores(self, marks: Sequence[RescoreMark]) -> int:
        shipments = [(m.shipment_id, m.count) for m in marks if m.shipment_id is not None]
        orders = [(m.order_id, m.count) for m in marks if m.shipment_id is None]
        self._clear(shipments, SHIPMENTS.c.id, SHIPMENTS.c.event_count, {"rescore_pending": False})
        self._clear(orders, ORDERS.c.id, ORDERS.c.rescore_marks, {"rescore_marks": 0})
        return len(shipments) + len(orders)

    def _clear(self, marks: list[tuple[int, int]], key: Any, count: Any, cleared: dict[str, Any]) -> None:
        """Reset the marks of the rows ``key`` whose ``count`` is still the one read."""
        if not marks:
            return
        update_many(
            self.session,
            [{"b_id": row_id, "b_count": seen} for row_id, seen in marks],
            types={"b_id": key.type, "b_count": count.type},
            build=lambda value: (
                update(key.table).where(key == value("b_id"), count == value("b_count")).values(cleared)
            ),
        )


@dataclass(frozen=True, slots=True)
class PredictionView:
    """One stored prediction as the order page shows it."""

    stage: str
    p_late: float
    eta_p50_at: datetime
    eta_p90_at: datetime
    reasons: list[str]
    model_version: str
    scored_at: datetime


def predictions_of_order(session: Session, order_ref: str) -> list[PredictionView]:
    """The latest prediction per stage of the order ``order_ref``, newest first."""
    query = (
        select(PredictionRow)
        .join(OrderRow, OrderRow.id == PredictionRow.order_id)
        .where(OrderRow.ref == order_ref)
        .order_by(PredictionRow.scored_at.desc(), PredictionRow.id.desc())
    )
    return [
        PredictionView(
            row.stage,
            row.p_late,
            row.eta_p50_at,
            row.eta_p90_at,
            list(row.reasons or []),
            row.model_version,
            row.scored_at,
        )
        for row in session.scalars(query)
    ]
