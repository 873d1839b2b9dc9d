"""The pure detector rules and the flag plan (D2): severities, reasons, causes, lane-gap learning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderwatch.domain.causes import Cause
from orderwatch.domain.detectors import (
    DetectorThresholds,
    DispatchFacts,
    ExceptionFacts,
    GapSample,
    Lane,
    LaneGap,
    LaneGapLearner,
    LaneGaps,
    PromiseFacts,
    ScanFacts,
    _remove_from,
    detect_carrier_exceptions,
    detect_dispatch_missed,
    detect_promise_passed,
    detect_stalled,
    exception_cause,
    learn_lane_gaps,
    quantile,
)
from orderwatch.domain.risk_flags import RiskFlagKind, RiskSeverity
from orderwatch.domain.shipments import ShipmentStatus
from orderwatch.services.detectors import plan_flags
from orderwatch.services.ports import OpenFlag

NOW = datetime(2018, 3, 12, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
RULES = DetectorThresholds()


@pytest.mark.parametrize(
    ("days_past", "severity", "band"),
    [
        (0.5, RiskSeverity.low, "less than a day late"),
        (1.0, RiskSeverity.medium, "over 1 day late"),
        (3.2, RiskSeverity.high, "over 3 days late"),
        (40, RiskSeverity.critical, "over 7 days late"),
    ],
)
def test_promise_passed_severity_grows_with_days_past(
    days_past: float, severity: RiskSeverity, band: str
) -> None:
    promised = NOW - timedelta(days=days_past)

    [finding] = detect_promise_passed([PromiseFacts(7, promised)], now=NOW, thresholds=RULES)

    assert (finding.order_id, finding.kind, finding.severity) == (7, RiskFlagKind.promise_passed, severity)
    assert finding.reason == f"Promised for {promised:%d %b %Y}, not delivered yet ({band})"
    assert finding.details["params"] == {"promised": f"{promised:%d %b %Y}", "band": band}


def test_promise_not_yet_passed_raises_nothing() -> None:
    assert detect_promise_passed([PromiseFacts(1, NOW)], now=NOW, thresholds=RULES) == []


def test_reason_is_stable_within_a_band_so_reruns_do_not_rewrite_it() -> None:
    fact = PromiseFacts(1, NOW - 3.1 * DAY)
    [first] = detect_promise_passed([fact], now=NOW, thresholds=RULES)
    [later] = detect_promise_passed([fact], now=NOW + 2 * DAY, thresholds=RULES)
    assert (first.severity, first.reason) == (later.severity, later.reason)


def _gap(lane: Lane, seconds: float, *, days_ago: float = 3) -> GapSample:
    return GapSample(NOW - timedelta(days=days_ago), lane, seconds)


def test_samples_outside_the_lookback_window_are_ignored() -> None:
    rules = DetectorThresholds(stall_min_samples=1, lane_lookback=timedelta(days=10))
    samples = [_gap(("SP", "RJ"), 3_600.0 * 30), _gap(("SP", "RJ"), 3_600.0 * 90, days_ago=11)]
    gaps = learn_lane_gaps(samples, now=NOW, thresholds=rules)
    assert (gaps.for_lane(("SP", "RJ")).threshold, gaps.for_lane(("SP", "RJ")).samples) == (
        timedelta(hours=30),
        1,
    )


_LANES = [("SP", "RJ"), ("SP", "AM"), ("MG", "RJ")]
_DAYS = st.lists(  # per simulated day: (lane index, hours of silence, hours into the day) of new gaps
    st.lists(st.tuples(st.integers(0, 2), st.integers(-2, 200), st.integers(1, 24)), max_size=12),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(days=_DAYS, lookback_days=st.integers(1, 8), minimum=st.integers(1, 4))
def test_incremental_learning_equals_learning_from_scratch(
    days: list[list[tuple[int, int, int]]], lookback_days: int, minimum: int
) -> None:
    # The detectors' job relearns day by day; it must give what one pass over the history gives.
    rules = DetectorThresholds(
        stall_min_samples=minimum, stall_quantile=0.9, lane_lookback=timedelta(days=lookback_days)
    )
    learner, history = LaneGapLearner(rules), []
    for day, gaps in enumerate(days, start=1):
        now = NOW + day * DAY
        batch = [GapSample(now - DAY + timedelta(hours=at), _LANES[lane], h * 3600.0) for lane, h, at in gaps]
        history += batch
        learner.add(batch)
        assert learner.learn(now) == _from_scratch(history, now=now, rules=rules)
        assert learn_lane_gaps(history, now=now, thresholds=rules) == _from_scratch(
            history, now=now, rules=rules
        )


def _from_scratch(history: list[GapSample], *, now: datetime, rules: DetectorThresholds) -> LaneGaps:
    """The definition, computed the plain way: window, then nearest-rank quantile per lane."""
    window = [s for s in history if now - rules.lane_lookback < s.delivered_at <= now and s.seconds >= 0]

    def gap(values: list[float], basis: str) -> LaneGap:
        seconds = quantile(values, rules.stall_quantile)
        return LaneGap(max(timedelta(seconds=seconds), rules.stall_floor), len(values), basis)

    by_lane = {lane: [s.seconds for s in window if s.lane == lane] for lane in {s.lane for s in window}}
    everything = [s.seconds for s in window]
    overall = (
        gap(everything, "all_lanes")
        if len(everything) >= rules.stall_min_samples
        else LaneGap(rules.stall_default, len(everything), "default")
    )
    lanes = {lane: gap(v, "lane") for lane, v in by_lane.items() if len(v) >= rules.stall_min_samples}
    return LaneGaps(learned_at=now, lanes=lanes, overall=overall)


def test_quantile_is_nearest_rank() -> None:
    assert quantile([5.0, 1.0, 3.0, 2.0, 4.0], 0.95) == 5.0
    assert quantile([float(n) for n in range(1, 101)], 0.95) == 95.0


def test_lane_gaps_need_the_minimum_sample_and_fall_back_to_all_lanes_then_default() -> None:
    rules = DetectorThresholds(stall_min_samples=10, stall_quantile=0.9)
    samples = [_gap(("SP", "RJ"), float(h * 3600)) for h in range(1, 101)]  # 1..100 hours
    samples += [_gap(("SP", "AM"), 10 * 86_400.0)] * 5  # too few of its own

    gaps = learn_lane_gaps(samples, now=NOW, thresholds=rules)

    assert gaps.for_lane(("SP", "RJ")).threshold == timedelta(hours=90)
    assert (gaps.for_lane(("SP", "RJ")).samples, gaps.for_lane(("SP", "RJ")).basis) == (100, "lane")
    assert gaps.for_lane(("SP", "AM")) == gaps.overall
    assert (gaps.overall.basis, gaps.overall.samples) == ("all_lanes", 105)
    empty = learn_lane_gaps([], now=NOW, thresholds=rules)
    assert (empty.overall.threshold, empty.overall.basis) == (timedelta(days=5), "default")


def test_learned_gap_never_drops_below_the_floor() -> None:
    samples = [_gap(("SP", "SP"), 600.0)] * 50  # ten minutes between scans
    gaps = learn_lane_gaps(samples, now=NOW, thresholds=RULES)
    assert gaps.for_lane(("SP", "SP")).threshold == timedelta(hours=24)


def _scan(silent: timedelta, *, handed: bool = True) -> ScanFacts:
    last = NOW - silent
    return ScanFacts(3, ("SP", "RJ"), last, last if handed else last - DAY, ShipmentStatus.picked_up, "BR1")


@pytest.mark.parametrize(
    ("silent", "severity"),
    [
        (4 * DAY, None),
        (6 * DAY, RiskSeverity.medium),
        (11 * DAY, RiskSeverity.high),
        (31 * DAY, RiskSeverity.critical),
    ],
)
def test_stalled_severity_by_silence_against_the_lane_gap(
    silent: timedelta, severity: RiskSeverity | None
) -> None:
    gaps = learn_lane_gaps([_gap(("SP", "RJ"), 5 * 86_400.0)] * 40, now=NOW, thresholds=RULES)
    found = detect_stalled([_scan(silent)], now=NOW, gaps=gaps, thresholds=RULES)
    assert [f.severity for f in found] == ([severity] if severity else [])


def test_stalled_reason_names_the_hand_off_when_that_was_the_last_scan() -> None:
    gaps = learn_lane_gaps([], now=NOW, thresholds=RULES)
    [handoff] = detect_stalled([_scan(6 * DAY)], now=NOW, gaps=gaps, thresholds=RULES)
    [scan] = detect_stalled([_scan(6 * DAY, handed=False)], now=NOW, gaps=gaps, thresholds=RULES)
    assert (
        handoff.reason
        == "Handed to the carrier on 06 Mar 2018, no scan since: longer than usual on lane SP → RJ"
    )
    assert scan.reason == "Last carrier scan on 06 Mar 2018, none since: longer than usual on lane SP → RJ"
    assert (handoff.cause, handoff.details["usual_gap_hours"]) == (Cause.logistics_delay, 120.0)


@pytest.mark.parametrize(
    ("status", "raw", "cause"),
    [
        (ShipmentStatus.lost, None, Cause.lost_parcel),
        (ShipmentStatus.damaged, None, Cause.damaged_parcel),
        (ShipmentStatus.refused, None, Cause.refused),
        (ShipmentStatus.customs_hold, None, Cause.customs),
        (ShipmentStatus.delivery_failed, None, Cause.recipient_unreachable),
        (ShipmentStatus.delivery_failed, "consignee_incorrect_address", Cause.wrong_address),
        (ShipmentStatus.exception, "Exception_004", Cause.customs),
        (ShipmentStatus.exception, "209 破损", Cause.damaged_parcel),
        (ShipmentStatus.exception, "weather_delay", Cause.weather),
        (ShipmentStatus.returning, None, Cause.unknown),
        (ShipmentStatus.exception, None, Cause.logistics_delay),
    ],
)
def test_exception_cause_from_status_and_raw_code(
    status: ShipmentStatus, raw: str | None, cause: Cause
) -> None:
    assert exception_cause(status, raw, None) == cause


def test_one_exception_flag_per_order_the_most_severe_parcel() -> None:
    facts = [
        ExceptionFacts(5, ShipmentStatus.delivery_failed, NOW - DAY, "A"),
        ExceptionFacts(5, ShipmentStatus.lost, NOW - 2 * DAY, "B"),
        ExceptionFacts(6, ShipmentStatus.in_transit, NOW, "C"),  # not an exception: ignored
    ]
    [finding] = detect_carrier_exceptions(facts)
    assert (finding.order_id, finding.severity, finding.cause) == (
        5,
        RiskSeverity.critical,
        Cause.lost_parcel,
    )
    assert finding.details["tracking_number"] == "B"


def test_dispatch_missed_is_a_supplier_delay() -> None:
    [finding] = detect_dispatch_missed(
        [DispatchFacts(9, NOW - 4 * DAY, "seller-1", 2)], now=NOW, thresholds=RULES
    )
    assert (finding.kind, finding.severity, finding.cause) == (
        RiskFlagKind.dispatch_missed,
        RiskSeverity.high,
        Cause.supplier_delay,
    )
    assert finding.details["lines_late"] == 2


def test_thresholds_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="promise_severity_days"):
        DetectorThresholds(promise_severity_days=(7, 3, 1))
    with pytest.raises(ValueError, match="stall_quantile"):
        DetectorThresholds(stall_quantile=1.5)


def test_plan_raises_new_updates_changed_clears_gone_and_leaves_the_rest() -> None:
    [same, changed, new] = detect_promise_passed(
        [PromiseFacts(1, NOW - 2 * DAY), PromiseFacts(2, NOW - 4 * DAY), PromiseFacts(3, NOW - DAY)],
        now=NOW,
        thresholds=RULES,
    )
    open_flags = [
        OpenFlag(11, 1, RiskFlagKind.promise_passed, same.severity, None, same.reason),
        OpenFlag(12, 2, RiskFlagKind.promise_passed, RiskSeverity.medium, None, "older reason"),
        OpenFlag(13, 4, RiskFlagKind.promise_passed, RiskSeverity.low, None, "gone"),
    ]

    plan = plan_flags([same, changed, new], open_flags)

    assert plan.to_raise == [new]
    assert plan.to_update == [(12, changed)]
    assert [flag.id for flag in plan.to_clear] == [13]


@settings(max_examples=80, deadline=None)
@given(values=st.lists(st.integers(0, 20).map(float), max_size=120), data=st.data())
def test_removing_a_batch_of_gaps_keeps_the_rest_sorted(values: list[float], data: st.DataObject) -> None:
    # Both ways of removing what left the window: one by one for a few, one pass for many (>= 16).
    shuffled = data.draw(st.permutations(values))
    gone = shuffled[: data.draw(st.integers(0, len(values)))]  # a sub-multiset of the values
    expected = sorted(values)
    for value in gone:
        expected.remove(value)
    ordered = sorted(values)
    _remove_from(ordered, gone)
    assert ordered == expected
