"""The active delay model as a ``services.ports.RiskModel``: batch and single-order scoring (D2).

    database ──▶ history frame + event streams (cached for ``refresh`` of simulated time)
    open orders ─┬─ not yet handed over ──▶ purchase-stage model, durations from purchase
                 └─ with the carrier ──────▶ hand-off model, durations from hand-off
                                             (in_transit once a day has passed since hand-off)
    every prediction is as of ``now``: ETAs are never in the past, a passed promise is p_late 1

Models are stored pickled in ``model_versions.model`` (our own database, written only by
``orderwatch model train``); loading one is cached per version.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from orderwatch.adapters.ml.dataset import load_order_states, load_orders, to_days
from orderwatch.adapters.ml.features import History, Stage, columns, take
from orderwatch.adapters.ml.model import DelayModel
from orderwatch.adapters.ml.threads import limited
from orderwatch.domain.errors import NotFound
from orderwatch.domain.orders import OPEN_ORDER_STATUSES
from orderwatch.domain.risk import PredictionStage, check_quantile
from orderwatch.services.ports import ModelUnitOfWork, PredictionBatch

OPEN = sorted(status.value for status in OPEN_ORDER_STATUSES)
OPEN_SET = frozenset(OPEN)
IN_TRANSIT_AFTER_DAYS = 1.0


def dumps(model: DelayModel) -> bytes:
    """The model as bytes for ``model_versions.model``."""
    return pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)


def loads(blob: bytes) -> DelayModel:
    """A model back from ``model_versions.model`` (bytes this application wrote itself)."""
    model = pickle.Unpickler(io.BytesIO(blob)).load()  # noqa: S301 - our own rows, see module doc
    if not isinstance(model, DelayModel):
        raise TypeError(f"model_versions.model holds a {type(model).__name__}, not a DelayModel")
    return model


@dataclass
class _Context:
    at: float
    frame: pd.DataFrame
    history: History
    _positions: dict[int, int] | None = None
    _columns: dict[str, np.ndarray] | None = None

    def positions(self) -> dict[int, int]:
        """Row position of each order id in ``frame`` (built on the first re-score)."""
        if self._positions is None:
            self._positions = {int(i): n for n, i in enumerate(self.frame["id"].to_numpy())}
        return self._positions

    def columns(self) -> dict[str, np.ndarray]:
        """``features.columns`` of every order of ``frame``, plus ids and refs (first re-score)."""
        if self._columns is None:
            self._columns = _with_keys(self.frame, columns(self.frame, self.history.vocabulary))
        return self._columns


class DelayScorer:
    """Scores orders with one model version, reading features from the database."""

    def __init__(
        self,
        model: DelayModel,
        version: str,
        read_session: Callable[[], Session],
        *,
        refresh: timedelta = timedelta(hours=1),
    ) -> None:
        self.model = model
        self._version = version
        self._read_session = read_session
        self._refresh_days = refresh.total_seconds() / 86_400
        self._context: _Context | None = None

    @property
    def version(self) -> str:
        return self._version

    def context(self, now: datetime, *, fresh: bool = False) -> _Context:
        """The history as of ``now``, reloaded when older than ``refresh`` (or ``fresh``)."""
        at = to_days(now)
        cached = self._context
        if fresh or cached is None or not (cached.at <= at < cached.at + self._refresh_days):
            with self._read_session() as session:
                frame = load_orders(session)
            frame = frame[frame["purchased"] <= at]
            cached = self._context = _Context(at, frame, History.build(frame, self.model.vocabulary))
        return cached

    def score_open_orders(self, *, now: datetime, explain_above: float) -> PredictionBatch:
        context = self.context(now, fresh=True)
        frame = context.frame
        return self.score_frame(frame[frame["status"].isin(OPEN)], now, context.history, explain_above)

    def score_orders(
        self, order_ids: Sequence[int], *, now: datetime, explain_above: float = 0.0
    ) -> PredictionBatch:
        """Re-score a few orders after new events, from the history kept in memory.

        What an event changes (status, hand-off, delivery, cancellation) is read again from
        ``orders``; the facts fixed at purchase (lines, seller, places, payment) come from the
        arrays cached for the whole history (``features.columns``), or from the database for an
        order bought after the cache was loaded. No pandas on the way: numpy rows only.
        """
        context = self.context(now)
        with self._read_session() as session:
            states = load_order_states(session, list(order_ids))
            positions = context.positions()
            known = [n for n, i in enumerate(states.ids) if i in positions]
            f = take(context.columns(), np.array([positions[states.ids[n]] for n in known], dtype=np.int64))
            if len(known) < len(states.ids):
                have = set(known)
                missing = [i for n, i in enumerate(states.ids) if n not in have]
                rows = load_orders(session, order_ids=missing)
                extra = _with_keys(rows, columns(rows, self.model.vocabulary))
                f = {name: np.concatenate([f[name], extra[name]]) for name in f}
        # Rows of ``f`` are ``known`` then the ids loaded again; put the fresh states in that order.
        where = {i: n for n, i in enumerate(states.ids)}
        order = np.array([where[int(i)] for i in f["id"]], dtype=np.int64)
        for name, values in states.dates.items():
            f[name] = values[order]
        is_open = np.array([states.statuses[n] in OPEN_SET for n in order.tolist()], dtype=bool)
        open_rows = take(f, np.flatnonzero(is_open))
        return self._score_columns(open_rows, to_days(now), context.history, explain_above)

    def score_frame(
        self, rows: pd.DataFrame, now: datetime, history: History, explain_above: float
    ) -> PredictionBatch:
        """Predictions for ``rows`` (open orders) as of ``now``."""
        f = _with_keys(rows, columns(rows, self.model.vocabulary))
        return self._score_columns(f, to_days(now), history, explain_above)

    def _score_columns(
        self, f: dict[str, np.ndarray], at: float, history: History, explain_above: float
    ) -> PredictionBatch:
        handed = f["handed"]
        with_carrier = ~np.isnan(handed) & (handed <= at)
        predictions: list[PredictionBatch] = []
        for stage, mask in ((Stage.purchase, ~with_carrier), (Stage.handoff, with_carrier)):
            if not mask.any():
                continue
            part = f if mask.all() else take(f, np.flatnonzero(mask))
            origin = part["purchased" if stage is Stage.purchase else "handed"]
            matrix = self.model.matrix(part, np.full(origin.size, at), stage, history)
            predictions.append(self._predictions(part, matrix, stage, origin, at, explain_above))
        if len(predictions) == 1:
            return predictions[0]
        return PredictionBatch.join(predictions, model_version=self._version)

    def _predictions(
        self,
        part: dict[str, np.ndarray],
        matrix: np.ndarray,
        stage: Stage,
        origin: np.ndarray,
        at: float,
        explain_above: float,
    ) -> PredictionBatch:
        scores = self.model.score(matrix, stage, origin)
        p_late = np.where(part["promised"] < at, 1.0, scores.p_late)  # the promise has passed already
        p50 = np.maximum(scores.p50, at)
        p90 = np.maximum(scores.p90, p50)
        # Reasons only for the orders a flag would word (at or near the threshold): below it
        # nobody reads them, and they cost one more P(late) call on 9 variants of each row.
        explain = np.flatnonzero(p_late >= explain_above)
        reasons: dict[int, list[str]] = {}
        if explain.size:
            reasons = dict(zip(explain.tolist(), self.model.reasons(matrix[explain], stage), strict=True))
        # Whole columns to Python values at once, and no object per order (``PredictionBatch``):
        # per-value conversions were a third of a batch, the objects a fifth.
        return PredictionBatch(
            part["id"].tolist(),
            part["ref"].tolist(),
            self._stage_labels(stage, origin, at),
            p_late.tolist(),
            _moments(p50),
            _moments(p90),
            {i: tuple(why) for i, why in reasons.items() if why},
            self._version,
        )

    def promise_days(
        self, order_ref: str, *, quantile: float, now: datetime | None = None
    ) -> tuple[float, float]:
        """(purchase time, days to promise) for an order at the delivery-time ``quantile``.

        The features are those at the order's purchase, so the quote is what a new order would
        have been offered at checkout.
        """
        check_quantile(quantile)
        context = self.context(now or datetime.now(UTC))
        rows = context.frame[context.frame["ref"] == order_ref]
        if rows.empty:
            raise NotFound("order", order_ref)
        purchased = rows["purchased"].to_numpy(dtype=float)
        matrix = self.model.features(rows, purchased, Stage.purchase, context.history)
        stage = self.model.stages[Stage.purchase]
        with limited():
            days = stage.quantile_days(stage.log_days(matrix), quantile)
        return float(purchased[0]), float(days[0])

    @staticmethod
    def _stage_labels(stage: Stage, origin: np.ndarray, at: float) -> list[str]:
        if stage is Stage.purchase:
            return [PredictionStage.purchase.value] * origin.size
        moving = at - origin >= IN_TRANSIT_AFTER_DAYS
        labels: list[str] = np.where(
            moving, PredictionStage.in_transit.value, PredictionStage.handoff.value
        ).tolist()
        return labels


def _moments(days: np.ndarray) -> list[datetime]:
    """Float days since the epoch as aware UTC datetimes (microseconds), a whole array at once."""
    stamps = (days * 86_400_000_000.0).round().astype("datetime64[us]")
    if stamps.size < 100:  # a re-score: pandas' set-up costs more than the loop
        return [stamp.replace(tzinfo=UTC) for stamp in stamps.tolist()]
    # pandas makes aware datetimes in one compiled pass: half the time of a replace() per value.
    moments: list[datetime] = pd.DatetimeIndex(stamps).tz_localize(UTC).to_pydatetime().tolist()
    return moments


def _with_keys(frame: pd.DataFrame, f: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``f`` with the orders' ids and refs, which the predictions carry."""
    return f | {"id": frame["id"].to_numpy(dtype=np.int64), "ref": frame["ref"].astype(str).to_numpy()}


_loaded: dict[str, DelayModel] = {}


def active_scorer(
    uow: ModelUnitOfWork,
    read_session: Callable[[], Session],
    *,
    refresh: timedelta = timedelta(hours=1),
    previous: DelayScorer | None = None,
) -> DelayScorer | None:
    """A scorer for the active model version, or ``None`` when no version is active.

    ``previous`` is returned as it is while its version is still the active one, so a job that
    runs every minute keeps its loaded history instead of reading it again.
    """
    with uow:
        version = uow.models.active_version()
        if version is None:
            return None
        if previous is not None and previous.version == version:
            return previous
        model = _loaded.get(version)
        if model is None:
            found = uow.models.active()
            if found is None:  # pragma: no cover - deactivated between the two reads
                return None
            version, blob = found[0].version, found[1]
            model = _loaded[version] = loads(blob)
    return DelayScorer(model, version, read_session, refresh=refresh)
