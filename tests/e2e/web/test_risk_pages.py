"""The risk queue page and the flags on the order page (D2), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.bootstrap import App
from orderwatch.domain.roles import ROLE_PERMISSIONS, Permission, Role
from orderwatch.services.detectors import run_detectors
from tests.e2e.web.conftest import seed_order


@pytest.fixture
def flagged(app: App) -> App:
    """Three orders of one value: one long overdue, one just overdue, one delivered on time."""
    seed_order(app, ref="long-late", days_ago=30, promised_days=5)  # 25 days past: critical
    seed_order(app, ref="just-late", days_ago=8, promised_days=6, supplier="supplier-b")  # 2 days: medium
    seed_order(app, ref="on-time", days_ago=8, promised_days=6, delivered_after_days=4)
    assert isinstance(app.clock, SimulatedClock)
    run_detectors(app.uow(), app.clock)
    return app


def test_queue_ranks_by_severity_times_value_and_links_to_orders(
    flagged: App, signed_in: Callable[..., TestClient]
) -> None:
    client = signed_in("cs_agent")

    page = client.get("/risk")

    assert page.status_code == 200
    html = page.text
    assert "2 orders at risk" in html  # each with promise_passed and stalled, one row per order
    assert html.count("<li><strong>Promise passed</strong>") == 2
    assert html.count("<li><strong>Stalled parcel</strong>") == 2
    assert html.index('href="/orders/long-late"') < html.index('href="/orders/just-late"')
    assert "on-time" not in html
    assert "Promised for Feb 4, 2018, not delivered yet (over 7 days late)" in html
    assert '<a href="/risk" aria-current="page">' in html


def test_queue_filters_by_kind_and_keeps_the_filter(
    flagged: App, signed_in: Callable[..., TestClient]
) -> None:
    client = signed_in("logistics_agent")

    html = client.get("/risk", params={"kind": "stalled"}).text

    assert "2 orders at risk" in html
    assert "Promise passed" not in html.split("<tbody>")[1]  # only the stalled reasons are listed
    assert "Handed to the carrier on" not in html  # both had an in-transit scan after hand-off
    assert "Last carrier scan on" in html
    assert '<option value="stalled" selected>' in html


def test_unknown_kind_is_400_with_a_message(flagged: App, signed_in: Callable[..., TestClient]) -> None:
    response = signed_in("cs_agent").get("/risk", params={"kind": "bogus"})

    assert response.status_code == 400
    assert "Unknown kind of risk." in response.text


def test_queue_in_chinese(flagged: App, signed_in: Callable[..., TestClient]) -> None:
    html = signed_in("cs_agent", language="zh_CN").get("/risk").text

    assert "风险队列" in html
    assert "至今未签收" in html
    assert "Promised for" not in html


def test_order_page_shows_its_flags(flagged: App, signed_in: Callable[..., TestClient]) -> None:
    html = signed_in("supply_chain").get("/orders/just-late").text

    assert "Risk flags" in html
    assert "Promise passed" in html
    assert "over 1 day late" in html


def test_signed_out_visitors_are_sent_to_login(flagged: App, client: TestClient) -> None:
    response = client.get("/risk")

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_role_that_reads_orders_reads_the_queue(role: str) -> None:
    # The page asks for orders:read: the queue shows no more than the order list does.
    assert Permission.orders_read in ROLE_PERMISSIONS[Role(role)]
