"""Read side of risk flags (D2): the risk queue, an order's flags, counts for the CLI and pages.

The queue ranks open flags by *severity weight × order value* (a critical flag on a 40 BRL
order ranks with a medium one on an 80 BRL order: what is at stake is both), then by flag id.
Paging is keyset on that pair, so a page costs the same wherever it is in the queue; the cursor
is opaque and tamper-checked like the order list's.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from orderwatch.adapters.db.tables import OrderRow, RiskFlagRow
from orderwatch.domain.errors import ValidationFailed
from orderwatch.domain.risk_flags import RiskFlagKind, RiskSeverity

SEVERITY_WEIGHT = {
    RiskSeverity.low: 1,
    RiskSeverity.medium: 2,
    RiskSeverity.high: 3,
    RiskSeverity.critical: 4,
}


@dataclass(frozen=True, slots=True)
class FlagFilter:
    """Filters of the risk queue; empty fields do not filter, fields combine with AND."""

    kind: str | None = None
    severity: str | None = None
    carrier: str | None = None
    origin_region: str | None = None
    destination_region: str | None = None
    order_ref: str | None = None
    include_cleared: bool = False

    def check(self) -> None:
        """Raise :class:`ValidationFailed` naming the first unknown kind or severity."""
        if self.kind and self.kind not in RiskFlagKind.__members__:
            raise ValidationFailed("kind", f"is not one of {', '.join(RiskFlagKind)}", self.kind)
        if self.severity and self.severity not in RiskSeverity.__members__:
            raise ValidationFailed("severity", f"is not one of {', '.join(RiskSeverity)}", self.severity)


@dataclass(frozen=True, slots=True)
class FlagView:
    """One flag with the order facts the queue shows."""

    id: int
    order_ref: str
    kind: str
    severity: str
    cause: str | None
    reason: str
    details: dict[str, Any]
    raised_at: datetime
    updated_at: datetime
    cleared_at: datetime | None
    order_status: str
    value_cents: int
    currency: str
    carrier_code: str | None
    origin_region: str | None
    destination_region: str | None
    promised_at: datetime | None
    rank: int  # severity weight × order value in cents

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None

    @property
    def lane(self) -> str:
        return f"{self.origin_region or '?'} → {self.destination_region or '?'}"


VIEW_FIELDS = tuple(FlagView.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class FlagPage:
    items: list[FlagView]
    next_cursor: str | None


def _rank() -> ColumnElement[int]:
    weight = case({s.value: w for s, w in SEVERITY_WEIGHT.items()}, value=RiskFlagRow.severity, else_=0)
    return weight * OrderRow.value_cents


def _base(rank: ColumnElement[int]) -> Select[Any]:
    return select(
        RiskFlagRow.id, OrderRow.ref, RiskFlagRow.kind, RiskFlagRow.severity, RiskFlagRow.cause,
        RiskFlagRow.reason, RiskFlagRow.details, RiskFlagRow.raised_at, RiskFlagRow.updated_at,
        RiskFlagRow.cleared_at, OrderRow.status, OrderRow.value_cents, OrderRow.currency,
        OrderRow.carrier_code, OrderRow.origin_region, OrderRow.destination_region, OrderRow.promised_at,
        rank.label("rank"),
    ).join(OrderRow, OrderRow.id == RiskFlagRow.order_id)  # fmt: skip


def _filtered(query: Select[Any], flt: FlagFilter) -> Select[Any]:
    flt.check()
    if not flt.include_cleared:
        query = query.where(RiskFlagRow.cleared_at.is_(None))
    conditions = (
        (flt.kind, RiskFlagRow.kind),
        (flt.severity, RiskFlagRow.severity),
        (flt.carrier, OrderRow.carrier_code),
        (flt.origin_region, OrderRow.origin_region),
        (flt.destination_region, OrderRow.destination_region),
        (flt.order_ref, OrderRow.ref),
    )
    for value, column in conditions:
        if value:
            query = query.where(column == value)
    return query


def encode_cursor(rank: int, flag_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([rank, flag_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    """The keyset position in ``cursor``; anything else is a validation error naming it."""
    try:
        rank, flag_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return int(rank), int(flag_id)
    except (ValueError, TypeError) as error:
        raise ValidationFailed("cursor", "is not a cursor returned by this API", cursor) from error


def _view(row: Any) -> FlagView:
    values = dict(zip(VIEW_FIELDS, row, strict=True))
    return FlagView(**{**values, "rank": int(values["rank"] or 0)})


def list_risk_queue(
    session: Session, flt: FlagFilter, *, limit: int = 50, cursor: str | None = None
) -> FlagPage:
    """Flags ranked by severity × order value, highest first (open ones unless asked otherwise)."""
    rank = _rank()
    query = _filtered(_base(rank), flt)
    if cursor:
        after_rank, after_id = decode_cursor(cursor)
        query = query.where(or_(rank < after_rank, and_(rank == after_rank, RiskFlagRow.id < after_id)))
    rows = session.execute(query.order_by(rank.desc(), RiskFlagRow.id.desc()).limit(limit + 1)).all()
    items = [_view(row) for row in rows[:limit]]
    next_cursor = encode_cursor(items[-1].rank, items[-1].id) if len(rows) > limit else None
    return FlagPage(items, next_cursor)


@dataclass(frozen=True, slots=True)
class OrderAtRisk:
    """An order in the risk queue with its matching flags, the most severe first."""

    order_ref: str
    rank: int  # of its most severe flag
    flags: list[FlagView]

    @property
    def top(self) -> FlagView:
        return self.flags[0]


@dataclass(frozen=True, slots=True)
class OrderRiskPage:
    items: list[OrderAtRisk]
    next_cursor: str | None


def list_orders_at_risk(
    session: Session, flt: FlagFilter, *, limit: int = 50, cursor: str | None = None
) -> OrderRiskPage:
    """Orders with matching flags, ranked by their most severe flag's weight × order value.

    One row per order, so an order with three flags is one line with three reasons; keyset
    paging on (rank, order id) like the flat list.
    """
    rank = func.max(_rank())
    grouped: Select[Any] = cast(
        Any, select(OrderRow.id, OrderRow.ref, rank).select_from(RiskFlagRow).join(OrderRow)
    )
    query = _filtered(grouped, flt).group_by(OrderRow.id, OrderRow.ref)
    if cursor:
        after_rank, after_id = decode_cursor(cursor)
        query = query.having(or_(rank < after_rank, and_(rank == after_rank, OrderRow.id < after_id)))
    rows = session.execute(query.order_by(rank.desc(), OrderRow.id.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    flags: dict[str, list[FlagView]] = {ref: [] for _, ref, _ in page}
    if page:
        details = _filtered(_base(_rank()), flt).where(OrderRow.id.in_([order_id for order_id, _, _ in page]))
        for row in session.execute(details.order_by(_rank().desc(), RiskFlagRow.id)):
            view = _view(row)
            flags[view.order_ref].append(view)
    items = [OrderAtRisk(ref, int(order_rank or 0), flags[ref]) for _, ref, order_rank in page]
    last_id, _, last_rank = page[-1] if page else (0, "", 0)
    next_cursor = encode_cursor(int(last_rank or 0), last_id) if len(rows) > limit else None
    return OrderRiskPage(items, next_cursor)


def count_orders_at_risk(session: Session, flt: FlagFilter) -> int:
    query = _filtered(
        select(func.count(func.distinct(RiskFlagRow.order_id))).select_from(RiskFlagRow).join(OrderRow), flt
    )
    return int(session.scalar(query) or 0)


def count_flags(session: Session, flt: FlagFilter) -> int:
    query = _filtered(select(func.count()).select_from(RiskFlagRow).join(OrderRow), flt)
    return int(session.scalar(query) or 0)


def count_open_by(session: Session) -> dict[str, dict[str, int]]:
    """Open flags by kind, then by severity: ``{"stalled": {"high": 3, ...}, ...}``."""
    query = (
        select(RiskFlagRow.kind, RiskFlagRow.severity, func.count())
        .where(RiskFlagRow.cleared_at.is_(None))
        .group_by(RiskFlagRow.kind, RiskFlagRow.severity)
    )
    counts: dict[str, dict[str, int]] = {}
    for kind, severity, number in session.execute(query):
        counts.setdefault(kind, {})[severity] = int(number)
    return counts


def flags_of_order(session: Session, order_ref: str) -> list[FlagView]:
    """Every flag of one order, open ones first, then the most recently changed."""
    query = _filtered(_base(_rank()), FlagFilter(order_ref=order_ref, include_cleared=True))
    rows = session.execute(query.order_by(RiskFlagRow.cleared_at.is_not(None), RiskFlagRow.updated_at.desc()))
    return [_view(row) for row in rows]
