"""The delay model's evaluation pages ``/models`` and ``/models/<version>`` (D2, D10).

Every figure comes from the evaluation stored with the version at train time
(``model_versions.metrics["evaluation"]``: its time-held-out slice, ``adapters/ml/holdout.py``)
or from stored ``orderwatch model evaluate`` runs (``model_evaluations``: a version's own runs on
its page, the runs that trained their own models on ``/models``); nothing is recomputed on page
load. The calibration plot is drawn by Chart.js from the page's
JSON block (``static/models.js``), with the same figures in a table for screen readers and
no-JS. Anyone with ``reports:read`` may look; only ``models:manage`` (admin) may switch the
active version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from orderwatch.adapters.db.models_store import model_evaluations, model_versions
from orderwatch.adapters.db.users import UserRecord
from orderwatch.domain.errors import NotFound
from orderwatch.domain.roles import Permission
from orderwatch.entrypoints.api.deps import AppDep, ReadSessionDep
from orderwatch.entrypoints.web.rendering import render
from orderwatch.entrypoints.web.routing import web_router
from orderwatch.entrypoints.web.security import permissions_of, require
from orderwatch.services.ports import ModelVersionInfo
from orderwatch.services.prediction import activate_model

router = web_router()
Reader = Annotated[UserRecord, require(Permission.reports_read)]
Manager = Annotated[UserRecord, require(Permission.models_manage)]


SUMMARY_KEYS = (
    "late_auc_at_purchase",
    "late_auc_at_handoff",
    "eta_mae_days_at_purchase",
    "eta_mae_days_at_handoff",
    "promise_mae_days",
    "p90_coverage_at_purchase",
    "p90_coverage_at_handoff",
    "policy_late_rate",
    "policy_mean_promise_days",
    "promise_late_rate",
    "promise_mean_promise_days",
    "promise_quantile",
    "n_test",
)


def _moment(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def evaluation_of(info: ModelVersionInfo) -> dict[str, Any]:
    """The stored evaluation of a version, every figure present (None: not measured).

    ``measured`` is false for versions stored without one, or trained on too little history
    for a slice the estimators had not seen.
    """
    stored = info.metrics.get("evaluation")
    stored = stored if isinstance(stored, dict) else {}
    evaluation: dict[str, Any] = dict.fromkeys(SUMMARY_KEYS) | {"by_month": [], "by_lane": []} | stored
    evaluation["measured"] = bool(stored) and not stored.get("in_sample") and "by_month" in stored
    evaluation["in_sample"] = bool(stored.get("in_sample"))
    evaluation["slice_from"] = _moment(stored.get("slice_from"))
    evaluation["slice_until"] = _moment(stored.get("slice_until"))
    calibration = stored.get("calibration")
    evaluation["calibration"] = calibration if isinstance(calibration, dict) else {}
    return evaluation


@router.get("/models")
def model_list(request: Request, session: ReadSessionDep, user: Reader) -> Response:
    versions = model_versions(session)
    context = {
        "versions": [(info, evaluation_of(info)) for info in versions],
        "runs": model_evaluations(session, version=None),
        "can_activate": Permission.models_manage in permissions_of(user),
    }
    return render(request, "models/list.html", context)


@router.get("/models/{version}")
def model_page(request: Request, session: ReadSessionDep, user: Reader, version: str) -> Response:
    found = model_versions(session, version=version)
    if not found:
        raise NotFound("model version", version)
    info = found[0]
    evaluation = evaluation_of(info)
    context = {
        "info": info,
        "evaluation": evaluation,
        "calibration": evaluation["calibration"],
        "runs": model_evaluations(session, version=info.version),
        "can_activate": Permission.models_manage in permissions_of(user),
    }
    return render(request, "models/detail.html", context)


@router.post("/models/{version}/activate")
async def activate(request: Request, application: AppDep, user: Manager, version: str) -> Response:
    await run_in_threadpool(activate_model, application.uow(), version, application.clock)
    return RedirectResponse("/models/" + quote(version, safe=""), status_code=303)
