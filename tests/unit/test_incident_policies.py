"""Automatic opening from risk flags, escalation ladders and the volume trigger (U3, U4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orderwatch.domain.causes import Cause
from orderwatch.domain.escalation import (
    Level,
    RecentCase,
    Team,
    VolumePolicy,
    step_for_deadline,
    step_for_severity,
    volume_spikes,
)
from orderwatch.domain.incident_triggers import AutoOpenPolicy, decide
from orderwatch.domain.incidents import IncidentSeverity
from orderwatch.domain.risk_flags import RiskFlag, RiskFlagKind, RiskSeverity
from orderwatch.domain.sla import LedgerKind, SlaMetric

NOW = datetime(2018, 3, 1, 12, 0, tzinfo=UTC)
POLICY = AutoOpenPolicy(promise_grace_days=2, severe_after_days=7)


def flag(
    kind: RiskFlagKind,
    *,
    cause: Cause | None = None,
    severity: RiskSeverity = RiskSeverity.low,
    raised: datetime = NOW,
    cleared: datetime | None = None,
) -> RiskFlag:
    return RiskFlag("o-1", kind, severity, "reason", raised, cause=cause, cleared_at=cleared)


@pytest.mark.parametrize(
    ("days_late_case", "expected"),
    [(1, None), (2, IncidentSeverity.medium), (6, IncidentSeverity.medium), (7, IncidentSeverity.high)],
)
def test_promise_passed_opens_after_the_grace_days(
    days_late_case: int, expected: IncidentSeverity | None
) -> None:
    decision = decide(
        flag(RiskFlagKind.promise_passed),
        promised_at=NOW - timedelta(days=days_late_case),
        now=NOW,
        policy=POLICY,
    )

    assert (decision.severity if decision else None) == expected
    if decision:
        assert decision.cause is Cause.logistics_delay


@pytest.mark.parametrize(
    ("cause_case", "expected"),
    [
        (Cause.lost_parcel, IncidentSeverity.high),
        (Cause.damaged_parcel, IncidentSeverity.high),
        (Cause.wrong_address, IncidentSeverity.medium),
        (Cause.refused, IncidentSeverity.medium),
        (Cause.customs, None),
        (None, None),
    ],
)
def test_carrier_exceptions_open_only_for_the_plan_causes(
    cause_case: Cause | None, expected: IncidentSeverity | None
) -> None:
    decision = decide(
        flag(RiskFlagKind.carrier_exception, cause=cause_case), promised_at=None, now=NOW, policy=POLICY
    )

    assert (decision.severity if decision else None) == expected


def test_flag_severity_raises_but_never_lowers_the_floor() -> None:
    critical = decide(
        flag(RiskFlagKind.stalled, severity=RiskSeverity.critical), promised_at=None, now=NOW, policy=POLICY
    )
    low = decide(
        flag(RiskFlagKind.carrier_exception, cause=Cause.refused, severity=RiskSeverity.low),
        promised_at=None,
        now=NOW,
        policy=POLICY,
    )

    assert critical is not None
    assert critical.severity is IncidentSeverity.critical
    assert low is not None
    assert low.severity is IncidentSeverity.medium


@pytest.mark.parametrize("kind_case", [RiskFlagKind.dispatch_missed, RiskFlagKind.predicted_late])
def test_supplier_and_model_flags_never_open_incidents(kind_case: RiskFlagKind) -> None:
    assert (
        decide(
            flag(kind_case, severity=RiskSeverity.critical),
            promised_at=NOW - timedelta(days=30),
            now=NOW,
            policy=POLICY,
        )
        is None
    )


def test_a_cleared_flag_opens_nothing() -> None:
    assert decide(flag(RiskFlagKind.stalled, cleared=NOW), promised_at=None, now=NOW, policy=POLICY) is None


def test_severity_and_deadline_ladders() -> None:
    assert step_for_severity(IncidentSeverity.critical).level is Level.leadership  # type: ignore[union-attr]
    assert step_for_severity(IncidentSeverity.high).level is Level.team_lead  # type: ignore[union-attr]
    assert step_for_severity(IncidentSeverity.medium) is None

    warned = step_for_deadline(SlaMetric.first_contact, LedgerKind.warned, IncidentSeverity.low)
    breached = step_for_deadline(SlaMetric.first_contact, LedgerKind.breached, IncidentSeverity.low)
    critical = step_for_deadline(SlaMetric.resolution, LedgerKind.breached, IncidentSeverity.critical)

    assert (warned.level, warned.team) == (Level.team_lead, Team.cs_emergency)  # type: ignore[union-attr]
    assert (breached.level, breached.team) == (Level.leadership, Team.leadership)  # type: ignore[union-attr]
    assert critical.level is Level.general_manager  # type: ignore[union-attr]
    assert step_for_deadline(SlaMetric.resolution, LedgerKind.met, IncidentSeverity.critical) is None


def _case(n: int, minutes_ago: int, lane: str | None = "SP→RJ", region: str | None = "RJ") -> RecentCase:
    return RecentCase(f"INC-{n}", NOW - timedelta(minutes=minutes_ago), "correios", lane, region)


def test_volume_trigger_counts_one_lane_within_the_window() -> None:
    cases = [_case(n, 10 * n) for n in range(5)] + [_case(9, 61)]  # INC-9 is outside the hour

    spikes = volume_spikes(cases, now=NOW, policy=VolumePolicy(threshold=5))

    assert [(s.scope, s.refs) for s in spikes] == [
        ("correios:SP→RJ", ("INC-0", "INC-1", "INC-2", "INC-3", "INC-4"))
    ]


def test_volume_trigger_falls_back_to_the_region_for_mixed_lanes() -> None:
    cases = [_case(n, n, lane=f"L{n}") for n in range(4)] + [_case(4, 5, lane=None)]

    spikes = volume_spikes(cases, now=NOW, policy=VolumePolicy(threshold=5))

    assert [(s.scope, len(s.refs)) for s in spikes] == [("region:RJ", 5)]


def test_below_threshold_no_spike() -> None:
    assert volume_spikes([_case(n, n) for n in range(4)], now=NOW, policy=VolumePolicy(threshold=5)) == []


def test_detected_at_is_when_the_policy_fired_not_when_the_job_ran() -> None:
    promised = NOW - timedelta(days=10)

    late = decide(
        flag(RiskFlagKind.promise_passed, raised=promised), promised_at=promised, now=NOW, policy=POLICY
    )
    lost = decide(
        flag(RiskFlagKind.carrier_exception, cause=Cause.lost_parcel, raised=NOW - timedelta(hours=3)),
        promised_at=None,
        now=NOW,
        policy=POLICY,
    )

    assert late is not None
    assert late.detected_at == promised + timedelta(days=2)
    assert lost is not None
    assert lost.detected_at == NOW - timedelta(hours=3)


@pytest.mark.parametrize(
    ("severity_case", "opens"),
    [
        (RiskSeverity.low, False),
        (RiskSeverity.medium, False),
        (RiskSeverity.high, True),
        (RiskSeverity.critical, True),
    ],
)
def test_a_stall_opens_a_case_only_well_beyond_the_lane_gap(severity_case: RiskSeverity, opens: bool) -> None:
    decision = decide(
        flag(RiskFlagKind.stalled, severity=severity_case), promised_at=None, now=NOW, policy=POLICY
    )

    assert (decision is not None) is opens


def test_a_promise_missed_before_hand_over_is_the_shops_delay() -> None:
    promised = NOW - timedelta(days=5)

    never_shipped = decide(
        flag(RiskFlagKind.promise_passed), promised_at=promised, now=NOW, policy=POLICY, handed_over=False
    )
    in_transit = decide(flag(RiskFlagKind.promise_passed), promised_at=promised, now=NOW, policy=POLICY)

    assert never_shipped is not None
    assert never_shipped.cause is Cause.supplier_delay
    assert in_transit is not None
    assert in_transit.cause is Cause.logistics_delay


def test_a_stall_is_dated_when_the_silence_passed_twice_the_lane_gap() -> None:
    details = {"last_scan_at": (NOW - timedelta(days=6)).isoformat(), "usual_gap_hours": 48.0}
    stalled = RiskFlag("o-1", RiskFlagKind.stalled, RiskSeverity.high, "silent", NOW, details=details)
    bare = RiskFlag("o-1", RiskFlagKind.stalled, RiskSeverity.high, "silent", NOW - timedelta(hours=1))

    dated = decide(stalled, promised_at=None, now=NOW, policy=POLICY)
    undated = decide(bare, promised_at=None, now=NOW, policy=POLICY)

    assert dated is not None
    assert dated.detected_at == NOW - timedelta(days=2)
    assert undated is not None
    assert undated.detected_at == NOW - timedelta(hours=1)
