"""One-click accept/decline from the offer e-mail (D5, U6): the link confirms, only a POST decides.

The e-mail's links carry the order's signed tracking token; GET shows a confirmation page and
changes nothing (mail scanners prefetch links); the page's POST decides once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from orderwatch.adapters.db.tables import NotificationMessageRow, OutboxRow
from orderwatch.adapters.mail.templates import TemplateRenderer
from orderwatch.bootstrap import App
from orderwatch.domain.notifications import NotificationPolicy
from orderwatch.entrypoints.api.app import create_app
from orderwatch.entrypoints.worker.channels import tracking_link
from orderwatch.services.notifications import plan_for_events
from tests.e2e.test_tracking_offers import _status, offer
from tests.e2e.test_tracking_page import _order, _token


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_app(app), follow_redirects=False) as test_client:
        yield test_client


def _offer_email(app: App, offer_id: int) -> NotificationMessageRow:
    """Plan the offer's outbox row as the worker does, with the real signed tracking links."""
    with app.session_factory() as session:
        row = session.scalars(select(OutboxRow).where(OutboxRow.topic == "remedy.offered")).one()
    with app.uow() as uow:
        plan_for_events(
            uow,
            [(row.topic, row.payload, row.idempotency_key)],
            renderer=TemplateRenderer(),
            policy=NotificationPolicy(),
            tracking_link=tracking_link(app.settings),
            now=app.clock.now(),
        )
        uow.commit()
    with app.session_factory() as session:
        (email,) = session.scalars(
            select(NotificationMessageRow).where(NotificationMessageRow.channel == "email")
        ).all()
    assert email.context["offer_id"] == offer_id
    return email


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_email_links_open_a_confirmation_and_only_its_post_decides(app: App, client: TestClient) -> None:
    ref, order_id = _order(app, email="ana@example.com")
    offer_id = offer(app, ref)
    token = _token(app, order_id)
    email = _offer_email(app, offer_id)

    accept = re.search(r"Aceitar a oferta: (\S+)", email.body_text)
    decline = re.search(r"Recusar a oferta: (\S+)", email.body_text)
    assert accept is not None
    assert decline is not None
    assert _path(accept.group(1)) == f"/track/{token}/offers/{offer_id}/accept"
    assert _path(decline.group(1)) == f"/track/{token}/offers/{offer_id}/decline"
    assert f'href="{accept.group(1)}"' in (email.body_html or "")

    # A scanner (or the customer) opening both links decides nothing.
    confirm = client.get(_path(accept.group(1)))
    declining = client.get(_path(decline.group(1)))
    assert (confirm.status_code, declining.status_code) == (200, 200)
    assert "Você quer aceitar esta oferta?" in confirm.text
    assert "Você quer recusar esta oferta?" in declining.text
    assert "R$\xa012,90" in confirm.text
    assert f'action="/track/{token}/offers/{offer_id}/accept?lang=pt_BR"' in confirm.text
    assert confirm.headers["x-robots-tag"] == "noindex, nofollow"
    assert _status(app, offer_id) == "offered"

    decided = client.post(f"/track/{token}/offers/{offer_id}/accept?lang=pt_BR")
    assert decided.status_code == 303
    assert _status(app, offer_id) == "accepted"
    after = client.get(_path(decline.group(1)))  # the other link, later: shows the decision, no form
    assert "Você aceitou esta oferta." in after.text
    assert "<form" not in after.text


def test_confirmation_page_speaks_the_language_asked(app: App, client: TestClient) -> None:
    ref, order_id = _order(app, email="ana@example.com")
    offer_id = offer(app, ref)

    page = client.get(f"/track/{_token(app, order_id)}/offers/{offer_id}/decline?lang=zh_CN")

    assert page.status_code == 200
    assert "您要拒绝此补偿方案吗？" in page.text
    assert "是的，拒绝此方案" in page.text


@pytest.mark.parametrize("who", ["other_order_case", "forged_token_case", "unknown_offer_case"])
def test_confirmation_page_of_an_offer_the_token_does_not_own_is_404(
    app: App, client: TestClient, who: str
) -> None:
    ref, order_id = _order(app, email="ana@example.com")
    _, other_id = _order(app, email="bruno@example.com")
    offer_id = offer(app, ref)
    path = {
        "other_order_case": f"/track/{_token(app, other_id)}/offers/{offer_id}/accept",
        "forged_token_case": f"/track/{order_id}/offers/{offer_id}/accept",
        "unknown_offer_case": f"/track/{_token(app, order_id)}/offers/{offer_id + 1}/accept",
    }[who]

    page = client.get(path)

    assert page.status_code == 404
    assert "oferta" not in page.text.lower()
    assert _status(app, offer_id) == "offered"
