"""Delay risk in words and numbers (D2): reasons a CS agent understands, promise arithmetic.

The models (``adapters/ml``) say *how much* each group of facts moves an order's risk compared
with a typical order on its lane; this module says it in plain words and decides what to do with
the numbers: which reasons to show, when a risk becomes a ``predicted_late`` flag and how severe,
and which promise date to quote a new customer for the P-quantile the business chose.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from orderwatch.domain.risk_flags import RiskSeverity


class PredictionStage(StrEnum):
    """When a prediction is made: at purchase, at carrier hand-off, or while in transit."""

    purchase = "purchase"
    handoff = "handoff"
    in_transit = "in_transit"


class ReasonCode(StrEnum):
    """Groups of facts whose effect on the risk is measured and explained together."""

    distance = "distance"
    promise = "promise"
    seller = "seller"
    lane = "lane"
    network = "network"
    parcel = "parcel"
    season = "season"
    handoff = "handoff"


@dataclass(frozen=True, slots=True)
class Fact:
    """The order's value of a reason's headline figure, and the typical value on its lane."""

    value: float
    typical: float


_WORDING: dict[ReasonCode, tuple[str, str]] = {
    # (the risk goes up, the risk goes down); {value} and {typical} are filled in.
    ReasonCode.distance: (
        "Long way from the seller: {value:.0f} km (usual on this lane {typical:.0f} km)",
        "Short way from the seller: {value:.0f} km (usual on this lane {typical:.0f} km)",
    ),
    ReasonCode.promise: (
        "Tight promise: {value:.0f} days promised (usual on this lane {typical:.0f})",
        "Generous promise: {value:.0f} days promised (usual on this lane {typical:.0f})",
    ),
    ReasonCode.seller: (
        "This seller's recent orders took {value:.1f} days to arrive (usual on this lane {typical:.1f})",
        "This seller delivers quickly: {value:.1f} days on average (usual on this lane {typical:.1f})",
    ),
    ReasonCode.lane: (
        "Deliveries on this route take {value:.1f} days on average (network usual {typical:.1f})",
        "Deliveries on this route are quick: {value:.1f} days on average (network usual {typical:.1f})",
    ),
    ReasonCode.network: (
        "Carriers are running late: {value:.0%} of recent promises to this region were missed "
        "(usual {typical:.0%})",
        "Carriers are on time: {value:.0%} of recent promises to this region were missed "
        "(usual {typical:.0%})",
    ),
    ReasonCode.parcel: (
        "Heavy or bulky parcel: {value:.1f} kg (usual {typical:.1f} kg)",
        "Small, light parcel: {value:.1f} kg (usual {typical:.1f} kg)",
    ),
    ReasonCode.season: (
        "Busy season: {value:.0f} orders in flight to this region (usual {typical:.0f})",
        "Quiet season: {value:.0f} orders in flight to this region (usual {typical:.0f})",
    ),
    ReasonCode.handoff: (
        "Handed to the carrier late: {value:.1f} days after purchase (usual {typical:.1f})",
        "Handed to the carrier quickly: {value:.1f} days after purchase (usual {typical:.1f})",
    ),
}


def describe(code: ReasonCode, fact: Fact, *, raises_risk: bool) -> str:
    """One sentence for a CS agent: what is unusual about the order and which way it pushes."""
    rising, falling = _WORDING[code]
    template = rising if raises_risk else falling
    return template.format(value=_finite(fact.value), typical=_finite(fact.typical))


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def top_reasons(
    contributions: Mapping[ReasonCode, float],
    facts: Mapping[ReasonCode, Fact],
    *,
    limit: int = 3,
    minimum: float = 0.01,
) -> list[str]:
    """The ``limit`` reasons that raise the risk most (each at least ``minimum`` probability).

    ``contributions`` are differences in predicted probability of being late between the order
    and the same order with that group of facts set to its lane's typical values.
    """
    rising = sorted(
        ((share, code) for code, share in contributions.items() if share >= minimum and code in facts),
        key=lambda item: (-item[0], item[1].value),
    )
    return [describe(code, facts[code], raises_risk=True) for _, code in rising[:limit]]


def risk_severity(p_late: float, *, threshold: float) -> RiskSeverity | None:
    """The flag severity for a probability of being late; ``None`` below the threshold."""
    if not 0.0 <= p_late <= 1.0:
        raise ValueError(f"p_late: {p_late!r} is not a probability")
    if p_late < threshold:
        return None
    if p_late >= 0.8:
        return RiskSeverity.high
    return RiskSeverity.medium if p_late >= (1.0 + threshold) / 2 else RiskSeverity.low


def recommended_promise(purchased_at: datetime, quantile_days: float) -> datetime:
    """The promise for an order bought at ``purchased_at`` at the chosen delivery-time quantile.

    Rounded up to the next whole hour so that quotes read cleanly.
    """
    if not math.isfinite(quantile_days) or quantile_days < 0:
        raise ValueError(f"quantile_days: {quantile_days!r} is not a delivery time in days")
    raw = purchased_at + timedelta(days=quantile_days)
    floor = raw.replace(minute=0, second=0, microsecond=0)
    return floor if floor == raw else floor + timedelta(hours=1)


def check_quantile(quantile: float) -> float:
    """A promise quantile must be a probability strictly between 0.5 and 1."""
    if not 0.5 <= quantile < 1.0:
        raise ValueError(f"promise_quantile: {quantile!r} must be at least 0.5 and below 1")
    return quantile
