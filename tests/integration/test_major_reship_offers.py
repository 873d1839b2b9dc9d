"""A major incident's ``reship_offer`` bulk action makes real remedy offers (issue 6 left item, D5, U6)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from orderwatch.adapters.db.tables import (
    IncidentRow,
    IncidentTimelineRow,
    NotificationMessageRow,
    OrderRow,
    OutboxRow,
    RemedyOfferRow,
)
from orderwatch.adapters.mail.templates import TemplateRenderer
from orderwatch.bootstrap import App
from orderwatch.domain.causes import Cause
from orderwatch.domain.errors import PermissionDenied
from orderwatch.domain.incidents import IncidentSeverity
from orderwatch.domain.notifications import NotificationPolicy
from orderwatch.domain.roles import Role
from orderwatch.services.incident_jobs import detect_volume
from orderwatch.services.incidents import IncidentConfig, report_undelivered
from orderwatch.services.ingest import ingest_orders, ingest_shipments
from orderwatch.services.major_incidents import message_affected_customers
from orderwatch.services.notifications import plan_for_events
from tests.factories import make_order, make_shipment

CONFIG = IncidentConfig.for_timezone("America/Sao_Paulo")


def _rows(app: App, row: Any, *where: Any) -> list[Any]:
    with app.session_factory() as session:
        return list(session.scalars(select(row).where(*where).order_by(row.id)))


def _major_with_cases(app: App, count: int) -> str:
    now = app.clock.now()
    orders = [make_order(purchased_at=now - timedelta(days=20), promised_days=10) for _ in range(count)]
    ingest_orders(app.uow(), orders, clock=app.clock)
    ingest_shipments(app.uow(), [make_shipment(order_ref=o.ref) for o in orders], clock=app.clock)
    for order in orders:
        report_undelivered(
            app.uow(),
            app.clock,
            config=CONFIG,
            order_ref=order.ref,
            actor="cs",
            cause=Cause.logistics_delay,
            severity=IncidentSeverity.low,
        )
    assert detect_volume(app.uow, app.clock, config=CONFIG) == {"majors_opened": 1, "grouped": count}
    (major,) = _rows(app, IncidentRow, IncidentRow.source == "volume")
    return str(major.ref)


def _reship(app: App, ref: str, role: Role) -> int:
    return message_affected_customers(
        app.uow(), app.clock, config=CONFIG, ref=ref, template="reship_offer", actor="leader", role=role
    )


def test_reship_offer_makes_one_real_offer_and_one_message_per_case_once(app: App) -> None:
    ref = _major_with_cases(app, 5)

    assert (_reship(app, ref, Role.leadership), _reship(app, ref, Role.leadership)) == (5, 0)

    offers = _rows(app, RemedyOfferRow)
    values = {r.id: r.value_cents for r in _rows(app, OrderRow)}
    assert [(o.kind, o.status, o.offered_by) for o in offers] == [
        ("free_reshipment", "offered", "leader")
    ] * 5
    assert [o.amount_cents for o in offers] == [values[o.order_id] for o in offers]
    assert all(o.incident_id is not None and o.cause_key.startswith(f"{ref}:") for o in offers)
    offered = _rows(app, OutboxRow, OutboxRow.topic == "remedy.offered")
    assert sorted(r.payload["offer_id"] for r in offered) == [o.id for o in offers]
    assert _rows(app, OutboxRow, OutboxRow.topic == "customer.incident_message") == []
    # Each case's timeline shows its offer; the major incident's shows both presses.
    children = _rows(app, IncidentRow, IncidentRow.parent_id.is_not(None))
    offered_on = _rows(app, IncidentTimelineRow, IncidentTimelineRow.kind == "remedy_offered")
    assert sorted(t.incident_id for t in offered_on) == sorted(c.id for c in children)
    pressed = _rows(app, IncidentTimelineRow, IncidentTimelineRow.kind == "customers_messaged")
    assert [(t.detail["queued"], t.detail["skipped"]) for t in pressed] == [(5, 0), (0, 0)]

    with app.uow() as uow:  # the worker's planner: one e-mail per offer, in the customer's language
        plan_for_events(
            uow,
            [(r.topic, r.payload, r.idempotency_key) for r in offered],
            renderer=TemplateRenderer(),
            policy=NotificationPolicy(),
            tracking_link=lambda order_id: f"http://shop.test/track/t{order_id}",
            now=app.clock.now(),
        )
        uow.commit()
    emails = _rows(app, NotificationMessageRow, NotificationMessageRow.channel == "email")
    assert sorted(m.context["offer_id"] for m in emails) == [o.id for o in offers]
    assert {m.event for m in emails} == {"remedy_offered"}


def test_reship_offer_beyond_the_roles_limit_offers_nothing(app: App) -> None:
    ref = _major_with_cases(app, 5)

    with pytest.raises(PermissionDenied):
        _reship(app, ref, Role.logistics_agent)  # may grant 0 cents

    assert _rows(app, RemedyOfferRow) == []
    assert _rows(app, OutboxRow, OutboxRow.topic == "remedy.offered") == []
    assert _rows(app, IncidentTimelineRow, IncidentTimelineRow.kind == "customers_messaged") == []
