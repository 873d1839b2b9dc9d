"""SMS through an HTTP gateway whose request shape is configuration, not code (D4).

Gateways differ only in the request they expect (Twilio: form fields ``To``/``Body``; Zenvia,
Nexmo, ...: JSON with their own names). The shape is a JSON template whose *string values*
``{to}``, ``{text}`` and ``{idempotency_key}`` are replaced after parsing — the text never goes
through string formatting into JSON, so quotes or braces in a message cannot change the request.
2xx is accepted; 4xx other than 408/429 is a permanent refusal; the rest is retried.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from orderwatch.services.ports import OutgoingMessage, PermanentFailure

PLACEHOLDERS = ("{to}", "{text}", "{idempotency_key}")


def fill(shape: Any, values: Mapping[str, str]) -> Any:
    """``shape`` with every string that is exactly a placeholder replaced by its value."""
    if isinstance(shape, dict):
        return {key: fill(value, values) for key, value in shape.items()}
    if isinstance(shape, list):
        return [fill(value, values) for value in shape]
    if isinstance(shape, str) and shape in values:
        return values[shape]
    return shape


class HttpSmsGateway:
    """Posts one SMS per message to the configured gateway."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        url: str,
        body: str,
        body_format: str = "json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if body_format not in {"json", "form"}:
            raise ValueError(f"sms gateway format {body_format!r}: expected json or form")
        try:
            self.shape = json.loads(body)
        except json.JSONDecodeError as error:
            raise ValueError(f"sms gateway body is not JSON: {error}") from error
        if body_format == "form" and not isinstance(self.shape, dict):
            raise ValueError("sms gateway body must be a JSON object of fields for the form format")
        self.client, self.url, self.body_format = client, url, body_format
        self.headers = dict(headers or {})

    def request_for(self, message: OutgoingMessage) -> httpx.Request:
        body = fill(
            self.shape,
            {
                "{to}": message.recipient,
                "{text}": message.body_text,
                "{idempotency_key}": message.idempotency_key,
            },
        )
        headers = {**self.headers, "Idempotency-Key": message.idempotency_key}
        if self.body_format == "form":
            return self.client.build_request("POST", self.url, data=body, headers=headers)
        return self.client.build_request("POST", self.url, json=body, headers=headers)

    def send(self, message: OutgoingMessage) -> None:
        if not message.recipient:
            raise PermanentFailure("no phone number")
        response = self.client.send(self.request_for(message))
        status = response.status_code
        if 200 <= status < 300:
            return
        detail = f"SMS gateway answered {status}: {response.text[:200]!r}"
        if 400 <= status < 500 and status not in {408, 429}:
            raise PermanentFailure(detail)
        raise RuntimeError(detail)
