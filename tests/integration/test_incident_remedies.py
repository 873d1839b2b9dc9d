"""Compensation ledger, reshipments, carrier claims and auto-resolve on SQLite and PostgreSQL
(U6, U7, D5): approval limits per role, one transaction per entry with its timeline and outbox
rows, a reshipment as a linked order, the claim lifecycle, a delivery resolving the case, and the
two SLA mends (a severity raise applies the stricter targets from the report; a reopen restarts
the resolution clock).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.tables import (
    CarrierClaimRow,
    CompensationRow,
    IncidentRow,
    IncidentTimelineRow,
    OrderLineRow,
    OrderRow,
    OutboxRow,
    SlaLedgerRow,
)
from orderwatch.bootstrap import App
from orderwatch.domain import incidents as domain
from orderwatch.domain.causes import Cause
from orderwatch.domain.claims import ClaimAction, IllegalClaimMove
from orderwatch.domain.compensation import CompensationKind, CompensationStatus
from orderwatch.domain.errors import Conflict, ValidationFailed
from orderwatch.domain.incidents import Action, IncidentSeverity
from orderwatch.domain.roles import Role
from orderwatch.domain.shipments import ShipmentStatus
from orderwatch.domain.sla import SlaMetric, SlaState, readings
from orderwatch.services.incident_jobs import resolve_delivered
from orderwatch.services.incidents import IncidentConfig, perform, record, report_undelivered
from orderwatch.services.ingest import ingest_events, ingest_orders, ingest_shipments
from orderwatch.services.remedy_ledger import (
    approve_compensation,
    move_claim,
    open_claim,
    record_compensation,
    reject_compensation,
)
from tests.factories import make_event, make_order, make_shipment

CONFIG = IncidentConfig.for_timezone("America/Sao_Paulo")
K = CompensationKind


def _case(app: App, *, cause: Cause = Cause.lost_parcel) -> tuple[str, str, str]:
    """An order (value 60.00 BRL) with a shipment, reported undelivered: (order ref, tracking, case)."""
    order = make_order(purchased_at=app.clock.now() - timedelta(days=20), promised_days=10)
    shipment = make_shipment(order_ref=order.ref)
    ingest_orders(app.uow(), [order], clock=app.clock)
    ingest_shipments(app.uow(), [shipment], clock=app.clock)
    ref = report_undelivered(
        app.uow(), app.clock, config=CONFIG, order_ref=order.ref, actor="cs", cause=cause
    )
    return order.ref, shipment.tracking_number, ref


def _rows(app: App, row: Any, *where: Any) -> list[Any]:
    with app.session_factory() as session:
        return list(session.scalars(select(row).where(*where).order_by(row.id)))


def _timeline(app: App) -> list[str]:
    return [r.kind for r in _rows(app, IncidentTimelineRow)]


def _topics(app: App) -> list[str]:
    return [r.topic for r in _rows(app, OutboxRow) if r.topic.startswith("incident.")]


def test_an_agent_within_the_limit_records_a_coupon_with_its_timeline_and_outbox_rows(app: App) -> None:
    _, _, ref = _case(app)

    done = record_compensation(
        app.uow(),
        app.clock,
        config=CONFIG,
        ref=ref,
        kind=K.coupon,
        amount_cents=1_500,
        actor="cs",
        role=Role.cs_agent,
        note="10 % coupon for the wait",
    )

    assert done.status is CompensationStatus.approved
    (entry,) = _rows(app, CompensationRow)
    assert (entry.kind, entry.amount_cents, entry.currency, entry.status, entry.decided_by) == (
        "coupon",
        1_500,
        "BRL",
        "approved",
        "cs",
    )
    assert _timeline(app)[-1] == "compensation_recorded"
    assert _topics(app)[-1] == "incident.compensation_recorded"


def test_above_the_agent_limit_the_entry_waits_for_a_lead_who_approves_it(app: App) -> None:
    _, _, ref = _case(app)

    pending = record_compensation(
        app.uow(), app.clock, config=CONFIG, ref=ref, kind=K.full_refund, actor="cs", role=Role.cs_agent
    )
    assert (pending.status, pending.amount_cents, pending.approver_role) == (
        CompensationStatus.pending,
        6_000,
        Role.leadership,
    )
    assert _topics(app)[-1] == "incident.compensation_requested"
    with pytest.raises(ValidationFailed, match="approver: the role cs_agent may not approve 6000"):
        approve_compensation(
            app.uow(), app.clock, config=CONFIG, entry_id=pending.entry_id, actor="cs", role=Role.cs_agent
        )

    approved = approve_compensation(
        app.uow(), app.clock, config=CONFIG, entry_id=pending.entry_id, actor="leader", role=Role.leadership
    )

    assert approved.status is CompensationStatus.approved
    (entry,) = _rows(app, CompensationRow)
    assert (entry.status, entry.requested_by, entry.decided_by) == ("approved", "cs", "leader")
    assert _topics(app)[-1] == "incident.compensation_recorded"
    with pytest.raises(Conflict, match="already approved"):
        approve_compensation(
            app.uow(), app.clock, config=CONFIG, entry_id=entry.id, actor="leader", role=Role.leadership
        )


def test_a_rejected_entry_needs_a_reason_and_never_becomes_cost(app: App) -> None:
    _, _, ref = _case(app)
    pending = record_compensation(
        app.uow(),
        app.clock,
        config=CONFIG,
        ref=ref,
        kind=K.partial_refund,
        amount_cents=5_500,
        actor="logistics",
        role=Role.logistics_agent,
    )
    with pytest.raises(ValidationFailed, match="reason"):
        reject_compensation(
            app.uow(),
            app.clock,
            config=CONFIG,
            entry_id=pending.entry_id,
            actor="leader",
            role=Role.leadership,
            reason=" ",
        )

    reject_compensation(
        app.uow(),
        app.clock,
        config=CONFIG,
        entry_id=pending.entry_id,
        actor="leader",
        role=Role.leadership,
        reason="coupon instead",
    )

    (entry,) = _rows(app, CompensationRow)
    assert entry.status == "rejected"
    assert _timeline(app)[-2:] == ["compensation_requested", "compensation_rejected"]


@pytest.mark.parametrize(
    ("kind", "amount", "message"),
    [
        (K.partial_refund, 6_000, "amount_cents: a partial refund must be less than the order value 6000"),
        (K.full_refund, 7_000, "amount_cents: a full refund cannot exceed the order value 6000"),
        (K.coupon, None, "amount_cents: a coupon needs an amount"),
        (K.coupon, 0, "amount_cents: must be between 1 and"),
    ],
)
def test_amounts_are_checked_by_kind_and_nothing_is_written(
    app: App, kind: CompensationKind, amount: int | None, message: str
) -> None:
    _, _, ref = _case(app)
    before = len(_timeline(app))

    with pytest.raises(ValidationFailed, match=message):
        record_compensation(
            app.uow(),
            app.clock,
            config=CONFIG,
            ref=ref,
            kind=kind,
            amount_cents=amount,
            actor="leader",
            role=Role.leadership,
        )

    assert _rows(app, CompensationRow) == []
    assert len(_timeline(app)) == before


def test_a_reshipment_creates_a_linked_order_with_the_same_customer_and_lines(app: App) -> None:
    order_ref, _, ref = _case(app)
    now = app.clock.now()

    done = record_compensation(
        app.uow(), app.clock, config=CONFIG, ref=ref, kind=K.reshipment, actor="leader", role=Role.leadership
    )

    assert done.linked_order_ref == f"{order_ref}-R1"
    original, copy = _rows(app, OrderRow)
    assert (copy.ref, copy.reshipment_of_id, copy.customer_id, copy.value_cents, copy.source) == (
        f"{order_ref}-R1",
        original.id,
        original.customer_id,
        original.value_cents,
        "reshipment",
    )
    # The shop's usual lead time: its only other order was promised 10 days after purchase.
    assert copy.promised_at == now + timedelta(days=10)
    lines = _rows(app, OrderLineRow, OrderLineRow.order_id == copy.id)
    assert [(line.unit_price_cents, line.freight_cents) for line in lines] == [(5_000, 0)]
    (entry,) = _rows(app, CompensationRow)
    assert entry.linked_order_id == copy.id


def test_a_pending_reshipment_creates_its_order_only_when_approved(app: App) -> None:
    order_ref, _, ref = _case(app)
    pending = record_compensation(
        app.uow(), app.clock, config=CONFIG, ref=ref, kind=K.reshipment, actor="cs", role=Role.cs_agent
    )
    assert len(_rows(app, OrderRow)) == 1

    approved = approve_compensation(
        app.uow(), app.clock, config=CONFIG, entry_id=pending.entry_id, actor="leader", role=Role.leadership
    )

    assert approved.linked_order_ref == f"{order_ref}-R1"
    assert len(_rows(app, OrderRow)) == 2


def test_a_claim_goes_draft_filed_partially_paid_closed_on_the_timeline(app: App) -> None:
    _, _, ref = _case(app)
    claim_id = open_claim(
        app.uow(), app.clock, config=CONFIG, ref=ref, amount_claimed_cents=6_000, actor="logistics"
    ).id

    def step(action: ClaimAction, **values: Any) -> None:
        move_claim(
            app.uow(), app.clock, config=CONFIG, claim_id=claim_id, action=action, actor="logistics", **values
        )

    with pytest.raises(ValidationFailed, match="carrier_reference"):
        step(ClaimAction.file)
    with pytest.raises(IllegalClaimMove, match="cannot close a draft claim"):
        step(ClaimAction.close)
    step(ClaimAction.file, carrier_reference="COR-77")
    step(ClaimAction.pay_part, amount_recovered_cents=2_500)
    step(ClaimAction.close)

    (claim,) = _rows(app, CarrierClaimRow)
    assert (claim.status, claim.carrier_code, claim.carrier_reference, claim.amount_recovered_cents) == (
        "closed",
        "correios",
        "COR-77",
        2_500,
    )
    assert claim.answer_due_at == claim.filed_at + timedelta(days=30)
    assert _timeline(app)[-4:] == ["claim_drafted", "claim_filed", "claim_partially_paid", "claim_closed"]
    assert _topics(app)[-1] == "incident.claim_closed"


def test_a_delivered_scan_resolves_the_open_case_once(app: App, clock: SimulatedClock) -> None:
    _, tracking, ref = _case(app)
    perform(app.uow(), clock, config=CONFIG, ref=ref, action=Action.assess, actor="leader")
    clock.advance(timedelta(hours=2))
    delivered_at = clock.now() - timedelta(minutes=30)
    ingest_events(
        app.uow(),
        [make_event(tracking=tracking, status=ShipmentStatus.delivered, at=delivered_at)],
        clock=clock,
    )

    first = resolve_delivered(app.uow, clock, config=CONFIG)
    again = resolve_delivered(app.uow, clock, config=CONFIG)

    assert (first, again) == ({"resolved": 1}, {})
    (row,) = _rows(app, IncidentRow)
    assert (row.status, row.resolution) == ("resolved", f"delivered on {delivered_at.date().isoformat()}")
    (entry,) = _rows(app, IncidentTimelineRow, IncidentTimelineRow.kind == "delivered")
    assert entry.detail["note"].startswith("delivered on ")
    assert "incident.delivered" in _topics(app)


def test_a_delivery_scanned_before_the_report_does_not_resolve_the_case(
    app: App, clock: SimulatedClock
) -> None:
    _, tracking, _ = _case(app)
    earlier = clock.now() - timedelta(days=1)  # the customer says it never came despite the scan
    ingest_events(
        app.uow(), [make_event(tracking=tracking, status=ShipmentStatus.delivered, at=earlier)], clock=clock
    )

    assert resolve_delivered(app.uow, clock, config=CONFIG) == {}
    assert _rows(app, IncidentRow)[0].status == "reported"


def test_the_delivery_of_the_reshipment_also_resolves_the_case(app: App, clock: SimulatedClock) -> None:
    _, _, ref = _case(app)
    done = record_compensation(
        app.uow(), clock, config=CONFIG, ref=ref, kind=K.reshipment, actor="leader", role=Role.leadership
    )
    assert done.linked_order_ref is not None
    ingest_shipments(
        app.uow(), [make_shipment(order_ref=done.linked_order_ref, tracking="RESHIP-1")], clock=clock
    )
    clock.advance(timedelta(days=3))
    ingest_events(
        app.uow(),
        [make_event(tracking="RESHIP-1", status=ShipmentStatus.delivered, at=clock.now())],
        clock=clock,
    )

    assert resolve_delivered(app.uow, clock, config=CONFIG) == {"resolved": 1}


def test_a_severity_raise_applies_the_stricter_targets_from_the_report_time(
    app: App, clock: SimulatedClock
) -> None:
    _, _, ref = _case(app)  # medium: assessment within 120 business minutes
    reported = clock.now()
    clock.advance(timedelta(minutes=70))
    with app.uow() as uow:
        incident = uow.incidents.get(ref)
        events = domain.raise_severity(
            incident, IncidentSeverity.high, actor="detector", now=clock.now(), reason="t"
        )
        record(uow, incident, events, config=CONFIG, now=clock.now())
        uow.commit()

    ledger = {(r.metric, r.kind): r.at for r in _rows(app, SlaLedgerRow)}
    # high: 60 minutes from the report, so the raise at +70 finds the assessment already breached.
    assert ledger[("assessment", "breached")] == reported + timedelta(minutes=60)
    assert _rows(app, IncidentRow)[0].sla_state == "breached"


def test_after_a_reopen_the_resolution_clock_counts_from_the_reopen(app: App, clock: SimulatedClock) -> None:
    _, tracking, ref = _case(app)
    perform(app.uow(), clock, config=CONFIG, ref=ref, action=Action.assess, actor="leader")
    clock.advance(timedelta(hours=1))
    ingest_events(
        app.uow(),
        [make_event(tracking=tracking, status=ShipmentStatus.delivered, at=clock.now())],
        clock=clock,
    )
    resolve_delivered(app.uow, clock, config=CONFIG)
    clock.advance(timedelta(days=10))  # far past the original resolution deadline
    perform(
        app.uow(),
        clock,
        config=CONFIG,
        ref=ref,
        action=Action.reopen,
        actor="leader",
        arguments={"reason": "box was empty"},
    )
    reopened = clock.now()

    resolution = [r for r in _rows(app, SlaLedgerRow) if r.metric == "resolution"]
    (row,) = _rows(app, IncidentRow)
    assert row.reopened_at == reopened
    assert [r.kind for r in resolution] == ["started", "met", "started"]
    assert resolution[-1].at == reopened
    with app.uow() as uow:
        clocks = {
            r.metric: r for r in readings(uow.incidents.get(ref), calendar=CONFIG.calendar, now=reopened)
        }
    # Counted from the reopen, not from the report 10 days ago (which would be long breached).
    assert (clocks[SlaMetric.resolution].state, clocks[SlaMetric.resolution].elapsed_minutes) == (
        SlaState.running,
        0,
    )
