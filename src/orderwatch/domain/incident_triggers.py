"""When a detector's risk flag becomes an incident (U3, D2 → U4): the automatic opening policy.

The detectors (issue 4) raise flags; this policy decides which flags are bad enough to open a
case and with which cause and severity:

* ``promise_passed`` once the promise is ``promise_grace_days`` behind (a day late is a
  notification, not an emergency);
* ``stalled`` once the detector rates it ``stalled_min_severity`` (default high: well beyond the
  lane's usual scan gap). A medium stall is only just past the lane's quantile, and on sparse
  tracking (Olist has a scan at hand-over and one at delivery) one parcel in ten is there: a
  flag for the risk queue, not yet an emergency;
* ``carrier_exception`` at once when its cause is lost, damaged, wrong address or refused
  (the plan's 丢失或损坏 / 地址错误); other exceptions stay flags;
* ``dispatch_missed`` and ``predicted_late`` never: they are the supplier's and the model's
  business, and the parcel may still arrive on time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from orderwatch.domain.causes import Cause
from orderwatch.domain.incidents import IncidentSeverity
from orderwatch.domain.risk_flags import RiskFlag, RiskFlagKind, RiskSeverity

EXCEPTION_CAUSES: frozenset[Cause] = frozenset(
    {Cause.lost_parcel, Cause.damaged_parcel, Cause.wrong_address, Cause.refused}
)
_FROM_FLAG = {
    RiskSeverity.low: IncidentSeverity.low,
    RiskSeverity.medium: IncidentSeverity.medium,
    RiskSeverity.high: IncidentSeverity.high,
    RiskSeverity.critical: IncidentSeverity.critical,
}


@dataclass(frozen=True, slots=True)
class AutoOpenPolicy:
    """Thresholds of the automatic opening (settings may override them)."""

    promise_grace_days: int = 2
    severe_after_days: int = 7  # a promise this far behind is a high-severity case
    stalled_min_severity: RiskSeverity = RiskSeverity.high

    def __post_init__(self) -> None:
        if self.promise_grace_days < 0:
            raise ValueError(f"promise_grace_days must be >= 0 (got {self.promise_grace_days})")


@dataclass(frozen=True, slots=True)
class OpenDecision:
    """Open a case with this cause and severity, summarised for the board."""

    cause: Cause
    severity: IncidentSeverity
    summary: str
    # When the problem became an incident by this policy; the volume trigger counts cases by it,
    # so a backlog opened in one catch-up run is not mistaken for a spike.
    detected_at: datetime


def decide(
    flag: RiskFlag,
    *,
    promised_at: datetime | None,
    now: datetime,
    policy: AutoOpenPolicy,
    handed_over: bool = True,
) -> OpenDecision | None:
    """Whether ``flag`` opens an incident at ``now``; ``None`` means not (yet).

    A promise missed before the carrier ever had the parcel is the shop's (or its supplier's)
    delay, not the carrier's: the cause says so, and with it the party at fault (D5, U6).
    """
    if not flag.is_open:
        return None
    if flag.kind is RiskFlagKind.promise_passed:
        decision = _promise_passed(flag, promised_at=promised_at, now=now, policy=policy)
        if decision is not None and flag.cause is None and not handed_over:
            return replace(decision, cause=Cause.supplier_delay)
        return decision
    if flag.kind is RiskFlagKind.stalled:
        if _FROM_FLAG[flag.severity].rank < _FROM_FLAG[policy.stalled_min_severity].rank:
            return None
        return OpenDecision(
            flag.cause or Cause.logistics_delay,
            _severity(flag, IncidentSeverity.medium),
            f"stalled: {flag.reason}",
            _stall_began(flag, now=now),
        )
    if flag.kind is RiskFlagKind.carrier_exception and flag.cause in EXCEPTION_CAUSES:
        floor = (
            IncidentSeverity.high
            if flag.cause in {Cause.lost_parcel, Cause.damaged_parcel}
            else (IncidentSeverity.medium)
        )
        return OpenDecision(
            flag.cause, _severity(flag, floor), f"carrier exception: {flag.reason}", flag.raised_at
        )
    return None


def _promise_passed(
    flag: RiskFlag, *, promised_at: datetime | None, now: datetime, policy: AutoOpenPolicy
) -> OpenDecision | None:
    since = promised_at or flag.raised_at
    late = now - since
    if late < timedelta(days=policy.promise_grace_days):
        return None
    severe = late >= timedelta(days=policy.severe_after_days)
    floor = IncidentSeverity.high if severe else IncidentSeverity.medium
    summary = f"promise passed {late.days} days ago: {flag.reason}"
    # The problem's own moment, not when a detector run noticed it (a first run over a backlog
    # notices everything at once).
    detected = since + timedelta(days=policy.promise_grace_days)
    return OpenDecision(flag.cause or Cause.logistics_delay, _severity(flag, floor), summary, detected)


def _stall_began(flag: RiskFlag, *, now: datetime) -> datetime:
    """When the silence passed twice the lane's usual gap (the detectors' ``high``), if they said."""
    try:
        last_scan = datetime.fromisoformat(str(flag.details["last_scan_at"]))
        usual = timedelta(hours=float(flag.details["usual_gap_hours"]))
    except (KeyError, TypeError, ValueError):
        return flag.raised_at
    return min(last_scan + 2 * usual, now)


def _severity(flag: RiskFlag, floor: IncidentSeverity) -> IncidentSeverity:
    """The flag's severity, but never below ``floor`` for this kind of case."""
    mapped = _FROM_FLAG[flag.severity]
    return mapped if mapped.rank >= floor.rank else floor
