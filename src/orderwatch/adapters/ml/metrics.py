"""The delay model's figures from a table of scored, delivered orders (D2, D10).

    one row per delivered order: purchased, promised, delivered, P(late) / P50 / P90 at purchase
    and at hand-off, the promise policy's date, month, lane
        ──▶ summary (AUC, MAE, P90 coverage, policy vs the shop's promise)
        ──▶ by month, by lane (the busiest), calibration by decile of P(late)

Shared by ``model evaluate`` (time-split runs) and by training, which stores the figures of its
time-held-out slice with the version, so the evaluation pages only read stored JSON.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

MONTH_KEYS = (
    "promise_late_rate",
    "promise_mean_promise_days",
    "policy_late_rate",
    "policy_mean_promise_days",
    "eta_mae_days_at_purchase",
    "eta_mae_days_at_handoff",
    "late_auc_at_purchase",
    "late_auc_at_handoff",
    "p90_coverage_at_purchase",
    "actual_late_rate",
    "actual_mean_days",
)
LANE_LIMIT = 15  # the busiest lanes shown
LANE_MIN_ORDERS = 30  # fewer orders make a lane's AUC and late rate noise
DECILES = 10


def auc(late: np.ndarray, score: np.ndarray) -> float | None:
    """ROC AUC of ``score`` for ``late``, rows without a score left out; None with one class."""
    keep = ~np.isnan(score)
    if len(np.unique(late[keep])) < 2:
        return None
    return round(float(roc_auc_score(late[keep], score[keep])), 4)


def mean(values: np.ndarray) -> float | None:
    """The mean of the known values, rounded; None when none is known."""
    values = values[~np.isnan(values)]
    return round(float(values.mean()), 4) if values.size else None


def summary(r: pd.DataFrame) -> dict[str, Any]:
    """The headline figures of a table of scored orders (the issue's keys)."""
    if r.empty:
        return {}
    late = (r["delivered"] > r["promised"]).to_numpy()
    delivered = r["delivered"].to_numpy(dtype=float)
    handoff = r["p50_handoff"].to_numpy(dtype=float)
    return {
        "late_auc_at_purchase": auc(late, r["p_late_purchase"].to_numpy(dtype=float)),
        "late_auc_at_handoff": auc(late, r["p_late_handoff"].to_numpy(dtype=float)),
        "eta_mae_days_at_purchase": mean(np.abs(delivered - r["p50_purchase"].to_numpy(dtype=float))),
        "eta_mae_days_at_handoff": mean(np.abs(delivered - handoff)),
        "promise_mae_days": mean(np.abs(delivered - r["promised"].to_numpy(dtype=float))),
        "p90_coverage_at_purchase": mean(
            (delivered <= r["p90_purchase"].to_numpy(dtype=float)).astype(float)
        ),
        "p90_coverage_at_handoff": mean(
            np.where(
                np.isnan(handoff), np.nan, (delivered <= r["p90_handoff"].to_numpy(dtype=float)).astype(float)
            )
        ),
        **_policy(r),
        "actual_late_rate": mean(late.astype(float)),
        "actual_mean_days": mean(delivered - r["purchased"].to_numpy(dtype=float)),
    }


def _policy(r: pd.DataFrame) -> dict[str, float | None]:
    delivered, purchased = r["delivered"].to_numpy(dtype=float), r["purchased"].to_numpy(dtype=float)
    policy, promised = r["policy_promise"].to_numpy(dtype=float), r["promised"].to_numpy(dtype=float)
    return {
        "policy_late_rate": mean((delivered > policy).astype(float)),
        "policy_mean_promise_days": mean(policy - purchased),
        "promise_late_rate": mean((delivered > promised).astype(float)),
        "promise_mean_promise_days": mean(promised - purchased),
    }


def _group_figures(r: pd.DataFrame) -> dict[str, Any]:
    figures = summary(r)
    return {"n": len(r), **{key: figures.get(key) for key in MONTH_KEYS}}


def by_month(r: pd.DataFrame) -> list[dict[str, Any]]:
    """Figures per purchase month (column ``month``, "YYYY-MM"), oldest first."""
    return [dict(month=m, **_group_figures(g)) for m, g in r.groupby("month", sort=True)]


def by_lane(r: pd.DataFrame) -> list[dict[str, Any]]:
    """Figures of the busiest lanes (column ``lane``, "origin → destination"), busiest first."""
    if "lane" not in r or r.empty:
        return []
    counts = r["lane"].dropna().value_counts()
    busiest = [lane for lane, n in counts.items() if n >= LANE_MIN_ORDERS][:LANE_LIMIT]
    return [dict(lane=str(lane), **_group_figures(r[r["lane"] == lane])) for lane in busiest]


def calibration(r: pd.DataFrame, column: str) -> list[dict[str, Any]]:
    """Predicted against observed late rate in each decile of ``column`` (a P(late) column).

    Deciles are by rank, so ties at a boundary fall on one side and every bin has about a
    tenth of the scored orders.
    """
    scored = r[r[column].notna()]
    if len(scored) < DECILES:
        return []
    predicted = scored[column].to_numpy(dtype=float)
    late = (scored["delivered"] > scored["promised"]).to_numpy(dtype=float)
    order = np.argsort(predicted, kind="stable")
    return [
        {
            "decile": index + 1,
            "n": int(part.size),
            "predicted": round(float(predicted[part].mean()), 4),
            "observed": round(float(late[part].mean()), 4),
        }
        for index, part in enumerate(np.array_split(order, DECILES))
    ]


def report(r: pd.DataFrame) -> dict[str, Any]:
    """Summary, by month, by lane and calibration (at purchase and at hand-off) in one object."""
    return {
        **summary(r),
        "by_month": by_month(r),
        "by_lane": by_lane(r),
        "calibration": {
            "purchase": calibration(r, "p_late_purchase"),
            "handoff": calibration(r, "p_late_handoff"),
        },
    }


def lane_labels(frame: pd.DataFrame) -> pd.Series:
    """The lane of each order, "origin → destination" (seller to customer region); NaN if unknown."""
    if "seller_region" not in frame or "customer_region" not in frame:
        return pd.Series(np.nan, index=frame.index, dtype=object)
    known = frame["seller_region"].notna() & frame["customer_region"].notna()
    labels = frame["seller_region"].astype(str) + " → " + frame["customer_region"].astype(str)
    return labels.where(known)
