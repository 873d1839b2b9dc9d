"""Staff order pages (D1, U11): the filtered order list and one order with its timeline.

The list is a GET form, so every filtered view is a link that can be shared or bookmarked;
with HTMX a filter change swaps only the results (the server answers ``HX-Request`` with the
results fragment) and pushes the URL. Paging is by cursor (``adapters/db/queries.py``).
Customer contact data is masked unless the user holds ``customers:read_pii``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from orderwatch.adapters.db.models_store import predictions_of_order
from orderwatch.adapters.db.queries import OrderFilter, count_orders, get_order_detail, list_orders
from orderwatch.adapters.db.remedy_offers import SqlRemedyOfferStore
from orderwatch.adapters.db.remedy_queries import order_links
from orderwatch.adapters.db.risk_queries import flags_of_order
from orderwatch.adapters.db.users import UserRecord
from orderwatch.domain.errors import ValidationFailed
from orderwatch.domain.orders import OrderStatus
from orderwatch.domain.roles import Permission
from orderwatch.entrypoints.api.deps import AppDep, ReadSessionDep
from orderwatch.entrypoints.web.choices import ATTENTION, LATENESS
from orderwatch.entrypoints.web.incident_views import OFFER
from orderwatch.entrypoints.web.masking import customer_view
from orderwatch.entrypoints.web.rendering import is_htmx, render, web_state
from orderwatch.entrypoints.web.routes.risk import flag_card
from orderwatch.entrypoints.web.routing import web_router
from orderwatch.entrypoints.web.security import permissions_of, require

router = web_router()
PAGE_SIZE = 50
OrdersReader = Annotated[UserRecord, require(Permission.orders_read)]


class FilterForm(BaseModel):
    """The list form as typed, echoed back into the inputs and into paging links."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    status: str = Field("", max_length=32)
    lateness: str = Field("", max_length=16)
    attention: str = Field("", max_length=16)
    carrier: str = Field("", max_length=64)
    supplier: str = Field("", max_length=64)
    origin: str = Field("", max_length=64)
    region: str = Field("", max_length=64)
    purchased_from: str = Field("", max_length=10)
    purchased_until: str = Field("", max_length=10)
    q: str = Field("", max_length=64)

    def query(self, **extra: str) -> str:
        """The form as a query string (empty fields left out), plus ``extra``."""
        pairs = {key: value for key, value in self.model_dump().items() if value}
        return urlencode({**pairs, **extra})


def _day_start(text: str, field: str, zone: ZoneInfo) -> datetime | None:
    """Midnight of the typed day in the shop's zone (staff mean the shop's calendar day)."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(field, "is not a date (YYYY-MM-DD)", text) from None
    return datetime.combine(day, time(), tzinfo=zone)


def _order_filter(form: FilterForm, zone: ZoneInfo, *, stale_after: timedelta) -> OrderFilter:
    if form.status and form.status not in OrderStatus.__members__:
        raise ValidationFailed("status", "is not an order status", form.status)
    if form.lateness and form.lateness not in LATENESS:
        raise ValidationFailed("lateness", "must be late, on_time or overdue", form.lateness)
    if form.attention and form.attention not in ATTENTION:
        raise ValidationFailed("attention", "is not an attention filter", form.attention)
    until = _day_start(form.purchased_until, "purchased_until", zone)
    return OrderFilter(
        status=(form.status,) if form.status else (),
        lateness=form.lateness or None,
        attention=form.attention or None,
        stale_after=stale_after,
        carrier=form.carrier or None,
        supplier=form.supplier or None,
        origin_region=form.origin or None,
        region=form.region or None,
        purchased_from=_day_start(form.purchased_from, "purchased_from", zone),
        # "until" includes the whole day typed, and the query's bound is exclusive.
        purchased_until=until + timedelta(days=1) if until is not None else None,
        search=form.q or None,
    )


@router.get("/orders")
def order_list(
    request: Request,
    application: AppDep,
    session: ReadSessionDep,
    user: OrdersReader,
    form: Annotated[FilterForm, Query()],
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    now = application.clock.now()
    context: dict[str, object] = {"form": form, "cursor": cursor, "page": None, "count": None, "error": None}
    status = 200
    try:
        stale_after = timedelta(hours=application.settings.stale_after_hours)
        flt = _order_filter(form, web_state(request).timezone, stale_after=stale_after)
        page = list_orders(session, flt, now=now, limit=PAGE_SIZE, cursor=cursor)
        context.update(page=page, count=count_orders(session, flt, now=now))
        if page.next_cursor:
            context["next_url"] = "/orders?" + form.query(cursor=page.next_cursor)
    except ValidationFailed as error:
        context["error"] = error
        status = 400
    template = "orders/_results.html" if is_htmx(request) else "orders/list.html"
    return render(request, template, context, status_code=status)


@router.get("/orders/{ref}")
def order_detail(
    request: Request,
    application: AppDep,
    session: ReadSessionDep,
    user: OrdersReader,
    ref: str,
) -> Response:
    detail = get_order_detail(session, ref, now=application.clock.now())
    can_read_pii = Permission.customers_read_pii in permissions_of(user)
    context: dict[str, object] = {
        "order": detail,
        "customer": customer_view(detail.customer, can_read_pii=can_read_pii),
        "risk_flags": [flag_card(flag) for flag in flags_of_order(session, ref)],
        "predictions": predictions_of_order(session, ref),
        "links": order_links(session, ref),  # reshipment of / reshipped as (issue 5, U6)
        # The customer's decisions on remedy offers are recorded on the order (D5, U6).
        "offers": SqlRemedyOfferStore(session).of_order(detail.summary.id),
        "OFFER": OFFER,
    }
    return render(request, "orders/detail.html", context)
