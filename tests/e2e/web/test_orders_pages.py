"""Home, order list and order detail pages (D1, U11): filters, paging, timeline, roles (D13)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import update

from orderwatch.adapters.db.tables import UserRow
from orderwatch.bootstrap import App
from orderwatch.domain.roles import ROLE_PERMISSIONS, Permission, Role
from orderwatch.entrypoints.web.masking import customer_view, mask_email, mask_phone
from orderwatch.entrypoints.web.routes import orders as order_routes
from tests.e2e.web.conftest import TestClient, add_user, seed_order, sign_in

ORDER_LINK = re.compile(r'<a class="ref" href="/orders/([^"]+)">')


def _refs(html: str) -> list[str]:
    return ORDER_LINK.findall(html)


@pytest.fixture
def shop(app: App) -> App:
    """Four orders: late-delivered, on-time, overdue (open, promise passed), open within promise."""
    seed_order(app, ref="late-1", days_ago=20, promised_days=5, delivered_after_days=8, carrier="correios",
               supplier="supplier-a", region="RJ")
    seed_order(app, ref="ontime-2", days_ago=15, promised_days=10, delivered_after_days=4, carrier="jadlog",
               supplier="supplier-b", region="MG")
    seed_order(app, ref="overdue-3", days_ago=12, promised_days=5, carrier="correios", supplier="supplier-b",
               region="RJ", tracking="BR123456789")
    seed_order(app, ref="open-4", days_ago=2, promised_days=10, carrier="jadlog", supplier="supplier-a",
               region="SP")
    return app


def test_home_counts_orders_by_status_with_links(shop: App, signed_in: Callable[..., TestClient]) -> None:
    client = signed_in("cs_agent")

    page = client.get("/").text

    assert "4 orders in total" in page
    delivered = re.search(r'href="/orders\?status=delivered">\s*<span class="stat__value">(\d+)</span>', page)
    shipped = re.search(r'href="/orders\?status=shipped">\s*<span class="stat__value">(\d+)</span>', page)
    overdue = re.search(
        r'href="/orders\?attention=overdue" id="count-overdue">\s*<span class="stat__value">(\d+)</span>',
        page,
    )
    assert delivered is not None
    assert shipped is not None
    assert overdue is not None
    assert (delivered.group(1), shipped.group(1), overdue.group(1)) == ("2", "2", "1")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["open-4", "overdue-3", "ontime-2", "late-1"]),
        ("status=delivered", ["ontime-2", "late-1"]),
        ("lateness=late", ["late-1"]),
        ("lateness=on_time", ["ontime-2"]),
        ("lateness=overdue", ["overdue-3"]),
        ("carrier=jadlog", ["open-4", "ontime-2"]),
        ("supplier=supplier-b", ["overdue-3", "ontime-2"]),
        ("region=RJ", ["overdue-3", "late-1"]),
        ("purchased_from=2018-02-14&purchased_until=2018-02-17", ["overdue-3", "ontime-2"]),
        ("purchased_from=2018-02-15&purchased_until=2018-02-16", []),
        ("q=overdue", ["overdue-3"]),
        ("q=BR1234", ["overdue-3"]),
        ("carrier=correios&region=RJ&lateness=late", ["late-1"]),
        ("status=canceled", []),
    ],
    ids=["all_case", "status_case", "late_case", "on_time_case", "overdue_case", "carrier_case",
         "supplier_case", "region_case", "dates_case", "dates_exclusive_case", "ref_search_case",
         "tracking_search_case", "combined_case", "none_case"],
)
def test_order_list_filters(
    shop: App, signed_in: Callable[..., TestClient], query: str, expected: list[str]
) -> None:
    client = signed_in("logistics_agent")

    response = client.get(f"/orders?{query}")

    assert response.status_code == 200
    assert _refs(response.text) == expected
    if not expected:
        assert "No orders match these filters." in response.text


def test_filter_values_are_kept_in_the_form(shop: App, signed_in: Callable[..., TestClient]) -> None:
    client = signed_in("cs_agent")

    page = client.get("/orders?status=delivered&carrier=jadlog&q=ont").text

    assert '<option value="delivered" selected>' in page
    assert 'name="carrier" type="text" value="jadlog"' in page
    assert 'name="q" type="search" value="ont"' in page


def test_cursor_pagination_walks_every_order_once(
    shop: App, signed_in: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(order_routes, "PAGE_SIZE", 3)
    client = signed_in("cs_agent")

    first = client.get("/orders?carrier=&region=").text
    next_link = re.search(r'<a class="button" rel="next" href="([^"]+)"', first)
    assert next_link is not None
    second = client.get(next_link.group(1).replace("&amp;", "&")).text

    assert _refs(first) == ["open-4", "overdue-3", "ontime-2"]
    assert _refs(second) == ["late-1"]
    assert 'rel="next"' not in second
    assert "First page" in second
    assert "4 orders match" in second


def test_next_link_keeps_the_filters(shop: App, signed_in: Callable[..., TestClient],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(order_routes, "PAGE_SIZE", 1)
    client = signed_in("cs_agent")

    first = client.get("/orders?carrier=jadlog").text
    next_link = re.search(r'rel="next" href="([^"]+)"', first)
    assert next_link is not None
    second = client.get(next_link.group(1).replace("&amp;", "&")).text

    assert next_link.group(1).startswith("/orders?carrier=jadlog&amp;cursor=")
    assert _refs(first) == ["open-4"]
    assert _refs(second) == ["ontime-2"]


def test_htmx_filter_change_gets_only_the_results(shop: App, signed_in: Callable[..., TestClient]) -> None:
    client = signed_in("cs_agent")

    fragment = client.get("/orders?lateness=late", headers={"HX-Request": "true"})
    restore = client.get(
        "/orders?lateness=late", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )

    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert _refs(fragment.text) == ["late-1"]
    assert "<html" in restore.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("purchased_from=01/02/2018", "Enter dates as YYYY-MM-DD."),
        ("cursor=not-a-cursor", "This page link is no longer valid."),
        ("status=teleported", "Unknown order status."),
        ("lateness=soon", "Unknown timeliness filter."),
    ],
    ids=["date_case", "cursor_case", "status_case", "lateness_case"],
)
def test_bad_filter_is_400_with_a_message(
    sqlite_app: App, client_for: Callable[[App], TestClient], query: str, message: str
) -> None:
    client = client_for(sqlite_app)
    add_user(sqlite_app, "ana", "cs_agent")
    sign_in(client, "ana")

    response = client.get(f"/orders?{query}")

    assert response.status_code == 400
    assert message in response.text
    assert _refs(response.text) == []


def test_order_detail_shows_lines_shipments_and_merged_timeline(
    shop: App, signed_in: Callable[..., TestClient]
) -> None:
    client = signed_in("cs_agent")

    page = client.get("/orders/late-1").text

    assert "<h1>Order late-1</h1>" in page
    assert "supplier-a" in page
    assert "Dispatch deadline" in page
    assert '<span class="badge badge--green">Delivered</span>' in page
    assert '<span class="badge badge--red">Delivered late</span>' in page
    timeline = page[page.index('<ol class="timeline">'):page.index("</ol>")]
    labels = re.findall(r'<span class="badge badge--\w+">([^<]+)</span>', timeline)
    assert labels == ["Order placed", "Payment approved", "Picked up", "In transit", "Delivered"]
    assert "<code>PO-01</code> Objeto postado" in timeline
    assert "Location: São Paulo / SP" in timeline
    assert "correios · <span class=\"ref\">TRKLATE-1</span>" in timeline


def test_order_detail_in_chinese(shop: App, signed_in: Callable[..., TestClient]) -> None:
    client = signed_in("cs_agent", language="zh_CN")

    page = client.get("/orders/late-1").text

    assert "<h1>订单 late-1</h1>" in page
    assert "时间线" in page
    assert "延迟送达" in page
    assert "2018年2月9日" in page  # purchase date, shop time zone


def test_unknown_order_is_404_page(sqlite_app: App, client_for: Callable[[App], TestClient]) -> None:
    client = client_for(sqlite_app)
    add_user(sqlite_app, "ana", "cs_agent")
    sign_in(client, "ana")

    response = client.get("/orders/no-such-order")

    assert response.status_code == 404
    assert "This order or page does not exist." in response.text


@pytest.mark.parametrize(
    ("role", "sees_pii"),
    [
        ("admin", True), ("leadership", True), ("cs_agent", True),
        ("logistics_agent", False), ("supply_chain", False),
    ],
    ids=["admin_case", "leadership_case", "cs_agent_case", "logistics_agent_case", "supply_chain_case"],
)
def test_customer_contact_is_masked_without_pii_permission(
    shop: App, signed_in: Callable[..., TestClient], role: str, sees_pii: bool
) -> None:
    assert (Permission.customers_read_pii in ROLE_PERMISSIONS[Role(role)]) is sees_pii
    client = signed_in(role)

    page = client.get("/orders/late-1").text

    for secret in ("ana.souza@example.com", "Ana Souza", "98765-4321", "Rua das Flores"):
        assert (secret in page) is sees_pii
    assert ("a***@example.com" in page) is not sees_pii
    assert ("Contact details are hidden for your role." in page) is not sees_pii
    assert "rio de janeiro, RJ" in page  # where the parcel goes is not masked


@pytest.mark.parametrize(
    "path", ["/", "/orders", "/orders/late-1"], ids=["home_case", "list_case", "detail_case"]
)
def test_role_without_orders_read_gets_403(
    shop: App, signed_in: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    client = signed_in("supply_chain")
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.supply_chain, frozenset({Permission.suppliers_read}))

    response = client.get(path)

    assert response.status_code == 403
    assert "Your role does not allow this page." in response.text
    assert "Objeto postado" not in response.text


def test_role_unknown_to_the_code_gets_nothing(
    sqlite_app: App, client_for: Callable[[App], TestClient]
) -> None:
    client = client_for(sqlite_app)
    add_user(sqlite_app, "ana", "cs_agent")
    sign_in(client, "ana")
    with sqlite_app.session_factory() as session, session.begin():
        session.execute(update(UserRow).values(role="retired_role"))

    assert client.get("/orders").status_code == 403


def test_nav_shows_only_permitted_areas(shop: App, signed_in: Callable[..., TestClient],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    client = signed_in("supply_chain")
    assert '<a href="/orders"' in client.get("/").text

    monkeypatch.setitem(ROLE_PERMISSIONS, Role.supply_chain, frozenset({Permission.suppliers_read}))

    assert '<a href="/orders"' not in client.get("/orders").text


def test_masking_rules() -> None:
    assert mask_email("ana.souza@example.com") == "a***@example.com"
    assert mask_email("not-an-email") == "***"
    assert mask_phone("+55 11 98765-4321") == "***21"
    assert mask_phone("123") == "***"
    customer = {"name": "Ana", "email": None, "phone": "", "address_line": "Rua 1", "city": "Rio"}
    assert customer_view(customer, can_read_pii=False) == {
        "name": "A***", "email": None, "phone": "", "address_line": "***", "city": "Rio", "masked": True,
    }
    assert customer_view(None, can_read_pii=True) is None
