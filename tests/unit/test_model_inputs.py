"""The estimators' inputs (D2 speed): plain float arrays, and versions stored before that change.

Versions fitted on a DataFrame with pandas categories must keep scoring the same after the
switch to arrays (their rows in ``model_versions`` are not retrained by an upgrade).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from orderwatch.adapters.ml.model import MAX_CATEGORIES, StageModel, _typed


def test_a_version_fitted_on_pandas_categories_still_scores_the_same() -> None:
    rng = np.random.default_rng(0)
    matrix = pd.DataFrame(
        {"distance_km": rng.uniform(0, 3000, 600), "customer_region": rng.integers(0, 5, 600).astype(float)}
    )
    late = (matrix["distance_km"] > 1500) ^ (matrix["customer_region"] == 2)
    legacy = matrix.assign(
        customer_region=pd.Categorical(
            matrix["customer_region"], categories=np.arange(MAX_CATEGORIES, dtype=float)
        )
    )
    classifier = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(legacy, late)
    stage = StageModel(list(matrix.columns), classifier, None, np.zeros(1))  # type: ignore[arg-type]

    typed = _typed(matrix.assign(customer_region=matrix["customer_region"].where(matrix.index != 0, 12.5)))

    expected = classifier.predict_proba(
        legacy.assign(customer_region=legacy["customer_region"].where(legacy.index != 0))
    )[:, 1]
    np.testing.assert_allclose(stage.p_late(typed), expected)
    np.testing.assert_allclose(stage.p_late(typed.to_numpy()), expected)  # the reasons' arrays
