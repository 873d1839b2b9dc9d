"""The SMS gateway adapter against a real local HTTP server: configured request shapes, errors (D4)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import httpx
import pytest

from orderwatch.adapters.sms.gateway import HttpSmsGateway
from orderwatch.services.ports import OutgoingMessage, PermanentFailure
from tests.notification_support import HttpReceiver

TEXT = 'Seu pedido "A-1" saiu para entrega {hoje}'  # quotes and braces must not break the request


def _sms(key: str = "out_for_delivery:k:sms") -> OutgoingMessage:
    return OutgoingMessage(1, key, "out_for_delivery", "sms", "+5511999990000", None, TEXT, None, attempts=1)


def test_json_shape_is_filled_structurally() -> None:
    with HttpReceiver() as receiver, httpx.Client(timeout=5) as client:
        gateway = HttpSmsGateway(
            client,
            url=f"{receiver.url}/v2/channels/sms/messages",
            body='{"from": "Shop", "to": "{to}", "contents": [{"type": "text", "text": "{text}"}], '
            '"id": "{idempotency_key}"}',
            headers={"X-API-TOKEN": "token-1"},
        )
        gateway.send(_sms())

    path, headers, body = receiver.requests[0]
    assert path == "/v2/channels/sms/messages"
    assert headers["X-API-TOKEN"] == "token-1"
    assert headers["Idempotency-Key"] == "out_for_delivery:k:sms"
    assert json.loads(body) == {
        "from": "Shop",
        "to": "+5511999990000",
        "contents": [{"type": "text", "text": TEXT}],
        "id": "out_for_delivery:k:sms",
    }


def test_form_shape() -> None:
    with HttpReceiver() as receiver, httpx.Client(timeout=5) as client:
        gateway = HttpSmsGateway(
            client, url=receiver.url, body='{"To": "{to}", "Body": "{text}"}', body_format="form"
        )
        gateway.send(_sms())

    _, headers, body = receiver.requests[0]
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(body.decode()) == {"To": ["+5511999990000"], "Body": [TEXT]}


@pytest.mark.parametrize(
    ("status", "error"), [(400, PermanentFailure), (429, RuntimeError), (503, RuntimeError)]
)
def test_gateway_errors_case(status: int, error: type[Exception]) -> None:
    with HttpReceiver(status=status) as receiver, httpx.Client(timeout=5) as client:
        gateway = HttpSmsGateway(client, url=receiver.url, body='{"to": "{to}", "text": "{text}"}')
        with pytest.raises(error, match=f"SMS gateway answered {status}"):
            gateway.send(_sms())


def test_bad_shape_is_refused_with_the_setting_named() -> None:
    with pytest.raises(ValueError, match="sms gateway body is not JSON"):
        HttpSmsGateway(httpx.Client(), url="http://x", body="{to}")
    with pytest.raises(ValueError, match="format 'xml'"):
        HttpSmsGateway(httpx.Client(), url="http://x", body="{}", body_format="xml")
