"""``/api/v1/orders`` end to end on SQLite and PostgreSQL (D1): writes, filters, pages, detail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from orderwatch.adapters.db.tables import OrderLineRow, OrderRow, RejectedItemRow
from orderwatch.bootstrap import App
from tests.conftest import START
from tests.e2e.api_support import Api, event_body, iso, make_api, order_body, shipment_body


@pytest.fixture
def api(app: App) -> Iterator[Api]:
    yield from make_api(app)


def test_post_order_creates_it_and_converts_money_exactly(api: Api) -> None:
    response = api.post("/orders", order_body("o-1", START - timedelta(days=3)))

    assert response.status_code == 200
    assert response.json() == {"index": 0, "result": "accepted", "reference": "o-1", "reason": None}
    detail = api.get("/orders/o-1").json()
    assert detail["value_cents"] == 2 * 4_990 + 1_250
    assert detail["lines"] == [
        {"line_no": 1, "product_ref": "prod-1", "category": None, "supplier_ref": "sup-1", "quantity": 2,
         "unit_price_cents": 4_990, "freight_cents": 1_250,
         "dispatch_deadline": "2018-02-28T12:00:00Z"},
    ]
    assert detail["customer"]["language"] == "pt_BR"
    assert detail["status"] == "placed"
    assert detail["promised_at"] == "2018-03-08T12:00:00Z"


def test_put_updates_the_order_and_keeps_what_is_not_given(api: Api) -> None:
    api.post("/orders", order_body("o-1", START - timedelta(days=3)))
    bare = {"purchased_at": iso(START - timedelta(days=3)),
            "milestones": [{"milestone": "approved", "occurred_at": iso(START - timedelta(days=2))}]}

    response = api.put("/orders/o-1", bare)

    assert response.status_code == 200
    assert response.json() == {"index": 0, "result": "accepted", "reference": "o-1", "reason": None}
    detail = api.get("/orders/o-1").json()
    assert detail["status"] == "approved"
    assert detail["value_cents"] == 11_230
    assert detail["promised_at"] == "2018-03-08T12:00:00Z"
    assert detail["customer"]["email"] == "ana@example.com"
    assert api.count(OrderRow) == 1
    assert api.count(OrderLineRow) == 1


@pytest.mark.parametrize(
    ("field", "value", "reason_case"),
    [
        ("purchased_at", "2018-02-26T12:00:00",
         "purchased_at: must carry a time zone, e.g. 2018-03-01T12:00:00Z or 2018-03-01T09:00:00-03:00 "
         "(got 2018-02-26T12:00:00)"),
        ("promised_at", "2018-03-08T12:00:00",
         "promised_at: must carry a time zone, e.g. 2018-03-01T12:00:00Z or 2018-03-01T09:00:00-03:00 "
         "(got 2018-03-08T12:00:00)"),
    ],
)
def test_naive_datetime_is_refused_naming_the_field(
    api: Api, field: str, value: str, reason_case: str
) -> None:
    response = api.post("/orders", order_body("o-naive", START) | {field: value})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"
    assert response.json()["error"]["field"] == field
    assert response.json()["error"]["message"] == reason_case
    assert api.count(OrderRow) == 0


def test_naive_line_deadline_is_refused_naming_the_nested_field(api: Api) -> None:
    body = order_body("o-naive", START)
    body["lines"][0]["dispatch_deadline"] = "2018-03-03T12:00:00"

    response = api.post("/orders", body)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "lines.0.dispatch_deadline"


def test_rejected_single_order_answers_422_and_is_kept(api: Api) -> None:
    response = api.post("/orders", order_body("o-bad", START, customer={"ref": "c-1", "language": "fr"}))

    assert response.status_code == 422
    assert response.json() == {"error": {
        "code": "invalid", "field": "customer.language",
        "message": "customer.language: unsupported language 'fr'; "
                   "expected one of en, zh_CN, pt_BR (got 'fr')",
    }}
    assert api.count(OrderRow) == 0
    assert api.count(RejectedItemRow) == 1


def test_batch_gives_per_item_results_and_keeps_the_good_ones(api: Api) -> None:
    good = order_body("o-1", START - timedelta(days=1))
    naive = order_body("o-2", START) | {"purchased_at": "2018-03-01T12:00:00"}
    too_precise = order_body("o-3", START)
    too_precise["lines"][0]["unit_price"] = "10.005"
    bad_currency = order_body("o-4", START, currency="R$")

    response = api.post("/orders/batch", {"orders": [good, naive, too_precise, bad_currency]})

    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {"index": 0, "result": "accepted", "reference": "o-1", "reason": None},
            {"index": 1, "result": "rejected", "reference": None,
             "reason": "purchased_at: must carry a time zone, e.g. 2018-03-01T12:00:00Z or "
                       "2018-03-01T09:00:00-03:00 (got 2018-03-01T12:00:00)"},
            {"index": 2, "result": "rejected", "reference": None,
             "reason": "lines.0.unit_price: Decimal input should have no more than 2 decimal places"},
            {"index": 3, "result": "rejected", "reference": None,
             "reason": "currency: String should match pattern '^[A-Za-z]{3}$'"},
        ],
        "accepted": 1, "duplicate": 0, "rejected": 3,
    }
    assert api.count(OrderRow) == 1


def _seed_orders(api: Api, count: int) -> list[str]:
    """``count`` orders one hour apart, newest last; every third delivered late, every third overdue."""
    refs = []
    for n in range(count):
        ref = f"o-{n:03d}"
        purchased = START - timedelta(days=30) + timedelta(hours=n)
        body = order_body(ref, purchased)
        body["customer"]["region"] = "SP" if n % 2 else "MG"
        body["lines"][0]["supplier_ref"] = f"sup-{n % 3}"
        assert api.post("/orders", body).status_code == 200
        refs.append(ref)
    return refs


def test_cursor_pagination_walks_every_order_once(api: Api) -> None:
    refs = _seed_orders(api, 23)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 5} | ({"cursor": cursor} if cursor else {})
        page = api.get("/orders", params).json()
        seen += [item["ref"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 5
    assert seen == list(reversed(refs))


def test_filters_combine(api: Api) -> None:
    _seed_orders(api, 6)
    late = "o-000"
    api.post("/shipments", shipment_body(late, "TRK-LATE"))
    api.post("/events", event_body("TRK-LATE", "delivered", START - timedelta(days=30) + timedelta(days=12)))
    on_time = "o-001"
    api.post("/shipments", shipment_body(on_time, "TRK-OK", carrier="jadlog", origin_region="PR"))
    api.post("/events", event_body("TRK-OK", "delivered", START - timedelta(days=28), carrier="jadlog"))

    def refs(params: dict[str, object]) -> list[str]:
        response = api.get("/orders", params)
        assert response.status_code == 200, response.json()
        return [item["ref"] for item in response.json()["items"]]

    assert refs({"lateness": "late"}) == ["o-000"]
    assert refs({"lateness": "on_time"}) == ["o-001"]
    assert refs({"lateness": "overdue"}) == ["o-005", "o-004", "o-003", "o-002"]
    assert refs({"status": ["delivered"]}) == ["o-001", "o-000"]
    assert refs({"status": ["delivered", "placed"], "carrier": "jadlog"}) == ["o-001"]
    assert refs({"supplier": "sup-2"}) == ["o-005", "o-002"]
    assert refs({"region": "RJ"}) == ["o-001", "o-000"]
    assert refs({"origin_region": "PR"}) == ["o-001"]
    first = START - timedelta(days=30)
    window: dict[str, object] = {"purchased_from": iso(first + timedelta(hours=2)),
                                 "purchased_until": iso(first + timedelta(hours=4))}
    assert refs(window) == ["o-003", "o-002"]
    assert refs({"q": "TRK-OK"}) == ["o-001"]
    assert refs({"q": "o-00"}) == ["o-005", "o-004", "o-003", "o-002", "o-001", "o-000"]
    counted = api.get("/orders", {"status": "placed", "count": "true", "limit": 1}).json()
    assert (len(counted["items"]), counted["total"]) == (1, 4)


@pytest.mark.parametrize(
    ("params", "field_case"),
    [
        ({"status": "lost_in_space"}, "query.status.0"),
        ({"lateness": "sometimes"}, "query.lateness"),
        ({"limit": 501}, "query.limit"),
        ({"purchased_from": "2018-03-01T00:00:00"}, "query.purchased_from"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
def test_bad_list_parameters_are_422_naming_the_parameter(
    api: Api, params: dict[str, object], field_case: str
) -> None:
    response = api.get("/orders", params)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == field_case


def test_detail_timeline_is_ordered_by_event_time_not_arrival(api: Api) -> None:
    purchased = START - timedelta(days=5)
    api.post("/orders", order_body("o-1", purchased, milestones=[
        {"milestone": "approved", "occurred_at": iso(purchased + timedelta(hours=1))}]))
    api.post("/shipments", shipment_body("o-1", "TRK-1"))
    delivered = event_body("TRK-1", "delivered", purchased + timedelta(days=3), location="Rio de Janeiro")
    picked = event_body("TRK-1", "picked_up", purchased + timedelta(days=1), description="Objeto postado")
    transit = event_body("TRK-1", "in_transit", purchased + timedelta(days=2))
    for event in (delivered, picked, transit):
        assert api.post("/events", event).json()["result"] == "accepted"

    detail = api.get("/orders/o-1").json()

    assert [(e["occurred_at"], e["kind"], e["status"]) for e in detail["timeline"]] == [
        ("2018-02-24T12:00:00Z", "milestone", "placed"),
        ("2018-02-24T13:00:00Z", "milestone", "approved"),
        ("2018-02-25T12:00:00Z", "tracking", "picked_up"),
        ("2018-02-26T12:00:00Z", "tracking", "in_transit"),
        ("2018-02-27T12:00:00Z", "tracking", "delivered"),
    ]
    assert detail["timeline"][2] == {
        "occurred_at": "2018-02-25T12:00:00Z", "kind": "tracking", "status": "picked_up", "code": "PICKED_UP",
        "description": "Objeto postado", "location": None, "source": "api", "carrier": "correios",
        "tracking_number": "TRK-1",
    }
    assert detail["status"] == "delivered"
    assert (detail["delivered_at"], detail["is_late"], detail["is_overdue"]) == (
        "2018-02-27T12:00:00Z", False, False)
    assert detail["shipments"][0]["status"] == "delivered"
    assert detail["shipments"][0]["event_count"] == 3


def test_detail_hides_personal_data_without_the_pii_scope(api: Api) -> None:
    api.post("/orders", order_body("o-1", START))
    api.headers = api.headers_for("orders:read")

    customer = api.get("/orders/o-1").json()["customer"]

    assert customer == {
        "ref": "cust-o-1", "name": None, "email": None, "phone": None, "language": "pt_BR",
        "city": "sao paulo", "region": "SP", "zip_prefix": "01310", "country": "BR", "address_line": None,
    }


def test_unknown_order_is_404(api: Api) -> None:
    response = api.get("/orders/nope")

    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "order 'nope' not found", "field": None}}
