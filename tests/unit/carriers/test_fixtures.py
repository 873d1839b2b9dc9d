"""Every captured payload in tests/fixtures/<source>/ parses to exactly the expected events (D1)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orderwatch.adapters.carriers.aftership.parse import parse_tracking_webhook as parse_aftership
from orderwatch.adapters.carriers.base import ParseResult
from orderwatch.adapters.carriers.generic.parse import parse_generic_webhook
from orderwatch.adapters.carriers.kuaidi100.parse import parse_push
from orderwatch.adapters.carriers.seventeentrack.parse import parse_tracking_webhook as parse_17track
from orderwatch.domain.commands import RecordTrackingEvent
from orderwatch.domain.shipments import ShipmentStatus as S

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PARSERS: dict[str, Callable[[bytes], ParseResult]] = {
    "aftership": parse_aftership,
    "17track": parse_17track,
    "kuaidi100": parse_push,
    "generic": parse_generic_webhook,
}

AS_HISTORY = [
    (S.created, "InfoReceived_001"),
    (S.picked_up, "InTransit_002"),
    (S.in_transit, "InTransit_007"),
    (S.in_transit, "InTransit_003"),
]
AS_CUSTOMS = [*AS_HISTORY, (S.customs_hold, "Exception_004")]
AS_OFD = [*AS_CUSTOMS, (S.in_transit, "InTransit_005"), (S.out_for_delivery, "OutForDelivery_001")]
AS_FAIL = [*AS_OFD, (S.delivery_failed, "AttemptFail_002")]
AS_PICKUP = [*AS_FAIL, (S.available_for_pickup, "AvailableForPickup_001")]
T17_HISTORY = [
    (S.in_transit, "InTransit_Departure"),
    (S.in_transit, "InTransit_Arrival"),
    (S.picked_up, "InTransit_PickedUp"),
    (S.created, "InfoReceived"),
]
T17_CUSTOMS = [(S.customs_hold, "InTransit_CustomsProcessing"), *T17_HISTORY]
K100_HISTORY = [(S.in_transit, "1002"), (S.picked_up, "1"), (S.created, "101")]
K100_OFD = [(S.out_for_delivery, "5"), (S.in_transit, "1001"), *K100_HISTORY]
K100_PROBLEM = [(S.refused, "203"), (S.delivery_failed, "206"), *K100_OFD]
GENERIC_STATUSES = ", ".join(s.value for s in S if s is not S.stale)

# (source, file) → ([(status, raw code) per event, in payload order], [problems])
EXPECTED: dict[tuple[str, str], tuple[list[tuple[S, str | None]], list[str]]] = {
    ("aftership", "in_transit.json"): (AS_HISTORY, []),
    ("aftership", "exception_customs.json"): (AS_CUSTOMS, []),
    ("aftership", "out_for_delivery.json"): (AS_OFD, []),
    ("aftership", "attempt_fail.json"): (AS_FAIL, []),
    ("aftership", "available_for_pickup.json"): (AS_PICKUP, []),
    ("aftership", "delivered.json"): ([*AS_PICKUP, (S.delivered, "Delivered_002")], []),
    ("aftership", "exception_returning.json"): (
        [*AS_CUSTOMS, (S.refused, "Exception_003"), (S.returning, "Exception_010")],
        [],
    ),
    ("aftership", "exception_lost.json"): ([*AS_HISTORY[:2], (S.lost, "Exception_013")], []),
    ("aftership", "local_time_without_offset.json"): (
        [(S.picked_up, "InTransit_002"), (S.in_transit, "InTransit_004")],
        [
            "msg.checkpoints[1].checkpoint_time: has no UTC offset and USA has no single zone; read as UTC "
            "(got '2024-05-04T09:30:00')"
        ],
    ),
    ("aftership", "unknown_subtag.json"): ([(S.in_transit, "InTransit_099"), (S.unknown, "Frozen_001")], []),
    ("aftership", "pending_no_checkpoints.json"): ([], []),
    ("aftership", "malformed_checkpoint_time.json"): (
        [(S.in_transit, "InTransit_007")],
        ["msg.checkpoints[0].checkpoint_time: is not an ISO-8601 date-time (got 'yesterday')"],
    ),
    ("aftership", "malformed_missing_tracking_number.json"): ([], ["msg.tracking_number: is required"]),
    ("aftership", "malformed_not_json.json"): (
        [],
        ["body: is not valid JSON (Expecting property name enclosed in double quotes at line 2 column 1)"],
    ),
    ("17track", "tracking_updated_in_transit.json"): (T17_HISTORY, []),
    ("17track", "tracking_updated_customs.json"): (T17_CUSTOMS, []),
    ("17track", "tracking_updated_delivered.json"): (
        [(S.delivered, "Delivered_Other"), (S.out_for_delivery, "OutForDelivery_Other"), *T17_CUSTOMS],
        [],
    ),
    ("17track", "tracking_updated_delivery_failure.json"): (
        [
            (S.delivery_failed, "DeliveryFailure_NoBody"),
            (S.available_for_pickup, "AvailableForPickup_Other"),
            *T17_CUSTOMS,
        ],
        [],
    ),
    ("17track", "tracking_updated_exception.json"): (
        [(S.lost, "Exception_Lost"), (S.returning, "Exception_Returning")],
        [],
    ),
    ("17track", "tracking_updated_time_raw_only.json"): ([(S.picked_up, "InTransit_PickedUp")], []),
    ("17track", "tracking_updated_unknown_sub_status.json"): (
        [(S.in_transit, "InTransit_HandedToAirline"), (S.unknown, "Limbo_Something")],
        [],
    ),
    ("17track", "tracking_stopped.json"): ([], []),
    ("17track", "malformed_event_without_time.json"): (
        [(S.picked_up, "InTransit_PickedUp")],
        [
            "data.track_info.tracking.providers[0].events[0].time_utc: is required (no time_utc, time_iso or "
            "time_raw)"
        ],
    ),
    ("17track", "malformed_missing_number.json"): ([], ["data.number: is required"]),
    ("kuaidi100", "in_transit_resultv2.json"): (K100_HISTORY, []),
    ("kuaidi100", "out_for_delivery_resultv2.json"): (K100_OFD, []),
    ("kuaidi100", "signed_resultv2.json"): ([(S.delivered, "301"), *K100_OFD], []),
    ("kuaidi100", "locker_resultv2.json"): ([(S.available_for_pickup, "501"), *K100_OFD], []),
    ("kuaidi100", "problem_resultv2.json"): (K100_PROBLEM, []),
    ("kuaidi100", "returned_resultv2.json"): ([(S.returned, "4"), (S.returning, "6"), *K100_PROBLEM], []),
    ("kuaidi100", "customs_resultv2.json"): ([(S.customs_hold, "11"), (S.customs_hold, "10")], []),
    ("kuaidi100", "in_transit_basic.json"): ([(S.in_transit, "0"), (S.unknown, None)], []),
    ("kuaidi100", "carrier_corrected.json"): ([(S.in_transit, "0")], []),
    ("kuaidi100", "abort_no_record.json"): ([], []),
    ("kuaidi100", "unknown_state.json"): ([(S.unknown, "9999")], []),
    ("kuaidi100", "malformed_time.json"): (
        [(S.picked_up, "1"), (S.created, "101")],
        ["param.lastResult.data[0].ftime: is not a 'YYYY-MM-DD HH:MM:SS' time (got '2024/05/03 9:12')"],
    ),
    ("kuaidi100", "malformed_missing_nu.json"): ([], ["param.lastResult.nu: is required"]),
    ("generic", "in_transit.json"): ([(S.picked_up, "PO"), (S.in_transit, "RO")], []),
    ("generic", "delivered.json"): ([(S.out_for_delivery, "OEC"), (S.delivered, "BDE")], []),
    ("generic", "minimal_fields.json"): ([(S.delivery_failed, None), (S.exception, None)], []),
    ("generic", "malformed_events.json"): (
        [(S.delivered, "BDE")],
        [
            f"events[0].status: must be one of {GENERIC_STATUSES} (got 'teleported')",
            "events[1].occurred_at: has no UTC offset (got '2024-05-03T02:40:00')",
            f"events[2].status: must be one of {GENERIC_STATUSES} (got 'stale')",
        ],
    ),
    ("generic", "malformed_missing_carrier.json"): ([], ["carrier: is required"]),
    ("generic", "malformed_empty_events.json"): ([], ["events: must list at least one event"]),
}


def _parse(source: str, name: str) -> ParseResult:
    return PARSERS[source]((FIXTURES / source / name).read_bytes())


def test_every_fixture_file_has_an_expectation() -> None:
    on_disk = {(path.parent.name, path.name) for path in FIXTURES.glob("*/*.json")}

    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize(
    ("source", "name"),
    sorted(EXPECTED),
    ids=[f"{s}/{n.removesuffix('.json')}_case" for s, n in sorted(EXPECTED)],
)
def test_fixture_parses_to_the_expected_events(source: str, name: str) -> None:
    expected_events, expected_problems = EXPECTED[(source, name)]

    events, problems = _parse(source, name)

    assert [(e.status, e.raw_code) for e in events] == expected_events
    assert problems == expected_problems
    assert {e.source for e in events} <= {source}
    assert all(e.occurred_at.tzinfo is UTC for e in events)


def _at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("source", "name", "index", "expected"),
    [
        pytest.param(
            "aftership",
            "in_transit.json",
            2,
            RecordTrackingEvent(
                carrier_code="dhl",
                tracking_number="3392654392",
                status=S.in_transit,
                occurred_at=_at(2024, 5, 2, 17, 40),
                raw_code="InTransit_007",
                raw_text="Departed Facility in HONG KONG - HONG KONG SAR, CHINA",
                location="HONG KONG - HONG KONG SAR, CHINA",
                source="aftership",
                order_ref="order-AS-1001",
                extra={"webhook_event": "tracking_update"},
            ),
            id="aftership_offset_time_case",
        ),
        pytest.param(
            "aftership",
            "local_time_without_offset.json",
            0,
            RecordTrackingEvent(
                carrier_code="dhl",
                tracking_number="3392654392",
                status=S.picked_up,
                occurred_at=_at(2024, 5, 2, 2, 5),
                raw_code="InTransit_002",
                raw_text="Shipment picked up",
                location="SHENZHEN - CHINA MAINLAND",
                source="aftership",
                order_ref="order-AS-1001",
                extra={"webhook_event": "tracking_update"},
            ),
            id="aftership_china_local_time_case",
        ),
        pytest.param(
            "aftership",
            "local_time_without_offset.json",
            1,
            RecordTrackingEvent(
                carrier_code="dhl",
                tracking_number="3392654392",
                status=S.in_transit,
                occurred_at=_at(2024, 5, 4, 9, 30),
                raw_code="InTransit_004",
                raw_text="Arrived at Sort Facility MIAMI - USA",
                location="MIAMI, FL, United States",
                source="aftership",
                order_ref="order-AS-1001",
                extra={"webhook_event": "tracking_update"},
            ),
            id="aftership_multi_zone_country_read_as_utc_case",
        ),
        pytest.param(
            "17track",
            "tracking_updated_customs.json",
            0,
            RecordTrackingEvent(
                carrier_code="3011",
                tracking_number="RR123456789CN",
                status=S.customs_hold,
                occurred_at=_at(2024, 5, 10, 12, 15),
                raw_code="InTransit_CustomsProcessing",
                raw_text="Objeto recebido pela unidade de tratamento internacional - fiscalizacao aduaneira",
                location="CURITIBA - PR",
                source="17track",
            ),
            id="17track_time_utc_case",
        ),
        pytest.param(
            "17track",
            "tracking_updated_time_raw_only.json",
            0,
            RecordTrackingEvent(
                carrier_code="3011",
                tracking_number="RR123456789CN",
                status=S.picked_up,
                occurred_at=_at(2024, 5, 2, 3, 30),
                raw_code="InTransit_PickedUp",
                raw_text="Posting/Collection",
                location="SHENZHEN",
                source="17track",
            ),
            id="17track_time_raw_with_timezone_case",
        ),
        pytest.param(
            "kuaidi100",
            "signed_resultv2.json",
            0,
            RecordTrackingEvent(
                carrier_code="shunfeng",
                tracking_number="SF1416273849523",
                status=S.delivered,
                occurred_at=_at(2024, 5, 4, 4, 30, 5),
                raw_code="301",
                raw_text="[北京市] 您的快件已签收，签收人：本人，如有疑问请电联快递员：王师傅",
                location="北京,北京市,朝阳区",
                source="kuaidi100",
            ),
            id="kuaidi100_china_time_case",
        ),
        pytest.param(
            "kuaidi100",
            "carrier_corrected.json",
            0,
            RecordTrackingEvent(
                carrier_code="yunda",
                tracking_number="SF1416273849523",
                status=S.in_transit,
                occurred_at=_at(2024, 5, 3, 1, 12),
                raw_code="0",
                raw_text="[北京市] 快件到达【北京顺义集散中心】",
                location=None,
                source="kuaidi100",
            ),
            id="kuaidi100_keeps_original_carrier_code_case",
        ),
        pytest.param(
            "generic",
            "in_transit.json",
            0,
            RecordTrackingEvent(
                carrier_code="correios",
                tracking_number="QB123456789BR",
                status=S.picked_up,
                occurred_at=_at(2024, 5, 2, 17, 10),
                raw_code="PO",
                raw_text="Objeto postado",
                location="SAO PAULO - SP",
                source="generic",
                order_ref="order-GEN-3001",
            ),
            id="generic_case",
        ),
    ],
)
def test_event_fields_are_exact(source: str, name: str, index: int, expected: RecordTrackingEvent) -> None:
    events, _ = _parse(source, name)

    assert events[index] == expected
