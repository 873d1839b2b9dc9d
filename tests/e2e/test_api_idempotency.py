"""``Idempotency-Key`` on every write route (D1, ANCHORS §7): replay, conflict, scoping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.tables import (
    IdempotencyKeyRow,
    OrderRow,
    OutboxRow,
    RejectedItemRow,
    TrackingEventRow,
)
from orderwatch.bootstrap import App
from tests.conftest import START
from tests.e2e.api_support import Api, event_body, make_api, order_body, shipment_body

T0 = START - timedelta(days=2)


@pytest.fixture
def api(app: App) -> Iterator[Api]:
    yield from make_api(app)


@pytest.fixture
def tracking(api: Api) -> str:
    api.post("/orders", order_body("o-1", START - timedelta(days=3)))
    api.post("/shipments", shipment_body("o-1", "TRK-1"))
    return "TRK-1"


def test_retry_with_the_same_key_replays_the_first_answer(api: Api, tracking: str) -> None:
    event = event_body(tracking, "in_transit", T0)
    first = api.post("/events", event, **{"Idempotency-Key": "evt-1"})
    outbox_after_first = api.count(OutboxRow)

    retry = api.post("/events", event, **{"Idempotency-Key": "evt-1"})

    assert (first.status_code, first.json()) == (
        200, {"index": 0, "result": "accepted", "reason": None, "shipment_status": "in_transit"})
    assert "Idempotent-Replayed" not in first.headers
    # The retry gets "accepted" again, not "duplicate": it is the first answer, replayed.
    assert (retry.status_code, retry.json()) == (first.status_code, first.json())
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert api.count(TrackingEventRow) == 1
    assert api.count(OutboxRow) == outbox_after_first
    assert api.count(IdempotencyKeyRow) == 1


def test_same_key_with_another_body_is_409(api: Api, tracking: str) -> None:
    api.post("/events", event_body(tracking, "in_transit", T0), **{"Idempotency-Key": "evt-1"})

    response = api.post("/events", event_body(tracking, "delivered", T0), **{"Idempotency-Key": "evt-1"})

    assert response.status_code == 409
    assert response.json() == {"error": {
        "code": "conflict", "field": None,
        "message": "Idempotency-Key 'evt-1' was already used for a different request; "
                   "send a new key for a new request",
    }}
    assert api.count(TrackingEventRow) == 1


def test_same_key_on_another_route_is_409(api: Api, tracking: str) -> None:
    api.post("/orders", order_body("o-2", START), **{"Idempotency-Key": "k"})

    response = api.put("/orders/o-2", order_body("o-2", START), **{"Idempotency-Key": "k"})

    assert response.status_code == 409


def test_keys_are_scoped_to_the_caller(api: Api, tracking: str) -> None:
    other = api.headers_for("events:write")
    api.post("/events", event_body(tracking, "in_transit", T0), **{"Idempotency-Key": "evt-1"})

    response = api.client.post(
        "/api/v1/events", json=event_body(tracking, "delivered", T0 + timedelta(hours=1)),
        headers=other | {"Idempotency-Key": "evt-1"},
    )

    assert response.status_code == 200
    assert response.json()["result"] == "accepted"
    assert "Idempotent-Replayed" not in response.headers
    assert api.count(IdempotencyKeyRow) == 2


def test_rejected_item_answer_is_replayed_and_rejected_once(api: Api) -> None:
    body = shipment_body("nope", "TRK-9")
    first = api.post("/shipments", body, **{"Idempotency-Key": "s-1"})

    retry = api.post("/shipments", body, **{"Idempotency-Key": "s-1"})

    assert first.status_code == 422
    assert (retry.status_code, retry.json(), retry.headers["Idempotent-Replayed"]) == (
        422, first.json(), "true")
    assert api.count(RejectedItemRow) == 1


def test_batch_and_put_replay(api: Api, tracking: str) -> None:
    batch = {"events": [event_body(tracking, "picked_up", T0), event_body(tracking, "in_transit", T0)]}
    order = order_body("o-2", START)
    del order["ref"]

    first_batch = api.post("/events/batch", batch, **{"Idempotency-Key": "b-1"})
    retry_batch = api.post("/events/batch", batch, **{"Idempotency-Key": "b-1"})
    first_put = api.put("/orders/o-2", order, **{"Idempotency-Key": "p-1"})
    retry_put = api.put("/orders/o-2", order, **{"Idempotency-Key": "p-1"})

    assert retry_batch.json() == first_batch.json()
    assert first_batch.json()["accepted"] == 2
    assert retry_put.json() == first_put.json() == {
        "index": 0, "result": "accepted", "reference": "o-2", "reason": None}
    assert (retry_batch.headers["Idempotent-Replayed"], retry_put.headers["Idempotent-Replayed"]) == (
        "true", "true")
    assert api.count(TrackingEventRow) == 2
    assert api.count(OrderRow) == 2


def test_failed_authorization_is_not_stored(api: Api) -> None:
    readonly = api.headers_for("orders:read")

    denied = api.client.post("/api/v1/orders", json=order_body("o-1", START),
                             headers=readonly | {"Idempotency-Key": "k"})

    assert denied.status_code == 403
    assert api.count(IdempotencyKeyRow) == 0


def test_malformed_body_is_not_stored_so_a_fixed_retry_runs(api: Api) -> None:
    broken = order_body("o-1", START) | {"purchased_at": "yesterday"}
    fixed = order_body("o-1", START)

    first = api.post("/orders", broken, **{"Idempotency-Key": "k"})
    retry = api.post("/orders", fixed, **{"Idempotency-Key": "k"})

    assert first.status_code == 422
    assert retry.status_code == 200
    assert api.count(OrderRow) == 1


def test_over_long_key_is_422(api: Api) -> None:
    response = api.post("/orders", order_body("o-1", START), **{"Idempotency-Key": "k" * 201})

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "Idempotency-Key"
    assert api.count(OrderRow) == 0


def test_without_a_key_the_same_event_and_order_are_still_stored_once(api: Api, tracking: str) -> None:
    event = event_body(tracking, "in_transit", T0)

    results = [api.post("/events", event).json()["result"] for _ in range(3)]
    api.post("/orders", order_body("o-1", START - timedelta(days=3)))

    assert results == ["accepted", "duplicate", "duplicate"]
    assert api.count(TrackingEventRow) == 1
    assert api.count(OrderRow) == 1
    assert api.count(IdempotencyKeyRow) == 0


def test_answers_past_their_retention_are_purged_by_the_worker_job(app: App, clock: SimulatedClock) -> None:
    """ORDERWATCH_IDEMPOTENCY_RETENTION_HOURS (24 h): older answers go, newer ones stay."""
    from orderwatch.adapters.db.idempotency import SqlIdempotencyStore
    from orderwatch.entrypoints.worker.jobs import JOBS, load_all
    from orderwatch.entrypoints.worker.maintenance_jobs import purge_idempotency_keys

    store = SqlIdempotencyStore(app.session_factory, clock=clock)
    for n in range(7):  # one answer every 6 hours: 0 h, 6 h ... 36 h
        store.remember(principal="key:1", key=f"k{n}", request_hash="h", status_code=200, body={"n": n})
        clock.advance(timedelta(hours=6))
    # now = 42 h: answers stored at 0, 6, 12 h are older than 24 h
    removed = store.purge(older_than=timedelta(hours=24), batch=2)

    assert removed == 3
    assert store.find(principal="key:1", key="k2") is None
    kept = store.find(principal="key:1", key="k3")
    assert kept is not None
    assert kept.body == {"n": 3}
    clock.advance(timedelta(hours=100))
    assert purge_idempotency_keys(app) == 4
    load_all()
    assert JOBS["idempotency_purge"].run is purge_idempotency_keys
