"""Webhook parsers never crash, and signatures round-trip and break on any tampering (D1).

Hypothesis feeds the parsers arbitrary JSON, both as whole bodies and planted at every level of
a realistic envelope (so that the per-event code is reached); the result must always be a list
of well-formed events plus problem strings, never an exception.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orderwatch.adapters.carriers.aftership.parse import parse_tracking_webhook as parse_aftership
from orderwatch.adapters.carriers.base import ParseResult
from orderwatch.adapters.carriers.generic.parse import parse_generic_webhook
from orderwatch.adapters.carriers.kuaidi100.parse import parse_push, read_form
from orderwatch.adapters.carriers.seventeentrack.parse import parse_tracking_webhook as parse_17track
from orderwatch.adapters.webhooks.signatures import (
    BadSignature,
    sign_17track,
    sign_aftership,
    sign_generic,
    sign_kuaidi100,
    verify_17track,
    verify_aftership,
    verify_generic,
    verify_kuaidi100,
)
from orderwatch.domain.shipments import ShipmentStatus

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
codes = (
    st.sampled_from(["InTransit_002", "Delivered", "Exception_Lost", "301", "5", "在途", "", "x"])
    | json_values
)
times = (
    st.sampled_from(
        [
            "2024-05-02T10:05:00+08:00",
            "2024-05-02T10:05:00",
            "2024-05-02 10:05:00",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "2024-13-01T00:00:00Z",
            "2024-05-02T03:30:00Z",
        ]
    )
    | json_values
)

aftership_bodies = st.fixed_dictionaries(
    {
        "event": json_values,
        "msg": st.fixed_dictionaries(
            {
                "slug": st.sampled_from(["dhl", ""]) | json_values,
                "tracking_number": st.sampled_from(["3392654392"]) | json_values,
                "order_id": json_values,
                "checkpoints": st.lists(
                    st.fixed_dictionaries(
                        {
                            "checkpoint_time": times,
                            "tag": codes,
                            "subtag": codes,
                            "message": json_values,
                            "country_iso3": st.sampled_from(["CHN", "USA", None]) | json_values,
                            "location": json_values,
                        }
                    ),
                    max_size=3,
                )
                | json_values,
            }
        )
        | json_values,
    }
)
seventeentrack_bodies = st.fixed_dictionaries(
    {
        "event": json_values,
        "data": st.fixed_dictionaries(
            {
                "number": st.sampled_from(["RR123456789CN"]) | json_values,
                "carrier": st.sampled_from([3011]) | json_values,
                "track_info": st.fixed_dictionaries(
                    {
                        "tracking": st.fixed_dictionaries(
                            {
                                "providers": st.lists(
                                    st.fixed_dictionaries(
                                        {
                                            "events": st.lists(
                                                st.fixed_dictionaries(
                                                    {
                                                        "time_utc": times,
                                                        "time_iso": times,
                                                        "time_raw": st.fixed_dictionaries(
                                                            {
                                                                "date": json_values,
                                                                "time": json_values,
                                                                "timezone": st.sampled_from(
                                                                    ["+08:00", "Z", "+99:00"]
                                                                ),
                                                            }
                                                        )
                                                        | json_values,
                                                        "sub_status": codes,
                                                        "stage": codes,
                                                        "description": json_values,
                                                        "address": json_values,
                                                    }
                                                ),
                                                max_size=3,
                                            )
                                            | json_values
                                        }
                                    ),
                                    max_size=2,
                                )
                                | json_values
                            }
                        )
                        | json_values
                    }
                )
                | json_values,
            }
        )
        | json_values,
    }
)
kuaidi100_params = st.fixed_dictionaries(
    {
        "autoCheck": json_values,
        "comOld": json_values,
        "lastResult": st.fixed_dictionaries(
            {
                "nu": st.sampled_from(["SF1416273849523"]) | json_values,
                "com": st.sampled_from(["shunfeng"]) | json_values,
                "state": codes,
                "data": st.lists(
                    st.fixed_dictionaries(
                        {
                            "ftime": times,
                            "time": times,
                            "context": json_values,
                            "status": codes,
                            "statusCode": codes,
                        }
                    ),
                    max_size=3,
                )
                | json_values,
            }
        )
        | json_values,
    }
)
generic_bodies = st.fixed_dictionaries(
    {
        "carrier": st.sampled_from(["correios"]) | json_values,
        "tracking_number": st.sampled_from(["QB123456789BR"]) | json_values,
        "order_ref": json_values,
        "events": st.lists(
            st.fixed_dictionaries(
                {
                    "status": st.sampled_from([s.value for s in ShipmentStatus]) | json_values,
                    "occurred_at": times,
                    "code": json_values,
                    "description": json_values,
                    "location": json_values,
                }
            ),
            max_size=3,
        )
        | json_values,
    }
)

PARSERS: list[tuple[Callable[[Any], ParseResult], Any]] = [
    (parse_aftership, aftership_bodies),
    (parse_17track, seventeentrack_bodies),
    (parse_push, kuaidi100_params),
    (parse_generic_webhook, generic_bodies),
]


def _assert_well_formed(result: ParseResult) -> None:
    events, problems = result
    assert all(isinstance(p, str) and ": " in p for p in problems)
    for event in events:
        assert event.occurred_at.tzinfo is UTC
        assert isinstance(event.status, ShipmentStatus)
        assert event.tracking_number
        assert event.carrier_code
        assert event.raw_code is None or len(event.raw_code) <= 64


@settings(max_examples=300)
@given(st.data())
def test_parsers_never_crash_on_shaped_payloads(data: st.DataObject) -> None:
    for parse, bodies in PARSERS:
        body = data.draw(bodies)
        _assert_well_formed(parse(json.dumps(body, ensure_ascii=False).encode()))


@given(json_values)
def test_parsers_never_crash_on_arbitrary_json(value: object) -> None:
    raw = json.dumps(value).encode()
    for parse, _ in PARSERS:
        _assert_well_formed(parse(raw))


@given(st.binary(max_size=200))
def test_parsers_never_crash_on_arbitrary_bytes(raw: bytes) -> None:
    for parse, _ in PARSERS:
        _assert_well_formed(parse(raw))
    assert isinstance(read_form(raw), dict)


# ------------------------------------------------------------------ signatures

secrets = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=8, max_size=40)
bodies = st.binary(min_size=1, max_size=300)


def _tamper(body: bytes, position: int, flip: int) -> bytes:
    index = position % len(body)
    return body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]


@given(secrets, bodies, st.integers(0, 10_000), st.integers(1, 255))
def test_aftership_round_trip_and_single_byte_tamper(
    secret: str, body: bytes, position: int, flip: int
) -> None:
    header = sign_aftership(secret, body)
    verify_aftership(header, body, (secret,))
    try:
        verify_aftership(header, _tamper(body, position, flip), (secret,))
    except BadSignature:
        return
    raise AssertionError("a tampered body verified")


@given(secrets, bodies, st.integers(0, 10_000), st.integers(1, 255))
def test_17track_round_trip_and_single_byte_tamper(
    secret: str, body: bytes, position: int, flip: int
) -> None:
    header = sign_17track(secret, body)
    verify_17track(header, body, ("other-key-123", secret))
    try:
        verify_17track(header, _tamper(body, position, flip), (secret,))
    except BadSignature:
        return
    raise AssertionError("a tampered body verified")


@given(secrets, st.text(min_size=1, max_size=200), st.integers(0, 10_000), st.integers(1, 0x2FF))
def test_kuaidi100_round_trip_and_single_character_tamper(
    salt: str, param: str, position: int, shift: int
) -> None:
    sign = sign_kuaidi100(salt, param)
    verify_kuaidi100(sign, param, (salt,))
    index = position % len(param)
    changed = chr((ord(param[index]) + shift) % 0xD000 or 1)
    tampered = param[:index] + changed + param[index + 1 :]
    if tampered == param:
        return
    try:
        verify_kuaidi100(sign, tampered, (salt,))
    except BadSignature:
        return
    raise AssertionError("a tampered param verified")


@given(
    secrets, bodies, st.integers(1_500_000_000, 2_000_000_000), st.integers(0, 10_000), st.integers(1, 255)
)
def test_generic_round_trip_and_single_byte_tamper(
    secret: str, body: bytes, timestamp: int, position: int, flip: int
) -> None:
    header = sign_generic(secret, body, timestamp)
    verify_generic(header, body, (secret,), now=timestamp, window_seconds=300)
    tampered_header = _tamper(header.encode(), position, flip).decode("latin-1")
    for candidate_header, candidate_body in (
        (header, _tamper(body, position, flip)),
        (tampered_header, body),
    ):
        if candidate_header == header and candidate_body == body:
            continue
        try:
            verify_generic(candidate_header, candidate_body, (secret,), now=timestamp, window_seconds=300)
        except BadSignature:
            continue
        raise AssertionError(f"tampered request verified: {candidate_header!r}")
