"""The evaluation stored with a model version: its time-held-out slice, scored out of sample (D2).

    training rows ──▶ older orders ──fit──▶ estimators ──score──▶ the slice (bought 95–35 days
                                                                  before the cut-off)
    slice scores ──▶ P50 / P90 / promise from cross-fitted conformal shifts ──▶ metrics.report

The final model's quantile shift is learned on the whole slice, so judging its P90 on the same
rows would be circular; here each half of the slice is shifted by the residuals of the other
half (two-fold cross-conformal), and the coverage shown is out of sample. Stored in
``model_versions.metrics["evaluation"]`` at train time; the ``/models`` pages only read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import numpy as np
import pandas as pd

from orderwatch.adapters.ml.features import Stage
from orderwatch.adapters.ml.metrics import lane_labels, report

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FOLDS = 2


@dataclass
class HeldOut:
    """One stage's time-held-out slice, scored by estimators fitted on the older orders only."""

    mask: np.ndarray  # over the stage's training rows
    log_days: np.ndarray  # predicted log(1 + days) of the slice's rows
    residuals: np.ndarray  # their log-day residuals, in row order
    p_late: np.ndarray  # their P(late)
    in_sample: bool = False  # too little history: the slice is the whole training set
    index: pd.Index | None = None  # the slice's labels in the history frame

    def on(self, index: pd.Index) -> HeldOut:
        """This slice with its row labels taken from the stage's training rows ``index``."""
        return replace(self, index=index[self.mask])


def residual_quantile(residuals: np.ndarray, quantile: float) -> float:
    """The split-conformal shift at ``quantile``: the (1 + 1/n)-corrected residual quantile."""
    level = min(1.0, quantile * (1 + 1 / max(residuals.size, 1)))
    return float(np.quantile(residuals, level)) if residuals.size else 0.0


def _cross_fitted_days(held: HeldOut, quantile: float) -> np.ndarray:
    """Days to delivery at ``quantile``, each fold shifted by the other folds' residuals."""
    fold = np.arange(held.log_days.size) % FOLDS
    shift = np.empty(held.log_days.size)
    for k in range(FOLDS):
        shift[fold == k] = residual_quantile(held.residuals[fold != k], quantile)
    return np.maximum(np.expm1(held.log_days + shift), 0.0)


def local_months(days: np.ndarray, zone: tzinfo) -> np.ndarray:
    """The shop-local month ("YYYY-MM") of each moment given in float days since the epoch."""
    stamps = pd.to_datetime(days * 86_400.0, unit="s", utc=True).tz_convert(zone)
    return np.asarray(stamps.strftime("%Y-%m"), dtype=object)


def _iso(days: float) -> str:
    return (EPOCH + timedelta(days=days)).isoformat()


def holdout_evaluation(
    rows: pd.DataFrame,
    held_out: Mapping[Stage, HeldOut],
    *,
    until: float,
    slice_days: tuple[float, float],
    quantile: float,
    zone: tzinfo = UTC,
) -> dict[str, Any]:
    """The stored evaluation of a version: ``metrics.report`` over its held-out slice.

    ``rows`` are the training rows (the history frame's delivered orders known at ``until``);
    the slice is the orders bought ``slice_days`` (from, to) days before ``until``. Months are
    the shop's (``zone``), as in ``model evaluate``: an order bought on the evening of the last
    day of a month in São Paulo counts in that month, not in the next UTC one.
    """
    purchase = held_out[Stage.purchase]
    header: dict[str, Any] = {
        "method": "holdout",
        "slice_from": _iso(until - slice_days[0]),
        "slice_until": _iso(until - slice_days[1]),
        "promise_quantile": quantile,
        "n_test": int(purchase.log_days.size),
        "in_sample": purchase.in_sample,
        "timezone": str(zone),
    }
    if purchase.in_sample or purchase.index is None:
        return header  # no slice the estimators had not seen: nothing honest to show
    part = rows.loc[purchase.index]
    purchased = part["purchased"].to_numpy(dtype=float)
    results = pd.DataFrame(
        {
            "purchased": purchased,
            "promised": part["promised"].to_numpy(dtype=float),
            "delivered": part["delivered"].to_numpy(dtype=float),
            "p_late_purchase": purchase.p_late,
            "p50_purchase": purchased + _cross_fitted_days(purchase, 0.5),
            "p90_purchase": purchased + _cross_fitted_days(purchase, 0.9),
            "policy_promise": purchased + _cross_fitted_days(purchase, quantile),
            "p_late_handoff": np.nan,
            "p50_handoff": np.nan,
            "p90_handoff": np.nan,
            "lane": lane_labels(part).to_numpy(),
            "month": local_months(purchased, zone),
        },
        index=purchase.index,
    )
    handoff = held_out.get(Stage.handoff)
    if handoff is not None and handoff.index is not None and not handoff.in_sample:
        handed = rows.loc[handoff.index, "handed"].to_numpy(dtype=float)
        scored = pd.DataFrame(
            {
                "p_late_handoff": handoff.p_late,
                "p50_handoff": handed + _cross_fitted_days(handoff, 0.5),
                "p90_handoff": handed + _cross_fitted_days(handoff, 0.9),
            },
            index=handoff.index,
        )
        results.update(scored)
    return {**header, **report(results.reset_index(drop=True))}
