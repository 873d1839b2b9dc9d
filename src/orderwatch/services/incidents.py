"""Incident use cases (U3–U8, U11, U14): report, move through the lifecycle, wait, note, assign.

Every public function is one transaction (saleor's ``cancel_order`` shape)::

    lock the case ─▶ domain transition (returns events) ─▶ timeline rows ─▶ outbox rows
                  ─▶ SLA ledger brought up to date (new warnings/breaches escalate) ─▶ save

so a move, its audit row, its messages and its SLA bookkeeping are committed together or not
at all. The jobs that act when nobody writes (automatic opening, SLA timers, the volume
trigger) live in ``incident_jobs.py`` and reuse :func:`record`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from orderwatch.domain import incidents as domain
from orderwatch.domain.causes import Cause
from orderwatch.domain.errors import NotFound, ValidationFailed
from orderwatch.domain.escalation import Team, VolumePolicy, step_for_deadline, step_for_severity
from orderwatch.domain.incident_tasks import TASK_TEAM, TaskKind, check_due
from orderwatch.domain.incident_triggers import AutoOpenPolicy
from orderwatch.domain.incidents import Action, Incident, IncidentEvent, IncidentSeverity, WaitingOn
from orderwatch.domain.sla import (
    BusinessCalendar,
    ClockState,
    LedgerKind,
    SlaState,
    clock_states,
    ledger_and_states,
)
from orderwatch.services.incident_ports import IncidentUnitOfWork
from orderwatch.services.incident_writes import CaseWrites
from orderwatch.services.ports import Clock

_TICK = timedelta(seconds=1)
# Board precedence of clock states (ANCHORS §6: failed > paused > due > fulfilled).
_PRECEDENCE = [
    SlaState.breached,
    SlaState.paused,
    SlaState.warning,
    SlaState.running,
    SlaState.met,
    SlaState.void,
]


@dataclass(frozen=True)
class IncidentConfig:
    """Policies the incident services apply; entry points build it from settings."""

    calendar: BusinessCalendar = field(default_factory=lambda: BusinessCalendar(UTC))
    auto_open: AutoOpenPolicy = field(default_factory=AutoOpenPolicy)
    volume: VolumePolicy = field(default_factory=VolumePolicy)
    batch: int = 1_000

    @classmethod
    def for_timezone(cls, name: str, **options: Any) -> IncidentConfig:
        """The default policies with business hours in the shop's time zone ``name``."""
        return cls(calendar=BusinessCalendar(ZoneInfo(name)), **options)


def record(
    uow: IncidentUnitOfWork,
    incident: Incident,
    events: Sequence[IncidentEvent],
    *,
    config: IncidentConfig,
    now: datetime,
    writes: CaseWrites | None = None,
) -> None:
    """Write ``events`` (timeline + outbox), bring the SLA ledger up to date, save the case.

    With ``writes`` (a job run over many cases) the rows are kept there and written by its
    ``flush`` with those of the other cases, in the same transaction; without, at once.
    """
    assert incident.id is not None
    kept = CaseWrites(uow) if writes is None else writes
    # Escalating below changes only the level, never the clocks: both are read from them now.
    entries, clocks = ledger_and_states(incident, calendar=config.calendar, now=now)
    new_entries = kept.new_ledger_entries(incident.id, entries, now=now)
    # The caller's events, then what they caused, written together (one insert each, in order).
    follow_ups: list[IncidentEvent] = list(events)
    severity_step = step_for_severity(incident.severity)  # also after an assessment raised it
    if severity_step is not None:
        follow_ups += _escalation(
            uow, incident, severity_step.level, severity_step.reason, severity_step.team.value, now=now
        )
    for entry in new_entries:
        step = step_for_deadline(entry.metric, entry.kind, incident.severity)
        if entry.kind in {LedgerKind.warned, LedgerKind.breached}:
            follow_ups.append(
                IncidentEvent(
                    f"sla_{entry.kind}", incident.ref, entry.at, "sla", detail={"metric": entry.metric.value}
                )
            )
        if step is not None:
            follow_ups += _escalation(uow, incident, step.level, step.reason, step.team.value, now=now)
    kept.add_events(incident, follow_ups, now=now)
    state, next_check = sla_summary(incident, config=config, now=now, clocks=clocks)
    kept.save(incident, sla_state=state, next_sla_check_at=next_check, now=now)
    if writes is None:
        kept.flush()


def _escalation(
    uow: IncidentUnitOfWork, incident: Incident, level: int, reason: str, team: str, *, now: datetime
) -> list[IncidentEvent]:
    events = domain.escalate(incident, level=level, reason=reason, actor="escalation", now=now)
    if events:
        recipients = uow.incidents.recipients(Team(team), now=now)
        detail = {
            **events[0].detail,
            "team": team,
            "leads": list(recipients.leads),
            "on_call": list(recipients.on_call),
        }
        events = [IncidentEvent("escalated", incident.ref, now, "escalation", detail=detail)]
    return events


def sla_summary(
    incident: Incident, *, config: IncidentConfig, now: datetime, clocks: Sequence[ClockState] | None = None
) -> tuple[str, datetime | None]:
    """The board's SLA state of a case and when the SLA job must look at it next.

    ``clocks``: the case's clock states at ``now`` if already worked out (``ledger_and_states``).
    """
    current = clock_states(incident, calendar=config.calendar, now=now) if clocks is None else clocks
    state = min((clock_state for clock_state, _, _ in current), key=_PRECEDENCE.index)
    upcoming = [
        moment
        for clock_state, deadline, warn_at in current
        if clock_state in {SlaState.running, SlaState.warning}
        for moment in (warn_at, deadline)
        if moment is not None and moment >= now
    ]
    if not upcoming or not incident.is_active:
        return state.value, None
    # A deadline reached exactly now is breached one instant later: look again then, not now
    # (a check due now would be picked up again by the same job run, forever).
    return state.value, max(min(upcoming), now + _TICK)


def open_incident(
    uow: IncidentUnitOfWork,
    incident: Incident,
    events: list[IncidentEvent],
    *,
    order_id: int | None,
    risk_flag_id: int | None,
    config: IncidentConfig,
    now: datetime,
) -> Incident:
    """Store a new case with its ``reported`` events and the severity escalation (no commit)."""
    incident.id = uow.incidents.add(incident, order_id=order_id, risk_flag_id=risk_flag_id, now=now)
    record(uow, incident, events, config=config, now=now)
    return incident


def next_ref(uow: IncidentUnitOfWork, order_ref: str, order_id: int) -> str:
    """``INC-<order>``, then ``INC-<order>-2`` ...: readable, and unique per order."""
    return ref_for(order_ref, uow.incidents.count_for_order(order_id))


def ref_for(order_ref: str, count: int) -> str:
    """The ref of the next case of an order that has had ``count`` cases."""
    return f"INC-{order_ref}" if count == 0 else f"INC-{order_ref}-{count + 1}"


def report_undelivered(
    uow: IncidentUnitOfWork,
    clock: Clock,
    *,
    config: IncidentConfig,
    order_ref: str,
    actor: str,
    cause: Cause = Cause.unknown,
    severity: IncidentSeverity = IncidentSeverity.medium,
    summary: str = "",
) -> str:
    """Staff marked ``order_ref`` undelivered (U3): open its case, or return the one already open."""
    now = clock.now()
    with uow:
        order = uow.incidents.find_order(order_ref)
        if order is None:
            raise NotFound("order", order_ref)
        existing = uow.incidents.active_ref_for_order(order.order_id)
        if existing is not None:
            return existing
        incident, events = domain.report(
            ref=next_ref(uow, order_ref, order.order_id),
            facts=order.facts,
            severity=severity,
            cause=cause,
            actor=actor,
            now=now,
            summary=summary,
        )
        open_incident(
            uow, incident, events, order_id=order.order_id, risk_flag_id=None, config=config, now=now
        )
        uow.commit()
        return incident.ref


_REQUIRED: Mapping[Action, tuple[str, ...]] = {
    Action.contact_customer: ("channel",),
    Action.start_resolution: ("plan",),
    Action.resolve: ("resolution",),
    Action.close: ("root_cause", "lessons", "follow_ups"),
    Action.cancel: ("reason",),
    Action.reopen: ("reason",),
}
_OPTIONAL: Mapping[Action, tuple[str, ...]] = {
    Action.assess: ("severity", "cause", "note"),
    Action.assign: ("note",),
    Action.contact_customer: ("note",),
}


def _arguments(action: Action, given: Mapping[str, str]) -> dict[str, Any]:
    allowed = set(_REQUIRED.get(action, ())) | set(_OPTIONAL.get(action, ()))
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ValidationFailed(unknown[0], f"is not an argument of {action} (allowed: {sorted(allowed)})")
    arguments: dict[str, Any] = {name: given.get(name, "") for name in _REQUIRED.get(action, ())}
    arguments |= {name: value for name, value in given.items() if name in _OPTIONAL.get(action, ())}
    if "severity" in arguments:
        arguments["severity"] = _enum(IncidentSeverity, "severity", arguments["severity"])
    if "cause" in arguments:
        arguments["cause"] = _enum(Cause, "cause", arguments["cause"])
    return arguments


def _enum(kind: Any, name: str, value: str) -> Any:
    try:
        return kind(value) if value else None
    except ValueError:
        raise ValidationFailed(name, f"must be one of {', '.join(kind)}", value) from None


def perform(
    uow: IncidentUnitOfWork,
    clock: Clock,
    *,
    config: IncidentConfig,
    ref: str,
    action: Action,
    actor: str,
    arguments: Mapping[str, str] | None = None,
) -> Incident:
    """Apply one lifecycle move to case ``ref`` (one transaction); returns the case after it."""
    if action is Action.delivered:
        raise ValidationFailed("action", "a delivery is recorded from the carrier's scan, not by hand")
    now = clock.now()
    with uow:
        incident = uow.incidents.get(ref)
        function = domain.TRANSITION_FUNCTIONS[action]
        events = function(incident, actor=actor, now=now, **_arguments(action, arguments or {}))  # type: ignore[operator]
        record(uow, incident, events, config=config, now=now)
        uow.commit()
        return incident


def set_waiting(
    uow: IncidentUnitOfWork,
    clock: Clock,
    *,
    config: IncidentConfig,
    ref: str,
    party: WaitingOn | None,
    actor: str,
) -> Incident:
    """Start (``party``) or stop (``None``) waiting on the carrier or the customer."""
    now = clock.now()
    with uow:
        incident = uow.incidents.get(ref)
        if party is None:
            events = domain.stop_waiting(incident, actor=actor, now=now)
        else:
            events = domain.wait_on(incident, party, actor=actor, now=now)
        record(uow, incident, events, config=config, now=now)
        uow.commit()
        return incident


NOTE_KINDS = frozenset({"note", "customer_contact", "carrier_contact"})


def add_note(
    uow: IncidentUnitOfWork,
    clock: Clock,
    *,
    config: IncidentConfig,
    ref: str,
    actor: str,
    text: str,
    kind: str = "note",
) -> None:
    """A note or a contact (customer, carrier) on the timeline (U11): every contact is recorded."""
    if kind not in NOTE_KINDS:
        raise ValidationFailed("kind", f"must be one of {', '.join(sorted(NOTE_KINDS))}", kind)
    if not text.strip():
        raise ValidationFailed("text", "must not be empty")
    now = clock.now()
    with uow:
        incident = uow.incidents.get(ref)
        event = IncidentEvent(kind, incident.ref, now, actor, detail={"text": text.strip()})
        record(uow, incident, [event], config=config, now=now)
        uow.commit()


def assign_task(
    uow: IncidentUnitOfWork,
    clock: Clock,
    *,
    config: IncidentConfig,
    ref: str,
    kind: TaskKind,
    owner: str,
    due_at: datetime,
    actor: str,
    note: str = "",
) -> int:
    """The lead gives ``owner`` a task with a deadline on case ``ref`` (U5)."""
    now = clock.now()
    check_due(due_at, now=now)
    if not owner:
        raise ValidationFailed("owner", "a task needs an owner")
    with uow:
        incident = uow.incidents.get(ref)
        assert incident.id is not None
        team = TASK_TEAM[kind]
        task_id = uow.incidents.add_task(
            incident.id, kind=kind, team=team, owner=owner, due_at=due_at, note=note, actor=actor, now=now
        )
        event = IncidentEvent(
            "task_assigned",
            incident.ref,
            now,
            actor,
            detail={
                "task_id": task_id,
                "task": kind.value,
                "team": team.value,
                "owner": owner,
                "due_at": due_at.isoformat(),
                "note": note,
            },
        )
        record(uow, incident, [event], config=config, now=now)
        uow.commit()
        return task_id


def finish_task(
    uow: IncidentUnitOfWork,
    clock: Clock,
    *,
    config: IncidentConfig,
    task_id: int,
    actor: str,
    done: bool = True,
) -> None:
    """Mark a task done (or cancelled) and put it on the case's timeline."""
    now = clock.now()
    with uow:
        task = uow.incidents.finish_task(task_id, status="done" if done else "cancelled", now=now)
        incident = uow.incidents.get(task.incident_ref)
        event = IncidentEvent(
            "task_done" if done else "task_cancelled",
            incident.ref,
            now,
            actor,
            detail={"task_id": task_id, "task": task.kind.value, "owner": task.owner},
        )
        record(uow, incident, [event], config=config, now=now)
        uow.commit()
