"""The single-order re-score path (numpy rows, no pandas) gives the pandas path's numbers (D2 speed).

A re-score builds one order's feature row from the arrays cached for the whole history
(``features.columns`` / ``take``) and predicts from a 2-D float array; batch scoring, training
and evaluation build a DataFrame (``DelayModel.features``). Both must agree on every order, at
both stages: same features, same P(late), P50, P90 and promise, same reasons.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from orderwatch.adapters.ml.features import History, Stage, columns, take
from orderwatch.adapters.ml.model import DelayModel, train
from tests.ml_frames import BASE, synthetic_history

TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def fitted() -> tuple[DelayModel, pd.DataFrame, History]:
    frame = synthetic_history(3, 1_200)
    model = train(frame, until=BASE + 100, promise_quantile=0.8, fast=True)
    return model, frame, History.build(frame, model.vocabulary)


@pytest.mark.parametrize("stage", list(Stage))
@pytest.mark.parametrize("day", [60.0, 100.5, 131.25])
def test_one_row_at_a_time_equals_the_pandas_matrix(
    fitted: tuple[DelayModel, pd.DataFrame, History], stage: Stage, day: float
) -> None:
    model, frame, history = fitted
    at = BASE + day
    rows = frame[(frame["purchased"] < at) & (frame["handed"].notna() | (stage is Stage.purchase))]
    rows = rows.iloc[np.linspace(0, len(rows) - 1, 40).astype(int)]
    times = np.full(len(rows), at)
    origin = rows["purchased" if stage is Stage.purchase else "handed"].to_numpy(dtype=float)
    expected_matrix = model.features(rows, times, stage, history)
    expected = model.score(expected_matrix, stage, origin)
    expected_reasons = model.reasons(expected_matrix, stage)

    cached = columns(frame, model.vocabulary)  # what a scorer keeps for the whole history
    positions = frame.index.get_indexer(rows.index)
    for n, position in enumerate(positions):
        row = model.matrix(take(cached, np.array([position])), times[n : n + 1], stage, history)
        assert row.shape == (1, expected_matrix.shape[1])
        np.testing.assert_allclose(row[0], expected_matrix.iloc[n].to_numpy(), rtol=0, atol=TOLERANCE)
        one = model.score(row, stage, origin[n : n + 1])
        for name in ("p_late", "p50", "p90", "promise"):
            np.testing.assert_allclose(
                getattr(one, name), getattr(expected, name)[n : n + 1], rtol=0, atol=TOLERANCE, err_msg=name
            )
        assert model.reasons(row, stage) == [expected_reasons[n]]


def test_the_arrays_cover_regions_the_model_never_saw(
    fitted: tuple[DelayModel, pd.DataFrame, History],
) -> None:
    model, frame, history = fitted
    odd = frame.iloc[:40].assign(customer_region="XX", seller_region=None, customer_zip="abc")
    at = np.full(len(odd), BASE + 90.0)
    expected = model.features(odd, at, Stage.purchase, history).to_numpy()

    got = model.matrix(columns(odd, model.vocabulary), at, Stage.purchase, history)

    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)
    assert np.isnan(got[:, model.stages[Stage.purchase].features.index("customer_region")]).all()
