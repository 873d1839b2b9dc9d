"""Incident services on SQLite and PostgreSQL (U3–U8, U11, U14): one transaction per move with its
timeline and outbox rows, idempotent automatic opening, SLA breaches found by the job, the
volume trigger and its bulk actions.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.kpi_queries import load_outcomes
from orderwatch.adapters.db.tables import (
    IncidentRow,
    IncidentTaskRow,
    IncidentTimelineRow,
    OrderRow,
    OutboxRow,
    RiskFlagRow,
    SlaLedgerRow,
    TeamMemberRow,
    TeamRow,
)
from orderwatch.bootstrap import App
from orderwatch.domain.causes import Cause
from orderwatch.domain.errors import NotFound
from orderwatch.domain.incident_tasks import TaskKind
from orderwatch.domain.incidents import Action, IllegalTransition, IncidentSeverity, IncidentStatus
from orderwatch.domain.kpis import compute
from orderwatch.domain.roles import Role
from orderwatch.services.incident_jobs import detect_volume, open_from_flags, run_sla_timers
from orderwatch.services.incidents import (
    IncidentConfig,
    assign_task,
    finish_task,
    perform,
    report_undelivered,
)
from orderwatch.services.ingest import ingest_orders, ingest_shipments
from orderwatch.services.major_incidents import message_affected_customers, request_backup_carrier
from tests.factories import make_order, make_shipment

CONFIG = IncidentConfig.for_timezone("America/Sao_Paulo")  # the clock starts Thursday 09:00 local


def _orders(app: App, count: int, *, promised_days: int = 10) -> list[str]:
    now = app.clock.now()
    orders = [
        make_order(purchased_at=now - timedelta(days=20), promised_days=promised_days) for _ in range(count)
    ]
    ingest_orders(app.uow(), orders, clock=app.clock)
    ingest_shipments(app.uow(), [make_shipment(order_ref=o.ref) for o in orders], clock=app.clock)
    return [o.ref for o in orders]


def _rows(app: App, row: Any, *where: Any) -> list[Any]:
    with app.session_factory() as session:
        return list(session.scalars(select(row).where(*where).order_by(row.id)))


def _topics(app: App) -> list[str]:
    return [r.topic for r in _rows(app, OutboxRow) if r.topic.startswith("incident.")]


def test_reporting_an_order_records_its_facts_timeline_outbox_and_sla_clocks(app: App) -> None:
    (order_ref,) = _orders(app, 1)

    ref = report_undelivered(app.uow(), app.clock, config=CONFIG, order_ref=order_ref, actor="cs")
    again = report_undelivered(app.uow(), app.clock, config=CONFIG, order_ref=order_ref, actor="cs")

    assert again == ref == f"INC-{order_ref}"
    (row,) = _rows(app, IncidentRow)
    assert (row.status, row.severity, row.cause, row.customer_email, row.carrier_code, row.lane) == (
        "reported",
        "medium",
        "unknown",
        "ana@example.com",
        "correios",
        "SP→RJ",
    )
    assert row.tracking_number is not None
    assert row.address == "sao paulo, RJ, 01310"
    assert [r.kind for r in _rows(app, IncidentTimelineRow)] == ["reported"]
    assert _topics(app) == ["incident.opened"]
    assert sorted((r.metric, r.kind) for r in _rows(app, SlaLedgerRow)) == [
        ("assessment", "started"),
        ("first_contact", "started"),
        ("resolution", "started"),
    ]
    assert row.next_sla_check_at == app.clock.now() + timedelta(minutes=90)  # 75 % of 120 min assessment


def test_unknown_order_is_not_found(app: App) -> None:
    with pytest.raises(NotFound):
        report_undelivered(app.uow(), app.clock, config=CONFIG, order_ref="nope", actor="cs")
    assert _rows(app, IncidentRow) == []


STEPS: list[tuple[Action, dict[str, str]]] = [
    (Action.assess, {"severity": "high", "cause": "lost_parcel", "note": "carrier says lost"}),
    (Action.assign, {}),
    (Action.contact_customer, {"channel": "phone"}),
    (Action.start_resolution, {"plan": "reship"}),
    (Action.resolve, {"resolution": "reshipped, delivered"}),
    (
        Action.close,
        {"root_cause": "lost at hub", "lessons": "scan at hub exit", "follow_ups": "hub audit"},
    ),
]


def test_walk_from_report_to_closed_and_report_again(app: App, clock: SimulatedClock) -> None:
    (order_ref,) = _orders(app, 1)
    ref = report_undelivered(app.uow(), clock, config=CONFIG, order_ref=order_ref, actor="cs")

    for action, arguments in STEPS:
        clock.advance(timedelta(minutes=10))
        perform(app.uow(), clock, config=CONFIG, ref=ref, action=action, actor="leader", arguments=arguments)

    (row,) = _rows(app, IncidentRow)
    assert (row.status, row.cause, row.party, row.severity, row.open_order_id) == (
        "closed",
        "lost_parcel",
        "carrier",
        "high",
        None,
    )
    assert [r.kind for r in _rows(app, IncidentTimelineRow)] == [
        "reported",
        "assess",
        "escalated",
        "assign",
        "contact_customer",
        "start_resolution",
        "resolve",
        "close",
    ]
    topics = ["incident.opened", "incident.assess", "incident.escalated"] + [
        f"incident.{a.value}" for a, _ in STEPS[1:]
    ]
    assert _topics(app) == topics
    met = sorted(r.metric for r in _rows(app, SlaLedgerRow, SlaLedgerRow.kind == "met"))
    assert met == ["assessment", "first_contact", "resolution"]
    assert row.first_contact_at - row.reported_at == timedelta(minutes=30)
    assert row.sla_state == "met"
    assert row.next_sla_check_at is None

    second = report_undelivered(app.uow(), clock, config=CONFIG, order_ref=order_ref, actor="cs")
    assert second == f"INC-{order_ref}-2"
    with app.read_session() as session:
        figures = compute(load_outcomes(session), local=UTC)
    assert figures.response_minutes_median == 30  # U14: report → first contact, the first case counts


def test_an_illegal_move_changes_nothing(app: App) -> None:
    (order_ref,) = _orders(app, 1)
    ref = report_undelivered(app.uow(), app.clock, config=CONFIG, order_ref=order_ref, actor="cs")

    with pytest.raises(IllegalTransition, match="from reported to closed"):
        perform(
            app.uow(),
            app.clock,
            config=CONFIG,
            ref=ref,
            action=Action.close,
            actor="leader",
            arguments={"root_cause": "x"},
        )

    assert [r.status for r in _rows(app, IncidentRow)] == ["reported"]
    assert len(_rows(app, IncidentTimelineRow)) == 1
    assert _topics(app) == ["incident.opened"]


def _flag(
    app: App,
    order_ref: str,
    kind: str,
    *,
    cause: str | None = None,
    days_ago: int = 0,
    severity: str = "medium",
) -> None:
    with app.session_factory() as session:
        order_id = session.scalar(select(OrderRow.id).where(OrderRow.ref == order_ref))
        raised = app.clock.now() - timedelta(days=days_ago)
        session.add(
            RiskFlagRow(
                order_id=order_id,
                kind=kind,
                severity=severity,
                cause=cause,
                reason=kind,
                details={},
                raised_at=raised,
                updated_at=raised,
            )
        )
        session.commit()


def test_automatic_opening_follows_the_policy_and_is_idempotent(app: App, clock: SimulatedClock) -> None:
    late, stalled, lost, customs, fresh = _orders(app, 5, promised_days=17)  # promised 3 days ago
    _flag(app, late, "promise_passed", days_ago=3)
    _flag(app, stalled, "stalled", severity="high")
    _flag(app, lost, "carrier_exception", cause="lost_parcel")
    _flag(app, customs, "carrier_exception", cause="customs")
    _flag(app, stalled, "promise_passed", days_ago=3)  # a second flag on an order already opened

    first = open_from_flags(app.uow, clock, config=CONFIG)
    second = open_from_flags(app.uow, clock, config=CONFIG)

    assert first == {"opened": 3, "already_open": 1, "not_an_incident": 1}
    assert second == {"not_an_incident": 1}  # only the customs exception is looked at again
    rows = {r.order_ref: r for r in _rows(app, IncidentRow)}
    assert sorted(rows) == sorted([late, stalled, lost])
    assert (rows[lost].cause, rows[lost].severity, rows[lost].source) == ("lost_parcel", "high", "risk_flag")
    assert (rows[late].cause, rows[late].party) == ("supplier_delay", "retailer")  # never handed over
    # A high-severity case reaches the team leads at once.
    assert rows[lost].escalation_level == 1

    perform(
        app.uow(),
        clock,
        config=CONFIG,
        ref=rows[late].ref,
        action=Action.cancel,
        actor="leader",
        arguments={"reason": "arrived"},
    )
    clock.advance(timedelta(hours=1))
    # The cancelled case covered the flag: it does not come back as a new case.
    assert open_from_flags(app.uow, clock, config=CONFIG) == {"not_an_incident": 1}
    assert fresh not in {r.order_ref for r in _rows(app, IncidentRow)}


def test_the_sla_job_finds_breaches_when_nobody_writes(app: App, clock: SimulatedClock) -> None:
    (order_ref,) = _orders(app, 1)
    with app.session_factory() as session:
        session.add(TeamRow(code="leadership", name="Leadership group"))
        session.flush()
        team_id = session.scalar(select(TeamRow.id))
        session.add(TeamMemberRow(team_id=team_id, username="leader", is_lead=True))
        session.commit()
    ref = report_undelivered(app.uow(), clock, config=CONFIG, order_ref=order_ref, actor="cs")
    reported = clock.now()

    clock.advance(timedelta(days=1))  # Friday 09:00: 9 business hours later
    first = run_sla_timers(app.uow, clock, config=CONFIG)
    second = run_sla_timers(app.uow, clock, config=CONFIG)

    ledger = {(r.metric, r.kind): r.at for r in _rows(app, SlaLedgerRow)}
    assert ledger[("assessment", "breached")] == reported + timedelta(minutes=120)
    assert ledger[("first_contact", "warned")] == reported + timedelta(minutes=180)
    assert ledger[("first_contact", "breached")] == reported + timedelta(minutes=240)
    assert ("resolution", "breached") not in ledger
    assert first["checked"] == 1
    assert first["escalated"] == 1
    assert second == {}
    (row,) = _rows(app, IncidentRow)
    assert (row.sla_state, row.escalation_level, row.ref) == ("breached", 2, ref)
    escalations = [r.payload for r in _rows(app, OutboxRow, OutboxRow.topic == "incident.escalated")]
    # The assessment warning reaches the leadership group's lead (it owns that clock), then the breach.
    assert [(p["detail"]["level"], p["detail"]["team"], p["detail"]["leads"]) for p in escalations] == [
        (1, "leadership", ["leader"]),
        (2, "leadership", ["leader"]),
    ]


def test_volume_trigger_groups_cases_and_bulk_actions_are_idempotent(app: App, clock: SimulatedClock) -> None:
    refs = _orders(app, 5)
    for order_ref in refs:
        report_undelivered(
            app.uow(),
            clock,
            config=CONFIG,
            order_ref=order_ref,
            actor="cs",
            cause=Cause.logistics_delay,
            severity=IncidentSeverity.low,
        )

    outcome = detect_volume(app.uow, clock, config=CONFIG)
    assert detect_volume(app.uow, clock, config=CONFIG) == {}

    assert outcome == {"majors_opened": 1, "grouped": 5}
    majors = _rows(app, IncidentRow, IncidentRow.source == "volume")
    assert [(m.scope, m.severity, m.escalation_level) for m in majors] == [("correios:SP→RJ", "critical", 2)]
    children = _rows(app, IncidentRow, IncidentRow.parent_id == majors[0].id)
    assert len(children) == 5

    queued, again = (
        message_affected_customers(
            app.uow(),
            clock,
            config=CONFIG,
            ref=majors[0].ref,
            template="delay_apology",
            actor="leader",
            role=Role.leadership,
        )
        for _ in range(2)  # the button pressed twice
    )
    assert (queued, again) == (5, 0)
    assert len(_rows(app, OutboxRow, OutboxRow.topic == "customer.incident_message")) == 5
    assert request_backup_carrier(app.uow(), clock, config=CONFIG, ref=majors[0].ref, actor="leader") is True
    assert request_backup_carrier(app.uow(), clock, config=CONFIG, ref=majors[0].ref, actor="leader") is False
    assert len(_rows(app, OutboxRow, OutboxRow.topic == "lane.backup_requested")) == 1


def test_tasks_have_owners_deadlines_and_timeline_rows(app: App, clock: SimulatedClock) -> None:
    (order_ref,) = _orders(app, 1)
    ref = report_undelivered(app.uow(), clock, config=CONFIG, order_ref=order_ref, actor="cs")

    task_id = assign_task(
        app.uow(),
        clock,
        config=CONFIG,
        ref=ref,
        kind=TaskKind.file_claim,
        owner="logistics",
        due_at=clock.now() + timedelta(hours=4),
        actor="leader",
    )
    finish_task(app.uow(), clock, config=CONFIG, task_id=task_id, actor="logistics")

    (task,) = _rows(app, IncidentTaskRow)
    assert (task.team, task.owner, task.status) == ("logistics_emergency", "logistics", "done")
    assert [r.kind for r in _rows(app, IncidentTimelineRow)] == ["reported", "task_assigned", "task_done"]
    assert [r.status for r in _rows(app, IncidentRow)] == [IncidentStatus.reported.value]


def test_a_backlog_opened_in_one_run_is_not_a_volume_spike(app: App, clock: SimulatedClock) -> None:
    refs = _orders(app, 5, promised_days=10)  # promised 10 days ago: the problems are old
    for order_ref in refs:
        _flag(app, order_ref, "promise_passed", days_ago=10)

    opened = open_from_flags(app.uow, clock, config=CONFIG)
    volume = detect_volume(app.uow, clock, config=CONFIG)

    assert opened == {"opened": 5}
    assert volume == {}
    assert {r.detected_at for r in _rows(app, IncidentRow)} == {clock.now() - timedelta(days=8)}


def test_a_case_follows_its_flag_when_the_flag_grows_worse(app: App, clock: SimulatedClock) -> None:
    (order_ref,) = _orders(app, 1, promised_days=17)
    _flag(app, order_ref, "promise_passed", days_ago=3)
    open_from_flags(app.uow, clock, config=CONFIG)
    with app.session_factory() as session:
        flag = session.scalars(select(RiskFlagRow)).one()
        flag.severity = "critical"  # what the detectors do as the days pass
        session.commit()

    clock.advance(timedelta(hours=1))
    outcome = open_from_flags(app.uow, clock, config=CONFIG)
    again = open_from_flags(app.uow, clock, config=CONFIG)

    assert outcome == {"severity_raised": 1}
    assert again == {}
    (row,) = _rows(app, IncidentRow)
    assert (row.severity, row.escalation_level) == ("critical", 3)  # critical + breached: the general manager
    kinds = [r.kind for r in _rows(app, IncidentTimelineRow)]
    assert kinds[:2] == ["reported", "severity_raised"]
    assert "escalated" in kinds


def test_a_deadline_reached_exactly_at_the_job_is_found_by_the_next_run(
    app: App, clock: SimulatedClock
) -> None:
    (order_ref,) = _orders(app, 1)
    report_undelivered(app.uow(), clock, config=CONFIG, order_ref=order_ref, actor="cs")
    reported = clock.now()

    clock.advance(timedelta(minutes=120))  # the assessment deadline, to the instant
    at_deadline = run_sla_timers(app.uow, clock, config=CONFIG)
    clock.advance(timedelta(minutes=1))
    after = run_sla_timers(app.uow, clock, config=CONFIG)

    assert at_deadline == {"checked": 1, "escalated": 1}  # the 75 % warning (at +90 min), not yet a breach
    assert after == {"checked": 1, "escalated": 1}  # the breach: level 2
    ledger = {(r.metric, r.kind): r.at for r in _rows(app, SlaLedgerRow)}
    assert ledger[("assessment", "breached")] == reported + timedelta(minutes=120)
