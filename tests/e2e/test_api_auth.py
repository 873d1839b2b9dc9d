"""API keys over HTTP and from the CLI (D1, D13): 401, 403 naming the scope, revocation, OpenAPI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from orderwatch.adapters.db.api_keys import ApiKeyRegistry
from orderwatch.adapters.db.tables import ApiKeyRow, OrderRow
from orderwatch.bootstrap import App
from orderwatch.entrypoints.cli.main import app as cli
from tests.conftest import START
from tests.e2e.api_support import Api, make_api, order_body


@pytest.fixture
def api(app: App) -> Iterator[Api]:
    yield from make_api(app)


class FakeTimer:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("headers", "message_case"),
    [
        ({}, "no credentials: send 'Authorization: Bearer ow_...' or 'X-API-Key: ow_...'"),
        ({"Authorization": "Basic dXNlcjpwYXNz"},
         "no credentials: send 'Authorization: Bearer ow_...' or 'X-API-Key: ow_...'"),
        ({"X-API-Key": "letmein"}, "API key is malformed: expected ow_<prefix>_<secret>"),
        ({"Authorization": "Bearer ow_0123456789ab_" + "x" * 43}, "API key is not valid or has been revoked"),
    ],
)
def test_missing_or_invalid_key_is_401(api: Api, headers: dict[str, str], message_case: str) -> None:
    response = api.client.post("/api/v1/orders", json=order_body("o-1", START), headers=headers)

    assert response.status_code == 401
    assert response.json() == {"error": {"code": "unauthenticated", "message": message_case, "field": None}}
    assert api.count(OrderRow) == 0


def test_wrong_secret_of_a_real_prefix_is_401(api: Api) -> None:
    key = api.key("orders:read")
    forged = key[: key.rindex("_") + 1] + "A" * 43

    response = api.client.get("/api/v1/orders", headers={"X-API-Key": forged})

    assert response.status_code == 401


def test_missing_scope_is_403_naming_it(api: Api) -> None:
    key = api.key("orders:read", "rejects:read")
    prefix = key.split("_")[1]

    response = api.client.post("/api/v1/orders", json=order_body("o-1", START), headers={"X-API-Key": key})

    assert response.status_code == 403
    assert response.json() == {"error": {
        "code": "forbidden", "message": f"api_key:{prefix} lacks the scope 'orders:write'", "field": None}}
    assert api.count(OrderRow) == 0


@pytest.mark.parametrize(
    ("method", "path", "scope_case"),
    [
        ("GET", "/api/v1/orders", "orders:read"),
        ("GET", "/api/v1/orders/o-1", "orders:read"),
        ("POST", "/api/v1/orders", "orders:write"),
        ("POST", "/api/v1/orders/batch", "orders:write"),
        ("PUT", "/api/v1/orders/o-1", "orders:write"),
        ("POST", "/api/v1/shipments", "shipments:write"),
        ("POST", "/api/v1/events", "events:write"),
        ("POST", "/api/v1/events/batch", "events:write"),
        ("GET", "/api/v1/rejects", "rejects:read"),
    ],
)
def test_every_route_needs_its_scope(api: Api, method: str, path: str, scope_case: str) -> None:
    route_scopes = {"orders:read", "orders:write", "shipments:write", "events:write", "rejects:read"}
    other_scopes = route_scopes - {scope_case}
    without = api.headers_for(*other_scopes)

    response = api.client.request(method, path, json={}, headers=without)

    assert response.status_code == 403
    assert response.json()["error"]["message"].endswith(f"lacks the scope {scope_case!r}")


def test_bearer_and_header_keys_both_work_and_last_use_is_recorded(api: Api) -> None:
    key = api.key("orders:read", name="erp")

    bearer = api.client.get("/api/v1/orders", headers={"Authorization": f"Bearer {key}"})
    header = api.client.get("/api/v1/orders", headers={"X-API-Key": key})

    assert (bearer.status_code, header.status_code) == (200, 200)
    with api.app.session_factory() as session:
        row = session.scalars(select(ApiKeyRow).where(ApiKeyRow.name == "erp")).one()
    assert row.last_used_at == START
    assert key.split("_")[2] not in row.secret_hash


def test_revocation_in_this_process_is_immediate(api: Api) -> None:
    timer = FakeTimer()
    registry = ApiKeyRegistry(api.app.session_factory, clock=api.app.clock, timer=timer)
    api.client.app.state.api_keys = registry  # type: ignore[attr-defined]
    key, info = registry.create(name="erp", scopes=["orders:read"])
    assert api.client.get("/api/v1/orders", headers={"X-API-Key": key}).status_code == 200

    registry.revoke(info.prefix)

    assert api.client.get("/api/v1/orders", headers={"X-API-Key": key}).status_code == 401


def test_revocation_elsewhere_takes_effect_when_the_cache_expires(api: Api) -> None:
    timer = FakeTimer()
    server = ApiKeyRegistry(api.app.session_factory, clock=api.app.clock, timer=timer, cache_seconds=5)
    api.client.app.state.api_keys = server  # type: ignore[attr-defined]
    key, info = server.create(name="erp", scopes=["orders:read"])
    assert api.client.get("/api/v1/orders", headers={"X-API-Key": key}).status_code == 200

    ApiKeyRegistry(api.app.session_factory, clock=api.app.clock).revoke(info.prefix)  # e.g. the CLI
    cached = api.client.get("/api/v1/orders", headers={"X-API-Key": key})
    timer.now += 5.5
    expired = api.client.get("/api/v1/orders", headers={"X-API-Key": key})

    assert (cached.status_code, expired.status_code) == (200, 401)


def test_cli_creates_lists_and_revokes_keys(api: Api) -> None:
    url = ["--database-url", api.app.settings.resolved_database_url]
    runner = CliRunner()

    created = runner.invoke(cli, ["apikeys", "create", "shop-erp", "--scope", "events:write",
                                  "--scope", "orders:read", "--json", *url])
    key = json.loads(created.stdout)["key"]
    prefix = key.split("_")[1]
    listed = runner.invoke(cli, ["apikeys", "list", "--json", *url])
    response = api.client.get("/api/v1/orders", headers={"X-API-Key": key})
    revoked = runner.invoke(cli, ["apikeys", "revoke", prefix, *url])
    missing = runner.invoke(cli, ["apikeys", "revoke", "000000000000", *url])
    bad_scope = runner.invoke(cli, ["apikeys", "create", "x", "--scope", "everything", *url])

    assert created.exit_code == 0, created.output
    assert key.startswith(f"ow_{prefix}_")
    keys = {k["name"]: k for k in json.loads(listed.stdout)["keys"]}
    assert keys["shop-erp"]["scopes"] == ["events:write", "orders:read"]
    assert keys["shop-erp"]["revoked_at"] is None
    assert response.status_code == 200
    assert revoked.exit_code == 0
    assert f"revoked {prefix} (shop-erp)" in revoked.stdout
    assert missing.exit_code == 2
    assert "API key '000000000000' not found" in missing.stderr
    assert bad_scope.exit_code == 2
    assert "scope: unknown scope" in bad_scope.stderr
    with api.app.session_factory() as session:
        row = session.scalars(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix)).one()
    assert row.revoked_at is not None
    assert row.revoked_at > START + timedelta(days=365)  # the CLI runs on the real clock


def test_openapi_lists_the_routes_and_the_key_schemes(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()

    routes = {(path, method) for path, item in schema["paths"].items() for method in item
              if path.startswith("/api/v1/") and not path.startswith("/api/v1/webhooks")}
    assert routes == {
        ("/api/v1/orders", "get"), ("/api/v1/orders", "post"), ("/api/v1/orders/batch", "post"),
        ("/api/v1/orders/{ref}", "get"), ("/api/v1/orders/{ref}", "put"),
        ("/api/v1/shipments", "post"), ("/api/v1/events", "post"), ("/api/v1/events/batch", "post"),
        ("/api/v1/rejects", "get"), ("/api/v1/risk-flags", "get"),
        ("/api/v1/incidents", "get"), ("/api/v1/incidents", "post"), ("/api/v1/incidents/stats", "get"),
        ("/api/v1/incidents/claims", "get"), ("/api/v1/incidents/review", "get"),
        ("/api/v1/incidents/{ref}", "get"), ("/api/v1/incidents/{ref}/transitions", "post"),
        ("/api/v1/incidents/{ref}/notes", "post"), ("/api/v1/incidents/{ref}/tasks", "post"),
        ("/api/v1/incidents/{ref}/compensation", "get"), ("/api/v1/incidents/{ref}/compensation", "post"),
        ("/api/v1/incidents/{ref}/compensation/{entry_id}/approve", "post"),
        ("/api/v1/incidents/{ref}/compensation/{entry_id}/reject", "post"),
        ("/api/v1/incidents/{ref}/claims", "get"), ("/api/v1/incidents/{ref}/claims", "post"),
        ("/api/v1/incidents/claims/{claim_id}/{action}", "post"),
    }
    assert set(schema["components"]["securitySchemes"]) == {"HTTPBearer", "APIKeyHeader"}
    batch = schema["components"]["schemas"]["EventBatchIn"]["properties"]["events"]
    assert batch["maxItems"] == 5000
    assert batch["items"] == {"$ref": "#/components/schemas/TrackingEventIn"}
