"""Why the promise-policy targets of issue 4 are (not) reached: frontier, drift, learning curve (D2).

On the database given (the Olist import), one JSON object:

* ``policy_frontier``: the model's promise at each quantile q (one model trained before
  ``--train-until``, no retraining): late rate and mean promised days over the whole test period
  and over ``--window-from`` .. test end (April–August 2018 in the issue), beside the shop's own
  promise; the issue's targets are a late rate no higher than the shop's with ≥ 10 % shorter
  promises (whole period) and ≤ 5 % late with ≥ 15 % shorter promises (window);
* ``cohort_recalibration``: the promise quantile re-chosen every day from the promises that fell
  due in the last W days (known exactly at that moment: delivered by the promise or not), the
  target late rate alpha; the same figures;
* ``quantile_regression``: a quantile-loss regressor at q (same features, conformalized on the
  time-held-out slice at level c) instead of the one regressor plus a residual quantile;
* ``drift_by_month``: per shop-local purchase month, the shop's late rate and mean days to
  delivery, the model's mean P50 and the median log-residual (positive: slower than predicted);
* ``learning_curve``: ``model evaluate``'s AUC and MAE when the shop's history starts only N
  months before the cut-off (retrain none, ``--fast`` estimators).

Run: ``python benchmarks/model_curves.py [--database-url URL] [--fast]`` (about 3–4 minutes
with ``--fast`` on the full Olist data).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

from orderwatch.adapters.ml.dataset import load_orders, to_days
from orderwatch.adapters.ml.evaluation import evaluate
from orderwatch.adapters.ml.features import History, Stage
from orderwatch.adapters.ml.holdout import local_months
from orderwatch.adapters.ml.model import CALIBRATION_DAYS, DelayModel, known_outcomes, train
from orderwatch.adapters.ml.threads import limited
from orderwatch.bootstrap import build_app
from orderwatch.settings import Settings

QUANTILES = (0.8, 0.85, 0.88, 0.9, 0.91, 0.92, 0.922, 0.925, 0.93, 0.94, 0.95, 0.96, 0.97)
WINDOWS = (7, 14, 28)
ALPHAS = (0.05, 0.07, 0.09)
HISTORY_MONTHS = (3, 6, 9, 12)
SHIFTS = np.linspace(-0.8, 1.5, 231)  # candidate log-day shifts of the recalibrated promise
MIN_COHORT = 50


def _figures(late: np.ndarray, days: np.ndarray, window: np.ndarray) -> dict[str, float]:
    return {
        "late_rate": round(float(late.mean()), 4),
        "mean_promise_days": round(float(days.mean()), 2),
        "window_late_rate": round(float(late[window].mean()), 4),
        "window_mean_promise_days": round(float(days[window].mean()), 2),
    }


def run(
    database_url: str | None,
    *,
    train_until: str,
    test_from: str,
    test_until: str,
    window_from: str,
    fast: bool,
) -> dict[str, Any]:
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    zone = ZoneInfo(settings.shop_timezone)
    app = build_app(settings)
    with app.read_session() as session:
        frame = load_orders(session)
    app.engine.dispose()
    day = lambda value: datetime.fromisoformat(value).replace(tzinfo=zone)  # noqa: E731
    cut, start, end, window_start = (
        to_days(day(v)) for v in (train_until, test_from, test_until, window_from)
    )
    started = time.perf_counter()

    model = train(frame, until=cut, promise_quantile=settings.promise_quantile, fast=fast, zone=zone)
    # Orders bought from three months before the cut-off: the first test days' cohorts need them.
    rows = frame[(frame["purchased"] >= min(cut, start) - 92) & (frame["purchased"] < end)]
    purchased = rows["purchased"].to_numpy(dtype=float)
    stage = model.stages[Stage.purchase]
    history = History.build(frame, model.vocabulary)
    matrix = model.features(rows, purchased, Stage.purchase, history)
    with limited():
        log_days = stage.log_days(matrix)
    delivered = rows["delivered"].to_numpy(dtype=float)
    promised = rows["promised"].to_numpy(dtype=float)
    closed = np.fmin(rows["canceled"].to_numpy(dtype=float), rows["unavailable"].to_numpy(dtype=float))
    test = (
        (purchased >= start)
        & (purchased < end)
        & (rows["status"] == "delivered").to_numpy()
        & (delivered >= purchased)
    )
    window = purchased[test] >= window_start

    frontier = [
        {"quantile": q}
        | _figures(
            delivered[test] > purchased[test] + (days := stage.quantile_days(log_days[test], q)), days, window
        )
        for q in QUANTILES
    ]
    shop = _figures(delivered[test] > promised[test], promised[test] - purchased[test], window)
    recalibrated = _cohort_recalibration(
        log_days, purchased, delivered, closed, test, window, np.arange(np.floor(start), np.ceil(end) + 1)
    )
    quantile_regression = _quantile_regression(
        model,
        frame,
        history,
        cut,
        matrix.to_numpy(dtype=float)[test],
        purchased[test],
        delivered[test],
        window,
    )
    residuals = np.log1p(np.maximum(delivered - purchased, 0.0)) - log_days
    drift = _drift(rows[test], log_days[test], residuals[test], zone)
    curve = _learning_curve(frame, cut, day(test_from), day(test_until), settings.promise_quantile, fast)
    return {
        "train_until": train_until,
        "test_from": test_from,
        "test_until": test_until,
        "window_from": window_from,
        "fast": fast,
        "n_test": int(test.sum()),
        "shop_promise": shop,
        "policy_frontier": frontier,
        "cohort_recalibration": recalibrated,
        "quantile_regression": quantile_regression,
        "drift_by_month": drift,
        "learning_curve": curve,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _cohort_recalibration(
    log_days: np.ndarray,
    purchased: np.ndarray,
    delivered: np.ndarray,
    closed: np.ndarray,
    test: np.ndarray,
    window: np.ndarray,
    days: np.ndarray,
) -> list[dict[str, Any]]:
    """Each day's shift: the smallest whose promises due in the last W days were late ≤ alpha.

    A promise due before the day is settled at that day (delivered by it, or not), so the
    choice reads only what was known; orders closed before their promise are left out.
    """
    results = []
    for w in WINDOWS:
        rates = np.full((SHIFTS.size, days.size), np.nan)
        for i, shift in enumerate(SHIFTS):
            due = purchased + np.maximum(np.expm1(log_days + shift), 0.0)
            kept = ~(closed <= due)
            order = np.argsort(due[kept])
            sorted_due = due[kept][order]
            late = np.concatenate(([0.0], np.cumsum((~(delivered[kept] <= due[kept]))[order])))
            upto = np.searchsorted(sorted_due, days, side="left")
            since = np.searchsorted(sorted_due, days - w, side="left")
            n = upto - since
            rates[i] = np.where(n >= MIN_COHORT, (late[upto] - late[since]) / np.maximum(n, 1), np.nan)
        on_day = np.searchsorted(days, np.floor(purchased[test]), side="right") - 1
        for alpha in ALPHAS:
            fits = rates <= alpha
            shift = SHIFTS[np.where(fits.any(axis=0), fits.argmax(axis=0), SHIFTS.size - 1)][on_day]
            promise = np.maximum(np.expm1(log_days[test] + shift), 0.0)
            late_test = delivered[test] > purchased[test] + promise
            results.append({"window_days": w, "alpha": alpha} | _figures(late_test, promise, window))
    return results


def _quantile_regression(
    model: DelayModel,
    frame: pd.DataFrame,
    history: History,
    cut: float,
    test_matrix: np.ndarray,
    purchased: np.ndarray,
    delivered: np.ndarray,
    window: np.ndarray,
) -> list[dict[str, Any]]:
    """Conformalized quantile regression: fit on the older orders, shift by the held-out slice."""
    rows = known_outcomes(frame, cut)
    at = rows["purchased"].to_numpy(dtype=float)
    values = model.features(rows, at, Stage.purchase, history).to_numpy(dtype=float)
    target = np.log1p(np.maximum(rows["delivered"].to_numpy(dtype=float) - at, 0.0))
    older = at < cut - CALIBRATION_DAYS[0]
    held = (at >= cut - CALIBRATION_DAYS[0]) & (at < cut - CALIBRATION_DAYS[1])
    results = []
    for q in (0.9, 0.92):
        settings = {"loss": "quantile", "quantile": q, "max_iter": 150, "min_samples_leaf": 50}
        with limited():
            scores = target[held] - HistGradientBoostingRegressor(**settings, random_state=0).fit(
                values[older], target[older]
            ).predict(values[held])
            predicted = (
                HistGradientBoostingRegressor(**settings, random_state=0)
                .fit(values, target)
                .predict(test_matrix)
            )
        for level in (0.9, 0.91, 0.92, 0.93):
            promise = np.maximum(np.expm1(predicted + float(np.quantile(scores, level))), 0.0)
            results.append(
                {"quantile": q, "conformal_level": level}
                | _figures(delivered > purchased + promise, promise, window)
            )
    return results


def _drift(
    rows: pd.DataFrame, log_days: np.ndarray, residuals: np.ndarray, zone: tzinfo
) -> list[dict[str, Any]]:
    purchased = rows["purchased"].to_numpy(dtype=float)
    delivered = rows["delivered"].to_numpy(dtype=float)
    late = delivered > rows["promised"].to_numpy(dtype=float)
    months = local_months(purchased, zone)
    return [
        {
            "month": month,
            "n": int(k.sum()),
            "actual_late_rate": round(float(late[k].mean()), 4),
            "actual_mean_days": round(float((delivered - purchased)[k].mean()), 2),
            "predicted_mean_p50_days": round(float(np.expm1(log_days[k]).mean()), 2),
            "median_log_residual": round(float(np.median(residuals[k])), 3),
        }
        for month in sorted(set(months.tolist()))
        for k in [months == month]
    ]


def _learning_curve(
    frame: pd.DataFrame,
    cut: float,
    test_from: datetime,
    test_until: datetime,
    quantile: float,
    fast: bool,
) -> list[dict[str, Any]]:
    """The shop's history starting N months before the cut-off (and all of it)."""
    points = []
    for months in (*HISTORY_MONTHS, None):
        part = frame if months is None else frame[frame["purchased"] >= cut - months * 30.44]
        result = evaluate(
            part,
            train_until=test_from,
            test_from=test_from,
            test_until=test_until,
            promise_quantile=quantile,
            retrain="none",
            fast=fast,
        )
        keys = (
            "n_train",
            "late_auc_at_purchase",
            "late_auc_at_handoff",
            "eta_mae_days_at_purchase",
            "eta_mae_days_at_handoff",
            "p90_coverage_at_purchase",
        )
        points.append({"history_months": months} | {key: result[key] for key in keys})
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--train-until", default="2018-01-01")
    parser.add_argument("--test-from", default="2018-01-01")
    parser.add_argument("--test-until", default="2018-09-01")
    parser.add_argument("--window-from", default="2018-04-01")
    parser.add_argument("--fast", action="store_true")
    args = parser.parse_args()
    result = run(
        args.database_url,
        train_until=args.train_until,
        test_from=args.test_from,
        test_until=args.test_until,
        window_from=args.window_from,
        fast=args.fast,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
