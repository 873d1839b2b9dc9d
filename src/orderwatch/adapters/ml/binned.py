"""Many rows through a gradient-boosting estimator on binned data (D2 speed: batch scoring).

scikit-learn's ``predict`` walks every tree over the rows as float64 (368 bytes a row for
our ~46 features, read with a stride); measured on the full Olist history, 300 trees × 99,441
orders took 3.2–6.2 s on one thread. The same estimator also keeps the bin edges it learnt
(``_bin_mapper``) and each split's bin (``bin_threshold``), which is how it scores its own
validation set during early stopping: binning the rows once (one byte a feature) and walking
the trees on the bins took 0.9–1.1 s for the same trees, plus 0.15 s to bin.

The predictions are the same, not close: a value goes left of a split exactly when its bin
does (a bin is the count of edges below the value, the split's threshold is its bin's
edge), missing values take the same branch, and the trees are summed in the same order by
scikit-learn's own loop (``tests/unit/test_forest.py`` checks both estimators for equality).
Estimators with native categorical splits or fitted on a DataFrame (versions stored before
the switch to numeric region codes) keep scikit-learn's ``predict``.

Many rows are split into one block per core, binned and walked on a thread each: scikit-learn's
binning and tree walk release the GIL, and each row's trees are summed in the same order
whatever block it is in, so the blocks give the same numbers as one pass. Python threads, not
more OpenMP threads: on a loaded machine OpenMP's threads spin waiting for each other
(``threads.py``), Python threads simply share the cores.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

import numpy as np

# One block per core, up to 4; below MIN_BLOCK_ROWS rows a block costs more to hand over than it saves.
WORKERS = max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1))
MIN_BLOCK_ROWS = 5_000


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="orderwatch-trees")


def predict_binned(estimator: Any, rows: np.ndarray) -> np.ndarray | None:
    """``predict`` (regressor) or ``predict_proba[:, 1]`` (binary classifier) via bins.

    None when the estimator is not one this applies to (see module doc).
    """
    if not _applies(estimator) or rows.ndim != 2:
        return None
    blocks = min(WORKERS, rows.shape[0] // MIN_BLOCK_ROWS)
    if blocks < 2:
        return _predict_block(estimator, rows)
    parts = list(_pool().map(lambda block: _predict_block(estimator, block), np.array_split(rows, blocks)))
    return np.concatenate(parts)


def _predict_block(estimator: Any, rows: np.ndarray) -> np.ndarray:
    mapper = estimator._bin_mapper
    # The binning walks feature by feature: Fortran order. The trees walk row by row: C order.
    binned = np.ascontiguousarray(mapper.transform(np.asfortranarray(rows, dtype=float)))
    raw = np.zeros((rows.shape[0], 1), dtype=estimator._baseline_prediction.dtype, order="F")
    raw += estimator._baseline_prediction
    estimator._predict_iterations(binned, estimator._predictors, raw, True, 1)
    loss = estimator._loss  # the estimator's own link, so the numbers match
    if hasattr(estimator, "classes_"):
        return np.asarray(loss.predict_proba(raw)[:, 1])
    return np.asarray(loss.link.inverse(raw.ravel()))


def _applies(estimator: Any) -> bool:
    if getattr(estimator, "feature_names_in_", None) is not None:
        return False
    if getattr(estimator, "n_trees_per_iteration_", 0) != 1:
        return False
    categorical = getattr(estimator, "is_categorical_", None)
    if categorical is not None and np.any(categorical):
        return False
    return all(hasattr(estimator, name) for name in ("_bin_mapper", "_predictors", "_predict_iterations"))
