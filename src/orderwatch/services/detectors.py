"""Running the rule detectors over all open orders (D2, D10 in part): one transaction per run.

    facts of open orders (one set-wise query per rule) ──▶ domain rules ──▶ wanted flags
    wanted vs open flags ──▶ raise (insert or re-open) + outbox ``risk.flag_raised``
                         ──▶ update in place (severity, cause or reason changed)
                         ──▶ clear (condition ended, or the order left the open set)

A flag is one row per (order, kind): re-running with nothing new changes no row and writes no
outbox message (no churn). Concurrent runs cannot duplicate a flag: the row is unique per
(order, kind), and re-opening is a conditional upsert that only the first writer wins, so only
one run gets the row back and enqueues its message. The ``predicted_late`` kind belongs to the
delay model and is never read or written here.

Learning the lanes' usual gaps scans recent deliveries, so :class:`DetectorJob` keeps the
learned gaps for ``relearn_every`` (a day by default) between runs; lanes change slowly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from orderwatch.domain.detectors import (
    DETECTOR_KINDS,
    DetectorThresholds,
    Finding,
    LaneGapLearner,
    LaneGaps,
    detect_carrier_exceptions,
    detect_dispatch_missed,
    detect_promise_passed,
    detect_stalled,
    learn_lane_gaps,
)
from orderwatch.domain.risk_flags import RiskFlagKind
from orderwatch.services.ports import Clock, OpenFlag, OutboxMessage, RiskFlagStore, RiskFlagUnitOfWork

RAISED_TOPIC = "risk.flag_raised"


@dataclass
class DetectorRun:
    """What one run did."""

    at: datetime
    orders_scanned: int = 0
    raised: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    cleared: Counter[str] = field(default_factory=Counter)
    open_by_kind: Counter[str] = field(default_factory=Counter)
    open_by_severity: Counter[str] = field(default_factory=Counter)
    lanes_learned: int = 0


def learn_gaps(store: RiskFlagStore, *, now: datetime, thresholds: DetectorThresholds) -> LaneGaps:
    """The lanes' usual gaps from parcels delivered within ``lane_lookback`` before ``now``."""
    samples = store.gap_samples(since=now - thresholds.lane_lookback, now=now)
    return learn_lane_gaps(samples, now=now, thresholds=thresholds)


def find_risks(
    store: RiskFlagStore, *, now: datetime, gaps: LaneGaps, thresholds: DetectorThresholds
) -> list[Finding]:
    """Every flag the rules want open now, over all open orders."""
    # Learned gaps are never below the floor, so only parcels quiet for that long can be stalled.
    quiet_since = now - min(thresholds.stall_floor, gaps.overall.threshold)
    return [
        *detect_promise_passed(store.promise_facts(now=now), now=now, thresholds=thresholds),
        *detect_stalled(store.scan_facts(quiet_since=quiet_since), now=now, gaps=gaps, thresholds=thresholds),
        *detect_carrier_exceptions(store.exception_facts()),
        *detect_dispatch_missed(store.dispatch_facts(now=now), now=now, thresholds=thresholds),
    ]


def _changed(flag: OpenFlag, finding: Finding) -> bool:
    return (flag.severity, flag.cause, flag.reason) != (finding.severity, finding.cause, finding.reason)


@dataclass(frozen=True)
class FlagPlan:
    """The writes that bring ``risk_flags`` in line with the findings."""

    to_raise: list[Finding]
    to_update: list[tuple[int, Finding]]
    to_clear: list[OpenFlag]


def plan_flags(findings: Sequence[Finding], open_flags: Sequence[OpenFlag]) -> FlagPlan:
    """Compare wanted flags with the open ones: raise the new, update the changed, clear the rest."""
    current = {(flag.order_id, flag.kind): flag for flag in open_flags}
    wanted = {(finding.order_id, finding.kind): finding for finding in findings}
    to_raise = [finding for key, finding in wanted.items() if key not in current]
    to_update = [
        (current[key].id, finding)
        for key, finding in wanted.items()
        if key in current and _changed(current[key], finding)
    ]
    to_clear = [flag for key, flag in current.items() if key not in wanted]
    return FlagPlan(to_raise, to_update, to_clear)


def _raised_message(
    flag_id: int,
    order_ref: str,
    finding: Finding,
    raised_at: datetime,
    window: tuple[datetime, datetime] | None = None,
) -> OutboxMessage:
    payload: dict[str, object] = {
        "flag_id": flag_id,
        "order_ref": order_ref,
        "kind": finding.kind.value,
        "severity": finding.severity.value,
        "cause": finding.cause.value if finding.cause else None,
        "reason": finding.reason,
        "raised_at": raised_at.isoformat(),
    }
    if window is not None:  # the model's expected window: the delay message tells it (D3)
        payload |= {"expected_at": window[0].isoformat(), "expected_until": window[1].isoformat()}
    return OutboxMessage(
        topic=RAISED_TOPIC,
        idempotency_key=f"{RAISED_TOPIC}:{flag_id}:{raised_at.isoformat()}",
        payload=payload,
    )


def run_detectors(
    uow: RiskFlagUnitOfWork,
    clock: Clock,
    *,
    thresholds: DetectorThresholds | None = None,
    gaps: LaneGaps | None = None,
) -> DetectorRun:
    """Raise, update and clear the detectors' flags for all open orders, in one transaction.

    ``gaps`` reuses lane gaps learned earlier (see :class:`DetectorJob`); without it they are
    learned now.
    """
    thresholds = thresholds or DetectorThresholds()
    now = clock.now()
    run = DetectorRun(at=now)
    with uow:
        store = uow.risk_flags
        gaps = gaps or learn_gaps(store, now=now, thresholds=thresholds)
        run.lanes_learned = len(gaps.lanes)
        run.orders_scanned = store.count_open_orders()
        findings = find_risks(store, now=now, gaps=gaps, thresholds=thresholds)
        plan = plan_flags(findings, store.open_flags(DETECTOR_KINDS))
        raised = store.raise_flags(plan.to_raise, now=now)
        by_key = {(f.order_id, f.kind): f for f in plan.to_raise}
        # A broken promise tells the customer when to expect the parcel now, if the model knows.
        confirmed = [r.order_id for r in raised if r.kind is RiskFlagKind.promise_passed]
        windows = store.eta_windows(confirmed) if confirmed else {}
        uow.outbox.enqueue(
            [
                _raised_message(
                    r.id, r.order_ref, by_key[(r.order_id, r.kind)], r.raised_at, windows.get(r.order_id)
                )
                for r in raised
            ],
            now=now,
        )
        store.update_flags(plan.to_update, now=now)
        store.clear_flags([flag.id for flag in plan.to_clear], now=now)
        uow.commit()
    # StrEnum members are their values (and cheaper than ``.value``).
    run.raised.update(str(r.kind) for r in raised)
    run.updated.update(str(finding.kind) for _, finding in plan.to_update)
    run.cleared.update(str(flag.kind) for flag in plan.to_clear)
    run.open_by_kind.update(str(finding.kind) for finding in findings)
    run.open_by_severity.update(f"{f.kind}:{f.severity}" for f in findings)
    return run


@dataclass
class DetectorJob:
    """The detectors as a scheduled job (replay, demo, worker), learning lane gaps incrementally.

    Call it with a clock; it runs the detectors in their own transaction. Once a day
    (``relearn_every``) it relearns the lanes' usual gaps, fetching only the parcels delivered
    since the last time and forgetting those older than ``lane_lookback``: a full relearn scans
    every scan of half a year of deliveries (about a second for Olist), which a replay cannot
    afford each simulated day. A delivery recorded late with an earlier date is only picked up
    by a full relearn: replay records everything on time, and the worker starts each run afresh.
    """

    uow_factory: Callable[[], RiskFlagUnitOfWork]
    thresholds: DetectorThresholds = field(default_factory=DetectorThresholds)
    relearn_every: timedelta = timedelta(days=1)
    gaps: LaneGaps | None = None
    last_run: DetectorRun | None = None
    learner: LaneGapLearner | None = None

    def __call__(self, clock: Clock) -> DetectorRun:
        now = clock.now()
        if self.gaps is None or not timedelta(0) <= now - self.gaps.learned_at < self.relearn_every:
            self.gaps = self._relearn(now)
        self.last_run = run_detectors(self.uow_factory(), clock, thresholds=self.thresholds, gaps=self.gaps)
        return self.last_run

    def _relearn(self, now: datetime) -> LaneGaps:
        oldest = now - self.thresholds.lane_lookback
        # A clock moved back (a new replay) must not reuse samples from its future.
        incremental = self.gaps is not None and oldest <= self.gaps.learned_at <= now
        if self.learner is None or self.gaps is None or not incremental:
            self.learner, since = LaneGapLearner(self.thresholds), oldest
        else:
            since = self.gaps.learned_at
        with self.uow_factory() as uow:
            self.learner.add(uow.risk_flags.gap_samples(since=since, now=now))
        return self.learner.learn(now)
