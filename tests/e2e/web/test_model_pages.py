"""The delay model's evaluation pages ``/models`` (D2, D10): stored figures, roles, activation.

A real model is trained once on a synthetic history; its held-out evaluation (stored with the
version, ``adapters/ml/holdout.py``) is what the pages must show, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orderwatch.adapters.ml.dataset import from_days
from orderwatch.adapters.ml.model import DelayModel, train
from orderwatch.adapters.ml.scorer import dumps
from orderwatch.bootstrap import App
from orderwatch.services.ports import ModelEvaluation, ModelVersionInfo
from orderwatch.services.prediction import list_models, record_evaluation, register_model
from tests.e2e.web.conftest import csrf_of
from tests.ml_frames import BASE, synthetic_history

CUTOFF = BASE + 240


@pytest.fixture(scope="module")
def trained() -> DelayModel:
    return train(synthetic_history(5, 3_000, days=240), until=CUTOFF, promise_quantile=0.9, fast=True)


def _store(app: App, model: DelayModel, version: str, *, active: bool, metrics: dict[str, Any]) -> None:
    now = app.clock.now()
    info = ModelVersionInfo(version, from_days(CUTOFF), model.n_train, metrics, False, now)
    register_model(app.uow(), info, dumps(model), activate=active, now=now)


@pytest.fixture
def stored(app: App, trained: DelayModel) -> dict[str, Any]:
    """Two versions: an older one without an evaluation (active), the trained one (inactive)."""
    _store(app, trained, "20170101-old00000", active=True, metrics={})
    _store(app, trained, "20180728-new11111", active=False, metrics=dict(trained.metrics))
    evaluation: dict[str, Any] = trained.metrics["evaluation"]
    return evaluation


def _number(value: float, digits: int) -> str:
    return f"{round(value, digits):,}".rstrip("0").rstrip(".")


def test_list_shows_versions_their_figures_and_the_active_one(
    stored: dict[str, Any], signed_in: Callable[..., TestClient]
) -> None:
    html = signed_in("cs_agent").get("/models").text

    new_row = html.split('data-version="20180728-new11111"')[1].split("</tr>")[0]
    old_row = html.split('data-version="20170101-old00000"')[1].split("</tr>")[0]
    assert _number(stored["late_auc_at_purchase"], 3) in new_row
    assert _number(stored["eta_mae_days_at_purchase"], 1) in new_row
    assert 'id="active-version"' in old_row
    assert "Active" in old_row
    assert "Inactive" in new_row
    assert "Make active" not in html
    assert '<a href="/models" aria-current="page">' in html


def test_detail_page_renders_the_stored_evaluation(
    stored: dict[str, Any], signed_in: Callable[..., TestClient]
) -> None:
    html = signed_in("leadership").get("/models/20180728-new11111").text

    data = json.loads(re.search(r'id="calibration-data">(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
    assert data["calibration"] == stored["calibration"]
    assert len(data["calibration"]["purchase"]) == 10
    months = re.findall(r'<tr data-key="(\d{4}-\d{2})">', html)
    assert months == [m["month"] for m in stored["by_month"]]
    lanes = re.findall(r'<tr data-key="([A-Z]{2} → [A-Z]{2})">', html)
    assert lanes == [lane["lane"] for lane in stored["by_lane"]]
    assert lanes
    policy = html.split('id="policy"')[1].split("</table>")[0]
    assert _number(stored["policy_mean_promise_days"], 1) in policy
    assert _number(stored["promise_mean_promise_days"], 1) in policy
    assert f"{stored['policy_late_rate']:.1%}" in policy
    assert "/assets/chart.umd.min.js" in html


def test_version_without_evaluation_says_so(
    stored: dict[str, Any], signed_in: Callable[..., TestClient]
) -> None:
    html = signed_in("cs_agent").get("/models/20170101-old00000").text

    assert 'id="no-evaluation"' in html
    assert "calibration-data" not in html


def test_unknown_version_is_404(stored: dict[str, Any], signed_in: Callable[..., TestClient]) -> None:
    assert signed_in("cs_agent").get("/models/nope").status_code == 404


def test_only_admin_may_activate(
    app: App, stored: dict[str, Any], signed_in: Callable[..., TestClient]
) -> None:
    agent = signed_in("logistics_agent")
    page = agent.get("/models/20180728-new11111").text
    assert "Make active" not in page

    refused = agent.post("/models/20180728-new11111/activate", data={"csrf_token": csrf_of(page)})

    assert refused.status_code == 403
    assert [v.version for v in list_models(app.uow()) if v.is_active] == ["20170101-old00000"]


def test_admin_activates_a_version_from_its_page(
    app: App, stored: dict[str, Any], signed_in: Callable[..., TestClient]
) -> None:
    admin = signed_in("admin")
    page = admin.get("/models/20180728-new11111").text
    assert "Make active" in page

    done = admin.post("/models/20180728-new11111/activate", data={"csrf_token": csrf_of(page)})

    assert done.status_code == 303
    assert done.headers["location"] == "/models/20180728-new11111"
    assert [v.version for v in list_models(app.uow()) if v.is_active] == ["20180728-new11111"]
    listing = admin.get("/models").text
    assert 'id="active-version"' in listing.split('data-version="20180728-new11111"')[1].split("</tr>")[0]


def test_model_pages_in_chinese(stored: dict[str, Any], signed_in: Callable[..., TestClient]) -> None:
    client = signed_in("cs_agent", language="zh_CN")

    assert "交付预测模型" in client.get("/models").text
    detail = client.get("/models/20180728-new11111").text
    assert "校准" in detail
    assert "按月份" in detail


def _run(app: App, version: str | None, result: dict[str, Any]) -> int:
    now = app.clock.now()
    start, end = from_days(CUTOFF), from_days(CUTOFF + 60)
    run = ModelEvaluation(version, start, start, end, "none" if version else "monthly", result, now)
    return record_evaluation(app.uow(), run)


def test_stored_evaluate_runs_show_on_their_versions_page_and_the_others_on_the_list(
    app: App, stored: dict[str, Any], signed_in: Callable[..., TestClient]
) -> None:
    # The figures a `model evaluate` run prints have the same shape as the held-out ones.
    older = _run(app, "20180728-new11111", stored | {"n_test": 111})
    newer = _run(app, "20180728-new11111", stored | {"n_test": 222})
    unlinked = _run(app, None, stored | {"n_test": 333})
    client = signed_in("cs_agent")

    detail = client.get("/models/20180728-new11111").text
    listing = client.get("/models").text
    other = client.get("/models/20170101-old00000").text

    runs = detail.split('id="evaluation-runs"')[1].split("</table>")[0]
    assert re.findall(r'data-run="(\d+)"', runs) == [str(newer), str(older)]  # newest first
    orders = re.findall(r'data-label="Orders">([\d,]+)<', runs)
    assert orders == ["222", "111"]
    assert _number(stored["late_auc_at_purchase"], 3) in runs
    months = re.findall(r'<tr data-key="(\d{4}-\d{2})">', detail.split('id="run-by-month"')[1])
    assert months[: len(stored["by_month"])] == [m["month"] for m in stored["by_month"]]
    assert re.findall(r'data-run="(\d+)"', listing) == [str(unlinked)]
    assert "evaluation-runs" not in other
