"""OrderWatch's generic tracking webhook → tracking events (D1; specified in docs/webhooks.md).

For carriers and shops that can shape their own payload::

    {"carrier": "correios", "tracking_number": "QB123456789BR", "order_ref": "order-1" | null,
     "events": [{"status": "in_transit", "occurred_at": "2024-05-01T12:00:00-03:00",
                 "code": "RO" | null, "description": "..." | null, "location": "..." | null}]}

``status`` is already one of our canonical :class:`ShipmentStatus` values (``stale`` excluded: we
derive it). ``occurred_at`` must carry a UTC offset; a naive time is refused rather than guessed.
Naming ``order_ref`` lets the ingestion service create the shipment on first sight.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orderwatch.adapters.carriers.base import (
    ParseResult,
    PayloadProblem,
    clip_code,
    get_list,
    get_object,
    get_text,
    load_json,
    parse_iso_datetime,
    problem,
    require_text,
)
from orderwatch.domain.commands import RecordTrackingEvent
from orderwatch.domain.shipments import ShipmentStatus

SOURCE = "generic"

# "stale" is derived by OrderWatch from the time since the last scan; a sender cannot assert it.
ACCEPTED_STATUSES: Mapping[str, ShipmentStatus] = {
    status.value: status for status in ShipmentStatus if status is not ShipmentStatus.stale
}


def parse_generic_webhook(payload: bytes | str | Mapping[str, Any]) -> ParseResult:
    """The events of one generic webhook delivery, and the problems found in it."""
    try:
        body = get_object(load_json(payload), "body")
        carrier = require_text(body, "carrier", "body")
        number = require_text(body, "tracking_number", "body")
        order_ref = get_text(body, "order_ref", "body")
        raw_events = get_list(body.get("events"), "body.events")
        if not raw_events:
            raise PayloadProblem(problem("body.events", "must list at least one event"))
    except PayloadProblem as error:
        return [], [_strip_body(str(error))]
    events: list[RecordTrackingEvent] = []
    problems: list[str] = []
    for position, raw in enumerate(raw_events):
        path = f"events[{position}]"
        try:
            item = get_object(raw, path)
            events.append(_event(item, path, carrier=carrier, number=number, order_ref=order_ref))
        except PayloadProblem as error:
            problems.append(str(error))
    return events, problems


def _event(
    item: Mapping[str, Any], path: str, *, carrier: str, number: str, order_ref: str | None
) -> RecordTrackingEvent:
    status_text = require_text(item, "status", path)
    status = ACCEPTED_STATUSES.get(status_text)
    if status is None:
        allowed = ", ".join(ACCEPTED_STATUSES)
        raise PayloadProblem(problem(f"{path}.status", f"must be one of {allowed}", status_text))
    occurred_text = require_text(item, "occurred_at", path)
    return RecordTrackingEvent(
        carrier_code=carrier,
        tracking_number=number,
        status=status,
        occurred_at=parse_iso_datetime(occurred_text, f"{path}.occurred_at"),
        raw_code=clip_code(get_text(item, "code", path)),
        raw_text=get_text(item, "description", path),
        location=get_text(item, "location", path),
        source=SOURCE,
        order_ref=order_ref,
    )


def _strip_body(text: str) -> str:
    # Field names in our own format are the documented top-level keys, without a "body." prefix.
    return text.removeprefix("body.")
