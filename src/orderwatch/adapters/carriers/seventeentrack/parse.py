"""17TRACK tracking API v2 webhook → tracking events (D1; ANCHORS §2.1).

17TRACK pushes ``TRACKING_UPDATED`` with the full tracking history, and ``TRACKING_STOPPED`` (no
history) when it stops tracking a number::

    {"event": "TRACKING_UPDATED",
     "data": {"number": "RR123456789CN", "carrier": 3011, "order_no": ...,
              "track_info": {"latest_status": {"status": "InTransit", "sub_status": ...},
                             "tracking": {"providers": [{"provider": {"key": 3011, ...},
                                 "events": [{"time_iso": "2024-05-01T12:00:00+08:00",
                                             "time_utc": "2024-05-01T04:00:00Z",
                                             "time_raw": {"date", "time", "timezone"},
                                             "description": ..., "location": ...,
                                             "stage": ..., "sub_status": "InTransit_PickedUp"}]}]}}}}

The carrier key (an integer in 17TRACK's carrier list) is the carrier code, as a string. The event
status comes from its ``sub_status`` (``<Status>_<Reason>``), then its ``stage``, then the main
status prefix of the sub-status; the sub-status is kept as the raw code. Times: ``time_utc`` first,
then ``time_iso`` (with offset), then ``time_raw`` with its ``timezone``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
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
    parse_utc_offset,
    problem,
    require_text,
)
from orderwatch.domain.commands import RecordTrackingEvent
from orderwatch.domain.shipments import ShipmentStatus as S

SOURCE = "17track"

# Main statuses and sub-statuses of 17TRACK's v2 API, plus the per-event ``stage`` values.
STATUS_TABLE = StatusTable(
    SOURCE,
    {
        # main statuses (fallback for a sub-status this table does not know yet)
        "NotFound": S.created,
        "InfoReceived": S.created,
        "InTransit": S.in_transit,
        # 17TRACK stops after 30 days without news; stalling is ours to derive, so no status.
        "Expired": S.unknown,
        "AvailableForPickup": S.available_for_pickup,
        "OutForDelivery": S.out_for_delivery,
        "DeliveryFailure": S.delivery_failed,
        "Delivered": S.delivered,
        "Exception": S.exception,
        # sub-statuses
        "NotFound_Other": S.created,
        "NotFound_InvalidCode": S.exception,  # the number itself is wrong: someone must act
        "InTransit_PickedUp": S.picked_up,
        "InTransit_Other": S.in_transit,
        "InTransit_Departure": S.in_transit,
        "InTransit_Arrival": S.in_transit,
        "InTransit_CustomsProcessing": S.customs_hold,
        "InTransit_CustomsReleased": S.in_transit,
        "InTransit_CustomsRequiringInformation": S.customs_hold,
        "Expired_Other": S.unknown,
        "AvailableForPickup_Other": S.available_for_pickup,
        "OutForDelivery_Other": S.out_for_delivery,
        "DeliveryFailure_Other": S.delivery_failed,
        "DeliveryFailure_NoBody": S.delivery_failed,
        "DeliveryFailure_Security": S.customs_hold,
        "DeliveryFailure_Rejected": S.refused,
        "DeliveryFailure_InvalidAddress": S.delivery_failed,
        "Delivered_Other": S.delivered,
        "Exception_Other": S.exception,
        "Exception_Returning": S.returning,
        "Exception_Returned": S.returned,
        "Exception_NoBody": S.delivery_failed,
        "Exception_Security": S.customs_hold,
        "Exception_Damage": S.damaged,
        "Exception_Rejected": S.refused,
        "Exception_Delayed": S.exception,
        "Exception_Lost": S.lost,
        "Exception_Destroyed": S.lost,
        "Exception_Cancel": S.exception,
        # per-event stages
        "PickedUp": S.picked_up,
        "Departure": S.in_transit,
        "Arrival": S.in_transit,
        "Returning": S.returning,
        "Returned": S.returned,
    },
)


def parse_tracking_webhook(payload: bytes | str | Mapping[str, Any]) -> ParseResult:
    """The events of one 17TRACK webhook delivery, and the problems found in it."""
    try:
        envelope = get_object(load_json(payload), "body")
        data = get_object(envelope.get("data"), "data")
        number = require_text(data, "number", "data")
        carrier = require_text(data, "carrier", "data")
        order_ref = get_text(data, "order_no", "data")
        providers = _providers(data.get("track_info"))
    except PayloadProblem as error:
        return [], [str(error)]
    events: list[RecordTrackingEvent] = []
    problems: list[str] = []
    for p_index, raw_provider in enumerate(providers):
        base = f"data.track_info.tracking.providers[{p_index}]"
        try:
            raw_events = get_list(get_object(raw_provider, base).get("events"), f"{base}.events")
        except PayloadProblem as error:
            problems.append(str(error))
            continue
        for e_index, raw_event in enumerate(raw_events):
            path = f"{base}.events[{e_index}]"
            try:
                event = _event(get_object(raw_event, path), path, carrier=carrier, number=number)
            except PayloadProblem as error:
                problems.append(str(error))
                continue
            events.append(replace(event, order_ref=order_ref))
    return events, problems


def _providers(track_info: object) -> list[Any]:
    # TRACKING_STOPPED carries no track_info: no events, and nothing wrong.
    if track_info is None:
        return []
    info = get_object(track_info, "data.track_info")
    if info.get("tracking") is None:
        return []
    tracking = get_object(info.get("tracking"), "data.track_info.tracking")
    return get_list(tracking.get("providers"), "data.track_info.tracking.providers")


def _event(raw: Mapping[str, Any], path: str, *, carrier: str, number: str) -> RecordTrackingEvent:
    sub_status = get_text(raw, "sub_status", path)
    stage = get_text(raw, "stage", path)
    description = get_text(raw, "description", path)
    main_status = sub_status.split("_", 1)[0] if sub_status else None
    return RecordTrackingEvent(
        carrier_code=carrier,
        tracking_number=number,
        status=STATUS_TABLE.resolve((sub_status, stage, main_status), text=description),
        occurred_at=_event_time(raw, path),
        raw_code=clip_code(sub_status or stage),
        raw_text=description,
        location=get_text(raw, "location", path) or _address(raw.get("address"), f"{path}.address"),
        source=SOURCE,
    )


def _event_time(raw: Mapping[str, Any], path: str) -> datetime:
    time_utc = get_text(raw, "time_utc", path)
    if time_utc:
        return parse_iso_datetime(time_utc, f"{path}.time_utc")
    time_iso = get_text(raw, "time_iso", path)
    if time_iso:
        return parse_iso_datetime(time_iso, f"{path}.time_iso")
    if raw.get("time_raw") is None:
        raise PayloadProblem(problem(f"{path}.time_utc", "is required (no time_utc, time_iso or time_raw)"))
    time_raw = get_object(raw.get("time_raw"), f"{path}.time_raw")
    day = require_text(time_raw, "date", f"{path}.time_raw")
    clock = get_text(time_raw, "time", f"{path}.time_raw") or "00:00:00"
    offset = require_text(time_raw, "timezone", f"{path}.time_raw")
    zone = parse_utc_offset(offset, f"{path}.time_raw.timezone")
    return parse_iso_datetime(f"{day}T{clock}", f"{path}.time_raw", local_zone=zone)


def _address(value: object, path: str) -> str | None:
    if value is None:
        return None
    address = get_object(value, path)
    return join_place(
        get_text(address, "city", path), get_text(address, "state", path), get_text(address, "country", path)
    )
