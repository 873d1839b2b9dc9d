"""Rule detectors for orders at risk (D2, D10 in part): pure rules from facts and ``now`` to findings.

Four rules, each given facts that the database gathered set-wise for all open orders:

* ``promise_passed``: the promised moment passed without delivery; severity grows with the
  days past the promise (bands of ``promise_severity_days``).
* ``stalled``: a parcel in the carrier's hands with no scan for longer than its lane's usual
  gap between scans. The usual gap is *learned* per lane (origin region → destination region)
  from the inter-scan gaps of shipments delivered recently, as a high quantile, with a minimum
  sample size; lanes with too few samples use all lanes, and an empty history the default of
  ANCHORS §6 (5 days without a scan). Where carriers only report hand-off and delivery (Olist),
  the only gap is hand-off → delivery, so "stalled" means "handed over longer ago than the
  lane's usual transit", which is what finds Olist's shipped-but-never-delivered orders.
* ``carrier_exception``: a shipment in an exception status, with the cause (U1) read from
  the status and, where it says more, the carrier's raw code and text.
* ``dispatch_missed``: a supplier's dispatch deadline (Olist ``shipping_limit_date``) passed
  without carrier hand-off (cause ``supplier_delay``).

Reasons are plain English built from one template per (kind, variant) in :data:`REASONS`;
the template code and its parameters are kept in ``details`` so staff pages can show the
reason in the reader's language. Reasons name severity *bands* ("over 3 days late"), not
running counts, so that a re-run a day later does not rewrite an unchanged flag (no churn).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from math import ceil
from typing import Any

from orderwatch.domain.causes import Cause
from orderwatch.domain.risk_flags import RiskFlagKind, RiskSeverity
from orderwatch.domain.shipments import ShipmentStatus

DAY = timedelta(days=1)
Lane = tuple[str | None, str | None]

# The kinds these rules own; ``predicted_late`` belongs to the delay model (issue 4 part 2).
DETECTOR_KINDS: tuple[RiskFlagKind, ...] = (
    RiskFlagKind.promise_passed,
    RiskFlagKind.stalled,
    RiskFlagKind.carrier_exception,
    RiskFlagKind.dispatch_missed,
)


@dataclass(frozen=True)
class DetectorThresholds:
    """When each rule fires and how severe it is (defaults: ANCHORS §6).

    ``*_severity_days`` are the day counts past a deadline at which the severity becomes
    medium, high and critical (below the first it is low): Narvar flags carrier processing
    delays at day 2 and day 5, parcelLab escalates a delay unresolved by the next working day.
    """

    promise_severity_days: tuple[int, int, int] = (1, 3, 7)
    dispatch_severity_days: tuple[int, int, int] = (1, 3, 7)
    stall_quantile: float = 0.95
    stall_min_samples: int = 30
    stall_default: timedelta = timedelta(days=5)  # Gorgias: > 5 days untracked is urgent
    stall_floor: timedelta = timedelta(hours=24)  # AfterShip's first pending-time alert
    stall_expired: timedelta = timedelta(days=30)  # AfterShip "Expired", 17TRACK stops tracking
    lane_lookback: timedelta = timedelta(days=180)

    def __post_init__(self) -> None:
        for name in ("promise_severity_days", "dispatch_severity_days"):
            bands = getattr(self, name)
            if len(bands) != 3 or list(bands) != sorted(bands) or bands[0] < 0:
                raise ValueError(f"{name}: {bands!r} must be three increasing day counts >= 0")
        if not 0.5 <= self.stall_quantile < 1:
            raise ValueError(f"stall_quantile: {self.stall_quantile} must be in [0.5, 1)")
        if self.stall_min_samples < 1:
            raise ValueError(f"stall_min_samples: {self.stall_min_samples} must be at least 1")
        if self.stall_default <= timedelta(0) or self.lane_lookback <= timedelta(0):
            raise ValueError("stall_default and lane_lookback must be positive")


# ------------------------------------------------------------------ facts (gathered set-wise by adapters)


@dataclass(frozen=True, slots=True)
class PromiseFacts:
    order_id: int
    promised_at: datetime


@dataclass(frozen=True, slots=True)
class ScanFacts:
    """The quietest undelivered parcel of an order that the carrier holds."""

    order_id: int
    lane: Lane
    last_scan_at: datetime
    handed_over_at: datetime | None
    status: ShipmentStatus
    tracking_number: str


@dataclass(frozen=True, slots=True)
class ExceptionFacts:
    """A shipment of an open order in an exception status, with the event that set it."""

    order_id: int
    status: ShipmentStatus
    status_at: datetime | None
    tracking_number: str
    raw_code: str | None = None
    raw_text: str | None = None


@dataclass(frozen=True, slots=True)
class DispatchFacts:
    """An order not handed over, with its earliest passed dispatch deadline."""

    order_id: int
    deadline: datetime
    supplier_ref: str | None
    lines_late: int


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule says about one order: the flag it wants open right now."""

    order_id: int
    kind: RiskFlagKind
    severity: RiskSeverity
    reason: str
    cause: Cause | None
    details: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------ reasons

REASONS: dict[str, str] = {
    "promise_passed": "Promised for {promised}, not delivered yet ({band})",
    "stalled.handoff": "Handed to the carrier on {since}, no scan since: {band} on lane {lane}",
    "stalled.scan": "Last carrier scan on {since}, none since: {band} on lane {lane}",
    "carrier_exception.lost": "The carrier reported the parcel lost on {since}",
    "carrier_exception.damaged": "The carrier reported the parcel damaged on {since}",
    "carrier_exception.refused": "The customer refused the parcel on {since}",
    "carrier_exception.customs_hold": "The parcel is held in customs since {since}",
    "carrier_exception.delivery_failed": "A delivery attempt failed on {since}",
    "carrier_exception.returning": "The parcel is on its way back to the sender since {since}",
    "carrier_exception.returned": "The parcel went back to the sender on {since}",
    "carrier_exception.exception": "The carrier reported a problem on {since}",
    "dispatch_missed": "Supplier {supplier} had to hand the order to the carrier by {deadline}, "
    "not handed over yet ({band})",
}
LATE_BANDS = ("less than a day late", "over {days} day late", "over {days} days late")
STALL_BANDS = {
    RiskSeverity.medium: "longer than usual",
    RiskSeverity.high: "over twice the usual gap",
    RiskSeverity.critical: "over {days} days",
}


def _day(moment: datetime | None) -> str:
    return _day_text(moment.date()) if moment is not None else "an unknown day"


@lru_cache(maxsize=4096)
def _day_text(day: date) -> str:
    return day.strftime("%d %b %Y")  # strftime is slow; a run names the same days thousands of times


def _finding(
    order_id: int,
    kind: RiskFlagKind,
    severity: RiskSeverity,
    code: str,
    params: dict[str, Any],
    *,
    cause: Cause | None,
    numbers: dict[str, Any],
) -> Finding:
    reason = REASONS[code].format(**params)
    details = {"reason_code": code, "params": params, **numbers}
    return Finding(order_id, kind, severity, reason, cause, details)


def _late_band(days_past: float, bands: tuple[int, int, int]) -> tuple[RiskSeverity, int]:
    """Severity and the whole days it stands for (0 means less than the first band)."""
    medium, high, critical = bands  # increasing (DetectorThresholds checks); called per open order
    if days_past >= critical:
        return RiskSeverity.critical, critical
    if days_past >= high:
        return RiskSeverity.high, high
    if days_past >= medium:
        return RiskSeverity.medium, medium
    return RiskSeverity.low, 0


def _band_text(days: int) -> str:
    if days == 0:
        return LATE_BANDS[0]
    return (LATE_BANDS[1] if days == 1 else LATE_BANDS[2]).format(days=days)


# ------------------------------------------------------------------ promise_passed


def _past_deadline(
    order_id: int,
    kind: RiskFlagKind,
    *,
    deadline: datetime,
    now: datetime,
    bands: tuple[int, int, int],
    params: dict[str, Any],
    cause: Cause | None,
    numbers: dict[str, Any],
) -> Finding | None:
    """The finding for a deadline passed before ``now``, its severity by whole days past."""
    if deadline >= now:
        return None
    days_past = (now - deadline) / DAY
    severity, band = _late_band(days_past, bands)
    numbers = {**numbers, "band_days": band, "days_late": round(days_past, 2)}
    return _finding(
        order_id,
        kind,
        severity,
        kind.value,
        {**params, "band": _band_text(band)},
        cause=cause,
        numbers=numbers,
    )


def detect_promise_passed(
    facts: Iterable[PromiseFacts], *, now: datetime, thresholds: DetectorThresholds
) -> list[Finding]:
    """Orders whose promised moment lies before ``now`` (timestamp comparison, as lateness)."""
    found = (
        _past_deadline(
            fact.order_id,
            RiskFlagKind.promise_passed,
            deadline=fact.promised_at,
            now=now,
            bands=thresholds.promise_severity_days,
            params={"promised": _day(fact.promised_at)},
            cause=None,
            numbers={"promised_at": fact.promised_at.isoformat()},
        )
        for fact in facts
    )
    return [finding for finding in found if finding is not None]


# ------------------------------------------------------------------ lane gaps and stalled


@dataclass(frozen=True, slots=True)
class GapSample:
    """The silence between two consecutive scans of a delivered parcel, in seconds."""

    delivered_at: datetime
    lane: Lane
    seconds: float


@dataclass(frozen=True, slots=True)
class LaneGap:
    """The usual longest silence of a lane and where that figure comes from."""

    threshold: timedelta
    samples: int
    basis: str  # "lane", "all_lanes" or "default"


@dataclass(frozen=True)
class LaneGaps:
    """Usual gaps learned as of ``learned_at``; :meth:`for_lane` falls back lane → all → default."""

    learned_at: datetime
    lanes: Mapping[Lane, LaneGap]
    overall: LaneGap

    def for_lane(self, lane: Lane) -> LaneGap:
        return self.lanes.get(lane, self.overall)


def quantile(values: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile of ``values`` (sorted in place); ``values`` must not be empty."""
    values.sort()
    return values[_rank(q, len(values))]


def _rank(q: float, count: int) -> int:
    """The 0-based index of the nearest-rank ``q`` quantile among ``count`` sorted values."""
    return max(1, ceil(q * count)) - 1


def learn_lane_gaps(
    samples: Iterable[GapSample], *, now: datetime, thresholds: DetectorThresholds
) -> LaneGaps:
    """Usual gap per lane from the gaps of parcels delivered within ``lane_lookback`` before ``now``.

    A lane needs ``stall_min_samples`` gaps of its own; every threshold is at least
    ``stall_floor`` so that a fast lane does not flag a parcel after a few quiet hours.
    """
    learner = LaneGapLearner(thresholds)
    learner.add(sample for sample in samples if sample.delivered_at <= now)
    return learner.learn(now)


class LaneGapLearner:
    """:func:`learn_lane_gaps` kept up to date as time moves forward, without re-reading history.

    The detectors relearn every day of a replay over half a year of gaps; sorting every lane's
    gaps again each time was most of their cost. Here each lane keeps its gaps sorted, a new
    gap is inserted where it belongs and a gap that leaves the look-back window is removed, so
    a relearn costs what changed since the last one. Samples must be added in the order time
    passes (each batch delivered after the previous ``learn``); :meth:`add` sorts a batch.
    """

    def __init__(self, thresholds: DetectorThresholds) -> None:
        self.thresholds = thresholds
        self._by_time: deque[GapSample] = deque()
        self._by_lane: dict[Lane, list[float]] = defaultdict(list)
        self._everything: list[float] = []

    def add(self, samples: Iterable[GapSample]) -> None:
        """Take in gaps of parcels delivered since the last :meth:`learn` (negative gaps are dropped)."""
        fresh: dict[Lane, list[float]] = defaultdict(list)
        for sample in sorted(samples, key=lambda s: s.delivered_at):
            if sample.seconds < 0:
                continue  # a scan dated before its predecessor
            self._by_time.append(sample)
            fresh[sample.lane].append(sample.seconds)
        # One sort per touched list, not one insort per gap: an insort shifts half of a list of
        # months of gaps, a day of a few thousand gaps cost seconds that way. Sorting a sorted
        # list with a short tail appended is close to linear (runs are merged).
        for lane, values in fresh.items():
            _merge_into(self._by_lane[lane], values)
        _merge_into(self._everything, [seconds for values in fresh.values() for seconds in values])

    def learn(self, now: datetime) -> LaneGaps:
        """The usual gaps as of ``now``, from the gaps delivered in the look-back window."""
        oldest = now - self.thresholds.lane_lookback
        gone: dict[Lane, list[float]] = defaultdict(list)
        while self._by_time and self._by_time[0].delivered_at <= oldest:
            sample = self._by_time.popleft()
            gone[sample.lane].append(sample.seconds)
        for lane, values in gone.items():
            _remove_from(self._by_lane[lane], values)
        if gone:
            _remove_from(self._everything, [seconds for values in gone.values() for seconds in values])
        minimum = self.thresholds.stall_min_samples
        overall = (
            self._gap(self._everything, "all_lanes")
            if len(self._everything) >= minimum
            else LaneGap(self.thresholds.stall_default, len(self._everything), "default")
        )
        lanes = {
            lane: self._gap(values, "lane")
            for lane, values in self._by_lane.items()
            if len(values) >= minimum
        }
        return LaneGaps(learned_at=now, lanes=lanes, overall=overall)

    def _gap(self, ordered: list[float], basis: str) -> LaneGap:
        seconds = ordered[_rank(self.thresholds.stall_quantile, len(ordered))]
        return LaneGap(max(timedelta(seconds=seconds), self.thresholds.stall_floor), len(ordered), basis)


def _merge_into(ordered: list[float], new: list[float]) -> None:
    """Add ``new`` to the sorted list ``ordered``, keeping it sorted."""
    ordered.extend(new)
    ordered.sort()


def _remove_from(ordered: list[float], gone: list[float]) -> None:
    """Remove one occurrence of each value of ``gone`` from the sorted list ``ordered``."""
    if len(gone) < 16:
        for value in gone:
            del ordered[bisect_left(ordered, value)]
        return
    left = Counter(gone)
    kept: list[float] = []
    for value in ordered:
        if left[value]:
            left[value] -= 1
        else:
            kept.append(value)
    ordered[:] = kept


def _lane_text(lane: Lane) -> str:
    return f"{lane[0] or '?'} → {lane[1] or '?'}"


def detect_stalled(
    facts: Iterable[ScanFacts], *, now: datetime, gaps: LaneGaps, thresholds: DetectorThresholds
) -> list[Finding]:
    """Parcels silent for longer than their lane's usual gap; critical after ``stall_expired``."""
    found = []
    for fact in facts:
        usual = gaps.for_lane(fact.lane)
        silence = now - fact.last_scan_at
        if silence <= usual.threshold:
            continue
        if silence > thresholds.stall_expired:
            severity = RiskSeverity.critical
        elif silence > 2 * usual.threshold:
            severity = RiskSeverity.high
        else:
            severity = RiskSeverity.medium
        band = STALL_BANDS[severity].format(days=thresholds.stall_expired.days)
        only_handoff = fact.handed_over_at is not None and fact.last_scan_at <= fact.handed_over_at
        found.append(
            _finding(
                fact.order_id,
                RiskFlagKind.stalled,
                severity,
                "stalled.handoff" if only_handoff else "stalled.scan",
                {"since": _day(fact.last_scan_at), "band": band, "lane": _lane_text(fact.lane)},
                cause=Cause.logistics_delay,
                numbers={
                    "last_scan_at": fact.last_scan_at.isoformat(),
                    "silent_hours": round(silence / timedelta(hours=1), 1),
                    "usual_gap_hours": round(usual.threshold / timedelta(hours=1), 1),
                    "usual_gap_basis": usual.basis,
                    "usual_gap_samples": usual.samples,
                    "lane": _lane_text(fact.lane),
                    "tracking_number": fact.tracking_number,
                    "status": fact.status.value,
                },
            )
        )
    return found


# ------------------------------------------------------------------ carrier_exception

EXCEPTION_CAUSE: dict[ShipmentStatus, Cause] = {
    ShipmentStatus.lost: Cause.lost_parcel,
    ShipmentStatus.damaged: Cause.damaged_parcel,
    ShipmentStatus.refused: Cause.refused,
    ShipmentStatus.customs_hold: Cause.customs,
    ShipmentStatus.delivery_failed: Cause.recipient_unreachable,
    ShipmentStatus.exception: Cause.logistics_delay,
    ShipmentStatus.returning: Cause.unknown,
    ShipmentStatus.returned: Cause.unknown,
}
EXCEPTION_SEVERITY: dict[ShipmentStatus, RiskSeverity] = {
    ShipmentStatus.lost: RiskSeverity.critical,
    ShipmentStatus.damaged: RiskSeverity.high,
    ShipmentStatus.refused: RiskSeverity.high,
    ShipmentStatus.returning: RiskSeverity.high,
    ShipmentStatus.returned: RiskSeverity.high,
    ShipmentStatus.customs_hold: RiskSeverity.medium,
    ShipmentStatus.delivery_failed: RiskSeverity.medium,
    ShipmentStatus.exception: RiskSeverity.medium,
}
# What carriers' raw codes and texts say beyond the normalized status (ANCHORS §2.2):
# 17TRACK DeliveryFailure_InvalidAddress, karrio consignee_incorrect_address, AfterShip
# Exception_002/003/004/005, Kuaidi100 207 超区, 209 破损 ... First match wins.
RAW_HINTS: tuple[tuple[tuple[str, ...], Cause], ...] = (
    (("address", "exception_002", "地址", "超区"), Cause.wrong_address),
    (("refus", "reject", "exception_003", "拒收"), Cause.refused),
    (("customs", "exception_004", "海关", "清关"), Cause.customs),
    (("lost", "丢失"), Cause.lost_parcel),
    (("damag", "broken", "破损"), Cause.damaged_parcel),
    (("weather", "disaster", "force_majeure", "天气"), Cause.weather),
    (("not_home", "nobody", "not_available", "unreachable"), Cause.recipient_unreachable),
)


def exception_cause(status: ShipmentStatus, raw_code: str | None, raw_text: str | None) -> Cause:
    """The cause of an exception: the carrier's own words when they name one, else the status's."""
    said = f"{raw_code or ''} {raw_text or ''}".lower()
    for words, cause in RAW_HINTS:
        if any(word in said for word in words):
            return cause
    return EXCEPTION_CAUSE.get(status, Cause.unknown)


def detect_carrier_exceptions(facts: Iterable[ExceptionFacts]) -> list[Finding]:
    """One flag per order: its most severe exception shipment (several parcels, one order)."""
    best: dict[int, Finding] = {}
    rank = list(RiskSeverity)
    for fact in facts:
        if fact.status not in EXCEPTION_SEVERITY:
            continue
        cause = exception_cause(fact.status, fact.raw_code, fact.raw_text)
        severity = EXCEPTION_SEVERITY[fact.status]
        finding = _finding(
            fact.order_id,
            RiskFlagKind.carrier_exception,
            severity,
            f"carrier_exception.{fact.status.value}",
            {"since": _day(fact.status_at)},
            cause=cause,
            numbers={
                "status": fact.status.value,
                "status_at": fact.status_at.isoformat() if fact.status_at else None,
                "tracking_number": fact.tracking_number,
                "raw_code": fact.raw_code,
                "raw_text": (fact.raw_text or "")[:200] or None,
            },
        )
        current = best.get(fact.order_id)
        if current is None or rank.index(severity) > rank.index(current.severity):
            best[fact.order_id] = finding
    return list(best.values())


# ------------------------------------------------------------------ dispatch_missed


def detect_dispatch_missed(
    facts: Iterable[DispatchFacts], *, now: datetime, thresholds: DetectorThresholds
) -> list[Finding]:
    """Orders whose supplier let a dispatch deadline pass without carrier hand-off."""
    found = (
        _past_deadline(
            fact.order_id,
            RiskFlagKind.dispatch_missed,
            deadline=fact.deadline,
            now=now,
            bands=thresholds.dispatch_severity_days,
            params={"supplier": fact.supplier_ref or "?", "deadline": _day(fact.deadline)},
            cause=Cause.supplier_delay,
            numbers={
                "deadline": fact.deadline.isoformat(),
                "supplier_ref": fact.supplier_ref,
                "lines_late": fact.lines_late,
            },
        )
        for fact in facts
    )
    return [finding for finding in found if finding is not None]
