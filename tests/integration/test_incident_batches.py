"""A job run over many cases writes exactly what recording them one by one wrote (issue 3/5 speed).

The incident jobs (automatic opening with the severity follow-up, SLA timers, resolve on
delivery, claim deadlines) write their rows per run (``services/incident_writes.py``). Here the
same shop is run twice from an empty database on the same backend: once with those jobs, once
with the jobs as they were written before, one case at a time (each case's rows written as it
is recorded, ``record`` without ``writes``). Every row of the incidents, their timeline, the SLA
ledger, the outbox and the claims must be the same — ids included, since both runs start from
an empty database and write in the same order. (The one-by-one jobs below repeat the jobs'
loops on purpose: they are the reference the batched jobs are held to.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select, text, update

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.tables import (
    Base,
    CarrierClaimRow,
    IncidentRow,
    IncidentTimelineRow,
    OrderRow,
    OutboxRow,
    RiskFlagRow,
    SlaLedgerRow,
    table_of,
)
from orderwatch.bootstrap import App, build_app
from orderwatch.domain import claims as claim_domain
from orderwatch.domain import incidents as domain
from orderwatch.domain.escalation import Team
from orderwatch.domain.incident_triggers import decide
from orderwatch.domain.incidents import Action, IncidentEvent, IncidentSeverity, IncidentSource
from orderwatch.domain.shipments import ShipmentStatus
from orderwatch.services.claim_deadlines import (
    CLAIM_ESCALATION_TEAMS,
    ESCALATION_ACTOR,
    escalate_overdue_claims,
)
from orderwatch.services.incident_jobs import (
    AUTO_OPEN_KINDS,
    DETECTOR,
    open_from_flags,
    resolve_delivered,
    run_sla_timers,
)
from orderwatch.services.incident_teams import sync_teams
from orderwatch.services.incidents import (
    IncidentConfig,
    next_ref,
    open_incident,
    perform,
    record,
    report_undelivered,
)
from orderwatch.services.ingest import ingest_events, ingest_orders, ingest_shipments
from orderwatch.services.ports import Clock
from orderwatch.services.remedy_ledger import open_claim
from tests.conftest import START
from tests.factories import make_event, make_order, make_shipment
from tests.integration.test_incidents import _flag

# A small batch, so the SLA and delivery jobs take several transactions per run.
CONFIG = IncidentConfig.for_timezone("America/Sao_Paulo", batch=7)
ORDERS = 40
Job = Callable[[Callable[[], Any], Clock], Counter[str]]


# ---------------------------------------------------------------- the jobs, one case at a time


def _open_one_by_one(uow_factory: Callable[[], Any], clock: Clock) -> Counter[str]:
    now, outcome = clock.now(), Counter[str]()
    with uow_factory() as uow:
        for candidate in uow.incidents.flag_candidates(kinds=AUTO_OPEN_KINDS, limit=CONFIG.batch * 50):
            order = candidate.order
            decision = decide(
                candidate.flag,
                promised_at=order.promised_at,
                now=now,
                policy=CONFIG.auto_open,
                handed_over=order.handed_over,
            )
            if decision is None:
                outcome["not_an_incident"] += 1
                continue
            if uow.incidents.active_ref_for_order(order.order_id) is not None:
                outcome["already_open"] += 1
                continue
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
                uow,
                incident,
                events,
                order_id=order.order_id,
                risk_flag_id=candidate.flag_id,
                config=CONFIG,
                now=now,
            )
            outcome["opened"] += 1
        for incident, flag_severity in uow.incidents.flag_severities():
            events = domain.raise_severity(
                incident,
                IncidentSeverity(flag_severity),
                actor=DETECTOR,
                now=now,
                reason="risk flag severity",
            )
            if events:
                record(uow, incident, events, config=CONFIG, now=now)
                outcome["severity_raised"] += 1
        uow.commit()
    return outcome


def _sla_one_by_one(uow_factory: Callable[[], Any], clock: Clock) -> Counter[str]:
    now, outcome = clock.now(), Counter[str]()
    while True:
        with uow_factory() as uow:
            due = uow.incidents.due_for_sla(now=now, limit=CONFIG.batch)
            for incident in due:
                level = incident.escalation_level
                record(uow, incident, [], config=CONFIG, now=now)
                outcome["checked"] += 1
                outcome["escalated"] += incident.escalation_level > level
            uow.commit()
        if len(due) < CONFIG.batch:
            return outcome


def _delivered_one_by_one(uow_factory: Callable[[], Any], clock: Clock) -> Counter[str]:
    now, outcome = clock.now(), Counter[str]()
    while True:
        with uow_factory() as uow:
            cases = uow.remedies.delivered_cases(limit=CONFIG.batch)
            for case in cases:
                incident = uow.incidents.get(case.ref)
                if incident.status not in domain.OPEN_STATES:
                    continue
                events = domain.parcel_delivered(
                    incident, actor=DETECTOR, now=now, delivered_at=case.delivered_at
                )
                record(uow, incident, events, config=CONFIG, now=now)
                outcome["resolved"] += bool(events)
            uow.commit()
        if len(cases) < CONFIG.batch:
            return outcome


def _claims_one_by_one(uow_factory: Callable[[], Any], clock: Clock) -> Counter[str]:
    now, outcome = clock.now(), Counter[str]()
    while True:
        with uow_factory() as uow:
            claims = uow.remedies.overdue_claims(now=now, limit=CONFIG.batch)
            for claim in claims:
                deadline = claim_domain.deadline_to_escalate(claim, now)
                if deadline is None:
                    continue
                detail = claim_domain.escalate(claim, deadline, now=now)
                for team in CLAIM_ESCALATION_TEAMS:
                    recipients = uow.incidents.recipients(team, now=now)
                    detail[team.value] = {
                        "leads": list(recipients.leads),
                        "on_call": list(recipients.on_call),
                    }
                uow.remedies.save_claim(claim, now=now)
                incident = uow.incidents.get(claim.incident_ref)
                event = IncidentEvent("claim_overdue", incident.ref, now, ESCALATION_ACTOR, detail=detail)
                record(uow, incident, [event], config=CONFIG, now=now)
                outcome[deadline.value] += 1
            uow.commit()
        if len(claims) < CONFIG.batch:
            return outcome


ONE_BY_ONE: dict[str, Job] = {
    "open": _open_one_by_one,
    "sla": _sla_one_by_one,
    "delivered": _delivered_one_by_one,
    "claims": _claims_one_by_one,
}
BATCHED: dict[str, Job] = {
    "open": lambda uow, clock: open_from_flags(uow, clock, config=CONFIG),
    "sla": lambda uow, clock: run_sla_timers(uow, clock, config=CONFIG),
    "delivered": lambda uow, clock: resolve_delivered(uow, clock, config=CONFIG),
    "claims": lambda uow, clock: escalate_overdue_claims(uow, clock, config=CONFIG),
}


# ---------------------------------------------------------------- one shop, run by either set of jobs


def _shop(app: App, clock: SimulatedClock, jobs: dict[str, Job]) -> list[Counter[str]]:
    """Orders with every kind of flag, then days of the jobs; the jobs' outcomes in order."""
    sync_teams(
        app.uow(),
        {
            Team.leadership: [("leader", True)],
            Team.cs_emergency: [("cs-lead", True), ("cs", False)],
            Team.logistics_emergency: [("lg-lead", True)],
        },
    )
    orders = [
        make_order(
            ref=f"ORD-{n:03d}",
            customer_ref=f"CUS-{n:03d}",
            purchased_at=clock.now() - timedelta(days=20),
            promised_days=17,  # promised 3 days ago
        )
        for n in range(ORDERS)
    ]
    ingest_orders(app.uow(), orders, clock=clock)
    ingest_shipments(
        app.uow(),
        [make_shipment(order_ref=o.ref, tracking=f"TRK-{n:03d}") for n, o in enumerate(orders)],
        clock=clock,
    )
    refs = [o.ref for o in orders]
    for ref in refs[7::8]:  # an earlier case, cancelled: the new one is INC-<order>-2
        case = report_undelivered(app.uow(), clock, config=CONFIG, order_ref=ref, actor="cs")
        perform(
            app.uow(),
            clock,
            config=CONFIG,
            ref=case,
            action=Action.cancel,
            actor="cs",
            arguments={"reason": "x"},
        )
    clock.advance(timedelta(minutes=5))
    for n, ref in enumerate(refs):
        match n % 8:
            case 0 | 7:
                _flag(app, ref, "promise_passed", severity="medium", days_ago=0 if n % 8 == 7 else 3)
            case 1:
                _flag(app, ref, "stalled", severity="high")
            case 2:
                _flag(app, ref, "carrier_exception", severity="high", cause="lost_parcel")
            case 3:
                _flag(app, ref, "carrier_exception", severity="medium", cause="customs")  # not an incident
            case 4:
                _flag(app, ref, "promise_passed", severity="medium", days_ago=3)
                _flag(app, ref, "stalled", severity="high")  # a second flag: already open
            case 5:
                _flag(app, ref, "promise_passed", severity="critical", days_ago=3)
            case 6:
                _flag(app, ref, "stalled", severity="medium")  # below the policy's floor
    outcomes = [jobs["open"](app.uow, clock), jobs["open"](app.uow, clock)]

    with app.session_factory() as session:  # the detectors rate some flags worse as days pass
        session.execute(
            update(RiskFlagRow)
            .where(RiskFlagRow.order_id.in_(select(OrderRow.id).where(OrderRow.ref.in_(refs[0::8]))))
            .values(severity="critical")
        )
        session.commit()
    clock.advance(timedelta(hours=1))
    outcomes.append(jobs["open"](app.uow, clock))

    lost = [f"INC-{ref}" for ref in refs[2::8]]
    for ref in lost + lost[:1]:  # the first lost parcel has two claims
        open_claim(app.uow(), clock, config=CONFIG, ref=ref, amount_claimed_cents=6_000, actor="lg-lead")
    clock.advance(timedelta(hours=20))
    outcomes.append(jobs["sla"](app.uow, clock))

    delivered_at = clock.now() - timedelta(minutes=30)
    events = [
        make_event(tracking=f"TRK-{n:03d}", status=ShipmentStatus.delivered, at=delivered_at)
        for n in range(1, ORDERS, 4)
    ]
    ingest_events(app.uow(), events, clock=clock)
    outcomes.append(jobs["delivered"](app.uow, clock))
    outcomes.append(jobs["delivered"](app.uow, clock))

    clock.advance(timedelta(days=40))  # every draft is overdue
    outcomes.append(jobs["claims"](app.uow, clock))
    outcomes.append(jobs["sla"](app.uow, clock))
    outcomes.append(jobs["claims"](app.uow, clock))
    return outcomes


def _rows(app: App) -> dict[str, list[dict[str, Any]]]:
    tables = (IncidentRow, IncidentTimelineRow, SlaLedgerRow, OutboxRow, CarrierClaimRow)
    found = {}
    with app.session_factory() as session:
        for row in tables:
            table = table_of(row)
            found[table.name] = [
                dict(r._mapping) for r in session.execute(select(table).order_by(table.c.id))
            ]
    return found


def _run(app: App, jobs: dict[str, Job]) -> tuple[list[Counter[str]], dict[str, list[dict[str, Any]]]]:
    """Run the shop from an empty database of ``app``'s backend, on a clock starting at START."""
    clock = SimulatedClock(START)
    fresh = build_app(app.settings, clock=clock)
    try:
        if fresh.engine.dialect.name == "sqlite":
            Base.metadata.drop_all(fresh.engine)
            Base.metadata.create_all(fresh.engine)
        else:
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            with fresh.engine.begin() as connection:
                connection.execute(text(f"truncate {names} restart identity cascade"))
        return _shop(fresh, clock, jobs), _rows(fresh)
    finally:
        fresh.engine.dispose()


def test_a_run_writes_exactly_what_recording_case_by_case_wrote(app: App) -> None:
    one_by_one, expected = _run(app, ONE_BY_ONE)
    batched, written = _run(app, BATCHED)

    assert batched == one_by_one
    for name, rows in expected.items():
        assert len(written[name]) == len(rows), name
        for got, want in zip(written[name], rows, strict=True):
            assert got == want, name
    # The shop exercised what the jobs do: every outcome, warnings, breaches and escalations.
    opened, rerun, raised, sla, resolved, nothing, claims, sla_later, no_claims = batched
    assert opened == {"opened": 30, "already_open": 5, "not_an_incident": 10}
    assert rerun == {"not_an_incident": 10}
    assert raised == {"severity_raised": 5, "not_an_incident": 10}
    assert sla["checked"] > CONFIG.batch
    assert sla["escalated"] > CONFIG.batch
    assert resolved == {"resolved": 10}
    assert nothing == {}
    assert claims == {"file_by": 6}
    assert sla_later["checked"] > 0
    assert no_claims == {}
    kinds = {r["kind"] for r in written["incident_timeline"]}
    assert {"reported", "escalated", "sla_warned", "sla_breached", "severity_raised", "delivered"} <= kinds
    assert {"claim_overdue", "cancel"} <= kinds
    assert [r["ref"] for r in written["incidents"] if r["ref"].endswith("-2")] == [
        f"INC-ORD-{n:03d}-2" for n in range(7, ORDERS, 8)
    ]
