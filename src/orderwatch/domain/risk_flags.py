"""Risk flags on orders: what the detectors (issue 4, D2) found, read by incidents (issue 5, U1).

A flag is one (order, kind) pair: raised once with its reason, updated in place when the reason
changes, cleared when the condition ends, raised again on the same row if it comes back. This
is the contract between the detectors that write flags and the incident workflow that opens
incidents from them; neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from orderwatch.domain.causes import Cause


class RiskFlagKind(StrEnum):
    """Why an order needs attention."""

    promise_passed = "promise_passed"  # the promised date passed without delivery
    stalled = "stalled"  # no scan for longer than the lane's usual gap
    carrier_exception = "carrier_exception"  # the carrier reported an exception (cause says which)
    dispatch_missed = "dispatch_missed"  # a supplier missed its dispatch deadline
    predicted_late = "predicted_late"  # the delay model puts the order above the risk threshold


class RiskSeverity(StrEnum):
    """How urgent a flag is; incidents map it to their own severity."""

    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


@dataclass(frozen=True)
class RiskFlag:
    """One flag on one order, as the detectors raised it."""

    order_ref: str
    kind: RiskFlagKind
    severity: RiskSeverity
    reason: str  # plain words a CS agent understands, in English; pages translate by kind + details
    raised_at: datetime
    cause: Cause | None = None
    details: dict[str, Any] = field(default_factory=dict)
    cleared_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None
