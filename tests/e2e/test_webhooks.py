"""Carrier webhooks over HTTP on SQLite and PostgreSQL (D1): signatures, rotation, replay, results.

Captured payloads from tests/fixtures/<source>/ are posted byte for byte, signed the way each
sender signs them; the shipments exist first (created through the ingestion service).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.tables import RejectedItemRow, ShipmentRow, TrackingEventRow, WebhookSecretRow
from orderwatch.adapters.db.webhook_secrets import WebhookSecretStore
from orderwatch.adapters.webhooks.signatures import (
    WebhookSource,
    sign_17track,
    sign_aftership,
    sign_generic,
    sign_kuaidi100,
)
from orderwatch.bootstrap import App
from orderwatch.entrypoints.api.app import create_app
from orderwatch.entrypoints.api.routers.webhooks import webhook_secret_store
from orderwatch.entrypoints.cli.main import app as cli
from orderwatch.services.ingest import ingest_orders, ingest_shipments
from tests.factories import make_order, make_shipment

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOW = datetime(2024, 5, 21, 0, 0, tzinfo=UTC)
SECRET = "primary-secret-0001"
SHIPMENTS = {  # source → (carrier code as the sender names it, tracking number in the fixtures)
    WebhookSource.aftership: ("dhl", "3392654392"),
    WebhookSource.seventeentrack: ("3011", "RR123456789CN"),
    WebhookSource.kuaidi100: ("shunfeng", "SF1416273849523"),
    WebhookSource.generic: ("correios", "QB123456789BR"),
}
FIXTURE_DIR = {WebhookSource.seventeentrack: "17track"}


@dataclass
class Hooks:
    app: App
    client: TestClient
    store: WebhookSecretStore
    clock: SimulatedClock

    def fixture(self, source: WebhookSource, name: str) -> bytes:
        return (FIXTURES / FIXTURE_DIR.get(source, source.value) / name).read_bytes()

    def post(
        self,
        source: WebhookSource,
        payload: bytes,
        *,
        secret: str | None = SECRET,
        timestamp: int | None = None,
    ) -> object:
        """POST ``payload`` as ``source`` sends it, signed with ``secret`` (unsigned when None)."""
        body, headers = payload, {"content-type": "application/json"}
        if source is WebhookSource.kuaidi100:
            param = payload.decode()
            form = (
                {"param": param}
                if secret is None
                else {"param": param, "sign": sign_kuaidi100(secret, param)}
            )
            body = urlencode(form).encode()
            headers = {"content-type": "application/x-www-form-urlencoded"}
        elif secret is not None:
            headers |= self._header(source, secret, payload, timestamp)
        return self.client.post(f"/api/v1/webhooks/{source.value}", content=body, headers=headers)

    def _header(
        self, source: WebhookSource, secret: str, body: bytes, timestamp: int | None
    ) -> dict[str, str]:
        if source is WebhookSource.aftership:
            return {"aftership-hmac-sha256": sign_aftership(secret, body)}
        if source is WebhookSource.seventeentrack:
            return {"sign": sign_17track(secret, body)}
        moment = int(self.clock.now().timestamp()) if timestamp is None else timestamp
        return {"X-OrderWatch-Signature": sign_generic(secret, body, moment)}

    def count(self, row: type) -> int:
        with self.app.session_factory() as session:
            return int(session.scalar(select(func.count()).select_from(row)) or 0)

    def shipment_status(self, tracking: str) -> str:
        with self.app.session_factory() as session:
            return session.scalars(
                select(ShipmentRow.status).where(ShipmentRow.tracking_number == tracking)
            ).one()


@pytest.fixture
def hooks(app: App, clock: SimulatedClock) -> Iterator[Hooks]:
    """A client on ``app`` at NOW, one shipment per source, and SECRET active for every source."""
    clock.advance_to(NOW)
    for carrier, tracking in SHIPMENTS.values():
        order = make_order(purchased_at=NOW - timedelta(days=25))
        assert [o.result for o in ingest_orders(app.uow(), [order], clock=clock)] == ["accepted"]
        shipment = make_shipment(order_ref=order.ref, carrier=carrier, tracking=tracking)
        assert [o.result for o in ingest_shipments(app.uow(), [shipment], clock=clock)] == ["accepted"]
    api = create_app(app)
    store = webhook_secret_store(api)
    for source in WebhookSource:
        store.add(source, SECRET)
    with TestClient(api) as client:
        yield Hooks(app=app, client=client, store=store, clock=clock)


SOURCES = list(WebhookSource)
SOURCE_IDS = [f"{s.value}_case" for s in SOURCES]

# source → (fixture, accepted events, shipment status after)
DELIVERIES = {
    WebhookSource.aftership: ("delivered.json", 10, "delivered"),
    WebhookSource.seventeentrack: ("tracking_updated_delivered.json", 7, "delivered"),
    WebhookSource.kuaidi100: ("signed_resultv2.json", 6, "delivered"),
    WebhookSource.generic: ("in_transit.json", 2, "in_transit"),
}


@pytest.mark.parametrize("source", SOURCES, ids=SOURCE_IDS)
def test_signed_delivery_is_accepted_and_stored(hooks: Hooks, source: WebhookSource) -> None:
    name, accepted, status = DELIVERIES[source]

    response = hooks.post(source, hooks.fixture(source, name))

    assert response.status_code == 200  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["summary"] == {"accepted": accepted, "duplicate": 0, "rejected": 0}
    assert [r["index"] for r in body["results"]] == list(range(accepted))
    assert {r["shipment_status"] for r in body["results"]} == {status}
    assert body["problems"] == []
    assert hooks.count(TrackingEventRow) == accepted
    assert hooks.shipment_status(SHIPMENTS[source][1]) == status


def test_kuaidi100_gets_its_expected_success_shape(hooks: Hooks) -> None:
    response = hooks.post(
        WebhookSource.kuaidi100, hooks.fixture(WebhookSource.kuaidi100, "in_transit_resultv2.json")
    )

    body = response.json()  # type: ignore[attr-defined]
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert (body["result"], body["returnCode"], body["message"]) == (True, "200", "成功")
    assert body["summary"] == {"accepted": 3, "duplicate": 0, "rejected": 0}


@pytest.mark.parametrize("source", SOURCES, ids=SOURCE_IDS)
@pytest.mark.parametrize("secret", [None, "someone-elses-secret"], ids=["missing_case", "wrong_case"])
def test_unsigned_or_wrongly_signed_is_refused_and_nothing_stored(
    hooks: Hooks, source: WebhookSource, secret: str | None
) -> None:
    name, _, _ = DELIVERIES[source]

    response = hooks.post(source, hooks.fixture(source, name), secret=secret)

    assert response.status_code == 401  # type: ignore[attr-defined]
    assert response.json()["error"]["code"] == "bad_signature"  # type: ignore[attr-defined]
    assert (hooks.count(TrackingEventRow), hooks.count(RejectedItemRow)) == (0, 0)
    assert hooks.shipment_status(SHIPMENTS[source][1]) == "created"


def test_body_changed_after_signing_is_refused(hooks: Hooks) -> None:
    body = hooks.fixture(WebhookSource.aftership, "delivered.json")
    reserialized = json.dumps(json.loads(body)).encode()  # same JSON, other bytes
    headers = {"aftership-hmac-sha256": sign_aftership(SECRET, body), "content-type": "application/json"}

    response = hooks.client.post("/api/v1/webhooks/aftership", content=reserialized, headers=headers)

    assert response.status_code == 401
    assert hooks.count(TrackingEventRow) == 0


def test_source_without_any_active_secret_is_refused(hooks: Hooks) -> None:
    (secret_id,) = [s.id for s in hooks.store.list_secrets(WebhookSource.seventeentrack)]
    hooks.store.retire(WebhookSource.seventeentrack, secret_id)

    response = hooks.post(
        WebhookSource.seventeentrack,
        hooks.fixture(WebhookSource.seventeentrack, "tracking_updated_in_transit.json"),
    )

    assert response.status_code == 401  # type: ignore[attr-defined]
    assert response.json()["error"]["message"] == (  # type: ignore[attr-defined]
        "no active webhook secret for 17track: refusing unsigned traffic"
    )
    assert hooks.count(TrackingEventRow) == 0


def test_rotation_old_and_new_verify_and_retired_fails(hooks: Hooks) -> None:
    source = WebhookSource.generic
    first = json.dumps(
        {
            "carrier": "correios",
            "tracking_number": "QB123456789BR",
            "events": [{"status": "picked_up", "occurred_at": "2024-05-02T14:10:00-03:00"}],
        }
    ).encode()
    second = first.replace(b"picked_up", b"in_transit")
    third = first.replace(b"picked_up", b"delivered")
    old_id = hooks.store.list_secrets(source)[0].id

    new, _ = hooks.store.add(source, "rotated-secret-0002")
    old_answer = hooks.post(source, first, secret=SECRET)
    new_answer = hooks.post(source, second, secret="rotated-secret-0002")
    hooks.store.retire(source, old_id)
    retired_answer = hooks.post(source, third, secret=SECRET)

    assert [a.status_code for a in (old_answer, new_answer, retired_answer)] == [200, 200, 401]  # type: ignore[attr-defined]
    assert hooks.count(TrackingEventRow) == 2
    assert [(s.id, s.is_active) for s in hooks.store.list_secrets(source)] == [
        (old_id, False),
        (new.id, True),
    ]


def test_third_secret_retires_the_oldest(hooks: Hooks) -> None:
    source = WebhookSource.aftership
    hooks.store.add(source, "second-secret-0002")
    hooks.store.add(source, "third-secret-00003")

    answer = hooks.post(source, hooks.fixture(source, "in_transit.json"), secret=SECRET)

    assert answer.status_code == 401  # type: ignore[attr-defined]
    assert [s.is_active for s in hooks.store.list_secrets(source)] == [False, True, True]
    assert hooks.store.active_secrets(source) == ("third-secret-00003", "second-secret-0002")


@pytest.mark.parametrize(
    "age", [timedelta(seconds=301), timedelta(seconds=-301)], ids=["replayed_case", "future_case"]
)
def test_generic_timestamp_outside_the_window_is_refused(hooks: Hooks, age: timedelta) -> None:
    stamp = int((NOW - age).timestamp())

    response = hooks.post(
        WebhookSource.generic, hooks.fixture(WebhookSource.generic, "in_transit.json"), timestamp=stamp
    )

    assert response.status_code == 401  # type: ignore[attr-defined]
    assert response.json()["error"] == {  # type: ignore[attr-defined]
        "code": "bad_signature",
        "message": f"header X-OrderWatch-Signature timestamp {stamp} is outside the 300 s replay window",
        "field": None,
    }
    assert hooks.count(TrackingEventRow) == 0


@pytest.mark.parametrize("source", SOURCES, ids=SOURCE_IDS)
def test_same_delivery_twice_reports_duplicates(hooks: Hooks, source: WebhookSource) -> None:
    name, accepted, status = DELIVERIES[source]
    payload = hooks.fixture(source, name)

    hooks.post(source, payload)
    again = hooks.post(source, payload).json()  # type: ignore[attr-defined]

    assert again["summary"] == {"accepted": 0, "duplicate": accepted, "rejected": 0}
    assert {r["shipment_status"] for r in again["results"]} == {status}
    assert hooks.count(TrackingEventRow) == accepted


def test_unknown_tracking_number_is_rejected_and_kept(hooks: Hooks) -> None:
    payload = hooks.fixture(WebhookSource.aftership, "in_transit.json").replace(b"3392654392", b"9999999999")

    body = hooks.post(WebhookSource.aftership, payload).json()  # type: ignore[attr-defined]

    reason = "tracking_number: no shipment '9999999999' for carrier 'dhl'"
    assert body["summary"] == {"accepted": 0, "duplicate": 0, "rejected": 4}
    assert {(r["result"], r["reason"]) for r in body["results"]} == {("rejected", reason)}
    assert (hooks.count(TrackingEventRow), hooks.count(RejectedItemRow)) == (0, 4)


def test_generic_naming_a_known_order_creates_the_shipment(hooks: Hooks) -> None:
    order = make_order(ref="order-GEN-3001", purchased_at=NOW - timedelta(days=20))
    ingest_orders(hooks.app.uow(), [order], clock=hooks.clock)
    payload = hooks.fixture(WebhookSource.generic, "in_transit.json").replace(
        b"QB123456789BR", b"QB000000001BR"
    )

    body = hooks.post(WebhookSource.generic, payload).json()  # type: ignore[attr-defined]

    assert body["summary"] == {"accepted": 2, "duplicate": 0, "rejected": 0}
    assert hooks.shipment_status("QB000000001BR") == "in_transit"


@pytest.mark.parametrize(
    ("source", "name", "field", "message"),
    [
        pytest.param(
            WebhookSource.generic,
            "malformed_missing_carrier.json",
            "carrier",
            "carrier: is required",
            id="generic_case",
        ),
        pytest.param(
            WebhookSource.aftership,
            "malformed_not_json.json",
            "body",
            "body: is not valid JSON (Expecting property name enclosed in double quotes at line 2 column 1)",
            id="aftership_case",
        ),
        pytest.param(
            WebhookSource.seventeentrack,
            "malformed_missing_number.json",
            "data.number",
            "data.number: is required",
            id="17track_case",
        ),
        pytest.param(
            WebhookSource.kuaidi100,
            "malformed_missing_nu.json",
            "param.lastResult.nu",
            "param.lastResult.nu: is required",
            id="kuaidi100_case",
        ),
    ],
)
def test_signed_but_unreadable_body_is_422_naming_the_field(
    hooks: Hooks, source: WebhookSource, name: str, field: str, message: str
) -> None:
    response = hooks.post(source, hooks.fixture(source, name))

    assert response.status_code == 422  # type: ignore[attr-defined]
    error = response.json()["error"]  # type: ignore[attr-defined]
    assert (error["code"], error["field"], error["message"], error["problems"]) == (
        "invalid",
        field,
        message,
        [message],
    )
    # nothing stored as tracking data; the signed body is kept for inspection
    assert (hooks.count(TrackingEventRow), hooks.count(RejectedItemRow)) == (0, 1)
    with hooks.app.session_factory() as session:
        kept = session.scalars(select(RejectedItemRow)).one()
    assert (kept.source, kept.kind, kept.reason) == (source.value, "webhook", message)


def test_partly_bad_delivery_stores_the_good_events_and_names_the_bad(hooks: Hooks) -> None:
    body = hooks.post(
        WebhookSource.aftership, hooks.fixture(WebhookSource.aftership, "malformed_checkpoint_time.json")
    ).json()  # type: ignore[attr-defined]

    assert body["summary"] == {"accepted": 1, "duplicate": 0, "rejected": 0}
    assert body["problems"] == [
        "msg.checkpoints[0].checkpoint_time: is not an ISO-8601 date-time (got 'yesterday')"
    ]
    with hooks.app.session_factory() as session:
        kept = session.scalars(select(RejectedItemRow)).one()
    assert (kept.source, kept.kind) == ("aftership", "webhook")
    assert kept.reason == body["problems"][0]
    assert "yesterday" in kept.payload["body"]


def test_unknown_source_is_404(hooks: Hooks) -> None:
    response = hooks.client.post("/api/v1/webhooks/fedex", content=b"{}")

    assert response.status_code == 404
    assert response.json()["error"]["field"] == "source"


# ------------------------------------------------------------------ secret store and CLI


def test_store_cache_sees_another_process_change_after_its_ttl(app: App, clock: SimulatedClock) -> None:
    ticks = [100.0]
    server = WebhookSecretStore(app.session_factory, clock=clock, cache_seconds=5, timer=lambda: ticks[0])
    cli_side = WebhookSecretStore(app.session_factory, clock=clock)
    info, _ = cli_side.add(WebhookSource.kuaidi100, "salt-value-0001")
    assert server.active_secrets(WebhookSource.kuaidi100) == ("salt-value-0001",)

    cli_side.retire(WebhookSource.kuaidi100, info.id)
    cached = server.active_secrets(WebhookSource.kuaidi100)
    ticks[0] += 5.1
    refreshed = server.active_secrets(WebhookSource.kuaidi100)

    assert (cached, refreshed) == (("salt-value-0001",), ())


def test_cli_add_list_retire(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERWATCH_DATABASE_URL", app.settings.resolved_database_url)
    runner = CliRunner()

    added = runner.invoke(cli, ["webhooks", "add-secret", "generic", "--json"])
    given = runner.invoke(cli, ["webhooks", "add-secret", "aftership", "--secret", "as-provided-secret"])
    secret = json.loads(added.stdout)
    retired = runner.invoke(cli, ["webhooks", "retire", "generic", str(secret["id"])])
    listed = json.loads(runner.invoke(cli, ["webhooks", "list", "--json"]).stdout)
    bad = runner.invoke(cli, ["webhooks", "add-secret", "fedex"])

    assert [r.exit_code for r in (added, given, retired, bad)] == [0, 0, 0, 2]
    assert len(secret["secret"]) == 43
    assert "as-provided-secret" not in given.stdout
    assert [(s["source"], s["active"], s["hint"]) for s in listed["secrets"]] == [
        ("generic", False, secret["secret"][:4] + "…"),
        ("aftership", True, "as-p…"),
    ]
    assert " ".join(bad.output.split()) == (  # Rich wraps long lines
        "error: source: unknown webhook source; expected one of aftership, 17track, kuaidi100, generic "
        "(got 'fedex')"
    )
    with app.session_factory() as session:
        stored = session.scalars(select(WebhookSecretRow.secret).order_by(WebhookSecretRow.id)).all()
    assert stored == [secret["secret"], "as-provided-secret"]


def test_concurrent_deliveries_share_transactions_and_each_gets_its_own_results(hooks: Hooks) -> None:
    """Group commit (entrypoints/api/batching.py): 30 webhooks at once, fewer transactions."""
    import asyncio

    import httpx

    from orderwatch.entrypoints.api.routers.webhooks import event_batcher

    carrier, tracking = SHIPMENTS[WebhookSource.generic]
    base = NOW - timedelta(days=3)

    def body(n: int) -> bytes:
        events = [{"status": "in_transit", "occurred_at": (base + timedelta(minutes=n)).isoformat(),
                   "location": f"hub {n}"}]
        if n % 10 == 0:  # the same scan twice in one delivery: the second is a duplicate
            events.append(dict(events[0]))
        return json.dumps({"carrier": carrier, "tracking_number": tracking, "events": events}).encode()

    api = hooks.client.app
    bodies = [body(n) for n in range(30)]

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(*(
                client.post(
                    "/api/v1/webhooks/generic",
                    content=b,
                    headers={"content-type": "application/json",
                             **hooks._header(WebhookSource.generic, SECRET, b, None)},
                )
                for b in bodies
            ))

    responses = asyncio.run(send_all())

    assert [r.status_code for r in responses] == [200] * 30
    for n, response in enumerate(responses):
        results = response.json()["results"]
        expected = [(0, "accepted"), (1, "duplicate")] if n % 10 == 0 else [(0, "accepted")]
        assert [(r["index"], r["result"]) for r in results] == expected
    assert hooks.count(TrackingEventRow) == 30
    batcher = event_batcher(api)  # type: ignore[arg-type]
    assert batcher.events == 33
    assert batcher.batches < 30
