"""``orderwatch model`` end to end on a generated demo shop (issue 4): evaluate prints the issue's
JSON keys, train stores an active version, score writes predictions and flags, promise quotes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.models_store import model_evaluations
from orderwatch.adapters.db.tables import Base, OrderRow, PredictionRow
from orderwatch.bootstrap import App, build_app
from orderwatch.demo.generator import generate
from orderwatch.entrypoints.cli.main import app as cli
from orderwatch.services.handlers import COMMAND_HANDLERS
from orderwatch.services.replay import replay
from orderwatch.settings import Settings

END = datetime(2018, 6, 1, tzinfo=UTC)
ISSUE_KEYS = {
    "late_auc_at_purchase",
    "late_auc_at_handoff",
    "eta_mae_days_at_purchase",
    "eta_mae_days_at_handoff",
    "promise_mae_days",
    "p90_coverage_at_purchase",
    "policy_late_rate",
    "policy_mean_promise_days",
    "promise_late_rate",
    "promise_mean_promise_days",
    "n_train",
    "n_test",
    "by_month",
}
MONTH_KEYS = {
    "month",
    "n",
    "promise_late_rate",
    "promise_mean_promise_days",
    "policy_late_rate",
    "policy_mean_promise_days",
    "eta_mae_days_at_purchase",
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """A 1,200-order demo shop replayed up to 2018-06-01 on SQLite (no periodic jobs)."""
    folder: Path = tmp_path_factory.mktemp("shop")
    demo = generate(orders=1_200, days=150, end=END, seed=3)
    clock = SimulatedClock(demo.start)
    application = build_app(Settings(data_dir=folder, database_url=None, environment="test"), clock=clock)
    Base.metadata.create_all(application.engine)
    replay(demo.commands, uow_factory=application.uow, clock=clock, handlers=COMMAND_HANDLERS, jobs=[])
    yield application
    application.engine.dispose()


def _run(shop: App, *args: str) -> str:
    url = shop.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, [*args, "--database-url", url])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_evaluate_prints_the_issue_keys_with_sane_values(shop: App) -> None:
    output = _run(
        shop,
        "model",
        "evaluate",
        "--train-until",
        "2018-04-01",
        "--test-from",
        "2018-04-01",
        "--test-until",
        "2018-05-15",
        "--fast",
        "--json",
    )

    result = json.loads(output)
    assert set(result) >= ISSUE_KEYS
    assert result["retrain"] == "monthly"
    assert [m["month"] for m in result["by_month"]] == ["2018-04", "2018-05"]
    assert all(set(month) >= MONTH_KEYS for month in result["by_month"])
    assert result["n_test"] == sum(m["n"] for m in result["by_month"]) > 100
    assert 0 < result["n_train"] < 1_200
    assert 0.0 <= result["p90_coverage_at_purchase"] <= 1.0
    assert result["eta_mae_days_at_purchase"] > 0
    assert result["late_auc_at_purchase"] is None or 0.0 <= result["late_auc_at_purchase"] <= 1.0
    with shop.read_session() as session:
        stored = [
            run for run in model_evaluations(session, version=None) if run.id == result["evaluation_id"]
        ]
    assert len(stored) == 1  # the run is kept, with no version: it trained its own models
    assert stored[0].result == {k: v for k, v in result.items() if k != "evaluation_id"}
    assert (stored[0].retrain, stored[0].test_from.date().isoformat()) == ("monthly", "2018-04-01")


def test_train_list_score_and_promise(shop: App) -> None:
    trained = json.loads(_run(shop, "model", "train", "--until", "2018-05-01", "--fast", "--json"))
    listed = json.loads(_run(shop, "model", "list", "--json"))
    scored = json.loads(_run(shop, "model", "score", "--at", "2018-05-20", "--json"))
    with shop.read_session() as session:
        predictions = session.scalar(select(func.count()).select_from(PredictionRow))
        some_ref = session.scalar(select(OrderRow.ref).order_by(OrderRow.purchased_at.desc()).limit(1))
    promise = json.loads(_run(shop, "model", "promise", str(some_ref), "--quantile", "0.8", "--json"))

    assert [(v["version"], v["active"]) for v in listed["versions"]] == [(trained["version"], True)]
    assert scored["model_version"] == trained["version"]
    assert scored["scored"] == predictions > 0
    assert promise["recommended_promise_at"] > promise["purchased_at"]
    assert promise["lead_days"] > 0


def test_activate_unknown_version_is_a_clear_error(shop: App) -> None:
    url = shop.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["model", "activate", "nope", "--database-url", url])

    assert result.exit_code == 2
    assert "model version 'nope' not found" in result.output


def test_evaluate_a_stored_version_and_keep_the_run_with_it(shop: App) -> None:
    trained = json.loads(
        _run(shop, "model", "train", "--until", "2018-04-15", "--fast", "--no-activate", "--json")
    )
    version = trained["version"]

    output = _run(
        shop,
        "model",
        "evaluate",
        "--version",
        version,
        "--test-from",
        "2018-04-15",
        "--test-until",
        "2018-05-20",
        "--json",
    )

    result = json.loads(output)
    assert set(result) >= ISSUE_KEYS
    assert (result["version"], result["retrain"], result["n_train"]) == (version, "none", trained["n_train"])
    assert [m["month"] for m in result["by_month"]] == ["2018-04", "2018-05"]
    with shop.read_session() as session:
        runs = model_evaluations(session, version=version)
    assert [run.id for run in runs] == [result["evaluation_id"]]
    assert runs[0].result["n_test"] == result["n_test"] > 0


def test_evaluate_refuses_a_stored_version_on_orders_it_has_seen(shop: App) -> None:
    trained = json.loads(
        _run(shop, "model", "train", "--until", "2018-04-15", "--fast", "--no-activate", "--json")
    )
    url = shop.engine.url.render_as_string(hide_password=False)
    common = ["--test-until", "2018-05-20", "--database-url", url]
    runner = CliRunner()

    seen = runner.invoke(
        cli, ["model", "evaluate", "--version", trained["version"], "--test-from", "2018-04-01", *common]
    )
    both = runner.invoke(
        cli,
        [
            "model",
            "evaluate",
            "--version",
            trained["version"],
            "--train-until",
            "2018-04-01",
            "--test-from",
            "2018-04-20",
            *common,
        ],
    )
    unknown = runner.invoke(
        cli, ["model", "evaluate", "--version", "nope", "--test-from", "2018-04-20", *common]
    )

    assert seen.exit_code == 2
    assert "test-from: 2018-04-01 is before the version's cut-off 2018-04-15" in seen.output
    assert both.exit_code == 2
    assert "--train-until" in both.output
    assert unknown.exit_code == 2
    assert "--version: model version 'nope' not found" in unknown.output
