"""Reasons a CS agent reads, flag severities and promise arithmetic (domain/risk.py, issue 4)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orderwatch.domain.risk import Fact, ReasonCode, describe, recommended_promise, risk_severity, top_reasons
from orderwatch.domain.risk_flags import RiskSeverity


def test_top_reasons_keep_the_largest_rising_contributions_in_plain_words() -> None:
    contributions = {
        ReasonCode.distance: 0.12,
        ReasonCode.network: 0.20,
        ReasonCode.parcel: -0.05,  # lowers the risk: never shown as a reason for risk
        ReasonCode.season: 0.004,  # below the minimum
        ReasonCode.seller: 0.03,
    }
    facts = {
        ReasonCode.distance: Fact(2_140.4, 380.0),
        ReasonCode.network: Fact(0.31, 0.08),
        ReasonCode.parcel: Fact(0.4, 1.2),
        ReasonCode.season: Fact(900, 700),
        ReasonCode.seller: Fact(16.26, 9.0),
    }

    assert top_reasons(contributions, facts, limit=2) == [
        "Carriers are running late: 31% of recent promises to this region were missed (usual 8%)",
        "Long way from the seller: 2140 km (usual on this lane 380 km)",
    ]
    assert top_reasons(contributions, facts)[2] == (
        "This seller's recent orders took 16.3 days to arrive (usual on this lane 9.0)"
    )


def test_a_reason_without_its_figure_is_left_out() -> None:
    assert top_reasons({ReasonCode.handoff: 0.4}, {}) == []


@pytest.mark.parametrize("code", list(ReasonCode))
def test_every_reason_has_wording_both_ways(code: ReasonCode) -> None:
    rising = describe(code, Fact(3.0, 1.0), raises_risk=True)
    falling = describe(code, Fact(1.0, 3.0), raises_risk=False)
    assert rising != falling
    assert "{" not in rising + falling


@pytest.mark.parametrize(
    ("p_late", "expected"),
    [(0.49, None), (0.5, RiskSeverity.low), (0.74, RiskSeverity.low), (0.75, RiskSeverity.medium),
     (0.8, RiskSeverity.high)],
    ids=["below_case", "at_threshold_case", "low_case", "medium_case", "high_case"],
)
def test_risk_severity_bands(p_late: float, expected: RiskSeverity | None) -> None:
    assert risk_severity(p_late, threshold=0.5) is expected


def test_risk_severity_refuses_a_non_probability() -> None:
    with pytest.raises(ValueError, match=r"p_late: 1.2 is not a probability"):
        risk_severity(1.2, threshold=0.5)


def test_recommended_promise_rounds_up_to_the_next_hour() -> None:
    bought = datetime(2018, 3, 1, 10, 20, tzinfo=UTC)
    assert recommended_promise(bought, 10.0) == datetime(2018, 3, 11, 11, 0, tzinfo=UTC)
    assert recommended_promise(bought.replace(minute=0), 1.0) == datetime(2018, 3, 2, 10, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="quantile_days"):
        recommended_promise(bought, float("nan"))
