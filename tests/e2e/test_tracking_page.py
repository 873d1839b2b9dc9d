"""The customer tracking page (D3, D6): access rules (tokens, lookup), masking, rate limit, feedback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from orderwatch.adapters.db.tables import FeedbackRow, OrderRow
from orderwatch.adapters.security.tracking_tokens import TrackingTokens
from orderwatch.bootstrap import App
from orderwatch.domain.shipments import ShipmentStatus
from orderwatch.entrypoints.api.app import create_app
from orderwatch.services.ingest import ingest_events, ingest_orders, ingest_shipments
from tests.factories import make_event, make_order, make_shipment


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_app(app), follow_redirects=False) as test_client:
        yield test_client


def _order(app: App, *, email: str, phone: str | None = None, delivered: bool = False) -> tuple[str, int]:
    now = app.clock.now()
    order = make_order(purchased_at=now - timedelta(days=4))
    assert order.customer is not None
    order = replace(order, customer=replace(order.customer, email=email, phone=phone, name="Ana Souza"))
    ingest_orders(app.uow(), [order], clock=app.clock)
    shipment = make_shipment(order_ref=order.ref)
    ingest_shipments(app.uow(), [shipment], clock=app.clock)
    statuses = [ShipmentStatus.picked_up, ShipmentStatus.in_transit]
    statuses += [ShipmentStatus.out_for_delivery, ShipmentStatus.delivered] if delivered else []
    events = [
        make_event(
            tracking=shipment.tracking_number,
            status=status,
            at=now - timedelta(days=3 - i * 0.5),
            location="Sao Paulo, SP",
        )
        for i, status in enumerate(statuses)
    ]
    ingest_events(app.uow(), events, clock=app.clock)
    with app.read_session() as session:
        order_id = session.scalar(select(OrderRow.id).where(OrderRow.ref == order.ref))
    assert order_id is not None
    return order.ref, order_id


def _token(app: App, order_id: int) -> str:
    return TrackingTokens(app.settings.secret_key).token_for(order_id)


def test_token_link_shows_the_order_masked_in_the_customers_language(app: App, client: TestClient) -> None:
    ref, order_id = _order(app, email="ana.souza@example.com", phone="+55 11 99999-1234")

    page = client.get(f"/track/{_token(app, order_id)}")

    assert page.status_code == 200
    html = page.text
    assert f"Pedido {ref}" in html  # pt_BR, the customer's language
    assert "Em trânsito" in html
    assert "Coletado pela transportadora" in html
    assert "a***@example.com" in html
    assert "***34" in html
    assert "ana.souza" not in html
    assert "99999" not in html
    assert "Ana Souza" not in html
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-robots-tag"] == "noindex, nofollow"
    assert "In transit" in client.get(f"/track/{_token(app, order_id)}?lang=en").text
    assert "运输中" in client.get(f"/track/{_token(app, order_id)}?lang=zh_CN").text


def test_forged_altered_and_sequential_tokens_are_refused(app: App, client: TestClient) -> None:
    _, mine = _order(app, email="ana@example.com")
    other_ref, other = _order(app, email="bruno@example.com")
    token = _token(app, mine)
    forged = TrackingTokens("another-secret").token_for(other)
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    payload_swapped = _token(app, other).split(".")[0] + "." + token.split(".")[1]

    for bad in (forged, altered, payload_swapped, str(other), "x" * 40):
        page = client.get(f"/track/{bad}")
        assert page.status_code == 404, bad
        assert other_ref not in page.text
    assert client.get(f"/track/{token}").status_code == 200


def test_lookup_needs_the_orders_own_contact_and_says_nothing_else(app: App, client: TestClient) -> None:
    ref, order_id = _order(app, email="ana@example.com", phone="+55 (11) 98888-7777")
    other_ref, _ = _order(app, email="bruno@example.com")

    by_email = client.post("/track", data={"order_ref": ref, "contact": "ANA@example.com "})
    by_phone = client.post("/track", data={"order_ref": ref, "contact": "11988887777"})
    wrong_contact = client.post("/track", data={"order_ref": ref, "contact": "bruno@example.com"})
    other_order = client.post("/track", data={"order_ref": other_ref, "contact": "ana@example.com"})
    no_order = client.post("/track", data={"order_ref": "no-such-order", "contact": "ana@example.com"})
    short_phone = client.post("/track", data={"order_ref": ref, "contact": "7777"})

    assert by_email.status_code == by_phone.status_code == 303
    assert by_email.headers["location"] == f"/track/{_token(app, order_id)}"
    failures = [wrong_contact, other_order, no_order, short_phone]
    assert [f.status_code for f in failures] == [404, 404, 404, 404]
    # One answer for every failure: the page does not tell which part was wrong.
    bodies = {
        f.text.replace(f'value="{ref}"', "")
        .replace(f'value="{other_ref}"', "")
        .replace('value="no-such-order"', "")
        for f in failures
    }
    assert len(bodies) == 1


def test_rate_limit_per_address(app: App, client: TestClient) -> None:
    limit = app.settings.tracking_rate_limit_per_minute

    answers = [
        client.post("/track", data={"order_ref": f"guess-{n}", "contact": "a@b.c"}).status_code
        for n in range(limit + 3)
    ]

    assert answers[:limit] == [404] * limit
    assert answers[limit:] == [429] * 3
    assert client.get("/track").status_code == 429


def test_feedback_after_delivery_is_stored_as_the_orders_feedback(app: App, client: TestClient) -> None:
    _, order_id = _order(app, email="ana@example.com", delivered=True)
    token = _token(app, order_id)
    assert 'id="feedback"' in client.get(f"/track/{token}").text

    refused = client.post(f"/track/{token}/feedback", data={"score": "9", "comment": "x"})
    first = client.post(f"/track/{token}/feedback", data={"score": "4", "comment": "Chegou bem"})
    second = client.post(f"/track/{token}/feedback", data={"score": "5", "comment": "  Ótimo  "})

    assert refused.status_code == 422
    assert first.status_code == second.status_code == 303
    assert second.headers["location"] == f"/track/{token}?thanks=1#feedback"
    with app.read_session() as session:
        rows = session.execute(
            select(FeedbackRow.ref, FeedbackRow.score, FeedbackRow.comment, FeedbackRow.source).where(
                FeedbackRow.order_id == order_id
            )
        ).all()
    assert [tuple(r) for r in rows] == [("tracking-page", 5, "Ótimo", "tracking_page")]
    assert "Obrigado pela sua avaliação!" in client.get(f"/track/{token}?thanks=1").text


def test_feedback_needs_a_valid_token(app: App, client: TestClient) -> None:
    _, order_id = _order(app, email="ana@example.com", delivered=True)

    answer = client.post(f"/track/{order_id}/feedback", data={"score": "1", "comment": "spam"})

    assert answer.status_code == 404
    with app.read_session() as session:
        assert session.scalars(select(FeedbackRow)).all() == []
