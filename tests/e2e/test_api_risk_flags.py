"""``GET /api/v1/risk-flags`` on SQLite and PostgreSQL (D2): ranking, filters, cursor, scope."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.bootstrap import App
from orderwatch.services.detectors import run_detectors
from tests.conftest import START
from tests.e2e.api_support import Api, make_api, order_body


def _line(price: str) -> list[dict[str, object]]:
    deadline = (START - timedelta(days=20)).isoformat()
    return [{"line_no": 1, "product_ref": "prod-1", "supplier_ref": "sup-1", "quantity": 1,
             "unit_price": price, "dispatch_deadline": deadline}]  # fmt: skip


@pytest.fixture
def api(app: App) -> Iterator[Api]:
    yield from make_api(app)


@pytest.fixture
def flagged(api: Api) -> Api:
    """Overdue, never handed over: promise_passed and dispatch_missed, all critical; values differ."""
    for ref, price in (("small", "10.00"), ("large", "900.00"), ("medium", "300.00")):
        body = order_body(ref, START - timedelta(days=30), lines=_line(price))
        assert api.post("/orders", body).status_code == 200
    assert isinstance(api.app.clock, SimulatedClock)
    run_detectors(api.app.uow(), api.app.clock)
    return api


def test_flags_come_highest_value_first_and_page_by_cursor(flagged: Api) -> None:
    first = flagged.get("/risk-flags", {"kind": "promise_passed", "limit": 2, "count": True}).json()
    second = flagged.get(
        "/risk-flags", {"kind": "promise_passed", "limit": 2, "cursor": first["next_cursor"]}
    ).json()

    assert [f["order_ref"] for f in first["items"]] == ["large", "medium"]
    assert [f["order_ref"] for f in second["items"]] == ["small"]
    assert (first["total"], second["next_cursor"]) == (3, None)
    item = first["items"][0]
    assert (item["severity"], item["rank"], item["cause"], item["lane"]) == (
        "critical",
        4 * 90_000,
        None,
        "? → ?",
    )
    assert item["details"]["reason_code"] == "promise_passed"


def test_filters_by_kind_and_order(flagged: Api) -> None:
    body = flagged.get("/risk-flags", {"kind": "dispatch_missed", "order_ref": "small"}).json()

    assert [(f["order_ref"], f["kind"], f["cause"]) for f in body["items"]] == [
        ("small", "dispatch_missed", "supplier_delay")
    ]


def test_unknown_kind_is_rejected_naming_the_field(flagged: Api) -> None:
    response = flagged.get("/risk-flags", {"kind": "bogus"})

    assert response.status_code == 422
    assert "kind" in response.text


def test_tampered_cursor_is_rejected(flagged: Api) -> None:
    response = flagged.get("/risk-flags", {"cursor": "not-a-cursor"})

    assert response.status_code in {400, 422}
    assert "cursor" in response.text


def test_needs_the_orders_read_scope(flagged: Api) -> None:
    allowed = flagged.client.get("/api/v1/risk-flags", headers=flagged.headers_for("orders:read"))
    denied = flagged.client.get("/api/v1/risk-flags", headers=flagged.headers_for("events:write"))
    anonymous = flagged.client.get("/api/v1/risk-flags")

    assert allowed.status_code == 200
    assert len(allowed.json()["items"]) == 6
    assert denied.status_code == 403
    assert anonymous.status_code == 401
