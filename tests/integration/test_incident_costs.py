"""The review's net cost per case by month, carrier and cause, on SQLite and PostgreSQL (U7, U9, D5).

Only approved compensation is cost, money recovered on a claim is taken off, a case with no
ledger entry counts as a case at 0, and the month is the report's in the shop's time zone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.remedy_queries import review
from orderwatch.bootstrap import App
from orderwatch.domain.causes import Cause
from orderwatch.domain.claims import ClaimAction
from orderwatch.domain.compensation import CompensationKind
from orderwatch.domain.roles import Role
from orderwatch.services.incidents import IncidentConfig, report_undelivered
from orderwatch.services.ingest import ingest_orders, ingest_shipments
from orderwatch.services.remedy_ledger import move_claim, open_claim, record_compensation
from tests.factories import make_order, make_shipment

CONFIG = IncidentConfig.for_timezone("America/Sao_Paulo")
SHOP = ZoneInfo("America/Sao_Paulo")


def _case(app: App, clock: SimulatedClock, *, carrier: str, cause: Cause) -> str:
    order = make_order(purchased_at=clock.now() - timedelta(days=20), promised_days=10)  # 60.00 BRL
    ingest_orders(app.uow(), [order], clock=clock)
    ingest_shipments(app.uow(), [make_shipment(order_ref=order.ref, carrier=carrier)], clock=clock)
    return report_undelivered(app.uow(), clock, config=CONFIG, order_ref=order.ref, actor="cs", cause=cause)


def test_the_review_reports_net_cost_per_case_by_month_carrier_and_cause(
    app: App, clock: SimulatedClock
) -> None:
    first = _case(app, clock, carrier="correios", cause=Cause.lost_parcel)
    record_compensation(
        app.uow(),
        clock,
        config=CONFIG,
        ref=first,
        kind=CompensationKind.full_refund,
        actor="lead",
        role=Role.leadership,
    )
    claim = open_claim(
        app.uow(),
        clock,
        config=CONFIG,
        ref=first,
        amount_claimed_cents=6_000,
        actor="lg",
        carrier_reference="COR-1",
    )
    move_claim(
        app.uow(),
        clock,
        config=CONFIG,
        claim_id=claim.id or 0,
        action=ClaimAction.pay_part,
        actor="lg",
        amount_recovered_cents=2_000,
    )
    clock.advance_to(datetime(2018, 4, 1, 2, 0, tzinfo=UTC))  # still 31 March, 23:00 in São Paulo
    second = _case(app, clock, carrier="correios", cause=Cause.lost_parcel)
    record_compensation(
        app.uow(),
        clock,
        config=CONFIG,
        ref=second,
        kind=CompensationKind.coupon,
        amount_cents=1_000,
        actor="cs",
        role=Role.cs_agent,
    )
    record_compensation(  # pending: above the agent's limit, not cost
        app.uow(),
        clock,
        config=CONFIG,
        ref=second,
        kind=CompensationKind.full_refund,
        actor="cs",
        role=Role.cs_agent,
    )
    clock.advance(timedelta(days=5))
    _case(app, clock, carrier="jadlog", cause=Cause.logistics_delay)  # nothing paid

    with app.session_factory() as session:
        figures = review(
            session,
            start=datetime(2018, 2, 1, tzinfo=SHOP),
            end=datetime(2018, 5, 1, tzinfo=SHOP),
            zone=SHOP,
        )

    (currency,) = figures["cost_per_case"]
    cost = figures["cost_per_case"]["BRL"]
    assert currency == "BRL"
    assert cost["total"] == {
        "cases": 3,
        "compensation_cents": 7_000,
        "recovered_cents": 2_000,
        "net_cents": 5_000,
        "mean_net_cents": 1_667,
    }
    assert {k: (s["cases"], s["net_cents"]) for k, s in cost["by_month"].items()} == {
        "2018-03": (2, 5_000),
        "2018-04": (1, 0),
    }
    assert {k: (s["cases"], s["mean_net_cents"]) for k, s in cost["by_carrier"].items()} == {
        "correios": (2, 2_500),
        "jadlog": (1, 0),
    }
    assert {k: s["net_cents"] for k, s in cost["by_cause"].items()} == {
        "logistics_delay": 0,
        "lost_parcel": 5_000,
    }
