"""Helpers for the ``/api/v1`` end-to-end tests (D1): a TestClient on the test app, API keys."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from orderwatch.adapters.db.api_keys import ApiKeyRegistry
from orderwatch.bootstrap import App
from orderwatch.domain.roles import Permission
from orderwatch.entrypoints.api.app import create_app

ALL_SCOPES = tuple(p.value for p in Permission)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class Api:
    """A client on ``app`` plus a full-scope key, and a way to mint narrower ones."""

    app: App
    client: TestClient
    registry: ApiKeyRegistry
    headers: dict[str, str] = field(default_factory=dict)

    def key(self, *scopes: str, name: str = "test-integration") -> str:
        key, _ = self.registry.create(name=name, scopes=scopes)
        return key

    def headers_for(self, *scopes: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key(*scopes)}"}

    def post(self, path: str, body: Any, **headers: str) -> Any:
        return self.client.post(f"/api/v1{path}", json=body, headers=self.headers | headers)

    def put(self, path: str, body: Any, **headers: str) -> Any:
        return self.client.put(f"/api/v1{path}", json=body, headers=self.headers | headers)

    def get(self, path: str, params: Any = None) -> Any:
        return self.client.get(f"/api/v1{path}", params=params, headers=self.headers)

    def count(self, row: type) -> int:
        with self.app.session_factory() as session:
            return int(session.scalar(select(func.count()).select_from(row)) or 0)


def make_api(app: App) -> Iterator[Api]:
    registry = ApiKeyRegistry(app.session_factory, clock=app.clock)
    with TestClient(create_app(app)) as client:
        api = Api(app=app, client=client, registry=registry)
        api.headers = {"Authorization": f"Bearer {api.key(*ALL_SCOPES, name='full-access')}"}
        yield api


def order_body(ref: str, purchased_at: datetime, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ref": ref,
        "purchased_at": iso(purchased_at),
        "promised_at": iso(purchased_at + timedelta(days=10)),
        "currency": "BRL",
        "customer": {
            "ref": f"cust-{ref}", "name": "Ana Souza", "email": "ana@example.com", "phone": "+55 11 5555",
            "language": "pt-BR", "city": "sao paulo", "region": "SP", "zip_prefix": "01310",
            "address_line": "Av. Paulista 1000",
        },
        "lines": [
            {"line_no": 1, "product_ref": "prod-1", "supplier_ref": "sup-1", "quantity": 2,
             "unit_price": "49.90", "freight": 12.5,
             "dispatch_deadline": iso(purchased_at + timedelta(days=2))},
        ],
    }
    body.update(overrides)
    return body


def shipment_body(
    order_ref: str, tracking: str, *, carrier: str = "correios", **overrides: Any
) -> dict[str, Any]:
    return {"order_ref": order_ref, "carrier": carrier, "tracking_number": tracking,
            "origin_region": "SP", "destination_region": "RJ", **overrides}


def event_body(tracking: str, status: str, at: datetime, **overrides: Any) -> dict[str, Any]:
    return {"carrier": "correios", "tracking_number": tracking, "status": status, "occurred_at": iso(at),
            "code": status.upper(), **overrides}
