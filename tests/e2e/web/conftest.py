"""Fixtures of the staff web tests: a TestClient per app, staff users, signing in, sample orders."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from orderwatch.adapters.db.users import SqlUsers, UserRecord
from orderwatch.adapters.security.passwords import hash_password
from orderwatch.bootstrap import App
from orderwatch.domain.commands import (
    CustomerData,
    OrderLineData,
    RecordTrackingEvent,
    UpsertOrder,
    UpsertShipment,
)
from orderwatch.domain.orders import OrderMilestone
from orderwatch.domain.shipments import ShipmentStatus
from orderwatch.entrypoints.api.app import create_app
from orderwatch.services.ingest import ingest_events, ingest_orders, ingest_shipments, summarize
from tests.conftest import START
from tests.factories import make_event

PASSWORD = "correct horse battery"
# Argon2 costs ~0.1 s a hash: hash the shared test password once, not per user.
PASSWORD_HASH = hash_password(PASSWORD)
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match is not None, "page has no CSRF field"
    return match.group(1)


def add_user(
    app: App, username: str, role: str, *, language: str = "en", display_name: str | None = None
) -> UserRecord:
    with app.session_factory() as session, session.begin():
        return SqlUsers(session).create(
            username=username, password_hash=PASSWORD_HASH, role=role, now=app.clock.now(),
            language=language, display_name=display_name,
        )


def sign_in(client: TestClient, username: str, password: str = PASSWORD, *, next_path: str = "/") -> object:
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "next": next_path, "csrf_token": token},
    )


@pytest.fixture
def client_for() -> Iterator[Callable[[App], TestClient]]:
    clients: list[TestClient] = []

    def build(app: App) -> TestClient:
        client = TestClient(create_app(app), follow_redirects=False)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def client(app: App, client_for: Callable[[App], TestClient]) -> TestClient:
    return client_for(app)


@pytest.fixture
def signed_in(app: App, client: TestClient) -> Callable[[str], TestClient]:
    """Sign a fresh user of ``role`` in on ``client`` (one user per role)."""

    def as_role(role: str, *, language: str = "en") -> TestClient:
        add_user(app, f"{role.replace('_', '-')}-user", role, language=language)
        response = sign_in(client, f"{role.replace('_', '-')}-user")
        assert response.status_code == 303  # type: ignore[attr-defined]
        return client

    return as_role


def seed_order(
    app: App,
    *,
    ref: str,
    days_ago: int = 10,
    promised_days: int = 5,
    carrier: str = "correios",
    tracking: str | None = None,
    supplier: str = "supplier-a",
    region: str = "RJ",
    delivered_after_days: int | None = None,
) -> None:
    """An order with a customer, one line, one shipment and scans, through the ingestion service."""
    purchased = START - timedelta(days=days_ago)
    order = UpsertOrder(
        ref=ref, purchased_at=purchased, promised_at=purchased + timedelta(days=promised_days),
        customer=CustomerData(
            ref=f"cust-{ref}", name="Ana Souza", email="ana.souza@example.com", phone="+55 11 98765-4321",
            language="pt_BR", region=region, city="rio de janeiro", zip_prefix="20040",
            address_line="Rua das Flores 12",
        ),
        lines=(
            OrderLineData(
                line_no=1, product_ref=f"prod-{ref}", supplier_ref=supplier, unit_price_cents=12_990,
                freight_cents=1_550, dispatch_deadline=purchased + timedelta(days=2),
            ),
        ),
        milestones=(
            (OrderMilestone.placed, purchased),
            (OrderMilestone.approved, purchased + timedelta(hours=1)),
        ),
    )
    assert summarize(ingest_orders(app.uow(), [order], clock=app.clock))["accepted"] == 1
    number = tracking or f"TRK{ref.upper()}"
    shipment = UpsertShipment(order_ref=ref, carrier_code=carrier, tracking_number=number,
                              origin_region="SP", destination_region=region)
    assert summarize(ingest_shipments(app.uow(), [shipment], clock=app.clock))["accepted"] == 1
    events = [
        RecordTrackingEvent(carrier_code=carrier, tracking_number=number, status=ShipmentStatus.picked_up,
                            occurred_at=purchased + timedelta(days=1), raw_code="PO-01",
                            raw_text="Objeto postado", location="São Paulo / SP"),
        make_event(tracking=number, carrier=carrier, status=ShipmentStatus.in_transit,
                   at=purchased + timedelta(days=2), raw_code="RO-01", location="Curitiba / PR"),
    ]
    if delivered_after_days is not None:
        events.append(make_event(tracking=number, carrier=carrier, status=ShipmentStatus.delivered,
                                 at=purchased + timedelta(days=delivered_after_days), raw_code="BDE-01",
                                 location="Rio de Janeiro / RJ"))
    assert summarize(ingest_events(app.uow(), events, clock=app.clock))["accepted"] == len(events)
