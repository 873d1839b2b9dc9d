"""The delay model: gradient boosting for P(late), quantile boosting for the delivery date (D2).

    history frame ──▶ features at purchase ──▶ late classifier, P50, P90 (+ conformal shift), promise quantile
                  └─▶ features at hand-off ──▶ late classifier, P50, P90 (+ conformal shift)

Training uses only outcomes known at the cut-off (orders delivered before ``until``); the P90 is
calibrated on a time-held-out slice (split conformal: the model is fitted on older orders, the
shift that makes 90 % of the slice's deliveries fall under it is added to the final model's P90).
Reasons: the change in P(late) when one group of facts is set to its lane's typical values.
The held-out slice's scores are also the evaluation stored with the version (``holdout.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from orderwatch.adapters.ml.binned import predict_binned
from orderwatch.adapters.ml.features import History, Stage, Vocabulary, build, features
from orderwatch.adapters.ml.forest import predict_few
from orderwatch.adapters.ml.holdout import HeldOut, holdout_evaluation, residual_quantile
from orderwatch.adapters.ml.threads import single_threaded
from orderwatch.domain.risk import Fact, ReasonCode, top_reasons

CATEGORICAL = ("customer_region", "seller_region")
# Orders bought in the last MATURITY_DAYS before the cut-off are left out of training: only their
# fast deliveries are known yet, and learning from those alone would bias every estimate short.
MATURITY_DAYS = 35.0
CALIBRATION_DAYS = (95.0, MATURITY_DAYS)  # the held-out slice: bought 95 to 35 days before the cut-off
P90 = 0.9
# Regions enter the estimators as plain numeric codes, not as native categories: scikit-learn
# re-encodes native categories with pandas machinery on every call (~5 ms per call, most of a
# single re-score), and on Olist (retrain none, --fast) the codes gave AUC 0.699 / 0.807 against
# 0.679 / 0.797 with categories, MAE 4.82 / 4.22 days against 4.76 / 4.17 (docs/models.md).
MAX_CATEGORIES = 250  # codes beyond this count as missing

REASON_GROUPS: dict[ReasonCode, tuple[str, ...]] = {
    ReasonCode.distance: (
        "distance_km",
        "same_region",
        "customer_lat",
        "customer_lng",
        "seller_lat",
        "seller_lng",
    ),
    ReasonCode.promise: ("promised_lead_days", "deadline_lead_days", "promise_left_days"),
    ReasonCode.seller: (
        "seller_orders",
        "seller_days",
        "seller_late_rate",
        "seller_transit_days",
        "seller_handoff_days",
        "seller_dispatch_late_rate",
        "seller_open_orders",
    ),
    ReasonCode.lane: (
        "lane_orders",
        "lane_days",
        "lane_late_rate",
        "lane_transit_days",
        "lane_recent_transit_days",
        "lane_recent_orders",
        "area_days",
    ),
    ReasonCode.network: (
        "network_days",
        "network_recent_days",
        "network_recent_transit_days",
        "network_recent_late_rate",
        "network_recent_deliveries",
        "region_cohort_late_rate",
        "region_cohort_orders",
        "region_in_flight_age_days",
        "network_cohort_late_rate",
    ),
    ReasonCode.parcel: (
        "weight_g",
        "volume_cm3",
        "items",
        "sellers",
        "price_cents",
        "freight_cents",
        "freight_share",
        "installments",
    ),
    ReasonCode.season: ("month", "day_of_year", "purchase_dow", "purchase_hour", "region_in_flight"),
    ReasonCode.handoff: ("handoff_days", "dispatch_late_days", "handoff_dow"),
}
HEADLINE: dict[ReasonCode, tuple[str, float]] = {
    # the figure a reason quotes, and its scale for the wording (grams → kg)
    ReasonCode.distance: ("distance_km", 1.0),
    ReasonCode.promise: ("promised_lead_days", 1.0),
    ReasonCode.seller: ("seller_days", 1.0),
    ReasonCode.lane: ("lane_days", 1.0),
    ReasonCode.network: ("region_cohort_late_rate", 1.0),
    ReasonCode.parcel: ("weight_g", 0.001),
    ReasonCode.season: ("region_in_flight", 1.0),
    ReasonCode.handoff: ("handoff_days", 1.0),
}


def _regressor(*, fast: bool) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        max_iter=150 if fast else 300,
        learning_rate=0.1,
        max_leaf_nodes=31,
        min_samples_leaf=50,
        l2_regularization=1.0,
        random_state=0,
    )


def _classifier(*, fast: bool) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=120 if fast else 250,
        learning_rate=0.08,
        max_leaf_nodes=31,
        min_samples_leaf=80,
        l2_regularization=1.0,
        random_state=0,
    )


@dataclass
class StageModel:
    """One stage's estimators: P(late), and the delivery time in log-days.

    The time-held-out residuals turn the point estimate into any quantile (P50, P90, the promise).
    """

    features: list[str]
    late: HistGradientBoostingClassifier
    eta: HistGradientBoostingRegressor
    residuals: np.ndarray  # sorted log-day residuals on the held-out slice

    def p_late(self, matrix: pd.DataFrame | np.ndarray) -> np.ndarray:
        """P(late) of each row of a ``_typed`` matrix (or its values, in ``features`` order)."""
        return _predict(self.late, matrix, lambda inputs: self.late.predict_proba(inputs)[:, 1])

    def log_days(self, matrix: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Predicted log(1 + days to delivery) of each row of a ``_typed`` matrix (or its values)."""
        return _predict(self.eta, matrix, self.eta.predict)

    def quantile_days(self, log_days: np.ndarray, quantile: float) -> np.ndarray:
        """Days until delivery at ``quantile`` (split-conformal on the held-out residuals)."""
        return np.maximum(np.expm1(log_days + residual_quantile(self.residuals, quantile)), 0.0)


@dataclass
class Scores:
    """Predictions for a batch of orders.

    The probability of being late, the delivery-date quantiles and the promise policy's date,
    as float days since the epoch.
    """

    p_late: np.ndarray
    p50: np.ndarray
    p90: np.ndarray
    promise: np.ndarray | None = None


@dataclass
class DelayModel:
    """Everything needed to score: vocabulary, per-stage estimators, lane baselines, metrics."""

    vocabulary: Vocabulary
    trained_until: float
    promise_quantile: float
    stages: dict[Stage, StageModel]
    baselines: dict[int, np.ndarray]
    baseline_columns: list[str]
    n_train: int
    train_seconds: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)

    def features(self, frame: pd.DataFrame, at: np.ndarray, stage: Stage, history: History) -> pd.DataFrame:
        """The feature matrix in this model's column order, typed for the estimators (``_typed``)."""
        matrix = build(frame, at, stage, history)
        return _typed(matrix[self.stages[stage].features])

    def matrix(self, f: dict[str, np.ndarray], at: np.ndarray, stage: Stage, history: History) -> np.ndarray:
        """What :meth:`features` gives, as a float array, from ``features.columns`` arrays.

        No pandas: a single-order re-score builds its one row in well under a millisecond.
        """
        names = self.stages[stage].features
        out = features(f, at, stage, history)
        matrix = np.empty((at.size, len(names)))
        for j, name in enumerate(names):
            matrix[:, j] = out[name]
        for column in CATEGORICAL:
            if column in names:
                j = names.index(column)
                matrix[:, j] = _category_codes(matrix[:, j])
        return matrix

    @single_threaded
    def score(self, matrix: pd.DataFrame | np.ndarray, stage: Stage, origin: np.ndarray) -> Scores:
        """Scores from a feature matrix.

        ``origin`` is the time the durations count from (purchase, or hand-off).
        """
        model = self.stages[stage]
        p_late = model.p_late(matrix)
        log_days = model.log_days(matrix)
        p50 = origin + model.quantile_days(log_days, 0.5)
        p90 = origin + model.quantile_days(log_days, P90)
        promise = origin + model.quantile_days(log_days, self.promise_quantile)
        return Scores(p_late=p_late, p50=p50, p90=p90, promise=promise)

    @single_threaded
    def reasons(self, matrix: pd.DataFrame | np.ndarray, stage: Stage, *, limit: int = 3) -> list[list[str]]:
        """The top reasons of each row: what raises P(late) versus a typical order on its lane.

        ``matrix`` is a :meth:`features` frame or a :meth:`matrix` array. One P(late) call on
        all variants at once (each group of facts set to the lane's typical values), built as
        arrays: for one order the pandas version cost more than the trees.
        """
        if len(matrix) == 0:
            return []
        model = self.stages[stage]
        if isinstance(matrix, pd.DataFrame):
            columns = list(matrix.columns)
            values = matrix.to_numpy(dtype=float)
        else:
            columns, values = model.features, matrix
        position = {column: j for j, column in enumerate(columns)}
        typical = self._typical(_lane_keys(values, position), columns)
        groups = [
            (code, [position[c] for c in group if c in position]) for code, group in REASON_GROUPS.items()
        ]
        groups = [(code, where) for code, where in groups if where]
        n = len(values)
        stacked = np.tile(values, (len(groups) + 1, 1))
        for g, (_, where) in enumerate(groups, start=1):
            stacked[g * n : (g + 1) * n, where] = typical[:, where]
        for column in CATEGORICAL:
            if column in position:
                stacked[:, position[column]] = _category_codes(stacked[:, position[column]])
        p_late = model.p_late(stacked).reshape(len(groups) + 1, n)
        return [
            top_reasons(
                {code: float(p_late[0, i] - p_late[g, i]) for g, (code, _) in enumerate(groups, start=1)},
                _facts(values[i], typical[i], position),
                limit=limit,
            )
            for i in range(n)
        ]

    def _typical(self, lanes: np.ndarray, columns: list[str]) -> np.ndarray:
        """The lane baselines of ``columns`` (NaN for a column the baselines lack), one row per lane."""
        fallback = self.baselines[-1]
        rows = np.vstack([self.baselines.get(int(lane), fallback) for lane in lanes])
        where = {column: j for j, column in enumerate(self.baseline_columns)}
        table = np.full((len(lanes), len(columns)), np.nan)
        for j, column in enumerate(columns):
            if column in where:
                table[:, j] = rows[:, where[column]]
        return table


def _facts(row: np.ndarray, typical: np.ndarray, position: dict[str, int]) -> dict[ReasonCode, Fact]:
    facts: dict[ReasonCode, Fact] = {}
    for code, (column, scale) in HEADLINE.items():
        j = position.get(column)
        if j is not None and not np.isnan(row[j]):
            usual = row[position["network_days"]] if code is ReasonCode.lane else typical[j]
            facts[code] = Fact(float(row[j]) * scale, float(usual) * scale)
    return facts


def _category_codes(codes: np.ndarray) -> np.ndarray:
    """A category that is not a code 0..MAX_CATEGORIES-1 counts as missing (NaN).

    (A lane's typical value of a region, used for the reasons, is a median and may be 12.5.)
    """
    valid = (codes >= 0) & (codes < MAX_CATEGORIES) & (codes == np.floor(codes))
    return np.where(valid, codes, np.nan)


def _typed(matrix: pd.DataFrame) -> pd.DataFrame:
    """All floats, categories as codes (``_category_codes``)."""
    matrix = matrix.astype(float)
    for column in CATEGORICAL:
        if column in matrix:
            matrix[column] = _category_codes(matrix[column].to_numpy())
    return matrix


def _predict(estimator: Any, matrix: pd.DataFrame | np.ndarray, predict: Callable[[Any], Any]) -> np.ndarray:
    """The same numbers three ways, the fastest that applies.

    A few rows as an array (a re-score, its reasons): the flat forest (``forest.py``), without
    scikit-learn's per-tree Python loop. Many rows: the trees on binned rows (``binned.py``).
    Versions stored with pandas categories: scikit-learn's own ``predict``.
    """
    if isinstance(matrix, np.ndarray):
        values: np.ndarray | None = matrix
        few = predict_few(estimator, matrix)
        if few is not None:
            return few
    elif getattr(estimator, "feature_names_in_", None) is None:
        values = matrix.to_numpy(dtype=float)
    else:
        values = None  # fitted on pandas categories: scikit-learn's predict needs the frame
    many = predict_binned(estimator, values) if values is not None else None
    if many is not None:
        return many
    return np.asarray(predict(_inputs(estimator, matrix)))


def _inputs(estimator: Any, matrix: pd.DataFrame | np.ndarray) -> Any:
    """What ``estimator`` predicts from: a float array.

    Plain arrays skip scikit-learn's per-call pandas preprocessing, most of the cost of scoring
    one order. Versions fitted on a DataFrame with pandas categories (stored before this
    change) still get that DataFrame.
    """
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        return matrix if isinstance(matrix, np.ndarray) else matrix.to_numpy(dtype=float)
    legacy = pd.DataFrame(matrix, columns=list(names)) if isinstance(matrix, np.ndarray) else matrix.copy()
    for column in CATEGORICAL:
        if column in legacy:
            legacy[column] = pd.Categorical(legacy[column], categories=np.arange(MAX_CATEGORIES, dtype=float))
    return legacy


def _lane_keys(values: np.ndarray, position: dict[str, int]) -> np.ndarray:
    missing = np.full(len(values), np.nan)
    seller = values[:, position["seller_region"]] if "seller_region" in position else missing
    customer = values[:, position["customer_region"]] if "customer_region" in position else missing
    return np.where(
        np.isnan(seller) | np.isnan(customer), -1, np.nan_to_num(seller) * 1000 + np.nan_to_num(customer)
    )


# ------------------------------------------------------------------ training


def known_outcomes(frame: pd.DataFrame, until: float) -> pd.DataFrame:
    """Orders whose delivery was known before ``until``: the only rows training may use.

    Of those, only orders bought at least ``MATURITY_DAYS`` before ``until`` (see the constant).
    """
    delivered = frame["delivered"].to_numpy(dtype=float)
    purchased = frame["purchased"].to_numpy(dtype=float)
    mature = purchased < until - MATURITY_DAYS
    return frame[mature & (delivered < until) & (delivered >= purchased) & (frame["status"] == "delivered")]


@single_threaded
def train(
    frame: pd.DataFrame,
    *,
    until: float,
    promise_quantile: float,
    fast: bool = False,
    vocabulary: Vocabulary | None = None,
    zone: tzinfo = UTC,
) -> DelayModel:
    """Fit both stages on the outcomes known before ``until`` (float days since the epoch).

    ``zone`` is the shop's time zone: the stored evaluation's months are its months.
    """
    started = time.perf_counter()
    vocabulary = vocabulary or Vocabulary.from_history(frame[frame["purchased"] < until])
    history = History.build(frame, vocabulary)
    rows = known_outcomes(frame, until)
    if len(rows) < 200:
        raise ValueError(
            f"until: only {len(rows)} delivered orders before the cut-off; at least 200 are needed"
        )
    stages: dict[Stage, StageModel] = {}
    held_out: dict[Stage, HeldOut] = {}
    baselines: tuple[dict[int, np.ndarray], list[str]] | None = None
    for stage in Stage:
        part = rows if stage is Stage.purchase else rows[rows["handed"].notna() & (rows["handed"] < until)]
        at = part["purchased" if stage is Stage.purchase else "handed"].to_numpy(dtype=float)
        matrix = _typed(build(part, at, stage, history))
        # A shop without, say, a geolocation table has columns with no value at all: leave them out.
        matrix = matrix[[c for c in matrix.columns if matrix[c].notna().any()]]
        target = part["delivered"].to_numpy(dtype=float) - at
        late = (part["delivered"] > part["promised"]).to_numpy()
        purchased = part["purchased"].to_numpy(dtype=float)
        stages[stage], held = _fit_stage(matrix, target, late, purchased, until, fast=fast)
        held_out[stage] = held.on(part.index)
        if stage is Stage.purchase:
            baselines = _lane_baselines(matrix)
    assert baselines is not None
    model = DelayModel(
        vocabulary=vocabulary,
        trained_until=until,
        promise_quantile=promise_quantile,
        stages=stages,
        baselines=baselines[0],
        baseline_columns=baselines[1],
        n_train=len(rows),
    )
    model.metrics["evaluation"] = holdout_evaluation(
        rows, held_out, until=until, slice_days=CALIBRATION_DAYS, quantile=promise_quantile, zone=zone
    )
    model.train_seconds = time.perf_counter() - started
    return model


def _fit_stage(
    matrix: pd.DataFrame,
    target: np.ndarray,
    late: np.ndarray,
    purchased: np.ndarray,
    until: float,
    *,
    fast: bool,
) -> tuple[StageModel, HeldOut]:
    values = matrix.to_numpy(dtype=float)
    late_model = _classifier(fast=fast).fit(values, late)
    log_target = np.log1p(np.maximum(target, 0.0))
    eta = _regressor(fast=fast).fit(values, log_target)
    held = _held_out(matrix, log_target, late, purchased, until)
    return StageModel(list(matrix.columns), late_model, eta, np.sort(held.residuals)), held


def _held_out(
    matrix: pd.DataFrame, log_target: np.ndarray, late: np.ndarray, purchased: np.ndarray, until: float
) -> HeldOut:
    """Scores of a time-held-out slice by estimators fitted on older orders.

    The slice is the orders bought 95 to 35 days before the cut-off: nearly all of them were
    delivered by then, so it is not biased toward fast deliveries, and none of them was seen
    by the estimators that score it. Its residuals calibrate the quantiles; its scores are the
    evaluation stored with the version.
    """
    older = purchased < until - CALIBRATION_DAYS[0]
    held = (purchased >= until - CALIBRATION_DAYS[0]) & (purchased < until - CALIBRATION_DAYS[1])
    in_sample = bool(older.sum() < 200 or held.sum() < 50)
    if in_sample:
        older = held = np.ones(purchased.size, dtype=bool)  # too little history: in-sample, narrower
    values = matrix.to_numpy(dtype=float)
    eta = _regressor(fast=True).fit(values[older], log_target[older])
    log_days = eta.predict(values[held])
    if len(np.unique(late[older])) > 1:
        classifier = _classifier(fast=True).fit(values[older], late[older])
        p_late = classifier.predict_proba(values[held])[:, 1]
    else:
        p_late = np.full(int(held.sum()), float(late[older][0]) if older.any() else np.nan)
    return HeldOut(held, log_days, log_target[held] - log_days, p_late, in_sample=in_sample)


def _lane_baselines(matrix: pd.DataFrame) -> tuple[dict[int, np.ndarray], list[str]]:
    numeric = matrix.astype({c: float for c in CATEGORICAL if c in matrix})
    columns = list(numeric.columns)
    lanes = _lane_keys(numeric.to_numpy(dtype=float), {c: j for j, c in enumerate(columns)})
    baselines = {-1: numeric.median().to_numpy(dtype=float)}
    grouped = numeric.assign(_lane=lanes).groupby("_lane")
    counts = grouped.size()
    medians = grouped.median()
    for lane in medians.index:
        if counts.loc[lane] >= 30 and lane != -1:
            baselines[int(float(lane))] = medians.loc[lane, columns].to_numpy(dtype=float)
    return baselines, columns
