"""Time-split evaluation of the delay model on the shop's own history (D2, issue 4 "How good").

    train on outcomes known before the cut-off ──▶ score each test month's orders at purchase and
    (monthly: retrain at each month start,          at hand-off ──▶ AUC, MAE, P90 coverage, and the
     only on outcomes known by then)                promise policy against the shop's own promise

No random split: a test order is scored by a model that was trained before the order was bought.
With ``retrain="monthly"`` the live system's schedule is replayed: at the start of every test month
a model is trained on the deliveries known at that moment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from orderwatch.adapters.ml.dataset import from_days, to_days
from orderwatch.adapters.ml.features import History, Stage
from orderwatch.adapters.ml.metrics import lane_labels, report
from orderwatch.adapters.ml.model import DelayModel, train

Months = list[tuple[str, float, float]]


def month_starts(start: datetime, end: datetime) -> Months:
    """(label, from, until) per calendar month of ``[start, end)``, in ``start``'s time zone."""
    months: Months = []
    current = start
    while current < end:
        following = (current.replace(day=1) + pd.Timedelta(days=32)).replace(day=1)
        until = min(following, end)
        months.append((current.strftime("%Y-%m"), to_days(current), to_days(until)))
        current = until
    return months


def evaluate(
    frame: pd.DataFrame,
    *,
    train_until: datetime,
    test_from: datetime,
    test_until: datetime,
    promise_quantile: float,
    retrain: str = "monthly",
    fast: bool = False,
    progress: Callable[[str], None] = lambda _: None,
    model: DelayModel | None = None,
) -> dict[str, Any]:
    """The evaluation JSON (keys listed in issue 4) for a time split of ``frame``.

    With ``model`` (a stored version), that model scores every test month as it is: nothing
    is trained, and the test period must start after the version's cut-off (``train_until``
    is then the version's), so no test order was known to it.
    """
    if model is not None:
        if to_days(test_from) < model.trained_until:
            raise ValueError(
                f"test-from: {test_from:%Y-%m-%d} is before the version's cut-off "
                f"{from_days(model.trained_until).astimezone(test_from.tzinfo):%Y-%m-%d}; "
                "its test orders would not be unseen"
            )
        train_until, retrain = test_from, "none"
    if not train_until <= test_from < test_until:
        raise ValueError("dates: need train-until <= test-from < test-until")
    if retrain not in {"monthly", "none"}:
        raise ValueError(f"retrain: {retrain!r} is not one of monthly, none")
    given = model is not None
    started = time.perf_counter()
    zone = test_from.tzinfo or UTC  # the shop's zone: the months here and in the stored evaluation
    months = month_starts(test_from, test_until)
    tests = _test_rows(frame, to_days(test_from), to_days(test_until))
    scored: list[pd.DataFrame] = []
    first_train = model.n_train if model is not None else 0
    for index, (label, month_from, month_until) in enumerate(months):
        if model is None or (retrain == "monthly" and not given):
            cutoff = max(to_days(train_until), month_from) if retrain == "monthly" else to_days(train_until)
            progress(f"training on deliveries known before {from_days(cutoff):%Y-%m-%d}")
            model = train(
                frame,
                until=cutoff,
                promise_quantile=promise_quantile,
                fast=fast,
                vocabulary=None if model is None else model.vocabulary,
                zone=zone,
            )
            first_train = first_train or model.n_train
        part = tests[(tests["purchased"] >= month_from) & (tests["purchased"] < month_until)]
        scored.append(_score(model, frame, part).assign(month=label))
        progress(f"scored {label}: {len(part)} orders ({index + 1}/{len(months)})")
    results = pd.concat(scored, ignore_index=True) if scored else pd.DataFrame()
    summary = report(results) if not results.empty else {"by_month": [], "by_lane": [], "calibration": {}}
    summary.update(
        n_train=first_train,
        n_test=len(results),
        retrain=retrain,
        promise_quantile=promise_quantile,
        seconds=round(time.perf_counter() - started, 1),
    )
    return summary


def _test_rows(frame: pd.DataFrame, start: float, end: float) -> pd.DataFrame:
    """Delivered orders bought in ``[start, end)`` (the issue's test population)."""
    purchased = frame["purchased"]
    mask = (
        (purchased >= start)
        & (purchased < end)
        & frame["delivered"].notna()
        & (frame["status"] == "delivered")
    )
    return frame[mask & (frame["delivered"] >= purchased)]


def _score(model: DelayModel, frame: pd.DataFrame, part: pd.DataFrame) -> pd.DataFrame:
    history = History.build(frame, model.vocabulary)
    purchased = part["purchased"].to_numpy(dtype=float)
    at_purchase = model.score(
        model.features(part, purchased, Stage.purchase, history), Stage.purchase, purchased
    )
    result = pd.DataFrame(
        {
            "purchased": purchased,
            "promised": part["promised"].to_numpy(dtype=float),
            "delivered": part["delivered"].to_numpy(dtype=float),
            "p_late_purchase": at_purchase.p_late,
            "p50_purchase": at_purchase.p50,
            "p90_purchase": at_purchase.p90,
            "policy_promise": at_purchase.promise,
            "p_late_handoff": np.nan,
            "p50_handoff": np.nan,
            "p90_handoff": np.nan,
            "lane": lane_labels(part).to_numpy(),
        }
    )
    handed = part["handed"].to_numpy(dtype=float)
    known = ~np.isnan(handed) & (handed <= part["delivered"].to_numpy(dtype=float))
    if known.any():
        rows = part[known]
        at = handed[known]
        at_handoff = model.score(model.features(rows, at, Stage.handoff, history), Stage.handoff, at)
        result.loc[known, "p_late_handoff"] = at_handoff.p_late
        result.loc[known, "p50_handoff"] = at_handoff.p50
        result.loc[known, "p90_handoff"] = at_handoff.p90
    return result
