"""Predictions as columns (D2 speed): a batch reads as the list of predictions it stands for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orderwatch.services.ports import OrderPrediction, PredictionBatch

T0 = datetime(2018, 5, 1, tzinfo=UTC)


def _prediction(i: int, p_late: float, reasons: tuple[str, ...] = ()) -> OrderPrediction:
    return OrderPrediction(
        i, f"o{i}", "purchase", p_late, T0 + timedelta(days=i), T0 + timedelta(days=i + 3), reasons, "v1"
    )


def test_a_batch_reads_as_its_predictions() -> None:
    predictions = [_prediction(1, 0.2), _prediction(2, 0.8, ("far away",)), _prediction(3, 0.55)]
    batch = PredictionBatch.of(predictions)

    assert list(batch) == predictions
    assert len(batch) == 3
    assert batch[-1] == predictions[-1]
    assert batch[1:] == predictions[1:]
    assert batch.at_least(0.55) == predictions[1:]
    assert PredictionBatch.of(batch) is batch
    with pytest.raises(IndexError):
        batch[3]


def test_joined_batches_keep_each_rows_reasons() -> None:
    first = PredictionBatch.of([_prediction(1, 0.9, ("seller slow",)), _prediction(2, 0.1)])
    second = PredictionBatch.of([_prediction(3, 0.1), _prediction(4, 0.95, ("lane late", "far away"))])

    joined = PredictionBatch.join([first, second], model_version="v1")

    assert list(joined) == [*first, *second]
    assert joined.reasons == {0: ("seller slow",), 3: ("lane late", "far away")}


def test_a_batch_refuses_columns_of_different_lengths_or_versions() -> None:
    with pytest.raises(ValueError, match="lengths"):
        PredictionBatch([1, 2], ["a"], ["purchase"] * 2, [0.1, 0.2], [T0, T0], [T0, T0], {}, "v1")
    other = OrderPrediction(9, "o9", "purchase", 0.1, T0, T0, (), "v2")
    with pytest.raises(ValueError, match="several model versions"):
        PredictionBatch.of([_prediction(1, 0.1), other])
