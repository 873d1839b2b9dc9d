"""Planning messages from outbox events and sending them, on SQLite and PostgreSQL (issue 6)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from email.message import EmailMessage

import httpx
import pytest
from sqlalchemy import select

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.tables import NotificationMessageRow, OrderRow, WebhookEndpointRow
from orderwatch.adapters.mail.local_mailbox import LocalMailbox
from orderwatch.adapters.mail.smtp import SmtpSender
from orderwatch.adapters.mail.templates import TemplateRenderer
from orderwatch.adapters.webhooks.outgoing import WebhookSender
from orderwatch.adapters.webhooks.signatures import BadSignature, verify_generic
from orderwatch.bootstrap import App
from orderwatch.domain.notifications import NotificationPolicy
from orderwatch.domain.shipments import ShipmentStatus
from orderwatch.services.deliveries import WEBHOOK_DISABLE_AFTER, deliver_due, redrive
from orderwatch.services.ingest import ingest_events, ingest_orders, ingest_shipments
from orderwatch.services.notifications import plan_for_events, plan_notifications
from orderwatch.services.ports import OutgoingMessage, PermanentFailure
from tests.factories import make_event, make_order, make_shipment
from tests.notification_support import HttpReceiver, store_emails

LEASE = timedelta(seconds=30)


class NoGateway:
    def send(self, message: OutgoingMessage) -> None:
        raise PermanentFailure("no SMS gateway configured")


def _plan(app: App) -> None:
    plan_notifications(
        app.uow(),
        renderer=TemplateRenderer(),
        policy=NotificationPolicy(),
        tracking_link=lambda order_id: f"http://shop.test/track/t{order_id}",
        clock=app.clock,
    )


def _messages(app: App) -> list[NotificationMessageRow]:
    with app.read_session() as session:
        return list(session.scalars(select(NotificationMessageRow).order_by(NotificationMessageRow.id)))


def _order_out_for_delivery(app: App, clock: SimulatedClock, *, phone: bool = False) -> str:
    order = make_order(purchased_at=clock.now() - timedelta(days=3))
    if phone:
        assert order.customer is not None
        order = replace(order, customer=replace(order.customer, phone="+5511999990000"))
    ingest_orders(app.uow(), [order], clock=clock)
    shipment = make_shipment(order_ref=order.ref)
    ingest_shipments(app.uow(), [shipment], clock=clock)
    tracking = shipment.tracking_number
    events = [
        make_event(tracking=tracking, status=ShipmentStatus.in_transit, at=clock.now() - timedelta(days=1)),
        make_event(
            tracking=tracking, status=ShipmentStatus.out_for_delivery, at=clock.now() - timedelta(hours=1)
        ),
    ]
    for event in events:  # two batches: two status changes
        ingest_events(app.uow(), [event], clock=clock)
    return order.ref


def test_outbox_events_become_messages_once(app: App, clock: SimulatedClock) -> None:
    order_ref = _order_out_for_delivery(app, clock)

    _plan(app)
    _plan(app)  # the outbox rows are spent: nothing new

    rows = _messages(app)
    assert [(r.event, r.channel, r.status, r.last_error) for r in rows] == [
        ("shipped", "email", "pending", None),
        ("out_for_delivery", "email", "pending", None),
        ("out_for_delivery", "sms", "suppressed", "no_contact"),  # the customer gave no phone
    ]
    shipped = rows[0]
    assert shipped.recipient == "ana@example.com"
    assert shipped.language == "pt_BR"
    assert shipped.subject == f"Seu pedido {order_ref} está a caminho"
    assert "http://shop.test/track/t" in shipped.body_text
    assert shipped.body_html is not None
    assert "<a href=" in shipped.body_html


def test_delivery_over_smtp_records_status_and_permanent_failures(app: App, clock: SimulatedClock) -> None:
    _order_out_for_delivery(app, clock, phone=True)
    _plan(app)

    with LocalMailbox() as mailbox:
        sender = SmtpSender(host=mailbox.host, port=mailbox.port, sender="Shop <no-reply@shop.test>")
        result = deliver_due(app.uow, {"email": sender, "sms": NoGateway()}, clock=clock, lease=LEASE)
        sender.close()
        deliveries, _ = mailbox.handler.snapshot()

    assert (result.claimed, result.sent, result.dead) == (3, 2, 1)
    by_channel = {(r.event, r.channel): r for r in _messages(app)}
    assert {key: r.status for key, r in by_channel.items()} == {
        ("shipped", "email"): "sent",
        ("out_for_delivery", "email"): "sent",
        ("out_for_delivery", "sms"): "dead",
    }
    assert by_channel[("out_for_delivery", "sms")].last_error == "permanent: no SMS gateway configured"
    assert by_channel[("shipped", "email")].sent_at == clock.now()
    email = deliveries[0].parsed()
    assert isinstance(email, EmailMessage)
    assert email["To"] == "ana@example.com"
    assert email["X-OrderWatch-Idempotency-Key"] == by_channel[("shipped", "email")].idempotency_key
    parts = {part.get_content_type(): part.get_content() for part in email.iter_parts()}
    assert set(parts) == {"text/plain", "text/html"}
    assert "está com a transportadora" in parts["text/plain"]
    assert "<a href=" in parts["text/html"]


def _endpoint(app: App, url: str) -> int:
    with app.uow() as uow:
        row = WebhookEndpointRow(
            name="shop-erp", url=url, secret="whsec-test", events="*", created_at=app.clock.now()
        )
        uow.session.add(row)
        uow.session.flush()
        uow.commit()
        return int(row.id)


def test_signed_webhooks_retry_disable_and_redrive(app: App, clock: SimulatedClock) -> None:
    with HttpReceiver(status=500) as receiver:
        endpoint_id = _endpoint(app, f"{receiver.url}/orderwatch")
        _order_out_for_delivery(app, clock)
        _plan(app)
        senders = {"webhook": WebhookSender(httpx.Client(timeout=5), now=lambda: clock.now().timestamp())}
        only_webhooks = {**senders, "email": NoGateway(), "sms": NoGateway()}

        for _ in range(WEBHOOK_DISABLE_AFTER):
            deliver_due(app.uow, only_webhooks, clock=clock, lease=LEASE)
            clock.advance(timedelta(hours=1))  # past every back-off

        hooks = [r for r in _messages(app) if r.channel == "webhook"]
        assert len(hooks) == 2  # shipped, out_for_delivery
        with app.read_session() as session:
            endpoint = session.get(WebhookEndpointRow, endpoint_id)
            assert endpoint is not None
            assert (endpoint.is_active, endpoint.consecutive_failures) == (False, WEBHOOK_DISABLE_AFTER)
        tries = len(receiver.requests)
        assert deliver_due(app.uow, only_webhooks, clock=clock, lease=LEASE).claimed == 0  # disabled: held
        assert len(receiver.requests) == tries

        receiver.status = 204
        assert redrive(app.uow(), clock=clock, endpoint_id=endpoint_id) == 0  # none dead yet: re-enables
        result = deliver_due(app.uow, only_webhooks, clock=clock, lease=LEASE)

    assert result.sent == 2
    path, headers, body = receiver.requests[-1]
    assert path == "/orderwatch"
    assert headers["Idempotency-Key"] in {r.idempotency_key for r in hooks}
    # The reference verifier accepts the request as sent, and refuses the same signature on a
    # tampered body.
    verify_generic(
        headers["X-OrderWatch-Signature"],
        body,
        ["whsec-test"],
        now=clock.now().timestamp(),
        window_seconds=300,
    )
    tampered = body.replace(b'"event":"', b'"event":"x')
    with pytest.raises(BadSignature, match="does not match"):
        verify_generic(
            headers["X-OrderWatch-Signature"],
            tampered,
            ["whsec-test"],
            now=clock.now().timestamp(),
            window_seconds=300,
        )
    # Every retry sent the same bytes (frozen at planning).
    assert (
        len({b for _, h, b in receiver.requests if h["Idempotency-Key"] == headers["Idempotency-Key"]}) == 1
    )


def test_a_batch_counts_its_own_messages_against_the_rate_limit(app: App, clock: SimulatedClock) -> None:
    orders = [
        make_order(purchased_at=clock.now() - timedelta(days=1), customer_ref="same-person") for _ in range(8)
    ]
    ingest_orders(app.uow(), orders, clock=clock)
    with app.read_session() as session:
        ids = {ref: order_id for ref, order_id in session.execute(select(OrderRow.ref, OrderRow.id))}
    events = [
        ("order.status_changed", {"order_id": ids[o.ref], "order_ref": o.ref, "status": "approved"}, f"e{n}")
        for n, o in enumerate(orders)
    ]

    with app.uow() as uow:
        stored = plan_for_events(
            uow,
            events,
            renderer=TemplateRenderer(),
            policy=NotificationPolicy(max_per_customer_per_day=6),
            tracking_link=lambda order_id: f"http://shop.test/track/t{order_id}",
            now=clock.now(),
        )
        uow.commit()

    assert stored == 8
    assert [(r.event, r.status, r.last_error) for r in _messages(app)] == [
        *[("order_confirmed", "pending", None)] * 6,
        *[("order_confirmed", "suppressed", "rate_limited")] * 2,
    ]


def test_detector_and_incident_events_name_orders_by_reference(app: App, clock: SimulatedClock) -> None:
    order = make_order(purchased_at=clock.now() - timedelta(days=9), language="en")
    ingest_orders(app.uow(), [order], clock=clock)
    events = [
        (
            "risk.flag_raised",
            {"flag_id": 1, "order_ref": order.ref, "kind": "promise_passed", "cause": "customs"},
            "f1",
        ),
        ("incident.reported", {"incident": "INC-7", "order_ref": order.ref, "cause": "lost_parcel"}, "t1"),
        ("incident.assign", {"incident": "INC-7", "order_ref": order.ref}, "t2"),
    ]

    with app.uow() as uow:
        plan_for_events(
            uow,
            events,
            renderer=TemplateRenderer(),
            policy=NotificationPolicy(),
            tracking_link=lambda order_id: f"http://shop.test/track/t{order_id}",
            now=clock.now(),
        )
        uow.commit()

    rows = _messages(app)
    assert [(r.event, r.channel, r.status) for r in rows] == [
        ("delay_confirmed", "email", "pending"),
        ("delay_confirmed", "sms", "suppressed"),
        ("incident_opened", "email", "pending"),
        ("incident_opened", "sms", "suppressed"),
    ]
    assert rows[0].subject == f"Your order {order.ref} is late"
    assert "because of customs checks" in rows[0].body_text
    assert "(the parcel was lost by the carrier)" in rows[2].body_text
    with app.read_session() as session:
        order_id = session.scalar(select(OrderRow.id).where(OrderRow.ref == order.ref))
    assert {r.order_id for r in rows} == {order_id}


def test_major_incident_bulk_message_reaches_each_customer_once(app: App, clock: SimulatedClock) -> None:
    orders = [make_order(purchased_at=clock.now() - timedelta(days=9), language="pt_BR") for _ in range(2)]
    ingest_orders(app.uow(), orders, clock=clock)
    events = [
        (
            "customer.incident_message",
            {"order_ref": o.ref, "template": "reship_offer", "incident": f"INC-{n}"},
            f"MAJ-1:INC-{n}:reship_offer",
        )
        for n, o in enumerate(orders)
    ]

    for _ in range(2):  # the button pressed twice
        with app.uow() as uow:
            plan_for_events(
                uow,
                events,
                renderer=TemplateRenderer(),
                policy=NotificationPolicy(),
                tracking_link=lambda order_id: f"http://shop.test/track/t{order_id}",
                now=clock.now(),
            )
            uow.commit()

    emails = [r for r in _messages(app) if r.channel == "email"]
    assert [(r.event, r.status) for r in emails] == [("remedy_offered", "pending")] * 2
    assert "um reenvio gratuito" in emails[0].body_text


def test_delay_messages_carry_the_window_and_the_second_one_needs_a_moved_date(
    app: App, clock: SimulatedClock
) -> None:
    """predicted_late then promise_passed (D3): both carry P50–P90; the rule compares them."""
    order = make_order(purchased_at=clock.now() - timedelta(days=9), language="en")
    ingest_orders(app.uow(), [order], clock=clock)
    p50 = clock.now() + timedelta(days=3)

    def raised(kind: str, start: datetime, key: str) -> tuple[str, dict[str, object], str]:
        window = {"expected_at": start.isoformat(), "expected_until": (start + timedelta(days=2)).isoformat()}
        return ("risk.flag_raised", {"order_ref": order.ref, "kind": kind, **window}, key)

    def plan(*events: tuple[str, dict[str, object], str]) -> None:
        with app.uow() as uow:
            plan_for_events(
                uow,
                list(events),
                renderer=TemplateRenderer(),
                policy=NotificationPolicy(),
                tracking_link=lambda order_id: f"http://shop.test/track/t{order_id}",
                now=clock.now(),
            )
            uow.commit()

    plan(raised("predicted_late", p50, "k1"))
    plan(raised("promise_passed", p50 + timedelta(hours=6), "k2"))  # moved less than 12 h
    plan(raised("promise_passed", p50 + timedelta(days=2), "k3"))  # moved two days

    emails = [(m.event, m.status, m.last_error) for m in _messages(app) if m.channel == "email"]
    assert emails == [
        ("delay_risk", "pending", None),
        ("delay_confirmed", "suppressed", "no_change"),
        ("delay_confirmed", "pending", None),
    ]
    first = next(m for m in _messages(app) if m.channel == "email")
    assert first.context["expected_until"] == (p50 + timedelta(days=2)).isoformat()
    assert "Expected delivery window:" in first.body_text


def test_sends_are_marked_in_groups_and_a_failure_at_once(app: App, clock: SimulatedClock) -> None:
    """``mark_every``: what a stop leaves unmarked is at most one group (the re-send window)."""
    keys = store_emails(app, 7, now=clock.now(), prefix="group")
    seen: list[str] = []
    marked_when: list[int] = []  # how many sends had happened when each mark committed

    class Flaky:
        def send(self, message: OutgoingMessage) -> None:
            seen.append(message.idempotency_key)
            if message.idempotency_key == keys[2]:
                raise ConnectionError("connection reset")

    def counting_uow():  # type: ignore[no-untyped-def]
        uow = app.uow()
        original = uow.commit

        def commit() -> None:
            marked_when.append(len(seen))
            original()

        uow.commit = commit  # type: ignore[method-assign]
        return uow

    result = deliver_due(counting_uow, {"email": Flaky()}, clock=clock, lease=LEASE, mark_every=3)

    assert (result.claimed, result.sent, result.retried) == (7, 6, 1)
    assert marked_when == [0, 3, 6, 7]  # the claim, then: 2 sent + the failure, a group of 3, the rest
    statuses = {r.idempotency_key: r.status for r in _messages(app)}
    assert statuses == {key: "pending" if key == keys[2] else "sent" for key in keys}
