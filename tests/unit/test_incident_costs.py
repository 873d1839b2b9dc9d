"""The net cost per case by month, carrier and cause (U7, U9, D5): grouping and means."""

from __future__ import annotations

from orderwatch.domain.incident_costs import CaseCost, cost_per_case


def test_cases_without_money_count_and_the_mean_is_per_case() -> None:
    cases = [
        CaseCost(
            "2018-02", "correios", "lost_parcel", "BRL", compensation_cents=6_000, recovered_cents=2_500
        ),
        CaseCost("2018-03", "correios", "lost_parcel", "BRL", compensation_cents=1_000),
        CaseCost("2018-03", "jadlog", "logistics_delay", "BRL"),  # nothing paid: costs 0, still a case
        CaseCost("2018-03", "jadlog", "damaged_parcel", "CNY", compensation_cents=500),
    ]

    figures = cost_per_case(cases)

    assert list(figures) == ["BRL", "CNY"]
    brl = figures["BRL"]
    assert brl["total"] == {
        "cases": 3,
        "compensation_cents": 7_000,
        "recovered_cents": 2_500,
        "net_cents": 4_500,
        "mean_net_cents": 1_500,
    }
    assert {month: s["cases"] for month, s in brl["by_month"].items()} == {"2018-02": 1, "2018-03": 2}
    assert brl["by_month"]["2018-03"]["mean_net_cents"] == 500
    assert brl["by_carrier"]["correios"]["net_cents"] == 4_500
    assert brl["by_carrier"]["jadlog"] == {
        "cases": 1,
        "compensation_cents": 0,
        "recovered_cents": 0,
        "net_cents": 0,
        "mean_net_cents": 0,
    }
    assert list(brl["by_cause"]) == ["logistics_delay", "lost_parcel"]
    assert figures["CNY"]["by_cause"]["damaged_parcel"]["mean_net_cents"] == 500


def test_a_recovery_larger_than_the_compensation_is_a_negative_cost_and_means_round() -> None:
    cases = [
        CaseCost("2018-03", "correios", "lost_parcel", "BRL", recovered_cents=1_000),
        CaseCost("2018-03", "correios", "lost_parcel", "BRL", compensation_cents=1),
        CaseCost("2018-03", "correios", "lost_parcel", "BRL", compensation_cents=1),
    ]

    total = cost_per_case(cases)["BRL"]["total"]

    assert (total["net_cents"], total["mean_net_cents"]) == (-998, -333)
    assert cost_per_case([]) == {}
