"""``orderwatch model``: train, evaluate, list, activate and score with the delay model (D2).

Dates are shop-local days (``ORDERWATCH_SHOP_TIMEZONE``), like the imports. Models are stored
in the database (``model_versions.model``, pickled bytes), one of them active.
"""

from __future__ import annotations

import hashlib
import sys
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.ml.dataset import from_days, load_orders, to_days
from orderwatch.adapters.ml.evaluation import evaluate
from orderwatch.adapters.ml.model import train
from orderwatch.adapters.ml.scorer import DelayScorer, active_scorer, dumps, loads
from orderwatch.bootstrap import App
from orderwatch.domain.errors import NotFound
from orderwatch.domain.risk import recommended_promise
from orderwatch.entrypoints.cli.common import console, fail, make_app, print_json
from orderwatch.services.ports import Clock, ModelEvaluation, ModelVersionInfo
from orderwatch.services.prediction import (
    activate_model,
    list_models,
    record_evaluation,
    register_model,
    score_open_orders,
    version_blob,
)

app = typer.Typer(help="The delay model: train, evaluate, list, activate, score.", no_args_is_help=True)

DatabaseUrl = Annotated[str | None, typer.Option("--database-url", help="Overrides ORDERWATCH_DATABASE_URL")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object")]


def _day(value: str, option: str, zone: ZoneInfo) -> datetime:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=zone)
    except ValueError:
        fail(f"{option}: {value!r} is not a date (YYYY-MM-DD)")


def _frame(app: App) -> Any:
    with app.read_session() as session:
        return load_orders(session)


def _progress(quiet: bool) -> Any:
    def show(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr)

    return show


@app.command("train")
def train_command(
    until: Annotated[str, typer.Option("--until", help="Learn from deliveries known before this day")],
    activate: Annotated[
        bool, typer.Option("--activate/--no-activate", help="Make it the active model")
    ] = True,
    fast: Annotated[bool, typer.Option("--fast", help="Fewer boosting rounds (tests, small shops)")] = False,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Train both stages on the outcomes known before ``--until`` and store the version."""
    application = make_app(database_url)
    settings = application.settings
    zone = ZoneInfo(settings.shop_timezone)
    cutoff = _day(until, "--until", zone)
    try:
        model = train(
            _frame(application),
            until=to_days(cutoff),
            promise_quantile=settings.promise_quantile,
            fast=fast,
            zone=zone,
        )
    except ValueError as error:
        fail(str(error))
    blob = dumps(model)
    now = datetime.now(UTC)
    version = f"{cutoff:%Y%m%d}-{hashlib.sha256(blob).hexdigest()[:8]}"
    metrics = {
        "train_seconds": round(model.train_seconds, 1),
        "promise_quantile": model.promise_quantile,
        "features": {stage.value: len(part.features) for stage, part in model.stages.items()},
        **model.metrics,  # the held-out evaluation the /models pages show
    }
    info = ModelVersionInfo(version, cutoff.astimezone(UTC), model.n_train, metrics, activate, now)
    register_model(application.uow(), info, blob, activate=activate, now=now)
    evaluation = {
        k: v for k, v in model.metrics.get("evaluation", {}).items() if not isinstance(v, list | dict)
    }
    result = {
        "version": version,
        "active": activate,
        "n_train": model.n_train,
        "bytes": len(blob),
        **metrics,
        "evaluation": evaluation,  # headline figures; by month, lane and decile on /models/VERSION
    }
    print_json(result) if as_json else console.print(result)


@app.command("evaluate")
def evaluate_command(
    test_from: Annotated[str, typer.Option("--test-from", help="First purchase day tested")],
    test_until: Annotated[
        str, typer.Option("--test-until", help="Purchase day the test stops at (exclusive)")
    ],
    train_until: Annotated[
        str | None,
        typer.Option("--train-until", help="First model learns from before this day (not with --version)"),
    ] = None,
    retrain: Annotated[
        str, typer.Option("--retrain", help="monthly (as the live system) or none")
    ] = "monthly",
    quantile: Annotated[
        float | None, typer.Option("--promise-quantile", help="Overrides the setting")
    ] = None,
    version: Annotated[
        str | None,
        typer.Option("--version", help="Score with this stored version as it is (no training)"),
    ] = None,
    store: Annotated[
        bool, typer.Option("--store/--no-store", help="Keep the run (shown on /models pages)")
    ] = True,
    fast: Annotated[bool, typer.Option("--fast", help="Fewer boosting rounds")] = False,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Time-split evaluation: AUC, MAE, P90 coverage and the promise policy, overall and by month.

    The run is stored (``--no-store``: not): with ``--version`` on ``/models/VERSION``, else on
    ``/models``.
    """
    application = make_app(database_url)
    zone = ZoneInfo(application.settings.shop_timezone)
    if (version is None) == (train_until is None):
        fail("--train-until: give it, or --version (a stored version's own cut-off), not both")
    model = None
    if version is not None:
        try:
            model = loads(version_blob(application.uow(), version))
        except NotFound as error:
            fail(f"--version: {error}")
    first = _day(test_from, "--test-from", zone)
    until = _day(test_until, "--test-until", zone)
    cutoff = _day(train_until, "--train-until", zone) if train_until is not None else first
    try:
        result = evaluate(
            _frame(application),
            train_until=cutoff,
            test_from=first,
            test_until=until,
            promise_quantile=quantile if quantile is not None else application.settings.promise_quantile,
            retrain=retrain,
            fast=fast,
            progress=_progress(as_json),
            model=model,
        )
    except ValueError as error:
        fail(str(error))
    if model is not None:
        result["version"] = version
        cutoff = from_days(model.trained_until)
    if store:
        run = ModelEvaluation(
            version, cutoff, first, until, str(result["retrain"]), result, datetime.now(UTC)
        )
        result["evaluation_id"] = record_evaluation(application.uow(), run)
    print_json(result) if as_json else console.print_json(data=result)


@app.command("list")
def list_command(as_json: AsJson = False, database_url: DatabaseUrl = None) -> None:
    """Stored model versions, newest first."""
    versions = list_models(make_app(database_url).uow())
    rows: list[dict[str, Any]] = [
        {
            "version": v.version,
            "active": v.is_active,
            "trained_until": v.trained_until.isoformat(),
            "n_train": v.n_train,
            "created_at": v.created_at.isoformat(),
            "metrics": dict(v.metrics),
        }
        for v in versions
    ]
    if as_json:
        print_json({"versions": rows})
        return
    for row in rows:
        marker = "*" if row["active"] else " "
        console.print(
            f"{marker} {row['version']}  until {row['trained_until'][:10]}  n_train {row['n_train']}"
        )


@app.command("activate")
def activate_command(version: str, database_url: DatabaseUrl = None) -> None:
    """Make VERSION the only active model."""
    application = make_app(database_url)
    try:
        activate_model(application.uow(), version, application.clock)
    except NotFound as error:
        fail(str(error))
    console.print(f"{version} is the active model")


def _scorer(application: App) -> DelayScorer:
    scorer = active_scorer(application.uow(), application.read_session)
    if scorer is None:
        fail("no active model: run `orderwatch model train --until DATE` first")
    return scorer


def _at(application: App, at: str | None) -> Clock:
    if at is None:
        return application.clock
    return SimulatedClock(_day(at, "--at", ZoneInfo(application.settings.shop_timezone)).astimezone(UTC))


@app.command("score")
def score_command(
    at: Annotated[str | None, typer.Option("--at", help="Score as of this day (replayed histories)")] = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Score every open order now (or as of ``--at``), store predictions and predicted_late flags."""
    application = make_app(database_url)
    run = score_open_orders(
        application.uow(),
        _scorer(application),
        _at(application, at),
        threshold=application.settings.risk_threshold,
    )
    result = {
        "at": run.at.isoformat(),
        "model_version": run.model_version,
        "scored": run.scored,
        "flags_raised": run.raised,
        "flags_updated": run.updated,
        "flags_cleared": run.cleared,
    }
    print_json(result) if as_json else console.print(result)


@app.command("promise")
def promise_command(
    order_ref: str,
    quantile: Annotated[
        float | None, typer.Option("--quantile", help="Overrides ORDERWATCH_PROMISE_QUANTILE")
    ] = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """The recommended promise date for an order, at the business's delivery-time quantile."""
    application = make_app(database_url)
    scorer = _scorer(application)
    quantile = quantile if quantile is not None else application.settings.promise_quantile
    try:
        purchased, days = scorer.promise_days(order_ref, quantile=quantile)
    except (NotFound, ValueError) as error:
        fail(str(error))
    promise = recommended_promise(from_days(purchased), days)
    result = {
        "order": order_ref,
        "quantile": quantile,
        "purchased_at": from_days(purchased).isoformat(),
        "recommended_promise_at": promise.isoformat(),
        "lead_days": round(days, 2),
    }
    print_json(result) if as_json else console.print(result)
