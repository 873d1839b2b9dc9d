"""Claim deadlines per carrier and the escalation of overdue claims, on SQLite and PostgreSQL (U7, U4).

The carrier master data sets the windows (days to file after the report, days to answer after
filing); the job ``incidents.claim_deadlines`` escalates each passed deadline once, to the
logistics emergency team and the leadership group, with a timeline row and an outbox row.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.tables import CarrierClaimRow, CarrierRow, IncidentTimelineRow, OutboxRow
from orderwatch.bootstrap import App
from orderwatch.domain.causes import Cause
from orderwatch.domain.claims import ClaimAction
from orderwatch.domain.escalation import Team
from orderwatch.entrypoints.incident_wiring import INCIDENT_JOBS
from orderwatch.services.claim_deadlines import escalate_overdue_claims
from orderwatch.services.incident_teams import sync_teams
from orderwatch.services.incidents import IncidentConfig, report_undelivered
from orderwatch.services.ingest import ingest_orders, ingest_shipments
from orderwatch.services.master_data import import_carriers
from orderwatch.services.ports import CarrierDetails
from orderwatch.services.remedy_ledger import move_claim, open_claim
from tests.factories import make_order, make_shipment

CONFIG = IncidentConfig.for_timezone("America/Sao_Paulo")


def _case(app: App, *, carrier: str = "correios") -> str:
    order = make_order(purchased_at=app.clock.now() - timedelta(days=20), promised_days=10)
    ingest_orders(app.uow(), [order], clock=app.clock)
    ingest_shipments(app.uow(), [make_shipment(order_ref=order.ref, carrier=carrier)], clock=app.clock)
    return report_undelivered(
        app.uow(), app.clock, config=CONFIG, order_ref=order.ref, actor="cs", cause=Cause.lost_parcel
    )


def _rows(app: App, row: Any, *where: Any) -> list[Any]:
    with app.session_factory() as session:
        return list(session.scalars(select(row).where(*where).order_by(row.id)))


def _overdue_rows(app: App) -> tuple[list[IncidentTimelineRow], list[OutboxRow]]:
    timeline = _rows(app, IncidentTimelineRow, IncidentTimelineRow.kind == "claim_overdue")
    outbox = _rows(app, OutboxRow, OutboxRow.topic == "incident.claim_overdue")
    return timeline, outbox


def test_carrier_master_data_sets_the_claim_deadlines(app: App, clock: SimulatedClock) -> None:
    outcomes = import_carriers(
        app.uow(),
        [
            CarrierDetails("correios", "Correios", claim_file_days=10, claim_answer_days=20),
            CarrierDetails("jadlog", "Jadlog"),
            CarrierDetails("bad", "Bad", claim_file_days=0),
            CarrierDetails("worse", "Worse", claim_answer_days=400),
        ],
        clock=clock,
        source="test",
    )
    ref = _case(app)
    reported_at = _rows(app, IncidentTimelineRow)[0].at

    claim = open_claim(app.uow(), clock, config=CONFIG, ref=ref, amount_claimed_cents=6_000, actor="lg")
    clock.advance(timedelta(days=2))
    filed = move_claim(
        app.uow(),
        clock,
        config=CONFIG,
        claim_id=claim.id or 0,
        action=ClaimAction.file,
        actor="lg",
        carrier_reference="COR-1",
    )

    assert [o.result for o in outcomes] == ["accepted", "accepted", "rejected", "rejected"]
    assert outcomes[2].reason == "claim_file_days: must be whole days from 1 to 365 (got 0)"
    assert outcomes[3].reason == "claim_answer_days: must be whole days from 1 to 365 (got 400)"
    days = {r.code: (r.claim_file_days, r.claim_answer_days) for r in _rows(app, CarrierRow)}
    assert days == {"correios": (10, 20), "jadlog": (30, 30)}
    assert claim.file_by == reported_at + timedelta(days=10)
    assert filed.answer_due_at == clock.now() + timedelta(days=20)
    (row,) = _rows(app, CarrierClaimRow)
    assert (row.file_by, row.answer_due_at) == (claim.file_by, filed.answer_due_at)


def test_naming_a_carrier_again_without_deadlines_keeps_them(app: App, clock: SimulatedClock) -> None:
    # e.g. the demo or a shop's carrier list that only renames: the deadlines set earlier stay.
    import_carriers(
        app.uow(), [CarrierDetails("correios", "Correios", claim_file_days=10, claim_answer_days=20)],
        clock=clock, source="test",
    )
    import_carriers(
        app.uow(),
        [CarrierDetails("correios", "Correios SA"), CarrierDetails("jadlog", "Jadlog", claim_answer_days=5)],
        clock=clock,
        source="test",
    )

    rows = {r.code: (r.name, r.claim_file_days, r.claim_answer_days) for r in _rows(app, CarrierRow)}
    assert rows == {"correios": ("Correios SA", 10, 20), "jadlog": ("Jadlog", 30, 5)}


def test_a_carrier_never_named_in_master_data_gets_the_default_30_days(
    app: App, clock: SimulatedClock
) -> None:
    ref = _case(app, carrier="loggi")  # known only from a shipment: the column defaults apply

    claim = open_claim(
        app.uow(),
        clock,
        config=CONFIG,
        ref=ref,
        amount_claimed_cents=6_000,
        actor="lg",
        carrier_reference="L-1",
    )

    assert claim.status == "filed"
    assert claim.file_by - _rows(app, IncidentTimelineRow)[0].at == timedelta(days=30)
    assert claim.answer_due_at == clock.now() + timedelta(days=30)
    assert [r.kind for r in _rows(app, IncidentTimelineRow)][-2:] == ["claim_drafted", "claim_filed"]


def test_each_passed_deadline_escalates_once_to_logistics_and_leadership(
    app: App, clock: SimulatedClock
) -> None:
    import_carriers(
        app.uow(),
        [CarrierDetails("correios", "Correios", claim_file_days=5, claim_answer_days=7)],
        clock=clock,
        source="test",
    )
    sync_teams(app.uow(), {Team.logistics_emergency: [("lia", True)], Team.leadership: [("gm", True)]})
    ref = _case(app)
    claim = open_claim(app.uow(), clock, config=CONFIG, ref=ref, amount_claimed_cents=6_000, actor="lg")
    assert claim.id is not None

    clock.advance(timedelta(days=5))
    on_time = escalate_overdue_claims(app.uow, clock, config=CONFIG)
    clock.advance(timedelta(hours=1))
    late = escalate_overdue_claims(app.uow, clock, config=CONFIG)
    rerun = escalate_overdue_claims(app.uow, clock, config=CONFIG)

    assert (on_time, late, rerun) == ({}, {"file_by": 1}, {})
    timeline, outbox = _overdue_rows(app)
    assert len(timeline) == len(outbox) == 1
    assert timeline[0].actor == "escalation"
    assert timeline[0].detail["deadline"] == "file_by"
    assert timeline[0].detail["logistics_emergency"] == {"leads": ["lia"], "on_call": []}
    assert timeline[0].detail["leadership"] == {"leads": ["gm"], "on_call": []}
    assert outbox[0].idempotency_key == f"incident-timeline:{timeline[0].id}"

    # filed late, then the carrier does not answer in its 7 days: the second deadline escalates
    move_claim(
        app.uow(),
        clock,
        config=CONFIG,
        claim_id=claim.id,
        action=ClaimAction.file,
        actor="lg",
        carrier_reference="COR-2",
    )
    clock.advance(timedelta(days=7, minutes=1))
    answer = escalate_overdue_claims(app.uow, clock, config=CONFIG)
    again = escalate_overdue_claims(app.uow, clock, config=CONFIG)

    assert (answer, again) == ({"answer_due": 1}, {})
    timeline, outbox = _overdue_rows(app)
    assert [t.detail["deadline"] for t in timeline] == ["file_by", "answer_due"]
    assert len(outbox) == 2
    (row,) = _rows(app, CarrierClaimRow)
    assert row.file_escalated_at is not None
    assert row.answer_escalated_at == clock.now()


def test_an_answered_claim_is_not_escalated_and_the_job_is_wired(app: App, clock: SimulatedClock) -> None:
    ref = _case(app)
    claim = open_claim(
        app.uow(),
        clock,
        config=CONFIG,
        ref=ref,
        amount_claimed_cents=6_000,
        actor="lg",
        carrier_reference="C-3",
    )
    move_claim(app.uow(), clock, config=CONFIG, claim_id=claim.id or 0, action=ClaimAction.accept, actor="lg")
    clock.advance(timedelta(days=90))

    (job,) = [j for j in INCIDENT_JOBS if j.name == "incidents.claim_deadlines"]
    assert job.run(app, clock) == {}
    assert _overdue_rows(app) == ([], [])
