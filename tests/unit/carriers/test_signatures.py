"""Signature schemes against vectors computed independently (openssl / sha256sum / md5sum)."""

from __future__ import annotations

import pytest

from orderwatch.adapters.webhooks.signatures import (
    BadSignature,
    parse_generic_header,
    sign_17track,
    sign_aftership,
    sign_generic,
    sign_kuaidi100,
    verify_17track,
    verify_aftership,
    verify_generic,
    verify_kuaidi100,
)

BODY = b'{"event":"tracking_update","msg":{"tracking_number":"3392654392"}}'
PARAM = '{"lastResult":{"nu":"SF1"}}'
# openssl dgst -sha256 -hmac as-secret-1 -binary | base64
AFTERSHIP_VECTOR = "3EmwVwKGn16j7XhgdiGFap75IS0on/6eL2i7u4KWK7Y="
# (body; printf '/17-key-1') | sha256sum
SEVENTEEN_VECTOR = "aca109e18678c047bdcda3bdc9c7cc0b7a549323b01cb0839591859f3f3244bd"
# printf '%s%s' param salt-1 | md5sum, upper case
KUAIDI100_VECTOR = "A7CA88B77FE3683FEBC78FC92F7ADDEA"
# (printf '1714550400.'; body) | openssl dgst -sha256 -hmac gen-secret-1
GENERIC_VECTOR = "t=1714550400,v1=9f5aec0a071b9aafaf396e9f08125c21dcfaec03214b8e2e9503d980f6ff1f31"


def test_signers_match_the_independent_vectors() -> None:
    assert sign_aftership("as-secret-1", BODY) == AFTERSHIP_VECTOR
    assert sign_17track("17-key-1", BODY) == SEVENTEEN_VECTOR
    assert sign_kuaidi100("salt-1", PARAM) == KUAIDI100_VECTOR
    assert sign_generic("gen-secret-1", BODY, 1714550400) == GENERIC_VECTOR


def test_verifiers_accept_the_vectors_with_either_active_secret() -> None:
    verify_aftership(AFTERSHIP_VECTOR, BODY, ("new-secret", "as-secret-1"))
    verify_17track(SEVENTEEN_VECTOR.upper(), BODY, ("17-key-1", "other"))
    verify_kuaidi100(KUAIDI100_VECTOR.lower(), PARAM, ("salt-1",))
    verify_generic(GENERIC_VECTOR, BODY, ("x" * 16, "gen-secret-1"), now=1714550400 + 299, window_seconds=300)


@pytest.mark.parametrize(
    ("check", "message"),
    [
        pytest.param(
            lambda: verify_aftership(None, BODY, ("as-secret-1",)),
            "header aftership-hmac-sha256 is missing",
            id="aftership_missing_header_case",
        ),
        pytest.param(
            lambda: verify_aftership(AFTERSHIP_VECTOR, BODY, ()),
            "no active webhook secret for aftership: refusing unsigned traffic",
            id="aftership_no_secret_case",
        ),
        pytest.param(
            lambda: verify_aftership(AFTERSHIP_VECTOR, BODY + b" ", ("as-secret-1",)),
            "header aftership-hmac-sha256 does not match the body",
            id="aftership_reserialized_case",
        ),
        pytest.param(
            lambda: verify_aftership("sig\udcff", BODY, ("as-secret-1",)),
            "header aftership-hmac-sha256 does not match the body",
            id="aftership_non_ascii_case",
        ),
        pytest.param(
            lambda: verify_17track("", BODY, ("17-key-1",)),
            "header sign is missing",
            id="17track_empty_header_case",
        ),
        pytest.param(
            lambda: verify_17track(SEVENTEEN_VECTOR, BODY, ("retired-key",)),
            "header sign does not match the body",
            id="17track_wrong_key_case",
        ),
        pytest.param(
            lambda: verify_kuaidi100(KUAIDI100_VECTOR, None, ("salt-1",)),
            "form field param is missing",
            id="kuaidi100_missing_param_case",
        ),
        pytest.param(
            lambda: verify_kuaidi100(KUAIDI100_VECTOR, PARAM, ("",)),
            "no active webhook secret for kuaidi100: refusing unsigned traffic",
            id="kuaidi100_empty_salt_case",
        ),
        pytest.param(
            lambda: verify_generic(
                GENERIC_VECTOR, BODY, ("gen-secret-1",), now=1714550400 + 301, window_seconds=300
            ),
            "header X-OrderWatch-Signature timestamp 1714550400 is outside the 300 s replay window",
            id="generic_replayed_case",
        ),
        pytest.param(
            lambda: verify_generic(
                GENERIC_VECTOR, BODY, ("gen-secret-1",), now=1714550400 - 301, window_seconds=300
            ),
            "header X-OrderWatch-Signature timestamp 1714550400 is outside the 300 s replay window",
            id="generic_from_the_future_case",
        ),
        pytest.param(
            lambda: verify_generic("v1=abc", BODY, ("gen-secret-1",), now=0, window_seconds=300),
            "header X-OrderWatch-Signature must read t=<unix seconds>,v1=<hex digest>",
            id="generic_no_timestamp_case",
        ),
        pytest.param(
            lambda: verify_generic(
                GENERIC_VECTOR.replace("1714550400", "1714550401", 1),
                BODY,
                ("gen-secret-1",),
                now=1714550401,
                window_seconds=300,
            ),
            "header X-OrderWatch-Signature does not match the body",
            id="generic_timestamp_moved_case",
        ),
    ],
)
def test_verifiers_fail_closed(check: object, message: str) -> None:
    with pytest.raises(BadSignature) as refused:
        check()  # type: ignore[operator]

    assert str(refused.value) == message


def test_generic_header_may_carry_several_v1_signatures() -> None:
    timestamp, signatures = parse_generic_header("t=1714550400, v1=aa11,v1=bb22")

    assert (timestamp, signatures) == (1714550400, [b"aa11", b"bb22"])


def test_generic_signature_in_upper_case_hex_is_refused() -> None:
    upper = GENERIC_VECTOR.split("v1=")[0] + "v1=" + GENERIC_VECTOR.split("v1=")[1].upper()

    with pytest.raises(BadSignature):
        verify_generic(upper, BODY, ("gen-secret-1",), now=1714550400, window_seconds=300)
