"""The incident aggregate of the emergency plan (U3–U8, U11, D13): one undelivered order, one case.

Lifecycle, declared once in :data:`TRANSITIONS` (action → allowed sources → target)::

    reported ─assess→ assessed ─assign→ assigned ─contact_customer→ customer_contacted
        ─start_resolution→ resolving ─resolve→ resolved ─close→ closed
    cancel:  any open state (reported … resolving) → cancelled
    delivered: any open state → resolved   (the carrier scanned the parcel delivered; automatic)
    reopen:  resolved | closed | cancelled → reported   (the leadership group triages it again)

Each transition is one function taking the incident, the actor and ``now``; it checks the table,
updates the incident and returns the domain events it caused (the service turns them into a
timeline row and outbox rows in the same transaction). An illegal move raises
:class:`IllegalTransition`, naming the incident, the current and the requested state. Asking
for the state the incident is already in is a no-op that returns no events (django-oscar's
``set_status`` rule).

Pausing (waiting on the carrier or on the customer) is not a state: it is orthogonal to where
the case stands, and only stops the SLA clocks that may pause (``domain/sla.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from orderwatch.domain.causes import PARTY_AT_FAULT, Cause, Party
from orderwatch.domain.errors import Conflict, ValidationFailed


class IncidentStatus(StrEnum):
    """Where a case stands in the plan's sequence (U3–U8)."""

    reported = "reported"
    assessed = "assessed"
    assigned = "assigned"
    customer_contacted = "customer_contacted"
    resolving = "resolving"
    resolved = "resolved"
    closed = "closed"
    cancelled = "cancelled"


class IncidentSeverity(StrEnum):
    """How bad a case is; drives SLA targets and the escalation ladder (U4)."""

    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    IncidentSeverity.low: 0,
    IncidentSeverity.medium: 1,
    IncidentSeverity.high: 2,
    IncidentSeverity.critical: 3,
}


class Action(StrEnum):
    """The moves of the lifecycle, one function each below."""

    assess = "assess"
    assign = "assign"
    contact_customer = "contact_customer"
    start_resolution = "start_resolution"
    resolve = "resolve"
    close = "close"
    cancel = "cancel"
    reopen = "reopen"
    delivered = "delivered"  # the parcel arrived: taken by the system, never from a form


class WaitingOn(StrEnum):
    """Third parties whose answer pauses the pausable SLA clocks (ANCHORS §3 #16)."""

    carrier = "carrier"
    customer = "customer"


class IncidentSource(StrEnum):
    """How a case came to exist."""

    manual = "manual"  # a staff member marked the order undelivered
    risk_flag = "risk_flag"  # opened automatically from a detector's flag
    volume = "volume"  # a major incident grouping many cases on one lane/region


S = IncidentStatus
OPEN_STATES: frozenset[IncidentStatus] = frozenset(
    {S.reported, S.assessed, S.assigned, S.customer_contacted, S.resolving}
)
# "Never two open incidents for one order": resolved cases still count until they are closed.
ACTIVE_STATES: frozenset[IncidentStatus] = OPEN_STATES | {S.resolved}
FINAL_STATES: frozenset[IncidentStatus] = frozenset({S.closed, S.cancelled})

TRANSITIONS: Mapping[Action, tuple[frozenset[IncidentStatus], IncidentStatus]] = {
    Action.assess: (frozenset({S.reported}), S.assessed),
    Action.assign: (frozenset({S.assessed}), S.assigned),
    Action.contact_customer: (frozenset({S.assigned}), S.customer_contacted),
    Action.start_resolution: (frozenset({S.customer_contacted}), S.resolving),
    Action.resolve: (frozenset({S.resolving}), S.resolved),
    Action.close: (frozenset({S.resolved}), S.closed),
    Action.cancel: (OPEN_STATES, S.cancelled),
    Action.reopen: (frozenset({S.resolved, S.closed, S.cancelled}), S.reported),
    Action.delivered: (OPEN_STATES, S.resolved),
}

ALLOWED_TRANSITIONS: Mapping[IncidentStatus, frozenset[IncidentStatus]] = {
    state: frozenset(target for sources, target in TRANSITIONS.values() if state in sources)
    for state in IncidentStatus
}


class IllegalTransition(Conflict):
    """A move the lifecycle table does not allow from the incident's current state."""

    def __init__(self, incident_ref: str, current: IncidentStatus, requested: IncidentStatus) -> None:
        self.incident_ref = incident_ref
        self.current = current
        self.requested = requested
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[current])) or "none"
        super().__init__(
            f"incident {incident_ref}: cannot move from {current} to {requested} (allowed: {allowed})"
        )


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """What the plan asks the reporter to collect (U3): order, contact, address, carrier."""

    order_ref: str
    customer_name: str | None = None
    customer_email: str | None = None
    customer_phone: str | None = None
    address: str | None = None
    region: str | None = None
    lane: str | None = None  # origin region → destination region
    carrier_code: str | None = None
    tracking_number: str | None = None
    order_value_cents: int = 0


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    """Something that happened to an incident; ``kind`` is the timeline kind and outbox topic suffix."""

    kind: str
    incident_ref: str
    at: datetime
    actor: str
    from_status: IncidentStatus | None = None
    to_status: IncidentStatus | None = None
    detail: Mapping[str, object] = field(default_factory=dict)

    @property
    def topic(self) -> str:
        """The outbox topic: ``incident.opened``, ``incident.assessed``, ``incident.escalated`` ..."""
        return f"incident.{_TOPIC_NAMES.get(self.kind, self.kind)}"


_TOPIC_NAMES = {"reported": "opened"}


@dataclass
class Incident:
    """One case: an order that was not delivered (or lost, damaged, refused ...)."""

    ref: str
    facts: IncidentFacts
    severity: IncidentSeverity
    cause: Cause
    reported_at: datetime
    reported_by: str
    source: IncidentSource = IncidentSource.manual
    status: IncidentStatus = IncidentStatus.reported
    summary: str = ""
    id: int | None = None
    parent_ref: str | None = None  # the major incident grouping this one (volume trigger)
    scope: str | None = None  # a major incident's carrier lane or region
    detected_at: datetime | None = None  # when the problem arose (auto-open); else reported_at
    assessed_at: datetime | None = None
    assigned_at: datetime | None = None
    first_contact_at: datetime | None = None
    resolving_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    cancelled_at: datetime | None = None
    waiting_on: WaitingOn | None = None
    waiting_since: datetime | None = None
    pauses: list[tuple[datetime, datetime]] = field(default_factory=list)
    escalation_level: int = 0
    resolution: str | None = None
    root_cause: str | None = None
    lessons: str | None = None
    follow_ups: str | None = None  # actions agreed at close-out (U8)
    reopened_at: datetime | None = None  # the resolution clock counts from here after a reopen

    @property
    def party_at_fault(self) -> Party | None:
        return PARTY_AT_FAULT[self.cause]

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATES

    @property
    def is_major(self) -> bool:
        return self.source is IncidentSource.volume


_STAMP = {
    S.assessed: "assessed_at",
    S.assigned: "assigned_at",
    S.resolving: "resolving_at",
    S.resolved: "resolved_at",
    S.closed: "closed_at",
    S.cancelled: "cancelled_at",
}


def report(
    *,
    ref: str,
    facts: IncidentFacts,
    severity: IncidentSeverity,
    cause: Cause,
    actor: str,
    now: datetime,
    source: IncidentSource = IncidentSource.manual,
    summary: str = "",
) -> tuple[Incident, list[IncidentEvent]]:
    """A new case in state ``reported`` (U3), with its ``reported`` event."""
    if not facts.order_ref and source is not IncidentSource.volume:
        raise ValidationFailed("order_ref", "an incident needs the order it is about")
    incident = Incident(
        ref=ref,
        facts=facts,
        severity=severity,
        cause=cause,
        reported_at=now,
        reported_by=actor,
        source=source,
        summary=summary,
    )
    detail = {"severity": severity.value, "cause": cause.value, "source": source.value}
    return incident, [IncidentEvent("reported", ref, now, actor, None, S.reported, detail)]


def _check_legal(incident: Incident, action: Action) -> None:
    sources, target = TRANSITIONS[action]
    if incident.status is not target and incident.status not in sources:
        raise IllegalTransition(incident.ref, incident.status, target)


def _move(
    incident: Incident, action: Action, *, actor: str, now: datetime, detail: Mapping[str, object]
) -> list[IncidentEvent]:
    sources, target = TRANSITIONS[action]
    if incident.status is target:
        return []
    if incident.status not in sources:
        raise IllegalTransition(incident.ref, incident.status, target)
    if now < incident.reported_at:
        raise ValidationFailed("now", "is before the incident was reported", now.isoformat())
    previous = incident.status
    incident.status = target
    if target in _STAMP:
        setattr(incident, _STAMP[target], now)
    if target in FINAL_STATES or target is S.resolved:
        _end_wait(incident, now)
    return [IncidentEvent(action.value, incident.ref, now, actor, previous, target, dict(detail))]


def assess(
    incident: Incident,
    *,
    actor: str,
    now: datetime,
    severity: IncidentSeverity | None = None,
    cause: Cause | None = None,
    note: str = "",
) -> list[IncidentEvent]:
    """The leadership group's first assessment (U4): confirm or change severity and cause."""
    events = _move(
        incident,
        Action.assess,
        actor=actor,
        now=now,
        detail={
            "severity": (severity or incident.severity).value,
            "cause": (cause or incident.cause).value,
            "note": note,
        },
    )
    if events:
        incident.severity = severity or incident.severity
        incident.cause = cause or incident.cause
    return events


def assign(incident: Incident, *, actor: str, now: datetime, note: str = "") -> list[IncidentEvent]:
    """The lead has handed the case to the CS and logistics emergency teams (U5)."""
    return _move(incident, Action.assign, actor=actor, now=now, detail={"note": note})


def contact_customer(
    incident: Incident, *, actor: str, now: datetime, channel: str, note: str = ""
) -> list[IncidentEvent]:
    """CS reached the customer for the first time (U6, the U14 response-time clock stops)."""
    if not channel:
        raise ValidationFailed("channel", "say how the customer was contacted (phone, email, chat)")
    events = _move(
        incident, Action.contact_customer, actor=actor, now=now, detail={"channel": channel, "note": note}
    )
    if events:
        incident.first_contact_at = now
    return events


def start_resolution(incident: Incident, *, actor: str, now: datetime, plan: str) -> list[IncidentEvent]:
    """The remedy is agreed (redelivery, reshipment, refund ...) and being carried out (U6, U7)."""
    if not plan:
        raise ValidationFailed("plan", "say what will be done (redeliver, reship, refund, claim)")
    return _move(incident, Action.start_resolution, actor=actor, now=now, detail={"plan": plan})


def resolve(incident: Incident, *, actor: str, now: datetime, resolution: str) -> list[IncidentEvent]:
    """The customer has their parcel, a replacement or their money (U7)."""
    if not resolution:
        raise ValidationFailed("resolution", "record the result for the customer")
    events = _move(incident, Action.resolve, actor=actor, now=now, detail={"resolution": resolution})
    if events:
        incident.resolution = resolution
    return events


def close(
    incident: Incident,
    *,
    actor: str,
    now: datetime,
    root_cause: str,
    lessons: str = "",
    follow_ups: str = "",
) -> list[IncidentEvent]:
    """Close-out (U8): result, root cause, lessons learned and follow-up actions are all required."""
    _check_legal(incident, Action.close)  # an illegal move says so before any missing field
    for name, value in (("root_cause", root_cause), ("lessons", lessons), ("follow_ups", follow_ups)):
        if not value.strip():
            raise ValidationFailed(name, "is required to close the case (the post-incident report needs it)")
    if incident.status is S.resolved and not incident.resolution:
        raise ValidationFailed("resolution", "record the result for the customer before closing")
    events = _move(
        incident,
        Action.close,
        actor=actor,
        now=now,
        detail={"root_cause": root_cause, "lessons": lessons, "follow_ups": follow_ups},
    )
    if events:
        incident.root_cause, incident.lessons, incident.follow_ups = root_cause, lessons, follow_ups
    return events


def cancel(incident: Incident, *, actor: str, now: datetime, reason: str) -> list[IncidentEvent]:
    """Not an incident after all (the parcel arrived, a duplicate report)."""
    if not reason:
        raise ValidationFailed("reason", "say why the incident is cancelled")
    return _move(incident, Action.cancel, actor=actor, now=now, detail={"reason": reason})


def reopen(incident: Incident, *, actor: str, now: datetime, reason: str) -> list[IncidentEvent]:
    """The problem came back (the customer still has nothing): triage again from ``reported``."""
    if not reason:
        raise ValidationFailed("reason", "say why the incident is reopened")
    events = _move(incident, Action.reopen, actor=actor, now=now, detail={"reason": reason})
    if events:
        incident.resolved_at = incident.closed_at = incident.cancelled_at = None
        incident.reopened_at = now
    return events


def parcel_delivered(
    incident: Incident, *, actor: str, now: datetime, delivered_at: datetime
) -> list[IncidentEvent]:
    """The carrier scanned the parcel delivered: an open case is resolved, whatever step it was at."""
    result = f"delivered on {delivered_at.date().isoformat()}"
    events = _move(
        incident,
        Action.delivered,
        actor=actor,
        now=now,
        detail={"note": result, "delivered_at": delivered_at.isoformat()},
    )
    if events:
        incident.resolution = result
    return events


TRANSITION_FUNCTIONS = {
    Action.assess: assess,
    Action.assign: assign,
    Action.contact_customer: contact_customer,
    Action.start_resolution: start_resolution,
    Action.resolve: resolve,
    Action.close: close,
    Action.cancel: cancel,
    Action.reopen: reopen,
    Action.delivered: parcel_delivered,
}


def wait_on(incident: Incident, party: WaitingOn, *, actor: str, now: datetime) -> list[IncidentEvent]:
    """Start waiting on a third party; pausable SLA clocks stop until :func:`stop_waiting`."""
    if incident.status not in OPEN_STATES:
        raise Conflict(f"incident {incident.ref}: cannot wait on {party} while {incident.status}")
    if incident.waiting_on is party:
        return []
    events = _end_wait(incident, now, actor=actor)
    incident.waiting_on, incident.waiting_since = party, now
    return [*events, IncidentEvent("paused", incident.ref, now, actor, detail={"waiting_on": party.value})]


def stop_waiting(incident: Incident, *, actor: str, now: datetime) -> list[IncidentEvent]:
    """The third party answered; the paused clocks run again."""
    return _end_wait(incident, now, actor=actor)


def _end_wait(incident: Incident, now: datetime, *, actor: str = "system") -> list[IncidentEvent]:
    if incident.waiting_on is None or incident.waiting_since is None:
        return []
    party = incident.waiting_on
    incident.pauses.append((incident.waiting_since, now))
    incident.waiting_on = incident.waiting_since = None
    return [IncidentEvent("resumed", incident.ref, now, actor, detail={"waited_on": party.value})]


def escalate(
    incident: Incident, *, level: int, reason: str, actor: str, now: datetime
) -> list[IncidentEvent]:
    """Raise the escalation level (U4); escalating to a level already reached does nothing."""
    if level <= incident.escalation_level:
        return []
    previous, incident.escalation_level = incident.escalation_level, level
    return [
        IncidentEvent(
            "escalated",
            incident.ref,
            now,
            actor,
            detail={"from_level": previous, "level": level, "reason": reason},
        )
    ]


def raise_severity(
    incident: Incident, severity: IncidentSeverity, *, actor: str, now: datetime, reason: str
) -> list[IncidentEvent]:
    """Make a case more severe (never less: lowering is part of the assessment)."""
    if severity.rank <= incident.severity.rank:
        return []
    previous, incident.severity = incident.severity, severity
    return [
        IncidentEvent(
            "severity_raised",
            incident.ref,
            now,
            actor,
            detail={"from": previous.value, "to": severity.value, "reason": reason},
        )
    ]
