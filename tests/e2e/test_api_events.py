"""Shipments, tracking events (single and batch) and the rejects list over HTTP (D1)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from orderwatch.adapters.db.tables import RejectedItemRow, ShipmentRow, TrackingEventRow
from orderwatch.bootstrap import App
from tests.conftest import START
from tests.e2e.api_support import Api, event_body, make_api, order_body, shipment_body

T0 = START - timedelta(days=2)


@pytest.fixture
def api(app: App) -> Iterator[Api]:
    yield from make_api(app)


@pytest.fixture
def tracking(api: Api) -> str:
    assert api.post("/orders", order_body("o-1", START - timedelta(days=3))).status_code == 200
    assert api.post("/shipments", shipment_body("o-1", "TRK-1")).status_code == 200
    return "TRK-1"


def test_shipment_is_created_then_updated(api: Api, tracking: str) -> None:
    response = api.post("/shipments", shipment_body("o-1", tracking, destination_region="MG"))

    assert response.status_code == 200
    assert response.json() == {
        "index": 0, "result": "accepted", "reference": "correios:TRK-1", "reason": None}
    assert api.count(ShipmentRow) == 1
    shipments = api.get("/orders/o-1").json()["shipments"]
    assert [(s["carrier"], s["tracking_number"], s["origin_region"], s["destination_region"], s["status"])
            for s in shipments] == [("correios", "TRK-1", "SP", "MG", "created")]


def test_shipment_of_unknown_order_is_422_and_kept(api: Api) -> None:
    response = api.post("/shipments", shipment_body("nope", "TRK-9"))

    assert response.status_code == 422
    assert response.json() == {"error": {
        "code": "invalid", "message": "order_ref: order 'nope' not found", "field": "order_ref"}}
    assert api.count(ShipmentRow) == 0
    rejects = api.get("/rejects").json()["items"]
    assert [(r["source"], r["kind"], r["reference"], r["reason"]) for r in rejects] == [
        ("api", "shipment", "TRK-9", "order_ref: order 'nope' not found")]


def test_single_event_is_accepted_once_then_duplicate(api: Api, tracking: str) -> None:
    event = event_body(tracking, "in_transit", T0)

    first = api.post("/events", event)
    again = api.post("/events", event | {"description": "reworded by the carrier"})

    assert (first.status_code, first.json()) == (
        200, {"index": 0, "result": "accepted", "reason": None, "shipment_status": "in_transit"})
    assert (again.status_code, again.json()) == (
        200, {"index": 0, "result": "duplicate", "reason": None, "shipment_status": "in_transit"})
    assert api.count(TrackingEventRow) == 1


@pytest.mark.parametrize(
    ("change", "status_case", "field_case", "message_case"),
    [
        ({"occurred_at": "2018-02-27T12:00:00"}, 422, "occurred_at",
         "occurred_at: must carry a time zone, e.g. 2018-03-01T12:00:00Z or 2018-03-01T09:00:00-03:00 "
         "(got 2018-02-27T12:00:00)"),
        ({"status": "stale"}, 422, "status",
         "status: 'stale' is derived by OrderWatch from time, never received"),
        ({"tracking_number": "NOPE"}, 422, "tracking_number",
         "tracking_number: no shipment 'NOPE' for carrier 'correios'"),
        ({"occurred_at": "2018-03-05T12:00:00Z"}, 422, "occurred_at",
         "occurred_at: is more than 1 day, 2:00:00 in the future (got '2018-03-05T12:00:00+00:00')"),
    ],
)
def test_single_bad_event_is_422_naming_the_field(
    api: Api, tracking: str, change: dict[str, str], status_case: int, field_case: str, message_case: str
) -> None:
    response = api.post("/events", event_body(tracking, "in_transit", T0) | change)

    assert response.status_code == status_case
    assert response.json()["error"]["field"] == field_case
    assert response.json()["error"]["message"] == message_case
    assert api.count(TrackingEventRow) == 0


def test_event_naming_its_order_creates_the_shipment(api: Api, tracking: str) -> None:
    response = api.post("/events", event_body("TRK-NEW", "picked_up", T0, order_ref="o-1"))

    assert response.json()["result"] == "accepted"
    assert api.count(ShipmentRow) == 2


def test_batch_gives_per_item_results_in_request_order(api: Api, tracking: str) -> None:
    stored = event_body(tracking, "picked_up", T0)
    api.post("/events", stored)
    events = [
        event_body(tracking, "in_transit", T0 + timedelta(hours=5)),
        stored,
        event_body(tracking, "in_transit", T0 + timedelta(hours=5)),
        event_body(tracking, "delivered", T0 + timedelta(days=1)) | {"occurred_at": "2018-02-28T12:00:00"},
        event_body("NOPE", "in_transit", T0),
        {"carrier": "correios", "tracking_number": tracking, "status": "teleported", "occurred_at": "x"},
        event_body(tracking, "out_for_delivery", T0 + timedelta(hours=20)),
    ]

    response = api.post("/events/batch", {"events": events})

    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {"index": 0, "result": "accepted", "reason": None, "shipment_status": "out_for_delivery"},
            {"index": 1, "result": "duplicate", "reason": None, "shipment_status": "out_for_delivery"},
            {"index": 2, "result": "duplicate", "reason": "same event earlier in this batch",
             "shipment_status": "out_for_delivery"},
            {"index": 3, "result": "rejected", "shipment_status": None,
             "reason": "occurred_at: must carry a time zone, e.g. 2018-03-01T12:00:00Z or "
                       "2018-03-01T09:00:00-03:00 (got 2018-02-28T12:00:00)"},
            {"index": 4, "result": "rejected", "shipment_status": None,
             "reason": "tracking_number: no shipment 'NOPE' for carrier 'correios'"},
            {"index": 5, "result": "rejected", "shipment_status": None,
             "reason": "status: Input should be 'created', 'picked_up', 'in_transit', 'customs_hold', "
                       "'out_for_delivery', 'available_for_pickup', 'delivery_failed', 'delivered', "
                       "'exception', 'returning', 'returned', 'refused', 'lost', 'damaged', 'stale' or "
                       "'unknown'"},
            {"index": 6, "result": "accepted", "reason": None, "shipment_status": "out_for_delivery"},
        ],
        "accepted": 2, "duplicate": 2, "rejected": 3,
    }
    assert api.count(TrackingEventRow) == 3
    assert api.get("/orders/o-1").json()["shipments"][0]["status"] == "out_for_delivery"
    # every refused item is kept, the unparsable ones too, with what was sent
    kept = api.get("/rejects", {"kind": "tracking_event"}).json()["items"]
    assert sorted(r["reason"].split(":")[0] for r in kept) == ["occurred_at", "status", "tracking_number"]
    unparsable = next(r for r in kept if r["reason"].startswith("status"))
    assert unparsable["payload"]["status"] == "teleported"
    assert unparsable["reference"] == tracking


def test_batch_of_5000_is_accepted_and_5001_refused(api: Api, tracking: str) -> None:
    events = [event_body(tracking, "in_transit", T0 + timedelta(seconds=n)) for n in range(5001)]

    too_many = api.post("/events/batch", {"events": events})
    full = api.post("/events/batch", {"events": events[:5000]})

    assert too_many.status_code == 422
    assert too_many.json()["error"]["field"] == "events"
    assert full.status_code == 200
    assert (full.json()["accepted"], full.json()["duplicate"], full.json()["rejected"]) == (5000, 0, 0)
    assert api.count(TrackingEventRow) == 5000


def test_rejects_list_filters_by_source_and_kind(api: Api, tracking: str) -> None:
    api.post("/shipments", shipment_body("nope", "TRK-9"))
    api.post("/events", event_body("NOPE-1", "in_transit", T0))
    api.post("/events", event_body("NOPE-2", "in_transit", T0))

    every = api.get("/rejects").json()["items"]
    events = api.get("/rejects", {"kind": "tracking_event", "limit": 1}).json()["items"]
    other_source = api.get("/rejects", {"source": "olist"}).json()["items"]

    assert [(r["kind"], r["reference"]) for r in every] == [
        ("tracking_event", "NOPE-2"), ("tracking_event", "NOPE-1"), ("shipment", "TRK-9")]
    assert len(events) == 1
    assert events[0]["reference"] == "NOPE-2"
    assert events[0]["reason"] == "tracking_number: no shipment 'NOPE-2' for carrier 'correios'"
    assert events[0]["payload"]["tracking_number"] == "NOPE-2"
    assert events[0]["received_at"] == "2018-03-01T12:00:00Z"
    assert other_source == []
    assert api.count(RejectedItemRow) == 3


def test_a_body_over_the_limit_is_refused_before_it_is_read(api: Api, tracking: str) -> None:
    """ORDERWATCH_MAX_BODY_BYTES: a 413, nothing stored (the webhook route alike)."""
    import dataclasses

    from fastapi.testclient import TestClient

    from orderwatch.entrypoints.api.app import create_app

    limited = api.app.settings.model_copy(update={"max_body_bytes": 4_096})
    small = dataclasses.replace(api.app, settings=limited)
    events = [event_body(tracking, "in_transit", T0 + timedelta(seconds=n)) for n in range(100)]
    with TestClient(create_app(small)) as client:
        batch = client.post("/api/v1/events/batch", json={"events": events}, headers=api.headers)
        hook = client.post("/api/v1/webhooks/generic", content=b"x" * 5_000)

    assert (batch.status_code, hook.status_code) == (413, 413)
    assert api.count(TrackingEventRow) == 0
