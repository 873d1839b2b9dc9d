"""Remedy offers (D5, U6 customer side) on SQLite and PostgreSQL: offer, decide once, expire.

Access (another order's proof cannot decide an offer), idempotent replay of a decision, expiry,
approval limits per role, the outbox rows and the open case's timeline, the automatic offer of
a confirmed delay, and the customer's message planned from ``remedy.offered``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.tables import (
    IncidentTimelineRow,
    NotificationMessageRow,
    OrderRow,
    OutboxRow,
    RemedyOfferRow,
)
from orderwatch.adapters.mail.templates import TemplateRenderer
from orderwatch.bootstrap import App
from orderwatch.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from orderwatch.domain.notifications import NotificationPolicy
from orderwatch.domain.remedy_offers import Decision, OfferStatus
from orderwatch.domain.roles import Role
from orderwatch.entrypoints.worker.offer_jobs import AutoOffers
from orderwatch.services.incidents import IncidentConfig, report_undelivered
from orderwatch.services.ingest import ingest_orders
from orderwatch.services.notifications import plan_for_events
from orderwatch.services.ports import ClaimedMessage
from orderwatch.services.remedy_offers import decide_offer, expire_offers, make_offer
from tests.factories import make_order

CONFIG = IncidentConfig.for_timezone("America/Sao_Paulo")


def _order(app: App, *, promised_days: int = 10) -> tuple[str, int]:
    order = make_order(purchased_at=app.clock.now() - timedelta(days=20), promised_days=promised_days)
    ingest_orders(app.uow(), [order], clock=app.clock)
    with app.session_factory() as session:
        order_id = session.scalar(select(OrderRow.id).where(OrderRow.ref == order.ref))
    assert order_id is not None
    return order.ref, order_id


def _rows(app: App, row: Any, *where: Any) -> list[Any]:
    with app.session_factory() as session:
        return list(session.scalars(select(row).where(*where).order_by(row.id)))


def _offer(app: App, order_ref: str, **options: Any) -> int:
    arguments: dict[str, Any] = {"kind": "coupon", "amount_cents": 600, "actor": "cs", "role": Role.cs_agent}
    return make_offer(app.uow(), app.clock, config=CONFIG, order_ref=order_ref, **(arguments | options))


def _decide(app: App, order_id: int, offer_id: int, decision: Decision) -> OfferStatus:
    return decide_offer(
        app.uow(),
        app.clock,
        config=CONFIG,
        order_id=order_id,
        offer_id=offer_id,
        decision=decision,
        channel="tracking_page",
    )


def _plan_twice(app: App, outbox: OutboxRow) -> None:
    for _ in range(2):
        with app.uow() as uow:
            plan_for_events(
                uow,
                [(outbox.topic, outbox.payload, outbox.idempotency_key)],
                renderer=TemplateRenderer(),
                policy=NotificationPolicy(),
                tracking_link=lambda order_id: f"http://shop.test/track/t{order_id}",
                now=app.clock.now(),
            )
            uow.commit()


def test_offer_is_stored_with_its_outbox_row_and_on_the_open_cases_timeline(app: App) -> None:
    order_ref, _ = _order(app)
    incident = report_undelivered(app.uow(), app.clock, config=CONFIG, order_ref=order_ref, actor="cs")

    offer_id = _offer(app, order_ref, validity=timedelta(days=3))

    (row,) = _rows(app, RemedyOfferRow)
    assert (row.id, row.kind, row.amount_cents, row.currency, row.status, row.offered_by) == (
        offer_id,
        "coupon",
        600,
        "BRL",
        "offered",
        "cs",
    )
    assert row.expires_at == app.clock.now() + timedelta(days=3)
    (outbox,) = _rows(app, OutboxRow, OutboxRow.topic == "remedy.offered")
    assert outbox.payload["offer_id"] == offer_id
    assert outbox.payload["incident"] == incident
    kinds = [r.kind for r in _rows(app, IncidentTimelineRow)]
    assert "remedy_offered" in kinds


def test_approval_limits_and_terms_are_checked(app: App) -> None:
    order_ref, _ = _order(app)

    with pytest.raises(PermissionDenied):
        _offer(app, order_ref, kind="partial_refund", amount_cents=500, role=Role.logistics_agent)
    with pytest.raises(ValidationFailed, match="amount_cents"):
        _offer(app, order_ref, kind="full_refund", amount_cents=10_000_000, role=Role.admin)
    with pytest.raises(ValidationFailed, match="kind"):
        _offer(app, order_ref, kind="voucher")
    with pytest.raises(ValidationFailed, match="amount_cents"):
        _offer(app, order_ref, kind="apology", amount_cents=100)
    with pytest.raises(NotFound):
        _offer(app, "no-such-order")
    assert _rows(app, RemedyOfferRow) == []
    assert _offer(app, order_ref, kind="full_refund", amount_cents=6_000, role=Role.leadership)


def test_only_the_offers_own_order_may_decide_and_a_replay_changes_nothing(app: App) -> None:
    mine, mine_id = _order(app)
    _, other_id = _order(app)
    incident = report_undelivered(app.uow(), app.clock, config=CONFIG, order_ref=mine, actor="cs")
    offer_id = _offer(app, mine)

    with pytest.raises(NotFound):
        _decide(app, other_id, offer_id, Decision.accept)
    with pytest.raises(NotFound):
        _decide(app, mine_id, offer_id + 1000, Decision.accept)
    assert _rows(app, RemedyOfferRow)[0].status == "offered"

    app.clock.advance_to(app.clock.now() + timedelta(minutes=5))  # type: ignore[attr-defined]
    assert _decide(app, mine_id, offer_id, Decision.accept) is OfferStatus.accepted
    assert _decide(app, mine_id, offer_id, Decision.accept) is OfferStatus.accepted  # a replayed POST
    with pytest.raises(Conflict, match="already accepted"):
        _decide(app, mine_id, offer_id, Decision.decline)

    (row,) = _rows(app, RemedyOfferRow)
    assert (row.status, row.channel, row.decided_at) == ("accepted", "tracking_page", app.clock.now())
    assert len(_rows(app, OutboxRow, OutboxRow.topic == "remedy.accepted")) == 1
    timeline = _rows(app, IncidentTimelineRow, IncidentTimelineRow.kind == "remedy_accepted")
    assert len(timeline) == 1
    assert timeline[0].actor == "customer"
    assert incident


def test_an_expired_offer_cannot_be_accepted_and_the_job_marks_it(app: App, clock: SimulatedClock) -> None:
    order_ref, order_id = _order(app)
    offer_id = _offer(app, order_ref, validity=timedelta(days=1))
    clock.advance_to(clock.now() + timedelta(days=1))

    with pytest.raises(Conflict, match="expired"):
        _decide(app, order_id, offer_id, Decision.accept)
    assert expire_offers(app.uow(), clock) == 1
    assert expire_offers(app.uow(), clock) == 0
    assert _rows(app, RemedyOfferRow)[0].status == "expired"
    assert len(_rows(app, OutboxRow, OutboxRow.topic == "remedy.expired")) == 1
    with pytest.raises(Conflict, match="expired"):
        _decide(app, order_id, offer_id, Decision.decline)


def test_policy_offers_once_per_confirmed_delay_when_enabled(app: App) -> None:
    order_ref, _ = _order(app, promised_days=10)  # 10 days late: a week late → partial refund 20 %
    message = ClaimedMessage(
        id=1,
        topic="risk.flag_raised",
        idempotency_key="risk.flag_raised:7:x",
        payload={"order_ref": order_ref, "kind": "promise_passed", "cause": None},
        attempts=0,
    )

    def consume(enabled: bool) -> int:
        with app.uow() as uow:
            made = AutoOffers(uow, app.clock, CONFIG, enabled, timedelta(days=7)).send_many([message])
            uow.commit()
        return made

    assert consume(False) == 0
    assert consume(True) == 1
    assert consume(True) == 0  # the same event again offers nothing new
    (row,) = _rows(app, RemedyOfferRow)
    assert (row.kind, row.amount_cents, row.offered_by, row.rule) == (
        "partial_refund",
        1_200,
        "policy",
        "a week late",
    )


def test_offer_message_is_planned_in_the_customers_language_with_its_value(app: App) -> None:
    order_ref, _ = _order(app)
    _offer(app, order_ref, kind="partial_refund", amount_cents=1_250)
    (outbox,) = _rows(app, OutboxRow, OutboxRow.topic == "remedy.offered")

    _plan_twice(app, outbox)  # a replayed outbox row plans nothing new

    emails = _rows(app, NotificationMessageRow, NotificationMessageRow.channel == "email")
    assert [(m.event, m.language) for m in emails] == [("remedy_offered", "pt_BR")]
    assert "um reembolso parcial (R$\xa012,50)" in emails[0].body_text
    assert emails[0].context["offer_id"] == outbox.payload["offer_id"]


@pytest.mark.parametrize(
    ("language", "subject", "words"),
    [
        (
            "pt_BR",
            "Sua oferta para o pedido",
            "expirou sem resposta: um cupom de desconto para a próxima compra (R$\xa06,00).",
        ),
        (
            "en",
            "Your offer for order",
            "expired without an answer: a discount coupon for your next order (R$6.00).",
        ),
        ("zh_CN", "的补偿方案已过期", "您未作答复：下次购物可用的优惠券 (R$6.00)。"),
    ],
    ids=["pt_BR_case", "en_case", "zh_CN_case"],
)
def test_an_expired_offer_tells_the_customer_once_by_email(
    app: App, clock: SimulatedClock, language: str, subject: str, words: str
) -> None:
    order = make_order(purchased_at=clock.now() - timedelta(days=20), promised_days=10, language=language)
    ingest_orders(app.uow(), [order], clock=clock)
    _offer(app, order.ref, validity=timedelta(days=1))
    clock.advance_to(clock.now() + timedelta(days=1))
    expire_offers(app.uow(), clock)
    (outbox,) = _rows(app, OutboxRow, OutboxRow.topic == "remedy.expired")

    _plan_twice(app, outbox)  # a replayed outbox row plans nothing new

    expired = _rows(app, NotificationMessageRow, NotificationMessageRow.event == "remedy_expired")
    assert [(m.channel, m.language) for m in expired] == [("email", language)]  # e-mail only
    assert subject in (expired[0].subject or "")
    assert words in expired[0].body_text
    assert expired[0].context["offer_id"] == outbox.payload["offer_id"]
