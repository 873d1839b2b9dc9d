"""The fast predictions equal scikit-learn's (D2 speed): flat forest (re-score), binned rows (batch).

Random data with missing values and values outside the training range, a classifier and a
regressor: the flat forest row by row and in small blocks to 1e-12, the binned walk over all
rows exactly; native categorical splits fall back to scikit-learn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from orderwatch.adapters.ml import binned
from orderwatch.adapters.ml.binned import predict_binned
from orderwatch.adapters.ml.forest import FEW_ROWS, forest_of, predict_few


def _data(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    x[rng.random(x.shape) < 0.15] = np.nan  # missing values go where each split learnt
    y = np.nan_to_num(x[:, 0]) * 2 + np.nan_to_num(x[:, 1]) ** 2 + rng.normal(scale=0.3, size=n)
    return x, y


@pytest.mark.parametrize("seed", [0, 1])
def test_a_few_rows_give_scikit_learns_predictions(seed: int) -> None:
    x, y = _data(seed, 3_000)
    classifier = HistGradientBoostingClassifier(max_iter=60, max_leaf_nodes=31, random_state=0)
    classifier.fit(x, y > 1.0)
    regressor = HistGradientBoostingRegressor(max_iter=80, max_leaf_nodes=31, random_state=0).fit(x, y)
    probe, _ = _data(seed + 10, 200)
    probe[0] = np.nan  # every feature missing

    expected_p = classifier.predict_proba(probe)[:, 1]
    expected_y = regressor.predict(probe)
    for i in range(len(probe)):
        np.testing.assert_allclose(
            predict_few(classifier, probe[i : i + 1]), expected_p[i : i + 1], atol=1e-12
        )
        np.testing.assert_allclose(
            predict_few(regressor, probe[i : i + 1]), expected_y[i : i + 1], atol=1e-12
        )
    block = probe[:FEW_ROWS]
    np.testing.assert_allclose(predict_few(regressor, block), expected_y[:FEW_ROWS], atol=1e-12)
    assert predict_few(regressor, probe[: FEW_ROWS + 1]) is None  # many rows: scikit-learn's loop


@pytest.mark.parametrize("seed", [0, 1])
def test_the_binned_walk_gives_exactly_scikit_learns_predictions(seed: int) -> None:
    x, y = _data(seed, 3_000)
    classifier = HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(x, y > 1.0)
    regressor = HistGradientBoostingRegressor(max_iter=80, random_state=0).fit(x, y)
    probe, _ = _data(seed + 20, 5_000)
    probe[:50] *= 100  # far outside the bins seen in training
    probe[50:60] = np.inf
    probe[60:70] = -np.inf

    np.testing.assert_array_equal(predict_binned(classifier, probe), classifier.predict_proba(probe)[:, 1])
    np.testing.assert_array_equal(predict_binned(regressor, probe), regressor.predict(probe))
    edges = regressor._bin_mapper.bin_thresholds_[0]
    on_edges = np.tile(probe[:1], (edges.size, 1))
    on_edges[:, 0] = edges  # values exactly on a split's threshold go left in both
    np.testing.assert_array_equal(predict_binned(regressor, on_edges), regressor.predict(on_edges))


@pytest.mark.parametrize("workers", [2, 3])
def test_rows_split_over_threads_give_exactly_scikit_learns_predictions(
    workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    x, y = _data(4, 3_000)
    classifier = HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(x, y > 1.0)
    regressor = HistGradientBoostingRegressor(max_iter=50, random_state=0).fit(x, y)
    probe, _ = _data(30, 7_001)  # blocks of unequal sizes
    monkeypatch.setattr(binned, "WORKERS", workers)
    monkeypatch.setattr(binned, "MIN_BLOCK_ROWS", 1_000)
    binned._pool.cache_clear()  # a pool with ``workers`` threads

    try:
        np.testing.assert_array_equal(
            predict_binned(classifier, probe), classifier.predict_proba(probe)[:, 1]
        )
        np.testing.assert_array_equal(predict_binned(regressor, probe), regressor.predict(probe))
        one_block = probe[:1_500]  # fewer than two blocks' worth: one pass on the caller's thread
        np.testing.assert_array_equal(predict_binned(regressor, one_block), regressor.predict(one_block))
    finally:
        binned._pool.cache_clear()


def test_native_categorical_splits_are_left_to_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(size=800), "region": pd.Categorical(rng.integers(0, 5, 800))})
    target = (frame["region"].cat.codes == 2) ^ (frame["a"] > 0)
    classifier = HistGradientBoostingClassifier(max_iter=20, categorical_features="from_dtype").fit(
        frame, target
    )

    assert forest_of(classifier) is None
    assert predict_few(classifier, np.zeros((1, 2))) is None
    assert predict_binned(classifier, np.zeros((100, 2))) is None
