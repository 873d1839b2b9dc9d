"""Incident jobs that act when nobody writes (U3, U4, U14): auto-open, SLA timers, volume trigger.

* :func:`open_from_flags` — open cases from the detectors' open risk flags, by the policy of
  ``domain/incident_triggers.py``. Idempotent: a flag is covered by any case of its order that
  was not finished before the flag was raised, and the unique ``open_order_id`` makes a second
  active case for one order impossible even for two jobs racing.
* :func:`run_sla_timers` — bring the SLA ledger of every case whose next warning or deadline has
  come up to date, escalating by the ladder (frappe/helpdesk#3279: breaches must be found by a
  job, not only on write).
* :func:`detect_volume` — ≥ N new cases on one carrier lane or region within an hour become one
  major incident grouping them (see ``major_incidents.py`` for its bulk actions).
* :func:`resolve_delivered` — an open case whose parcel (or its reshipment) the carrier scanned
  delivered after the case was opened or reopened moves to ``resolved``, "delivered on …".

Each batch is one transaction; a batch that fails rolls back whole and is retried next run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime

from orderwatch.domain import incidents as domain
from orderwatch.domain.causes import Cause
from orderwatch.domain.errors import Conflict
from orderwatch.domain.escalation import volume_spikes
from orderwatch.domain.incident_triggers import decide
from orderwatch.domain.incidents import IncidentFacts, IncidentSeverity, IncidentSource
from orderwatch.domain.risk_flags import RiskFlagKind, RiskSeverity
from orderwatch.services.incident_ports import FlagCandidate, IncidentUnitOfWork
from orderwatch.services.incidents import IncidentConfig, next_ref, open_incident, record
from orderwatch.services.ports import Clock
from orderwatch.services.remedy_ports import RemedyUnitOfWork

UowFactory = Callable[[], IncidentUnitOfWork]
AUTO_OPEN_KINDS = (RiskFlagKind.promise_passed, RiskFlagKind.stalled, RiskFlagKind.carrier_exception)
DETECTOR = "detector"
_FROM_FLAG_SEVERITY = {s.value: IncidentSeverity(s.value) for s in RiskSeverity}


def open_from_flags(uow_factory: UowFactory, clock: Clock, *, config: IncidentConfig) -> Counter[str]:
    """Open cases for open risk flags the policy says are incidents; counts by outcome."""
    now = clock.now()
    outcome: Counter[str] = Counter()
    with uow_factory() as uow:
        candidates = uow.incidents.flag_candidates(kinds=AUTO_OPEN_KINDS, limit=config.batch * 50)
        for candidate in candidates:
            outcome[_open_one(uow, candidate, config=config, now=now)] += 1
        outcome["severity_raised"] += _follow_flag_severity(uow, config=config, now=now)
        uow.commit()
    if not outcome["severity_raised"]:
        del outcome["severity_raised"]
    return outcome


def _open_one(
    uow: IncidentUnitOfWork, candidate: FlagCandidate, *, config: IncidentConfig, now: datetime
) -> str:
    order = candidate.order
    decision = decide(
        candidate.flag,
        promised_at=order.promised_at,
        now=now,
        policy=config.auto_open,
        handed_over=order.handed_over,
    )
    if decision is None:
        return "not_an_incident"  # not (yet): e.g. a promise within the grace days
    if uow.incidents.active_ref_for_order(order.order_id) is not None:
        return "already_open"  # two flags of one order in the same batch
    incident, events = domain.report(
        ref=next_ref(uow, order.facts.order_ref, order.order_id),
        facts=order.facts,
        severity=decision.severity,
        cause=decision.cause,
        actor=DETECTOR,
        now=now,
        source=IncidentSource.risk_flag,
        summary=decision.summary,
    )
    incident.detected_at = decision.detected_at
    open_incident(
        uow, incident, events, order_id=order.order_id, risk_flag_id=candidate.flag_id, config=config, now=now
    )
    return "opened"


def _follow_flag_severity(uow: IncidentUnitOfWork, *, config: IncidentConfig, now: datetime) -> int:
    """Raise a case's severity when its flag has grown worse (days pass); never lower it."""
    raised = 0
    for incident, flag_severity in uow.incidents.flag_severities():
        target = _FROM_FLAG_SEVERITY.get(flag_severity)
        if target is None:
            continue
        events = domain.raise_severity(incident, target, actor=DETECTOR, now=now, reason="risk flag severity")
        if events:
            record(uow, incident, events, config=config, now=now)
            raised += 1
    return raised


def run_sla_timers(uow_factory: UowFactory, clock: Clock, *, config: IncidentConfig) -> Counter[str]:
    """Record due SLA warnings/breaches and escalate, batch by batch, until none is due."""
    now = clock.now()
    outcome: Counter[str] = Counter()
    while True:
        with uow_factory() as uow:
            due = uow.incidents.due_for_sla(now=now, limit=config.batch)
            for incident in due:
                level = incident.escalation_level
                record(uow, incident, [], config=config, now=now)
                outcome["checked"] += 1
                outcome["escalated"] += incident.escalation_level > level
            uow.commit()
        if len(due) < config.batch:
            return outcome


def resolve_delivered(
    uow_factory: Callable[[], RemedyUnitOfWork], clock: Clock, *, config: IncidentConfig
) -> Counter[str]:
    """Resolve open cases whose parcel arrived; batch by batch until none is left."""
    now = clock.now()
    outcome: Counter[str] = Counter()
    while True:
        with uow_factory() as uow:
            cases = uow.remedies.delivered_cases(limit=config.batch)
            for case in cases:
                incident = uow.incidents.get(case.ref)
                if incident.status not in domain.OPEN_STATES:
                    continue  # moved by someone between the query and the lock
                events = domain.parcel_delivered(
                    incident, actor=DETECTOR, now=now, delivered_at=case.delivered_at
                )
                record(uow, incident, events, config=config, now=now)
                outcome["resolved"] += bool(events)
            uow.commit()
        if len(cases) < config.batch:
            return outcome


def detect_volume(uow_factory: UowFactory, clock: Clock, *, config: IncidentConfig) -> Counter[str]:
    """Group spikes of new cases into major incidents (U4 volume ladder)."""
    now = clock.now()
    outcome: Counter[str] = Counter()
    with uow_factory() as uow:
        store = uow.incidents
        for spike in volume_spikes(
            store.recent_cases(since=now - config.volume.window), now=now, policy=config.volume
        ):
            major_ref = store.active_major_ref(spike.scope)
            if major_ref is None:
                major_ref = _open_major(uow, spike.scope, len(spike.refs), config=config, now=now)
                outcome["majors_opened"] += 1
            major = store.get(major_ref)
            assert major.id is not None
            store.set_parent(spike.refs, major.id, now=now)
            event = domain.IncidentEvent(
                "grouped",
                major.ref,
                now,
                DETECTOR,
                detail={"scope": spike.scope, "incidents": list(spike.refs)},
            )
            record(uow, major, [event], config=config, now=now)
            outcome["grouped"] += len(spike.refs)
        uow.commit()
    return outcome


def _open_major(
    uow: IncidentUnitOfWork, scope: str, count: int, *, config: IncidentConfig, now: datetime
) -> str:
    carrier = scope.split(":", 1)[0] if not scope.startswith("region:") else None
    facts = IncidentFacts(
        order_ref="",
        carrier_code=carrier,
        region=scope.removeprefix("region:") if carrier is None else None,
        lane=scope.split(":", 1)[1] if carrier else None,
    )
    incident, events = domain.report(
        ref=f"MAJ-{now:%Y%m%d%H%M}-{scope}",
        facts=facts,
        severity=IncidentSeverity.critical,
        cause=Cause.logistics_delay,
        actor=DETECTOR,
        now=now,
        source=IncidentSource.volume,
        summary=f"{count} new incidents on {scope} within {config.volume.window}",
    )
    incident.scope = scope
    try:
        open_incident(uow, incident, events, order_id=None, risk_flag_id=None, config=config, now=now)
    except Conflict:
        existing = uow.incidents.active_major_ref(scope)
        assert existing is not None
        return existing
    return incident.ref
