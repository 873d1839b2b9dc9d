"""Benchmark: the delay model on a database holding the shop's history, one JSON object (D2).

Measures, on the database given (import the Olist data into it first: ``orderwatch import olist``):

* ``train_seconds``: training both stages on every delivery known at the end of the history
  (the issue's target: at most 2 minutes on the full Olist data), and the load from the database;
* ``batch_orders_per_second``: scoring every order of the database as if it were open, as of the
  end of the history (features, P(late), P50/P90; best of three); the one-off load of the history
  per batch is reported beside it, and the rate of wording reasons (done only for flagged orders)
  apart; ``batch_cpu_seconds`` is the CPU time of the batch summed over its threads (median of
  three), steadier than the wall time on a machine shared with other work;
* ``rescore_median_ms``: re-scoring one open order after a new event (its status and dates read
  again from the database, the rest and the history kept from the last batch; reasons worded
  as the re-score job does: only for orders at or near the risk threshold, here all of them
  since their promises have passed), median over ``--rescores`` open orders; and the same
  re-scores without reasons (an order below the threshold), ``rescore_median_ms_without_reasons``.

Run: ``python benchmarks/bench_models.py [--database-url URL]`` or ``orderwatch bench models --json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime
from typing import Any

import numpy as np

from orderwatch.adapters.ml.dataset import from_days, load_orders
from orderwatch.adapters.ml.features import Stage
from orderwatch.adapters.ml.model import train
from orderwatch.adapters.ml.scorer import OPEN, DelayScorer, dumps
from orderwatch.bootstrap import build_app
from orderwatch.services.prediction import HYSTERESIS
from orderwatch.settings import Settings


def run(database_url: str | None = None, *, rescores: int = 200, fast: bool = False) -> dict[str, Any]:
    """Train, batch-score and re-score on ``database_url`` (the settings' database when omitted)."""
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    app = build_app(settings)
    started = time.perf_counter()
    with app.read_session() as session:
        frame = load_orders(session)
    load_seconds = time.perf_counter() - started
    if len(frame) < 1_000:
        raise SystemExit(f"{settings.resolved_database_url}: {len(frame)} orders; import a history first")
    end = float(np.nanmax(frame["purchased"].to_numpy())) + 1.0
    model = train(frame, until=end, promise_quantile=settings.promise_quantile, fast=fast)
    scorer = DelayScorer(model, "bench", app.read_session)
    now = from_days(end)

    started = time.perf_counter()
    context = scorer.context(now, fresh=True)
    context_seconds = time.perf_counter() - started
    # Scores only (reasons are worded for flagged orders; at the end of the history every
    # promise has passed, so "flagged" would mean every order): then reasons on their own.
    batches, cpu = [], []
    for _ in range(3):
        started, cpu_started = time.perf_counter(), time.process_time()
        predictions = scorer.score_frame(context.frame, now, context.history, explain_above=2.0)
        batches.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    batch = min(batches)
    sample = context.frame.iloc[:2_000]
    matrix = model.features(sample, np.full(len(sample), end), Stage.purchase, context.history)
    started = time.perf_counter()
    model.reasons(matrix, Stage.purchase)
    reasons_per_second = len(sample) / (time.perf_counter() - started)

    # Re-scores of open orders (a closed one is only read, not scored), with reasons where the
    # job would word them: at the end of the history their promises have passed, so all of them.
    rng = np.random.default_rng(0)
    open_ids = context.frame.loc[context.frame["status"].isin(OPEN), "id"].to_numpy()
    ids = rng.choice(open_ids, size=min(rescores, len(open_ids)), replace=False)
    explain_above = settings.risk_threshold - HYSTERESIS
    scorer.score_orders([int(ids[0])], now=now, explain_above=explain_above)  # first-call set-up
    single = _rescores(scorer, ids, now, explain_above)
    # The same orders below the risk threshold: scores only, no reasons (what most re-scores are).
    unexplained = _rescores(scorer, ids, now, 2.0)
    app.engine.dispose()
    return {
        "database": app.engine.url.render_as_string(hide_password=True),
        "orders": len(frame),
        "n_train": model.n_train,
        "train_seconds": round(model.train_seconds, 1),
        "history_load_seconds": round(load_seconds, 2),
        "model_bytes": len(dumps(model)),
        "batch_orders": len(predictions),
        "batch_seconds": round(batch, 3),
        "batch_orders_per_second": round(len(predictions) / batch),
        # CPU seconds of all threads (median): what the batch costs whatever else runs on the machine
        "batch_cpu_seconds": round(statistics.median(cpu), 3),
        "batch_context_seconds": round(context_seconds, 2),
        "batch_orders_per_second_with_context": round(len(predictions) / (batch + context_seconds)),
        "reasons_orders_per_second": round(reasons_per_second),
        "rescore_median_ms": round(statistics.median(single), 2),
        "rescore_p90_ms": round(float(np.quantile(single, 0.9)), 2),
        "rescore_median_ms_without_reasons": round(statistics.median(unexplained), 2),
        "rescores": len(single),
    }


def _rescores(scorer: DelayScorer, ids: np.ndarray, now: datetime, explain_above: float) -> list[float]:
    """Milliseconds of each single-order re-score of ``ids``."""
    single = []
    for order_id in ids.tolist():
        started = time.perf_counter()
        scorer.score_orders([int(order_id)], now=now, explain_above=explain_above)
        single.append((time.perf_counter() - started) * 1000)
    return single


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rescores", type=int, default=200)
    parser.add_argument("--fast", action="store_true")
    args = parser.parse_args()
    print(json.dumps(run(args.database_url, rescores=args.rescores, fast=args.fast)))


if __name__ == "__main__":
    main()
