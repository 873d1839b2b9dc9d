"""SLA arithmetic (U4, U14): business hours, pauses, deadlines, warnings and breaches.

Properties over random instants in a zone with summer time (São Paulo in 2018) plus exact
examples a person can check by hand.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderwatch.domain.causes import Cause
from orderwatch.domain.incidents import IncidentFacts, IncidentSeverity, report
from orderwatch.domain.sla import (
    BusinessCalendar,
    LedgerKind,
    SlaClock,
    SlaMetric,
    SlaState,
    elapsed_minutes,
    ledger_entries,
    moment_reaching,
    read,
)

ZONE = ZoneInfo("America/Sao_Paulo")
CAL = BusinessCalendar(ZONE, holidays=frozenset({date(2018, 2, 12), date(2018, 2, 13)}))
BASE = datetime(2018, 1, 1, tzinfo=UTC)
instants = st.integers(min_value=0, max_value=400 * 24 * 60).map(lambda m: BASE + timedelta(minutes=m))
minutes = st.integers(min_value=0, max_value=20 * 9 * 60)


@given(instants, minutes)
def test_adding_business_minutes_then_counting_them_gives_them_back(start: datetime, amount: int) -> None:
    end = CAL.add_minutes(start, amount)

    assert CAL.minutes_between(start, end) == pytest.approx(amount, abs=1e-6)
    assert end >= start


@given(instants, instants, instants)
def test_business_minutes_add_up_over_consecutive_spans(a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))

    assert CAL.minutes_between(a, b) + CAL.minutes_between(b, c) == pytest.approx(CAL.minutes_between(a, c))
    assert CAL.minutes_between(a, c) <= (c - a).total_seconds() / 60


@given(instants, instants)
def test_business_time_only_counts_open_hours(a: datetime, b: datetime) -> None:
    a, b = sorted((a, b))
    for low, high in CAL.open_periods(a, b):
        local_low, local_high = low.astimezone(ZONE), high.astimezone(ZONE)
        assert local_low.weekday() < 5
        assert local_low.date() not in CAL.holidays
        assert local_low.hour >= 9
        assert (local_high.hour, local_high.minute) <= (18, 0)


def test_business_hours_by_hand() -> None:
    friday_five_pm = datetime(2018, 3, 2, 17, 0, tzinfo=ZONE)
    # 60 minutes left on Friday, then Monday 9:00 + 60 minutes.
    assert CAL.add_minutes(friday_five_pm, 120) == datetime(2018, 3, 5, 10, 0, tzinfo=ZONE)
    # Carnival Monday and Tuesday are holidays: Friday 17:00 + 2 h lands on Wednesday 10:00.
    assert CAL.add_minutes(datetime(2018, 2, 9, 17, 0, tzinfo=ZONE), 120) == datetime(
        2018, 2, 14, 10, 0, tzinfo=ZONE
    )
    assert CAL.minutes_between(friday_five_pm, datetime(2018, 3, 5, 10, 0, tzinfo=ZONE)) == 120


pauses = st.lists(st.tuples(minutes, st.integers(min_value=1, max_value=3000)), max_size=4)


def _clock(start: datetime, target: int, gaps: list[tuple[int, int]], *, open_pause: bool) -> SlaClock:
    """A clock whose pauses follow one another: (gap before, length) in wall minutes."""
    closed, cursor = [], start
    for gap, length in gaps:
        low = cursor + timedelta(minutes=gap)
        closed.append((low, low + timedelta(minutes=length)))
        cursor = low + timedelta(minutes=length)
    paused_since = cursor + timedelta(minutes=30) if open_pause else None
    return SlaClock(SlaMetric.resolution, start, target, CAL, pauses=tuple(closed), paused_since=paused_since)


@given(instants, st.integers(min_value=1, max_value=5 * 9 * 60), pauses, st.booleans())
def test_the_deadline_is_where_counted_time_reaches_the_target(
    start: datetime, target: int, gaps: list[tuple[int, int]], open_pause: bool
) -> None:
    clock = _clock(start, target, gaps, open_pause=open_pause)

    deadline = moment_reaching(clock, target)

    if deadline is None:
        assert clock.paused_since is not None
        assert elapsed_minutes(clock, clock.paused_since + timedelta(days=400)) < target
        return
    assert elapsed_minutes(clock, deadline) == pytest.approx(target, abs=1e-6)
    assert read(clock, deadline).state is not SlaState.breached
    assert read(clock, deadline + timedelta(seconds=1)).state is SlaState.breached


@given(instants, st.integers(min_value=1, max_value=5 * 9 * 60), pauses, instants)
def test_pauses_never_add_time_and_elapsed_never_goes_back(
    start: datetime, target: int, gaps: list[tuple[int, int]], later: datetime
) -> None:
    paused = _clock(start, target, gaps, open_pause=False)
    unpaused = _clock(start, target, [], open_pause=False)
    now = max(start, later)

    assert elapsed_minutes(paused, now) <= elapsed_minutes(unpaused, now) + 1e-6
    assert elapsed_minutes(paused, now) <= elapsed_minutes(paused, now + timedelta(hours=5)) + 1e-6
    assert elapsed_minutes(unpaused, now) == pytest.approx(CAL.minutes_between(start, now))


def test_a_breach_while_paused_stays_a_breach() -> None:
    start = datetime(2018, 3, 5, 9, 0, tzinfo=ZONE)  # Monday
    clock = SlaClock(SlaMetric.resolution, start, 60, CAL, paused_since=start + timedelta(hours=3))

    reading = read(clock, start + timedelta(hours=5))

    assert reading.state is SlaState.breached
    assert reading.deadline == start + timedelta(hours=1)


def test_paused_clock_reads_paused_and_has_no_deadline() -> None:
    start = datetime(2018, 3, 5, 9, 0, tzinfo=ZONE)
    clock = SlaClock(SlaMetric.resolution, start, 120, CAL, paused_since=start + timedelta(minutes=30))

    reading = read(clock, start + timedelta(hours=6))

    assert (reading.state, reading.deadline, reading.elapsed_minutes) == (SlaState.paused, None, 30)


def test_the_job_finds_warning_and_breach_when_nobody_writes() -> None:
    reported = datetime(2018, 3, 5, 9, 0, tzinfo=ZONE)  # Monday 09:00, medium: first contact 240 min
    incident, _ = report(
        ref="INC-9",
        facts=IncidentFacts(order_ref="o-9"),
        severity=IncidentSeverity.medium,
        cause=Cause.lost_parcel,
        actor="detector",
        now=reported,
    )

    entries = ledger_entries(incident, calendar=CAL, now=reported + timedelta(days=2))

    first_contact = [(e.kind, e.at) for e in entries if e.metric is SlaMetric.first_contact]
    assert first_contact == [
        (LedgerKind.started, reported),
        (LedgerKind.warned, reported + timedelta(minutes=180)),
        (LedgerKind.breached, reported + timedelta(minutes=240)),
    ]
    # Resolution (3 business days = 1620 min) is not breached two days in.
    assert (SlaMetric.resolution, LedgerKind.breached) not in {(e.metric, e.kind) for e in entries}


def test_critical_cases_count_around_the_clock() -> None:
    saturday_night = datetime(2018, 3, 10, 23, 0, tzinfo=ZONE)
    incident, _ = report(
        ref="INC-10",
        facts=IncidentFacts(order_ref="o-10"),
        severity=IncidentSeverity.critical,
        cause=Cause.lost_parcel,
        actor="detector",
        now=saturday_night,
    )

    entries = ledger_entries(incident, calendar=CAL, now=saturday_night + timedelta(hours=2))

    assert (SlaMetric.first_contact, LedgerKind.breached, saturday_night + timedelta(minutes=60)) in {
        (e.metric, e.kind, e.at) for e in entries
    }
