"""AfterShip tracking webhook → tracking events (D1; ANCHORS §2.1).

AfterShip posts the whole tracking object on every update (``event: tracking_update``)::

    {"event": "tracking_update", "event_id": ..., "is_tracking_first_tag": false, "ts": 1714550400,
     "msg": {"slug": "dhl", "tracking_number": ..., "order_id": ..., "tag": "InTransit",
             "subtag": "InTransit_007", "checkpoints": [{"checkpoint_time": ..., "tag": ...,
             "subtag": ..., "message": ..., "location": ..., "city": ..., "country_iso3": ...}]}}

Every checkpoint becomes one event (resent checkpoints are deduplicated by the ingestion
service). The checkpoint's ``subtag`` is the most specific code and is kept as the raw code; its
``tag`` is the fallback. ``checkpoint_time`` carries a UTC offset in current API versions and is
the checkpoint's *local* time without one in older versions: it is then read in the country's
zone when the country has one zone, and as UTC (with a problem noted) otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from orderwatch.adapters.carriers.base import (
    ParseResult,
    PayloadProblem,
    StatusTable,
    clip_code,
    get_list,
    get_object,
    get_text,
    join_place,
    load_json,
    parse_iso_datetime,
    problem,
    require_text,
    zone_of_country,
)
from orderwatch.domain.commands import RecordTrackingEvent
from orderwatch.domain.shipments import ShipmentStatus as S

SOURCE = "aftership"

# Tags and subtags from AfterShip's "Delivery Statuses" / "Delivery Sub-statuses" pages.
STATUS_TABLE = StatusTable(
    SOURCE,
    {
        # tags (fallback when a checkpoint has no known subtag)
        "Pending": S.created,
        "InfoReceived": S.created,
        "InTransit": S.in_transit,
        "OutForDelivery": S.out_for_delivery,
        "AttemptFail": S.delivery_failed,
        "Delivered": S.delivered,
        "AvailableForPickup": S.available_for_pickup,
        "Exception": S.exception,
        # "Expired" means AfterShip stopped tracking; stalling is ours to derive (domain/shipments.py),
        # so the event is kept for its raw code but never sets the status.
        "Expired": S.unknown,
        # subtags
        "Pending_001": S.created,
        "Pending_002": S.created,
        "Pending_003": S.created,
        "Pending_004": S.created,
        "Pending_005": S.created,
        "Pending_006": S.created,
        "InfoReceived_001": S.created,
        "InTransit_001": S.in_transit,
        "InTransit_002": S.picked_up,  # acceptance scan
        "InTransit_003": S.in_transit,  # arrival scan
        "InTransit_004": S.in_transit,  # arrived at destination country
        "InTransit_005": S.in_transit,  # customs clearance completed
        "InTransit_006": S.customs_hold,  # customs clearance started
        "InTransit_007": S.in_transit,  # departure scan
        "InTransit_008": S.in_transit,  # problem resolved
        "InTransit_009": S.in_transit,  # forwarded to a different address
        "OutForDelivery_001": S.out_for_delivery,
        "OutForDelivery_003": S.out_for_delivery,  # customer contacted
        "OutForDelivery_004": S.out_for_delivery,  # delivery appointment scheduled
        "AttemptFail_001": S.delivery_failed,
        "AttemptFail_002": S.delivery_failed,  # addressee not available
        "AttemptFail_003": S.delivery_failed,  # business closed
        "Delivered_001": S.delivered,
        "Delivered_002": S.delivered,  # picked up by the customer
        "Delivered_003": S.delivered,  # signed by the customer
        "Delivered_004": S.delivered,  # delivered, cash collected
        "Delivered_005": S.delivered,  # delivered to a neighbour
        "AvailableForPickup_001": S.available_for_pickup,
        "Exception_001": S.exception,
        "Exception_002": S.delivery_failed,  # customer moved (cause: address, ANCHORS §2.2)
        "Exception_003": S.refused,
        "Exception_004": S.customs_hold,
        "Exception_005": S.exception,  # delayed, external factors
        "Exception_006": S.exception,  # held for payment
        "Exception_007": S.delivery_failed,  # incorrect address
        "Exception_008": S.exception,  # pick-up missed
        "Exception_009": S.exception,  # rejected by carrier
        "Exception_010": S.returning,
        "Exception_011": S.returned,
        "Exception_012": S.damaged,
        "Exception_013": S.lost,
        "Expired_001": S.unknown,
    },
)


def parse_tracking_webhook(payload: bytes | str | Mapping[str, Any]) -> ParseResult:
    """The events of one AfterShip webhook delivery, and the problems found in it."""
    try:
        envelope = get_object(load_json(payload), "body")
        tracking = get_object(envelope.get("msg"), "msg")
        carrier = require_text(tracking, "slug", "msg")
        number = require_text(tracking, "tracking_number", "msg")
        order_ref = get_text(tracking, "order_id", "msg")
        checkpoints = get_list(tracking.get("checkpoints"), "msg.checkpoints")
    except PayloadProblem as error:
        return [], [str(error)]
    events: list[RecordTrackingEvent] = []
    problems: list[str] = []
    webhook_event = str(envelope.get("event") or "")[:64]
    for position, raw in enumerate(checkpoints):
        path = f"msg.checkpoints[{position}]"
        try:
            checkpoint = get_object(raw, path)
            event, note = _checkpoint_event(checkpoint, path, carrier=carrier, number=number)
        except PayloadProblem as error:
            problems.append(str(error))
            continue
        if note:
            problems.append(note)
        events.append(replace(event, order_ref=order_ref, extra={"webhook_event": webhook_event}))
    return events, problems


def _checkpoint_event(
    checkpoint: Mapping[str, Any], path: str, *, carrier: str, number: str
) -> tuple[RecordTrackingEvent, str | None]:
    subtag = get_text(checkpoint, "subtag", path)
    tag = get_text(checkpoint, "tag", path)
    message = get_text(checkpoint, "message", path)
    country = get_text(checkpoint, "country_iso3", path) or get_text(checkpoint, "country_region", path)
    occurred_at, note = _checkpoint_time(checkpoint, path, country)
    location = get_text(checkpoint, "location", path) or join_place(
        get_text(checkpoint, "city", path),
        get_text(checkpoint, "state", path),
        get_text(checkpoint, "country_name", path) or country,
    )
    event = RecordTrackingEvent(
        carrier_code=carrier,
        tracking_number=number,
        status=STATUS_TABLE.resolve((subtag, tag), text=message),
        occurred_at=occurred_at,
        raw_code=clip_code(subtag or tag),
        raw_text=message or get_text(checkpoint, "subtag_message", path),
        location=location,
        source=SOURCE,
    )
    return event, note


def _checkpoint_time(
    checkpoint: Mapping[str, Any], path: str, country: str | None
) -> tuple[datetime, str | None]:
    field = f"{path}.checkpoint_time"
    value = require_text(checkpoint, "checkpoint_time", path)
    zone = zone_of_country(country)
    try:
        return parse_iso_datetime(value, field, local_zone=zone), None
    except PayloadProblem:
        if zone is not None:
            raise
    # Local time in a country with several zones: UTC is wrong by a few hours at most, which is
    # better than dropping the scan; the problem tells the sender.
    moment = parse_iso_datetime(value, field, local_zone=UTC)
    where = country or "no country"
    return moment, problem(field, f"has no UTC offset and {where} has no single zone; read as UTC", value)
