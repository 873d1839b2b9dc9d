"""SLA clocks of incidents (U4, U14): policies per severity, business hours, pauses, breaches.

Three clocks start when a case is reported: **assessment** (the leadership group's first look),
**first contact** (the plan's response time: report → customer contacted, U14) and
**resolution**. Each has a target in minutes per severity (:data:`SLA_POLICIES`), counted in the
shop's business hours, except critical cases, which count around the clock.

Only the resolution clock pauses while the case waits on the carrier or the customer: waiting
on a third party is no reason to delay the first call to the customer (the plan: "在最短时间内
与客户取得联系"). A breach found while paused stays a breach (ANCHORS §7, helpdesk#3277).

The ledger (started, paused, resumed, warned, met, breached, voided) is *derived* by
:func:`ledger_entries` from the incident alone, with the moment each entry happened (a breach
is dated at its deadline, not when a job noticed it), so a job that runs late or twice writes
the same rows (ANCHORS §3 #15: no job → wrong reports).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from orderwatch.domain.incidents import Incident, IncidentSeverity, IncidentStatus

WARNING_FRACTION = 0.75
_MAX_DAYS = 3_660  # a deadline ten years out is a configuration error, not a loop to run forever


class SlaMetric(StrEnum):
    assessment = "assessment"
    first_contact = "first_contact"
    resolution = "resolution"


class SlaState(StrEnum):
    """Reading of one clock, in the precedence the pages show (breached first)."""

    breached = "breached"
    paused = "paused"
    warning = "warning"
    running = "running"
    met = "met"
    void = "void"  # the case was cancelled before the deadline


class LedgerKind(StrEnum):
    started = "started"
    paused = "paused"
    resumed = "resumed"
    warned = "warned"
    met = "met"
    breached = "breached"
    voided = "voided"


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Opening hours in the shop's time zone; ``always_open`` counts every minute."""

    zone: tzinfo
    opens: time = time(9)
    closes: time = time(18)
    workdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    holidays: frozenset[date] = frozenset()
    always_open: bool = False

    def __post_init__(self) -> None:
        if not self.always_open and self.opens >= self.closes:
            raise ValueError(f"opens {self.opens} must be before closes {self.closes}")
        if not self.always_open and not self.workdays:
            raise ValueError("a business calendar needs at least one working day")

    def open_periods(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The open periods overlapping ``[start, end)``, clipped to it, in time order."""
        if end <= start:
            return
        if self.always_open:
            yield start, end
            return
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        while day <= last:
            period = self._period(day)
            if period is not None:
                low, high = max(period[0], start), min(period[1], end)
                if low < high:
                    yield low, high
            day += timedelta(days=1)

    def _period(self, day: date) -> tuple[datetime, datetime] | None:
        if day.weekday() not in self.workdays or day in self.holidays:
            return None
        opens = datetime.combine(day, self.opens, tzinfo=self.zone)
        closes = datetime.combine(day, self.closes, tzinfo=self.zone)
        return opens, closes

    def minutes_between(self, start: datetime, end: datetime) -> float:
        """Open minutes in ``[start, end)``; 0 when ``end <= start``."""
        return sum((high - low).total_seconds() for low, high in self.open_periods(start, end)) / 60

    def add_minutes(self, start: datetime, minutes: float) -> datetime:
        """The instant at which ``minutes`` open minutes have passed since ``start``."""
        if minutes < 0:
            raise ValueError(f"minutes must not be negative (got {minutes})")
        if self.always_open:
            return start + timedelta(minutes=minutes)
        remaining = timedelta(minutes=minutes)
        day = start.astimezone(self.zone).date()
        for _ in range(_MAX_DAYS):
            period = self._period(day)
            if period is not None and period[1] > start:
                low = max(period[0], start)
                if low + remaining <= period[1]:
                    return low + remaining
                remaining -= period[1] - low
            day += timedelta(days=1)
        raise ValueError(f"no deadline within {_MAX_DAYS} days: check the business calendar")


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """Targets in minutes for one severity; ``around_the_clock`` ignores business hours."""

    assessment_minutes: int
    first_contact_minutes: int
    resolution_minutes: int
    around_the_clock: bool = False

    def target(self, metric: SlaMetric) -> int:
        return {
            SlaMetric.assessment: self.assessment_minutes,
            SlaMetric.first_contact: self.first_contact_minutes,
            SlaMetric.resolution: self.resolution_minutes,
        }[metric]


# Minutes of business time (a business day is 9 h). Critical cases run 24/7, as on-call tools do.
SLA_POLICIES: dict[IncidentSeverity, SlaPolicy] = {
    IncidentSeverity.critical: SlaPolicy(30, 60, 24 * 60, around_the_clock=True),
    IncidentSeverity.high: SlaPolicy(60, 120, 2 * 9 * 60),
    IncidentSeverity.medium: SlaPolicy(120, 240, 3 * 9 * 60),
    IncidentSeverity.low: SlaPolicy(240, 9 * 60, 5 * 9 * 60),
}
PAUSABLE: frozenset[SlaMetric] = frozenset({SlaMetric.resolution})


@dataclass(frozen=True, slots=True)
class SlaClock:
    """One running or stopped clock; ``pauses`` are closed intervals, ``paused_since`` an open one."""

    metric: SlaMetric
    started_at: datetime
    target_minutes: int
    calendar: BusinessCalendar
    stopped_at: datetime | None = None
    pauses: tuple[tuple[datetime, datetime], ...] = ()
    paused_since: datetime | None = None
    voided_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SlaReading:
    """What a clock says at ``now``; ``deadline`` is ``None`` while paused before its deadline."""

    metric: SlaMetric
    state: SlaState
    elapsed_minutes: float
    target_minutes: int
    deadline: datetime | None
    warn_at: datetime | None

    @property
    def remaining_minutes(self) -> float:
        return self.target_minutes - self.elapsed_minutes


def merge_intervals(intervals: Sequence[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Sort and merge overlapping intervals; empty ones are dropped."""
    merged: list[tuple[datetime, datetime]] = []
    for low, high in sorted(i for i in intervals if i[0] < i[1]):
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _pauses(clock: SlaClock, until: datetime) -> list[tuple[datetime, datetime]]:
    intervals = list(clock.pauses)
    if clock.paused_since is not None:
        intervals.append((clock.paused_since, until))
    return merge_intervals([(max(a, clock.started_at), min(b, until)) for a, b in intervals])


def elapsed_minutes(clock: SlaClock, now: datetime) -> float:
    """Counted minutes from start to ``now`` (or the stop), open hours only, pauses left out."""
    end = _end(clock, now)
    total = clock.calendar.minutes_between(clock.started_at, end)
    paused = sum(clock.calendar.minutes_between(a, b) for a, b in _pauses(clock, end))
    return max(0.0, total - paused)


def moment_reaching(clock: SlaClock, minutes: float) -> datetime | None:
    """When the clock reaches ``minutes`` counted; ``None`` if an open pause comes first."""
    cursor, remaining = clock.started_at, minutes
    for low, high in merge_intervals([(max(a, cursor), b) for a, b in clock.pauses]):
        available = clock.calendar.minutes_between(cursor, low)
        if available >= remaining:
            return clock.calendar.add_minutes(cursor, remaining)
        remaining -= available
        cursor = max(cursor, high)
    if clock.paused_since is not None:
        if clock.calendar.minutes_between(cursor, clock.paused_since) >= remaining:
            return clock.calendar.add_minutes(cursor, remaining)
        return None
    return clock.calendar.add_minutes(cursor, remaining)


def _end(clock: SlaClock, now: datetime) -> datetime:
    """Where counting ends: the stop, the cancellation or ``now``, whichever is first."""
    return min(t for t in (clock.stopped_at, clock.voided_at, now) if t is not None)


def read(clock: SlaClock, now: datetime) -> SlaReading:
    """The clock's state at ``now`` (precedence: breached > met/void > paused > warning > running).

    Reaching the target exactly is still in time; one instant more is a breach.
    """
    state, deadline, warn_at = _state(clock, now, *_moments(clock))
    return SlaReading(
        clock.metric, state, elapsed_minutes(clock, now), clock.target_minutes, deadline, warn_at
    )


ClockState = tuple["SlaState", datetime | None, datetime | None]
"""A clock's state, its deadline and its warning moment."""


def _moments(clock: SlaClock) -> tuple[datetime | None, datetime | None]:
    """The clock's deadline and warning moment."""
    return (
        moment_reaching(clock, clock.target_minutes),
        moment_reaching(clock, clock.target_minutes * WARNING_FRACTION),
    )


def _state(clock: SlaClock, now: datetime, deadline: datetime | None, warn_at: datetime | None) -> ClockState:
    """The clock's state at ``now`` given its deadline and warning moment (see :func:`read`)."""
    end = _end(clock, now)
    if deadline is not None and deadline < end:
        state = SlaState.breached
    elif clock.stopped_at is not None and clock.stopped_at <= now:
        state = SlaState.met
    elif clock.voided_at is not None and clock.voided_at <= now:
        state = SlaState.void
    elif clock.paused_since is not None:
        state = SlaState.paused
    elif warn_at is not None and warn_at < now:
        state = SlaState.warning
    else:
        state = SlaState.running
    return state, deadline, warn_at


_STOPS = {
    SlaMetric.assessment: "assessed_at",
    SlaMetric.first_contact: "first_contact_at",
    SlaMetric.resolution: "resolved_at",
}


def clocks_of(incident: Incident, *, calendar: BusinessCalendar) -> list[SlaClock]:
    """The three clocks of ``incident`` under its severity's policy."""
    policy = SLA_POLICIES[incident.severity]
    used = BusinessCalendar(calendar.zone, always_open=True) if policy.around_the_clock else calendar
    voided = incident.cancelled_at if incident.status is IncidentStatus.cancelled else None
    clocks = []
    for metric in SlaMetric:
        pausable, start = metric in PAUSABLE, _start(incident, metric)
        clocks.append(
            SlaClock(
                metric=metric,
                started_at=start,
                target_minutes=policy.target(metric),
                calendar=used,
                stopped_at=getattr(incident, _STOPS[metric]),
                pauses=tuple(p for p in incident.pauses if p[1] > start) if pausable else (),
                paused_since=incident.waiting_since if pausable else None,
                voided_at=voided,
            )
        )
    return clocks


def _start(incident: Incident, metric: SlaMetric) -> datetime:
    """When clock ``metric`` starts counting.

    Every clock counts from the report at the severity the case has now, so a raise re-applies the
    stricter targets from the report time; after a reopen the resolution clock counts afresh
    from the reopen, since the customer's problem came back then, not at the first report.
    """
    if metric is SlaMetric.resolution and incident.reopened_at is not None:
        return incident.reopened_at
    return incident.reported_at


def readings(incident: Incident, *, calendar: BusinessCalendar, now: datetime) -> list[SlaReading]:
    return [read(clock, now) for clock in clocks_of(incident, calendar=calendar)]


def clock_states(incident: Incident, *, calendar: BusinessCalendar, now: datetime) -> list[ClockState]:
    """Each clock's (state, deadline, warning moment) at ``now``.

    :func:`readings` without the counted minutes, which cost a walk over every day since the
    report (the SLA jobs need only the state and the next moment to look again).
    """
    return [_state(clock, now, *_moments(clock)) for clock in clocks_of(incident, calendar=calendar)]


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One row of the SLA ledger; (metric, kind, at) identifies it."""

    metric: SlaMetric
    kind: LedgerKind
    at: datetime


def ledger_entries(incident: Incident, *, calendar: BusinessCalendar, now: datetime) -> list[LedgerEntry]:
    """Every ledger entry that has happened by ``now``, each dated when it happened."""
    return ledger_and_states(incident, calendar=calendar, now=now)[0]


def ledger_and_states(
    incident: Incident, *, calendar: BusinessCalendar, now: datetime
) -> tuple[list[LedgerEntry], list[ClockState]]:
    """:func:`ledger_entries` and :func:`clock_states` at once, each clock's deadlines worked out once.

    Recording a case needs both (its new ledger rows, then its board state and next check).
    """
    entries: list[LedgerEntry] = []
    states: list[ClockState] = []
    for clock in clocks_of(incident, calendar=calendar):
        deadline, warn_at = _moments(clock)
        entries.extend(_clock_entries(clock, now, deadline, warn_at))
        states.append(_state(clock, now, deadline, warn_at))
    return sorted(entries, key=lambda e: (e.at, e.metric, e.kind)), states


def _clock_entries(
    clock: SlaClock, now: datetime, deadline: datetime | None, warn_at: datetime | None
) -> list[LedgerEntry]:
    m = clock.metric
    end = _end(clock, now)
    out = [LedgerEntry(m, LedgerKind.started, clock.started_at)]
    for low, high in clock.pauses:
        if low < end:
            out.append(LedgerEntry(m, LedgerKind.paused, low))
            out.append(LedgerEntry(m, LedgerKind.resumed, high))
    if clock.paused_since is not None and clock.paused_since < end:
        out.append(LedgerEntry(m, LedgerKind.paused, clock.paused_since))
    if warn_at is not None and warn_at < end:
        out.append(LedgerEntry(m, LedgerKind.warned, warn_at))
    if deadline is not None and deadline < end:
        out.append(LedgerEntry(m, LedgerKind.breached, deadline))
    elif clock.stopped_at is not None and clock.stopped_at <= now:
        out.append(LedgerEntry(m, LedgerKind.met, clock.stopped_at))
    elif clock.voided_at is not None and clock.voided_at <= now:
        out.append(LedgerEntry(m, LedgerKind.voided, clock.voided_at))
    return [e for e in out if e.at <= now]
