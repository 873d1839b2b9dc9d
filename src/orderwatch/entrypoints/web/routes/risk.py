"""The risk queue page ``/risk`` (D2): orders with open flags, highest severity × order value first.

Staff see why each order needs attention in their own language: the stored reason is English,
and the page rebuilds it from the flag's ``reason_code`` and dates (``templates/risk/_flag.html``),
falling back to the stored text for flags it does not know (the delay model's). The list is a
GET form like the order list, so every filtered view is a shareable link; paging is by cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from orderwatch.adapters.db.risk_queries import (
    FlagFilter,
    FlagView,
    count_orders_at_risk,
    list_orders_at_risk,
)
from orderwatch.adapters.db.users import UserRecord
from orderwatch.domain.errors import ValidationFailed
from orderwatch.domain.risk_flags import RiskFlagKind, RiskSeverity
from orderwatch.domain.roles import Permission
from orderwatch.entrypoints.api.deps import ReadSessionDep
from orderwatch.entrypoints.web.rendering import render
from orderwatch.entrypoints.web.routing import web_router
from orderwatch.entrypoints.web.security import require

router = web_router()
PAGE_SIZE = 50
RiskReader = Annotated[UserRecord, require(Permission.orders_read)]
# The moment each kind's reason names, kept in ``details`` by the detectors (domain/detectors.py).
MOMENT_KEY = {
    RiskFlagKind.promise_passed: "promised_at",
    RiskFlagKind.stalled: "last_scan_at",
    RiskFlagKind.carrier_exception: "status_at",
    RiskFlagKind.dispatch_missed: "deadline",
}


@dataclass(frozen=True, slots=True)
class FlagCard:
    """A flag as the pages show it: the row plus what the translated reason needs."""

    flag: FlagView
    code: str | None
    moment: datetime | None
    band_days: int
    lane: str
    supplier: str


def _moment(details: dict[str, Any], kind: str) -> datetime | None:
    key = MOMENT_KEY.get(RiskFlagKind(kind)) if kind in RiskFlagKind.__members__ else None
    value = details.get(key) if key else None
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def flag_card(flag: FlagView) -> FlagCard:
    """What the reason macro needs from one flag (tolerant of details it does not know)."""
    details = flag.details or {}
    code = details.get("reason_code")
    return FlagCard(
        flag=flag,
        code=code if isinstance(code, str) else None,
        moment=_moment(details, flag.kind),
        band_days=int(details.get("band_days") or 0),
        lane=str(details.get("lane") or flag.lane),
        supplier=str(details.get("supplier_ref") or "?"),
    )


class QueueForm(BaseModel):
    """The queue's filters as typed, echoed back into the inputs and paging links."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    kind: str = Field("", max_length=32)
    severity: str = Field("", max_length=16)
    carrier: str = Field("", max_length=64)
    origin: str = Field("", max_length=64)
    region: str = Field("", max_length=64)

    def to_filter(self) -> FlagFilter:
        flt = FlagFilter(
            kind=self.kind or None,
            severity=self.severity or None,
            carrier=self.carrier or None,
            origin_region=self.origin or None,
            destination_region=self.region or None,
        )
        flt.check()
        return flt

    def query(self, **extra: str) -> str:
        pairs = {key: value for key, value in self.model_dump().items() if value}
        return urlencode({**pairs, **extra})


@router.get("/risk")
def risk_queue(
    request: Request,
    session: ReadSessionDep,
    user: RiskReader,
    form: Annotated[QueueForm, Query()],
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    context: dict[str, object] = {
        "form": form,
        "cursor": cursor,
        "orders": None,
        "count": None,
        "error": None,
        "kinds": list(RiskFlagKind),
        "severities": list(RiskSeverity),
    }
    status = 200
    try:
        flt = form.to_filter()
        page = list_orders_at_risk(session, flt, limit=PAGE_SIZE, cursor=cursor)
        orders = [(item, [flag_card(f) for f in item.flags]) for item in page.items]
        context.update(orders=orders, count=count_orders_at_risk(session, flt))
        if page.next_cursor:
            context["next_url"] = "/risk?" + form.query(cursor=page.next_cursor)
    except ValidationFailed as error:
        context["error"] = error
        status = 400
    return render(request, "risk/list.html", context, status_code=status)
