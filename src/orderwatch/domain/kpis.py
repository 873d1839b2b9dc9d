"""The KPIs of the source documents, defined once (D14, U14, issue 3).

Definitions (every report, page and test uses these functions and nothing else):

* **Delay rate** — among *delivered orders that have a promised date*, the share delivered after
  the promise. ``by_timestamp`` compares the instants (the default, Olist: 8.11 %);
  ``by_calendar_day`` compares local calendar days (Olist: 6.77 %). Both are always reported.
* **Not delivered** — share of all orders of the period in each non-delivered status.
* **Delivery time** — purchase → delivery in days, median and 90th percentile, delivered orders.
* **Satisfaction (CSAT)** — among orders *with a rating*, the share scoring 4 or 5. The response
  rate (rated / all orders of the group) is shown beside it; non-respondents are never counted as
  satisfied. An order rated several times counts with its mean score.
* **Response time (U14)** — incident report → first customer contact, median in wall-clock minutes
  over orders with a contacted incident (the order's first one); ``None`` when there is none.

"No data" is ``None``, never 0 % or 100 % (ANCHORS §7, Odoo's "No data" vs 100 % bug).
A month is attributed by purchase date by default; the promise-month and delivery-month views
are selectable (``MonthBasis``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from enum import StrEnum

DELAY_TARGET = 0.05
SATISFACTION_TARGET = 0.85
SATISFIED_SCORES = frozenset({4, 5})


class MonthBasis(StrEnum):
    """Which date puts an order into a month."""

    purchase = "purchase"
    promise = "promise"
    delivery = "delivery"


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """What the KPIs need to know about one order."""

    status: str
    purchased_at: datetime
    promised_at: datetime | None
    delivered_at: datetime | None
    review_score: float | None = None
    carrier: str | None = None
    lane: str | None = None
    supplier: str | None = None
    region: str | None = None
    # U14: minutes from the order's first incident report to its first customer contact (wall time).
    response_minutes: float | None = None


@dataclass(frozen=True, slots=True)
class KpiFigures:
    """The KPI values of one group; ``None`` means no data."""

    orders: int
    delivered: int
    delivered_with_promise: int
    late: int
    late_by_day: int
    delay_rate: float | None
    delay_rate_by_day: float | None
    not_delivered: dict[str, float]
    median_delivery_days: float | None
    p90_delivery_days: float | None
    rated: int
    satisfied: int
    satisfaction: float | None
    response_rate: float | None
    mean_score_late: float | None
    mean_score_on_time: float | None
    response_minutes_median: float | None = None

    @property
    def meets_delay_target(self) -> bool | None:
        return None if self.delay_rate is None else self.delay_rate < DELAY_TARGET

    @property
    def meets_satisfaction_target(self) -> bool | None:
        return None if self.satisfaction is None else self.satisfaction > SATISFACTION_TARGET


def quantile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolation quantile (numpy's default) of ``values``; ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass
class _Tally:
    orders: int = 0
    delivered: int = 0
    with_promise: int = 0
    late: int = 0
    late_by_day: int = 0
    not_delivered: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    days: list[float] = field(default_factory=list)
    rated: int = 0
    satisfied: int = 0
    scores_late: list[float] = field(default_factory=list)
    scores_on_time: list[float] = field(default_factory=list)
    response_minutes: list[float] = field(default_factory=list)

    def add(self, outcome: OrderOutcome, local: tzinfo) -> None:
        self.orders += 1
        if outcome.response_minutes is not None:
            self.response_minutes.append(outcome.response_minutes)
        if outcome.review_score is not None:
            self.rated += 1
            self.satisfied += round(outcome.review_score) in SATISFIED_SCORES
        if outcome.delivered_at is None or outcome.status != "delivered":
            self.not_delivered[outcome.status] += 1
            return
        self.delivered += 1
        self.days.append((outcome.delivered_at - outcome.purchased_at).total_seconds() / 86400)
        late = None
        if outcome.promised_at is not None:
            self.with_promise += 1
            late = outcome.delivered_at > outcome.promised_at
            self.late += late
            local_delivered = outcome.delivered_at.astimezone(local).date()
            self.late_by_day += local_delivered > outcome.promised_at.astimezone(local).date()
        if outcome.review_score is not None and late is not None:
            (self.scores_late if late else self.scores_on_time).append(outcome.review_score)

    def figures(self) -> KpiFigures:
        return KpiFigures(
            orders=self.orders,
            delivered=self.delivered,
            delivered_with_promise=self.with_promise,
            late=self.late,
            late_by_day=self.late_by_day,
            delay_rate=_ratio(self.late, self.with_promise),
            delay_rate_by_day=_ratio(self.late_by_day, self.with_promise),
            not_delivered={k: v / self.orders for k, v in sorted(self.not_delivered.items())},
            median_delivery_days=quantile(self.days, 0.5),
            p90_delivery_days=quantile(self.days, 0.9),
            rated=self.rated,
            satisfied=self.satisfied,
            satisfaction=_ratio(self.satisfied, self.rated),
            response_rate=_ratio(self.rated, self.orders),
            mean_score_late=_mean(self.scores_late),
            mean_score_on_time=_mean(self.scores_on_time),
            response_minutes_median=quantile(self.response_minutes, 0.5),
        )


def month_of(outcome: OrderOutcome, basis: MonthBasis, local: tzinfo) -> str | None:
    """The ``YYYY-MM`` an order counts in, in the shop's time zone; ``None`` if the date is missing."""
    moment = {
        MonthBasis.purchase: outcome.purchased_at,
        MonthBasis.promise: outcome.promised_at,
        MonthBasis.delivery: outcome.delivered_at,
    }[basis]
    return None if moment is None else moment.astimezone(local).strftime("%Y-%m")


def compute(outcomes: Iterable[OrderOutcome], *, local: tzinfo) -> KpiFigures:
    """KPIs over all ``outcomes``."""
    tally = _Tally()
    for outcome in outcomes:
        tally.add(outcome, local)
    return tally.figures()


def compute_grouped(
    outcomes: Iterable[OrderOutcome], key: Callable[[OrderOutcome], str | None], *, local: tzinfo
) -> dict[str, KpiFigures]:
    """KPIs per group; outcomes whose key is ``None`` are left out."""
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    for outcome in outcomes:
        group = key(outcome)
        if group is not None:
            tallies[group].add(outcome, local)
    return {group: tallies[group].figures() for group in sorted(tallies)}


GROUPINGS: dict[str, Callable[[OrderOutcome], str | None]] = {
    "carrier": lambda o: o.carrier,
    "lane": lambda o: o.lane,
    "supplier": lambda o: o.supplier,
    "region": lambda o: o.region,
}
