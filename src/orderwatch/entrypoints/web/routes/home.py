"""Staff home page: the KPI overview (D14, U14, D1), each number a link into the order list.

What needs attention now (at-risk and undelivered orders, counted by
``queries.count_attention``), then, for users holding ``reports:read``, the monthly delay rate
and satisfaction against their targets (charts drawn by Chart.js from a JSON block, by
``static/overview.js``) and the worst lanes and suppliers of the reference month
(``web/overview.py``), then the count of orders in each status.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Query, Request, Response

from orderwatch.adapters.db.queries import count_attention, count_by_status
from orderwatch.adapters.db.users import UserRecord
from orderwatch.bootstrap import App
from orderwatch.domain.errors import ValidationFailed
from orderwatch.domain.kpis import DELAY_TARGET, SATISFACTION_TARGET, MonthBasis
from orderwatch.domain.orders import OrderStatus
from orderwatch.domain.roles import Permission
from orderwatch.entrypoints.api.deps import AppDep, ReadSessionDep
from orderwatch.entrypoints.web.overview import (
    MIN_DELIVERED,
    Overview,
    OverviewCache,
    build_overview,
    parse_basis,
    parse_month,
)
from orderwatch.entrypoints.web.rendering import render, web_state
from orderwatch.entrypoints.web.routing import web_router
from orderwatch.entrypoints.web.security import permissions_of, require

_cache_lock = threading.Lock()


def overview_cache(api: FastAPI) -> OverviewCache:
    """This process's cache, kept on the ASGI app so every app (and test) has its own."""
    with _cache_lock:
        if not hasattr(api.state, "overview_cache"):
            api.state.overview_cache = OverviewCache()
        cache: OverviewCache = api.state.overview_cache
    return cache


def overview_builder(
    application: App, *, basis: MonthBasis, month: str | None, zone: ZoneInfo
) -> Callable[[], Overview]:
    """Computes one overview with its own session and clock reading (it may run in a thread)."""

    def build() -> Overview:
        with application.read_session() as session:
            return build_overview(session, basis=basis, month=month, zone=zone, now=application.clock.now())

    return build


@asynccontextmanager
async def warm_overview(api: FastAPI) -> AsyncIterator[None]:
    """At start-up, compute the overview of each month basis in the background, default first.

    On 100k orders each takes seconds; done here, the first visitor after a restart, and the
    first switch of the month basis, get it at once. (Test clients and ``lifespan="off"``
    servers skip this and compute on first visit.)
    """
    application: App = api.state.orderwatch
    zone = ZoneInfo(application.settings.shop_timezone)
    overview_cache(api).warm([
        ((basis.value, None), overview_builder(application, basis=basis, month=None, zone=zone))
        for basis in MonthBasis  # purchase, the default view, comes first
    ])
    yield
    overview_cache(api).join(timeout=30)


router = web_router()
# Merged into the app's lifespan by ``include_router``.
router.lifespan_context = warm_overview


@router.get("/")
def home(
    request: Request,
    application: AppDep,
    session: ReadSessionDep,
    user: Annotated[UserRecord, require(Permission.orders_read)],
    basis: Annotated[str, Query(max_length=16)] = MonthBasis.purchase.value,
    month: Annotated[str, Query(max_length=7)] = "",
) -> Response:
    now = application.clock.now()
    stale_after = timedelta(hours=application.settings.stale_after_hours)
    by_status = count_by_status(session)
    context: dict[str, object] = {
        "attention": count_attention(session, now=now, stale_after=stale_after),
        "by_status": [(status.value, by_status.get(status.value, 0)) for status in OrderStatus],
        "total": sum(by_status.values()),
        "stale_after_hours": application.settings.stale_after_hours,
        "overview": None,
        "error": None,
    }
    status_code = 200
    try:
        chosen_basis, chosen_month = parse_basis(basis), parse_month(month) if month else None
    except ValidationFailed as error:
        # Show the default view with a message rather than a bare error page.
        context["error"] = error
        status_code = 400
        chosen_basis, chosen_month = MonthBasis.purchase, None
    if Permission.reports_read in permissions_of(user):
        zone = web_state(request).timezone
        build = overview_builder(application, basis=chosen_basis, month=chosen_month, zone=zone)
        overview = overview_cache(request.app).get((chosen_basis.value, chosen_month), build)
        context.update(
            overview=overview,
            chart=overview.chart_series(),
            month_override=chosen_month or "",
            bases=[b.value for b in MonthBasis],
            targets={"delay_rate": DELAY_TARGET, "satisfaction": SATISFACTION_TARGET},
            min_delivered=MIN_DELIVERED,
        )
    return render(request, "home.html", context, status_code=status_code)
