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
Within a batch the rows are written per batch, not per case (``incident_writes.CaseWrites``):
the same rows, in the same order, as recording the cases one by one.
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
from orderwatch.domain.incidents import Incident, IncidentFacts, IncidentSeverity, IncidentSource
from orderwatch.domain.risk_flags import RiskFlagKind, RiskSeverity
from orderwatch.services.incident_ports import FlagCandidate, IncidentUnitOfWork, NewCase
from orderwatch.services.incident_writes import CaseWrites
from orderwatch.services.incidents import IncidentConfig, open_incident, record, ref_for
from orderwatch.services.ports import Clock
from orderwatch.services.remedy_ports import RemedyUnitOfWork

UowFactory = Callable[[], IncidentUnitOfWork]
AUTO_OPEN_KINDS = (RiskFlagKind.promise_passed, RiskFlagKind.stalled, RiskFlagKind.carrier_exception)
DETECTOR = "detector"
_FROM_FLAG_SEVERITY = {s.value: IncidentSeverity(s.value) for s in RiskSeverity}


def open_from_flags(uow_factory: UowFactory, clock: Clock, *, config: IncidentConfig) -> Counter[str]:
    """Open cases for open risk flags the policy says are incidents; counts by outcome.

    One transaction, written per run rather than per case: the candidates' active cases and
    case counts in one query each, the new cases in one INSERT, their rows by ``CaseWrites``.
    """
    now = clock.now()
    outcome: Counter[str] = Counter()
    with uow_factory() as uow:
        store = uow.incidents
        candidates = store.flag_candidates(kinds=AUTO_OPEN_KINDS, limit=config.batch * 50)
        order_ids = sorted({c.order.order_id for c in candidates})
        active = store.active_refs_for_orders(order_ids)
        counts = Counter(store.counts_for_orders(order_ids))
        opened: list[tuple[Incident, list[domain.IncidentEvent], NewCase]] = []
        for candidate in candidates:
            case = _open_one(candidate, active, counts, config=config, now=now)
            if isinstance(case, str):
                outcome[case] += 1
                continue
            opened.append(case)
            outcome["opened"] += 1
        ids = store.add_many([new for _, _, new in opened], now=now)
        writes = CaseWrites(uow)
        writes.created(ids)
        for (incident, events, _), incident_id in zip(opened, ids, strict=True):
            incident.id = incident_id
            record(uow, incident, events, config=config, now=now, writes=writes)
        writes.flush()  # before the severity follow-up reads the cases
        outcome["severity_raised"] += _follow_flag_severity(uow, config=config, now=now)
        uow.commit()
    if not outcome["severity_raised"]:
        del outcome["severity_raised"]
    return outcome


def _open_one(
    candidate: FlagCandidate,
    active: dict[int, str],
    counts: Counter[int],
    *,
    config: IncidentConfig,
    now: datetime,
) -> str | tuple[Incident, list[domain.IncidentEvent], NewCase]:
    """The case to open for ``candidate`` (``active`` and ``counts`` updated), or why none."""
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
    if order.order_id in active:
        return "already_open"  # two flags of one order in the same batch
    incident, events = domain.report(
        ref=ref_for(order.facts.order_ref, counts[order.order_id]),
        facts=order.facts,
        severity=decision.severity,
        cause=decision.cause,
        actor=DETECTOR,
        now=now,
        source=IncidentSource.risk_flag,
        summary=decision.summary,
    )
    incident.detected_at = decision.detected_at
    active[order.order_id] = incident.ref
    counts[order.order_id] += 1
    return incident, events, NewCase(incident, order.order_id, candidate.flag_id)


def _follow_flag_severity(uow: IncidentUnitOfWork, *, config: IncidentConfig, now: datetime) -> int:
    """Raise a case's severity when its flag has grown worse (days pass); never lower it."""
    raised = 0
    cases = uow.incidents.flag_severities()
    writes = CaseWrites(uow)
    writes.preload(incident.id for incident, _ in cases if incident.id is not None)
    for incident, flag_severity in cases:
        target = _FROM_FLAG_SEVERITY.get(flag_severity)
        if target is None:
            continue
        events = domain.raise_severity(incident, target, actor=DETECTOR, now=now, reason="risk flag severity")
        if events:
            record(uow, incident, events, config=config, now=now, writes=writes)
            raised += 1
    writes.flush()
    return raised


def run_sla_timers(uow_factory: UowFactory, clock: Clock, *, config: IncidentConfig) -> Counter[str]:
    """Record due SLA warnings/breaches and escalate, batch by batch, until none is due."""
    now = clock.now()
    outcome: Counter[str] = Counter()
    while True:
        with uow_factory() as uow:
            due = uow.incidents.due_for_sla(now=now, limit=config.batch)
            writes = CaseWrites(uow)
            writes.preload(incident.id for incident in due if incident.id is not None)
            for incident in due:
                level = incident.escalation_level
                record(uow, incident, [], config=config, now=now, writes=writes)
                outcome["checked"] += 1
                outcome["escalated"] += incident.escalation_level > level
            writes.flush()
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
            incidents = uow.incidents.get_many([case.ref for case in cases])
            writes = CaseWrites(uow)
            writes.preload(incident.id for incident in incidents.values() if incident.id is not None)
            for case in cases:
                incident = incidents[case.ref]
                if incident.status not in domain.OPEN_STATES:
                    continue  # moved by someone between the query and the lock
                events = domain.parcel_delivered(
                    incident, actor=DETECTOR, now=now, delivered_at=case.delivered_at
                )
                record(uow, incident, events, config=config, now=now, writes=writes)
                outcome["resolved"] += bool(events)
            writes.flush()
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
