"""The KPI overview behind the staff home page (D14, U14, D1): monthly series and worst groups.

    find_latest_purchase ──▶ reference month (or ?month=YYYY-MM)
            │
            ▼
    find_purchase_span ──▶ load_outcomes (adapters/db/kpi_queries) ──▶ domain.kpis.compute_grouped
                                                                        │ by month (chosen basis)
                                                                        │ by lane / supplier (purchase
                                                                        ▼ month = reference month)
                                                         Overview ──▶ OverviewCache (per process)

Every figure comes from ``domain/kpis.py``; this module only chooses which orders and which
months, ranks the groups and keeps the result for a minute. The worst-lane and worst-supplier
tables always count orders *purchased* in the reference month, whatever the chart's basis, so
that each row's link (a purchase-date range in the order list) shows exactly the orders counted.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from orderwatch.adapters.db.kpi_queries import load_outcomes
from orderwatch.adapters.db.queries import find_latest_purchase, find_purchase_span
from orderwatch.domain.errors import ValidationFailed
from orderwatch.domain.kpis import GROUPINGS, KpiFigures, MonthBasis, OrderOutcome, compute_grouped, month_of

MONTHS_SHOWN = 12
# A lane with three deliveries, one late, would top the list at 33 %: rank only groups with
# enough delivered orders that the rate means something.
MIN_DELIVERED = 20
WORST_SHOWN = 5
CACHE_SECONDS = 60.0
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
CacheKey = tuple[str, str | None]  # (month basis, ?month= or None for the latest)
logger = logging.getLogger(__name__)


# ------------------------------------------------------------------ months


def parse_month(text: str) -> str:
    """``text`` if it is a ``YYYY-MM`` month, else :class:`ValidationFailed`."""
    if not _MONTH.match(text):
        raise ValidationFailed("month", "is not a month (YYYY-MM)", text)
    return text


def parse_basis(text: str) -> MonthBasis:
    """The month basis named ``text`` (purchase, promise, delivery)."""
    try:
        return MonthBasis(text)
    except ValueError:
        raise ValidationFailed("basis", "must be purchase, promise or delivery", text) from None


def shift_month(key: str, months: int) -> str:
    """The month ``months`` after (or before, if negative) the ``YYYY-MM`` month ``key``."""
    year, month = int(key[:4]), int(key[5:])
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_start(key: str, zone: ZoneInfo) -> datetime:
    """Midnight of the first day of ``key`` in the shop's zone (months are the shop's months)."""
    return datetime(int(key[:4]), int(key[5:]), 1, tzinfo=zone)


def month_key(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m")


def month_days(key: str, zone: ZoneInfo) -> tuple[date, date]:
    """The first and last calendar day of ``key`` (the order list's inclusive date filters)."""
    first = month_start(key, zone)
    last = month_start(shift_month(key, 1), zone) - timedelta(days=1)
    return first.date(), last.date()


# ------------------------------------------------------------------ view model


@dataclass(frozen=True, slots=True)
class MonthPoint:
    """One month of the charts; ``figures`` is ``None`` when no order falls in it."""

    month: str
    figures: KpiFigures | None
    is_partial: bool


@dataclass(frozen=True, slots=True)
class RankedGroup:
    """One row of a worst-lanes or worst-suppliers table, with its order-list filters."""

    key: str
    figures: KpiFigures
    filters: Mapping[str, str]

    def orders_url(self, **extra: str) -> str:
        """The order list of this group's orders, narrowed by ``extra`` filters."""
        return "/orders?" + urlencode({**self.filters, **extra})

    @property
    def delivered_url(self) -> str:
        return self.orders_url(status="delivered")

    @property
    def late_url(self) -> str:
        # Same rule as the KPI: a delivered order whose delivery came after the promise.
        return self.orders_url(status="delivered", lateness="late")


@dataclass(frozen=True, slots=True)
class Overview:
    """Everything the home page's KPI part shows; ``reference_month`` is ``None`` without orders."""

    basis: MonthBasis
    reference_month: str | None
    months: list[MonthPoint] = field(default_factory=list)
    worst_lanes: list[RankedGroup] = field(default_factory=list)
    worst_suppliers: list[RankedGroup] = field(default_factory=list)

    @property
    def reference(self) -> MonthPoint | None:
        return next((p for p in self.months if p.month == self.reference_month), None)

    @property
    def previous(self) -> MonthPoint | None:
        """The month before the reference month: beside a partial month, the last whole one."""
        if self.reference_month is None:
            return None
        before = shift_month(self.reference_month, -1)
        return next((p for p in self.months if p.month == before), None)

    def chart_series(self) -> dict[str, object]:
        """The charts' numbers as JSON-ready lists, ``None`` for a gap (never a zero)."""
        def series(read: Callable[[KpiFigures], float | None]) -> list[float | None]:
            return [None if p.figures is None else read(p.figures) for p in self.months]

        return {
            "months": [p.month for p in self.months],
            "partial": [p.is_partial for p in self.months],
            "delay_rate": series(lambda f: f.delay_rate),
            "delay_rate_by_day": series(lambda f: f.delay_rate_by_day),
            "satisfaction": series(lambda f: f.satisfaction),
            "response_rate": series(lambda f: f.response_rate),
        }


# ------------------------------------------------------------------ building


def _rank(groups: Mapping[str, KpiFigures], filters: Callable[[str], dict[str, str]]) -> list[RankedGroup]:
    eligible = [
        (key, figures) for key, figures in groups.items()
        if figures.delay_rate is not None and figures.delivered_with_promise >= MIN_DELIVERED
    ]
    eligible.sort(key=lambda item: (-(item[1].delay_rate or 0.0), -item[1].late, item[0]))
    return [RankedGroup(key, figures, filters(key)) for key, figures in eligible[:WORST_SHOWN]]


def _load_window(
    session: Session, *, basis: MonthBasis, first: str, reference: str, zone: ZoneInfo
) -> list[OrderOutcome]:
    """The outcomes of every order the charts and the reference month need, and few others."""
    start, end = month_start(first, zone), month_start(shift_month(reference, 1), zone)
    low, high = month_start(reference, zone), end
    span = find_purchase_span(session, basis=basis, start=start, end=end)
    if span is not None:
        # ``purchased_until`` is exclusive: step past the last purchase found.
        low, high = min(low, span[0]), max(high, span[1] + timedelta(microseconds=1))
    return load_outcomes(session, purchased_from=low, purchased_until=high)


def build_overview(
    session: Session, *, basis: MonthBasis, month: str | None, zone: ZoneInfo, now: datetime
) -> Overview:
    """The overview for ``month`` (default: the month of the newest purchase) on ``basis``."""
    if month is None:
        latest = find_latest_purchase(session)
        if latest is None:
            return Overview(basis=basis, reference_month=None)
        month = month_key(latest, zone)
    first = shift_month(month, -(MONTHS_SHOWN - 1))
    outcomes = _load_window(session, basis=basis, first=first, reference=month, zone=zone)
    by_month = compute_grouped(outcomes, lambda o: month_of(o, basis, zone), local=zone)
    keys = [shift_month(first, n) for n in range(MONTHS_SHOWN)]
    # "The last twelve months with data": a young shop's chart starts at its first month.
    keys = keys[next((i for i, k in enumerate(keys) if k in by_month), MONTHS_SHOWN - 1):]
    current = month_key(now, zone)
    points = [MonthPoint(k, by_month.get(k), is_partial=k == current) for k in keys]

    # A range test, not month_of() per order: the same months, a tenth of the time on 100k orders.
    start, end = month_start(month, zone), month_start(shift_month(month, 1), zone)
    purchased = [o for o in outcomes if start <= o.purchased_at < end]
    first_day, last_day = month_days(month, zone)
    days = {"purchased_from": first_day.isoformat(), "purchased_until": last_day.isoformat()}

    def lane_filters(lane: str) -> dict[str, str]:
        origin, _, destination = lane.partition("→")  # the lane key of kpi_queries.load_outcomes
        return {"origin": origin, "region": destination, **days}

    return Overview(
        basis=basis,
        reference_month=month,
        months=points,
        worst_lanes=_rank(compute_grouped(purchased, GROUPINGS["lane"], local=zone), lane_filters),
        worst_suppliers=_rank(
            compute_grouped(purchased, GROUPINGS["supplier"], local=zone),
            lambda supplier: {"supplier": supplier, **days},
        ),
    )


# ------------------------------------------------------------------ cache


class OverviewCache:
    """Computed overviews, fresh for ``ttl`` seconds, per process; stale ones refresh behind.

    On 100k orders the figures take seconds to compute (reading a year of orders) and barely
    move within a minute. So a visitor gets the kept overview at once; when it is older than
    ``ttl`` they still get it, and one background thread computes the next (stale-while-
    revalidate). Only the first visit per process and view waits, and concurrent first visits
    compute once (``_build_lock``). The live counts of the page are not cached.
    """

    def __init__(self, ttl: float = CACHE_SECONDS, *, max_entries: int = 32) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[CacheKey, tuple[float, Overview]] = {}
        self._refreshing: set[CacheKey] = set()
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def get(self, key: CacheKey, build: Callable[[], Overview]) -> Overview:
        """The overview for ``key``; ``build`` must open its own session (it may run in a thread)."""
        kept = self._kept(key, build)
        if kept is not None:
            return kept
        with self._build_lock:
            kept = self._kept(key, build)  # another visitor may have built it meanwhile
            if kept is not None:
                return kept
            overview = build()
            self._store(key, overview)
            return overview

    def warm(self, views: Sequence[tuple[CacheKey, Callable[[], Overview]]]) -> None:
        """Compute ``views`` one after the other in a background thread.

        One thread, not one per view: on a small machine they would only compete for the
        same cores (and the GIL) with the visitors' requests. A visitor asking for a view being
        computed waits for it instead of computing it again.
        """
        def run() -> None:
            for key, build in views:
                try:
                    self.get(key, build)
                except Exception:
                    logger.exception("computing the overview %s at start-up failed", key)

        self._start(run, name="overview-warm")

    def _kept(self, key: CacheKey, build: Callable[[], Overview]) -> Overview | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if time.monotonic() - entry[0] >= self.ttl and key not in self._refreshing:
                self._refreshing.add(key)
                self._start(lambda: self._refresh(key, build), name="overview-refresh")
            return entry[1]

    def _start(self, target: Callable[[], None], *, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def join(self, timeout: float) -> None:
        """Wait for background computations, so shutdown never pulls the database from under them."""
        for thread in list(self._threads):
            thread.join(timeout)

    def _refresh(self, key: CacheKey, build: Callable[[], Overview]) -> None:
        try:
            self._store(key, build())
        except Exception:
            # Keep serving the older figures; the next visit after the TTL tries again.
            logger.exception("refreshing the overview %s failed", key)
        finally:
            with self._lock:
                self._refreshing.discard(key)

    def _store(self, key: CacheKey, overview: Overview) -> None:
        with self._lock:
            if key not in self._entries and len(self._entries) >= self.max_entries:
                # ?month= can name any month: drop the oldest entry rather than grow without bound.
                del self._entries[min(self._entries, key=lambda k: self._entries[k][0])]
            self._entries[key] = (time.monotonic(), overview)
