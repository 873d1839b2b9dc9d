"""Every row of every carrier status table, through the parser, plus the ANCHORS §2.1 cross-walk."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from orderwatch.adapters.carriers.aftership import parse as aftership
from orderwatch.adapters.carriers.kuaidi100 import parse as kuaidi100
from orderwatch.adapters.carriers.seventeentrack import parse as seventeentrack
from orderwatch.domain.shipments import ShipmentStatus as S


def _aftership_payload(tag: str | None, subtag: str | None) -> bytes:
    checkpoint = {
        "checkpoint_time": "2024-05-03T20:12:00+02:00",
        "tag": tag,
        "subtag": subtag,
        "message": "scan text",
        "location": "LEIPZIG - GERMANY",
    }
    msg = {"slug": "dhl", "tracking_number": "3392654392", "checkpoints": [checkpoint]}
    return json.dumps({"event": "tracking_update", "msg": msg}).encode()


def _17track_payload(sub_status: str | None, stage: str | None = None) -> bytes:
    event = {
        "time_utc": "2024-05-03T07:02:00Z",
        "description": "scan text",
        "location": "SHENZHEN",
        "stage": stage,
        "sub_status": sub_status,
    }
    data = {
        "number": "RR123456789CN",
        "carrier": 3011,
        "track_info": {"tracking": {"providers": [{"events": [event]}]}},
    }
    return json.dumps({"event": "TRACKING_UPDATED", "data": data}).encode()


def _kuaidi100_param(item: dict[str, Any], state: str = "0") -> str:
    base = {"time": "2024-05-03 09:12:00", "ftime": "2024-05-03 09:12:00", "context": "scan text"}
    return json.dumps(
        {
            "status": "polling",
            "lastResult": {
                "nu": "SF1416273849523",
                "com": "shunfeng",
                "state": state,
                "data": [{**base, **item}],
            },
        },
        ensure_ascii=False,
    )


def _only(result: tuple[list[Any], list[str]]) -> Any:
    events, problems = result
    assert problems == []
    assert len(events) == 1
    return events[0]


AFTERSHIP_SUBTAGS = sorted(code for code in aftership.STATUS_TABLE.rows if "_" in code)
AFTERSHIP_TAGS = sorted(code for code in aftership.STATUS_TABLE.rows if "_" not in code)


@pytest.mark.parametrize("subtag", AFTERSHIP_SUBTAGS, ids=[f"{c}_case" for c in AFTERSHIP_SUBTAGS])
def test_aftership_subtag_row(subtag: str) -> None:
    event = _only(aftership.parse_tracking_webhook(_aftership_payload(None, subtag)))

    assert (event.status, event.raw_code) == (aftership.STATUS_TABLE.rows[subtag], subtag)


@pytest.mark.parametrize("tag", AFTERSHIP_TAGS, ids=[f"{c}_case" for c in AFTERSHIP_TAGS])
def test_aftership_tag_row(tag: str) -> None:
    event = _only(aftership.parse_tracking_webhook(_aftership_payload(tag, None)))

    assert (event.status, event.raw_code) == (aftership.STATUS_TABLE.rows[tag], tag)


SEVENTEEN_CODES = sorted(seventeentrack.STATUS_TABLE.rows)


@pytest.mark.parametrize("code", SEVENTEEN_CODES, ids=[f"{c}_case" for c in SEVENTEEN_CODES])
def test_17track_row_as_sub_status(code: str) -> None:
    event = _only(seventeentrack.parse_tracking_webhook(_17track_payload(code)))

    assert (event.status, event.raw_code) == (seventeentrack.STATUS_TABLE.rows[code], code)


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        ("PickedUp", S.picked_up),
        ("Departure", S.in_transit),
        ("Arrival", S.in_transit),
        ("OutForDelivery", S.out_for_delivery),
        ("Delivered", S.delivered),
        ("Returning", S.returning),
        ("Returned", S.returned),
    ],
    ids=lambda value: f"{value}_case" if isinstance(value, str) else "",
)
def test_17track_stage_is_the_fallback_without_sub_status(stage: str, expected: S) -> None:
    event = _only(seventeentrack.parse_tracking_webhook(_17track_payload(None, stage)))

    assert (event.status, event.raw_code) == (expected, stage)


KUAIDI100_STATES = [(code, name) for code, name, _ in kuaidi100.STATES]


@pytest.mark.parametrize(
    ("code", "name"), KUAIDI100_STATES, ids=[f"state_{c}_case" for c, _ in KUAIDI100_STATES]
)
def test_kuaidi100_row_by_status_code_and_by_name(code: str, name: str) -> None:
    by_code = _only(kuaidi100.parse_push(_kuaidi100_param({"statusCode": code})))
    by_name = _only(kuaidi100.parse_push(_kuaidi100_param({"status": name})))
    by_state = _only(kuaidi100.parse_push(_kuaidi100_param({}, state=code)))

    expected = kuaidi100.STATUS_TABLE.rows[code]
    assert (by_code.status, by_code.raw_code) == (expected, code)
    assert (by_name.status, by_name.raw_code) == (expected, code)
    assert (by_state.status, by_state.raw_code) == (expected, code)


# ANCHORS §2.1, written out independently of the tables so that a wrong row fails here.
CROSS_WALK = [
    ("aftership", "InfoReceived_001", S.created),
    ("aftership", "InTransit_002", S.picked_up),
    ("aftership", "InTransit_007", S.in_transit),
    ("aftership", "Exception_004", S.customs_hold),
    ("aftership", "OutForDelivery_001", S.out_for_delivery),
    ("aftership", "AvailableForPickup_001", S.available_for_pickup),
    ("aftership", "AttemptFail_001", S.delivery_failed),
    ("aftership", "Delivered_001", S.delivered),
    ("aftership", "Exception_001", S.exception),
    ("aftership", "Exception_003", S.refused),
    ("aftership", "Exception_010", S.returning),
    ("aftership", "Exception_011", S.returned),
    ("aftership", "Exception_012", S.damaged),
    ("aftership", "Exception_013", S.lost),
    ("17track", "NotFound_Other", S.created),
    ("17track", "InfoReceived", S.created),
    ("17track", "InTransit_PickedUp", S.picked_up),
    ("17track", "InTransit_Other", S.in_transit),
    ("17track", "InTransit_CustomsProcessing", S.customs_hold),
    ("17track", "Exception_Security", S.customs_hold),
    ("17track", "OutForDelivery_Other", S.out_for_delivery),
    ("17track", "AvailableForPickup_Other", S.available_for_pickup),
    ("17track", "DeliveryFailure_Other", S.delivery_failed),
    ("17track", "Delivered_Other", S.delivered),
    ("17track", "Exception_Other", S.exception),
    ("17track", "Exception_Returning", S.returning),
    ("17track", "Exception_Returned", S.returned),
    ("17track", "Exception_Rejected", S.refused),
    ("17track", "Exception_Lost", S.lost),
    ("17track", "Exception_Damage", S.damaged),
    ("kuaidi100", "101", S.created),
    ("kuaidi100", "102", S.created),
    ("kuaidi100", "1", S.picked_up),
    ("kuaidi100", "103", S.picked_up),
    ("kuaidi100", "0", S.in_transit),
    ("kuaidi100", "1001", S.in_transit),
    ("kuaidi100", "10", S.customs_hold),
    ("kuaidi100", "13", S.customs_hold),
    ("kuaidi100", "5", S.out_for_delivery),
    ("kuaidi100", "501", S.available_for_pickup),
    ("kuaidi100", "204", S.delivery_failed),
    ("kuaidi100", "206", S.delivery_failed),
    ("kuaidi100", "3", S.delivered),
    ("kuaidi100", "304", S.delivered),
    ("kuaidi100", "2", S.exception),
    ("kuaidi100", "208", S.exception),
    ("kuaidi100", "6", S.returning),
    ("kuaidi100", "4", S.returned),
    ("kuaidi100", "14", S.refused),
    ("kuaidi100", "203", S.refused),
    ("kuaidi100", "209", S.damaged),
]
TABLES = {
    "aftership": aftership.STATUS_TABLE,
    "17track": seventeentrack.STATUS_TABLE,
    "kuaidi100": kuaidi100.STATUS_TABLE,
}


@pytest.mark.parametrize(
    ("source", "code", "expected"), CROSS_WALK, ids=[f"{s}_{c}_case" for s, c, _ in CROSS_WALK]
)
def test_anchors_cross_walk(source: str, code: str, expected: S) -> None:
    assert TABLES[source].rows[code] is expected


def test_kuaidi100_covers_every_documented_state_code() -> None:
    documented = {
        "0",
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "10",
        "11",
        "12",
        "13",
        "14",
        "101",
        "102",
        "103",
        *(str(code) for code in range(201, 211)),
        "301",
        "302",
        "303",
        "304",
        "501",
        "1001",
        "1002",
        "1003",
    }

    assert documented <= set(kuaidi100.STATUS_TABLE.rows)


@pytest.mark.parametrize(
    ("payload", "parse", "raw_code", "logged"),
    [
        pytest.param(
            _aftership_payload("Frozen", "Frozen_001"),
            aftership.parse_tracking_webhook,
            "Frozen_001",
            "unknown aftership status code(s) ['Frozen_001', 'Frozen']",
            id="aftership_case",
        ),
        pytest.param(
            _17track_payload("Limbo_Something"),
            seventeentrack.parse_tracking_webhook,
            "Limbo_Something",
            "unknown 17track status code(s) ['Limbo_Something', 'Limbo']",
            id="17track_case",
        ),
        pytest.param(
            _kuaidi100_param({"statusCode": "9999"}, state="9999"),
            kuaidi100.parse_push,
            "9999",
            "unknown kuaidi100 status code(s) ['9999']",
            id="kuaidi100_case",
        ),
    ],
)
def test_unknown_code_is_kept_as_unknown_and_logged(
    payload: Any, parse: Any, raw_code: str, logged: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="orderwatch.carriers"):
        event = _only(parse(payload))

    assert (event.status, event.raw_code, event.raw_text) == (S.unknown, raw_code, "scan text")
    assert [r.getMessage().split(" (text")[0] for r in caplog.records] == [logged]


def test_unknown_subtag_with_known_tag_falls_back_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="orderwatch.carriers"):
        event = _only(aftership.parse_tracking_webhook(_aftership_payload("InTransit", "InTransit_099")))

    assert (event.status, event.raw_code) == (S.in_transit, "InTransit_099")
    assert [r.getMessage() for r in caplog.records] == [
        "unknown aftership status code 'InTransit_099' (text 'scan text'): "
        "fell back to 'InTransit' → in_transit"
    ]


def test_raw_code_longer_than_the_column_is_clipped() -> None:
    event = _only(seventeentrack.parse_tracking_webhook(_17track_payload("InTransit_" + "X" * 100)))

    assert (event.status, len(event.raw_code or "")) == (S.in_transit, 64)
