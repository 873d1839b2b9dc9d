"""Remedy offers on the customer tracking page (D5, U6 customer side): see, accept, decline.

The signed token is the only authority: another order's token cannot decide this offer (404,
nothing changes); a replayed decision is a no-op; an expired offer shows as expired and cannot
be accepted; a cross-site browser POST is refused. The expected window (P50–P90) shows, and
the active model's window is what a confirmed delay's event carries (D3).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.risk_flags import SqlRiskFlagStore
from orderwatch.adapters.db.tables import ModelVersionRow, OutboxRow, PredictionRow, RemedyOfferRow
from orderwatch.bootstrap import App
from orderwatch.domain.roles import Role
from orderwatch.entrypoints.api.app import create_app
from orderwatch.entrypoints.incident_wiring import incident_config
from orderwatch.services.ports import NewMessage
from orderwatch.services.remedy_offers import make_offer
from tests.e2e.test_tracking_page import _order, _token


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_app(app), follow_redirects=False) as test_client:
        yield test_client


def offer(app: App, ref: str, *, days: int = 7) -> int:
    return make_offer(
        app.uow(),
        app.clock,
        config=incident_config(app.settings),
        order_ref=ref,
        kind="partial_refund",
        amount_cents=1_290,
        actor="cs",
        role=Role.cs_agent,
        validity=timedelta(days=days),
    )


def _status(app: App, offer_id: int) -> str:
    with app.session_factory() as session:
        return str(session.scalar(select(RemedyOfferRow.status).where(RemedyOfferRow.id == offer_id)))


def test_customer_sees_and_accepts_the_offer_once(app: App, client: TestClient) -> None:
    ref, order_id = _order(app, email="ana@example.com")
    offer_id = offer(app, ref)
    token = _token(app, order_id)

    page = client.get(f"/track/{token}")
    assert page.status_code == 200
    assert "Nossa oferta para você" in page.text
    assert "um reembolso parcial" in page.text
    assert "R$\xa012,90" in page.text
    assert f'action="/track/{token}/offers/{offer_id}/accept' in page.text

    accepted = client.post(f"/track/{token}/offers/{offer_id}/accept")
    again = client.post(f"/track/{token}/offers/{offer_id}/accept")
    decline_after = client.post(f"/track/{token}/offers/{offer_id}/decline")

    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"/track/{token}#offer-{offer_id}"
    assert again.status_code == 303  # a replay is the same answer and changes nothing
    assert decline_after.status_code == 409
    assert "Esta oferta não pode mais ser alterada." in decline_after.text
    assert _status(app, offer_id) == "accepted"
    with app.session_factory() as session:
        topics = list(session.scalars(select(OutboxRow.topic).where(OutboxRow.topic.like("remedy.%"))))
    assert sorted(topics) == ["remedy.accepted", "remedy.offered"]
    assert "Você aceitou esta oferta." in client.get(f"/track/{token}").text


def test_another_orders_token_cannot_decide_the_offer(app: App, client: TestClient) -> None:
    ref, _ = _order(app, email="ana@example.com")
    _, other_id = _order(app, email="bruno@example.com")
    offer_id = offer(app, ref)

    answer = client.post(f"/track/{_token(app, other_id)}/offers/{offer_id}/accept")
    forged = client.post(f"/track/{other_id}/offers/{offer_id}/accept")
    unknown = client.post(f"/track/{_token(app, other_id)}/offers/999999/decline")

    assert (answer.status_code, forged.status_code, unknown.status_code) == (404, 404, 404)
    assert "Nossa oferta" not in client.get(f"/track/{_token(app, other_id)}").text
    assert _status(app, offer_id) == "offered"


def test_cross_site_post_and_unknown_decision_are_refused(app: App, client: TestClient) -> None:
    ref, order_id = _order(app, email="ana@example.com")
    offer_id = offer(app, ref)
    token = _token(app, order_id)

    cross = client.post(f"/track/{token}/offers/{offer_id}/accept", headers={"Sec-Fetch-Site": "cross-site"})
    bad = client.post(f"/track/{token}/offers/{offer_id}/maybe")

    assert cross.status_code == 403
    assert bad.status_code == 422
    assert _status(app, offer_id) == "offered"


def test_expired_offer_shows_expired_and_cannot_be_accepted(
    app: App, client: TestClient, clock: SimulatedClock
) -> None:
    ref, order_id = _order(app, email="ana@example.com")
    offer_id = offer(app, ref, days=1)
    token = _token(app, order_id)
    clock.advance_to(clock.now() + timedelta(days=1, minutes=1))

    page = client.get(f"/track/{token}")
    answer = client.post(f"/track/{token}/offers/{offer_id}/accept")

    assert "Esta oferta expirou." in page.text
    assert "/accept" not in page.text
    assert answer.status_code == 409
    assert _status(app, offer_id) == "offered"  # the expiry job marks it; nobody accepted it


def test_page_shows_the_expected_window_of_the_last_delay_message(app: App, client: TestClient) -> None:
    """D3: the window (P50–P90) a delay message told is the one the page shows."""
    _, order_id = _order(app, email="ana@example.com")
    now = app.clock.now()
    start, end = now + timedelta(days=2), now + timedelta(days=5)
    with app.uow() as uow:
        uow.notifications.add_messages(
            [
                NewMessage(
                    idempotency_key="delay:1:email",
                    event="delay_risk",
                    channel="email",
                    recipient="ana@example.com",
                    language="en",
                    subject="late",
                    body_text="late",
                    body_html=None,
                    context={"expected_at": start.isoformat(), "expected_until": end.isoformat()},
                    send_at=now,
                    order_id=order_id,
                )
            ],
            now=now,
        )
        uow.commit()

    page = client.get(f"/track/{_token(app, order_id)}?lang=en")

    expected = page.text.split('data-testid="expected">')[1].split("</p>")[0]
    assert expected.startswith("Expected between ")
    assert str(end.astimezone(ZoneInfo(app.settings.shop_timezone)).day) in expected


def test_eta_windows_read_the_active_models_latest_prediction(app: App) -> None:
    _, order_id = _order(app, email="ana@example.com")
    now = app.clock.now()
    with app.uow() as uow:
        for version, active in (("v1", False), ("v2", True)):
            uow.session.add(
                ModelVersionRow(
                    version=version,
                    trained_until=now,
                    n_train=1,
                    metrics={},
                    model=b"",
                    is_active=active,
                    created_at=now,
                )
            )
            uow.session.add(
                PredictionRow(
                    order_id=order_id,
                    stage="purchase" if active else "handoff",
                    model_version=version,
                    p_late=0.7,
                    eta_p50_at=now + timedelta(days=2 if active else 9),
                    eta_p90_at=now + timedelta(days=4 if active else 12),
                    reasons=[],
                    scored_at=now,
                )
            )
        uow.commit()
    with app.uow() as uow:
        windows = SqlRiskFlagStore(uow.session).eta_windows([order_id, order_id + 999])
    assert windows == {order_id: (now + timedelta(days=2), now + timedelta(days=4))}
