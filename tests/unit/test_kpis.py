"""KPI definitions and their edge cases (D14): no data is None, never 0 % or 100 %."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from orderwatch.domain.kpis import MonthBasis, OrderOutcome, compute, compute_grouped, month_of, quantile

SP = ZoneInfo("America/Sao_Paulo")
T0 = datetime(2018, 3, 10, 15, 0, tzinfo=UTC)


def outcome(
    *,
    delivered_after: timedelta | None = timedelta(days=5),
    promise: timedelta | None = timedelta(days=10),
    score: float | None = None,
    status: str | None = None,
    purchased_at: datetime = T0,
    carrier: str = "correios",
) -> OrderOutcome:
    return OrderOutcome(
        status=status or ("delivered" if delivered_after is not None else "shipped"),
        purchased_at=purchased_at,
        promised_at=purchased_at + promise if promise is not None else None,
        delivered_at=purchased_at + delivered_after if delivered_after is not None else None,
        review_score=score,
        carrier=carrier,
    )


def test_no_orders_is_no_data_everywhere() -> None:
    figures = compute([], local=SP)

    assert figures.orders == 0
    assert figures.delay_rate is None
    assert figures.delay_rate_by_day is None
    assert figures.satisfaction is None
    assert figures.response_rate is None
    assert figures.median_delivery_days is None
    assert figures.meets_delay_target is None
    assert figures.not_delivered == {}


def test_orders_in_flight_only_have_no_delay_rate_and_full_not_delivered_share() -> None:
    figures = compute([outcome(delivered_after=None), outcome(delivered_after=None)], local=SP)

    assert figures.delay_rate is None
    assert figures.not_delivered == {"shipped": 1.0}


def test_delay_rate_by_timestamp_and_by_calendar_day_differ_on_the_promised_day() -> None:
    # Promised 2018-03-20 15:00 UTC (12:00 in São Paulo); delivered three hours later, same day.
    same_day_late = outcome(delivered_after=timedelta(days=10, hours=3))
    next_day = outcome(delivered_after=timedelta(days=11))
    on_time = outcome(delivered_after=timedelta(days=2))

    figures = compute([same_day_late, next_day, on_time], local=SP)

    assert (figures.late, figures.late_by_day, figures.delivered_with_promise) == (2, 1, 3)
    assert figures.delay_rate == pytest.approx(2 / 3)
    assert figures.delay_rate_by_day == pytest.approx(1 / 3)


def test_non_respondents_are_not_counted_as_satisfied() -> None:
    rated = [outcome(score=5), outcome(score=4), outcome(score=2)]
    silent = [outcome(score=None) for _ in range(7)]

    figures = compute(rated + silent, local=SP)

    assert (figures.rated, figures.satisfied) == (3, 2)
    assert figures.satisfaction == pytest.approx(2 / 3)
    assert figures.response_rate == pytest.approx(3 / 10)


def test_delivered_without_a_promise_counts_for_delivery_time_not_for_delay() -> None:
    figures = compute([outcome(promise=None, delivered_after=timedelta(days=4))], local=SP)

    assert figures.delivered == 1
    assert figures.delivered_with_promise == 0
    assert figures.delay_rate is None
    assert figures.median_delivery_days == pytest.approx(4.0)


def test_mean_scores_split_by_lateness() -> None:
    figures = compute(
        [outcome(delivered_after=timedelta(days=12), score=1), outcome(score=5), outcome(score=4)], local=SP
    )

    assert figures.mean_score_late == pytest.approx(1.0)
    assert figures.mean_score_on_time == pytest.approx(4.5)


def test_month_attribution_uses_the_shop_time_zone() -> None:
    # 2018-04-01 01:00 UTC is still 31 March in São Paulo.
    order = outcome(purchased_at=datetime(2018, 4, 1, 1, 0, tzinfo=UTC), promise=timedelta(days=20))

    assert month_of(order, MonthBasis.purchase, SP) == "2018-03"
    assert month_of(order, MonthBasis.promise, SP) == "2018-04"
    assert month_of(outcome(delivered_after=None), MonthBasis.delivery, SP) is None


def test_grouped_figures_leave_out_missing_keys() -> None:
    groups = compute_grouped(
        [outcome(carrier="a"), outcome(carrier="b"), outcome(carrier="a")], lambda o: o.carrier, local=SP
    )

    assert {k: v.orders for k, v in groups.items()} == {"a": 2, "b": 1}


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        pytest.param([], 0.5, None, id="empty_case"),
        pytest.param([3.0], 0.9, 3.0, id="single_case"),
        pytest.param([1.0, 2.0, 3.0, 4.0], 0.5, 2.5, id="even_median_case"),
        pytest.param([float(i) for i in range(11)], 0.9, 9.0, id="p90_case"),
    ],
)
def test_quantile_matches_linear_interpolation(values: list[float], q: float, expected: float | None) -> None:
    assert quantile(values, q) == expected
