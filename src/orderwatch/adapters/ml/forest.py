"""A fitted gradient-boosting estimator's trees as flat numpy arrays, for scoring a few rows (D2 speed).

scikit-learn's ``HistGradientBoosting*.predict`` walks its trees in a Python loop, one
compiled call (and one OpenMP region) per tree: ~550 calls, 10–20 ms for a single order
whatever the number of rows. Here every tree of an estimator is one block of a flat node
table, and a few rows walk all trees at once, one numpy step per tree level (~0.2 ms for
one order). The same comparisons as scikit-learn's predictor (``x <= threshold``, missing
values go where the split learnt), the leaf values added in scikit-learn's order, so the
predictions are the same (``tests/unit/test_forest.py``). Estimators with native categorical
splits (versions stored before the switch to numeric region codes) are not compiled: they
keep scikit-learn's own predict.

For many rows scikit-learn's compiled loop is faster (one pass per tree over all rows):
``FEW_ROWS`` is where the scorer switches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np

FEW_ROWS = 32  # up to this many rows, the flat forest beats scikit-learn's per-tree loop


@dataclass(frozen=True)
class Forest:
    """Flat node table of all trees: a leaf's children are itself, so extra steps stay put."""

    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    depth: int
    baseline: float

    def raw(self, rows: np.ndarray) -> np.ndarray:
        """The estimator's raw prediction (before its link) of each row of a 2-D float array."""
        n = rows.shape[0]
        node = np.tile(self.roots, (n, 1))
        which = np.arange(n)[:, None]
        for _ in range(self.depth):
            x = rows[which, self.feature[node]]
            go_left = np.where(np.isnan(x), self.missing_left[node], x <= self.threshold[node])
            node = np.where(go_left, self.left[node], self.right[node])
        # scikit-learn adds the baseline, then each tree in turn: a running sum does the same.
        terms = np.concatenate([np.full((n, 1), self.baseline), self.value[node]], axis=1)
        return np.asarray(np.cumsum(terms, axis=1)[:, -1])


_compiled: WeakKeyDictionary[Any, Forest | None] = WeakKeyDictionary()


def forest_of(estimator: Any) -> Forest | None:
    """The flat forest of a fitted single-output estimator (cached), or None when it cannot be."""
    if estimator not in _compiled:
        _compiled[estimator] = _compile(estimator)
    return _compiled[estimator]


def _compile(estimator: Any) -> Forest | None:
    if getattr(estimator, "n_trees_per_iteration_", 0) != 1:
        return None
    trees = [iteration[0].nodes for iteration in estimator._predictors]
    if not trees or any(tree["is_categorical"].any() for tree in trees):
        return None
    offsets = np.cumsum([0] + [len(tree) for tree in trees[:-1]])
    nodes = np.concatenate(trees)
    shift = np.repeat(offsets, [len(tree) for tree in trees])
    index = np.arange(len(nodes))
    leaf = nodes["is_leaf"].astype(bool)
    return Forest(
        feature=np.where(leaf, 0, nodes["feature_idx"]).astype(np.intp),
        threshold=nodes["num_threshold"].astype(float),
        missing_left=nodes["missing_go_to_left"].astype(bool),
        left=np.where(leaf, index, nodes["left"].astype(np.intp) + shift),
        right=np.where(leaf, index, nodes["right"].astype(np.intp) + shift),
        value=np.where(leaf, nodes["value"], 0.0),
        roots=offsets.astype(np.intp),
        depth=int(nodes["depth"].max()),
        baseline=float(np.asarray(estimator._baseline_prediction).ravel()[0]),
    )


def predict_few(estimator: Any, rows: np.ndarray) -> np.ndarray | None:
    """``predict`` (regressor) or ``predict_proba[:, 1]`` (binary classifier) of a few rows.

    None when the estimator cannot be compiled or there are too many rows: the caller then
    uses scikit-learn's own predict.
    """
    if rows.shape[0] > FEW_ROWS or rows.ndim != 2:
        return None
    forest = forest_of(estimator)
    if forest is None:
        return None
    raw = forest.raw(rows)
    loss = estimator._loss  # the estimator's own link, so the numbers match
    if hasattr(estimator, "classes_"):
        return np.asarray(loss.predict_proba(raw)[:, 1])
    return np.asarray(loss.link.inverse(raw))
