"""Signed webhooks to the shop's own systems (D4; ANCHORS §5 item 12, §7).

The body was frozen as bytes when the message was planned, so a retry or a redrive sends the
same bytes. Each attempt signs ``"<unix time>." + body`` with the endpoint's secret (HMAC-SHA256,
the ``generic`` scheme of ``signatures.py``: ``X-OrderWatch-Signature: t=<ts>,v1=<hex>``), so the
receiver can refuse an old or replayed request; ``verify_generic`` there is the reference
verifier. ``Idempotency-Key`` lets the receiver drop a repeat. Non-2xx answers are failures: the
delivery service retries them with back-off and disables the endpoint after straight failures.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from orderwatch.adapters.webhooks.signatures import GENERIC_HEADER, sign_generic
from orderwatch.services.ports import OutgoingMessage, PermanentFailure

EVENT_HEADER = "X-OrderWatch-Event"


class WebhookSender:
    """POSTs a message's frozen JSON body to its endpoint URL, signed."""

    def __init__(self, client: httpx.Client, *, now: Callable[[], float] = time.time) -> None:
        self.client = client
        self.now = now

    def request_for(self, message: OutgoingMessage) -> httpx.Request:
        if not message.secret:
            raise PermanentFailure(f"endpoint {message.endpoint_id} has no secret")
        body = message.body_text.encode()
        headers = {
            "Content-Type": "application/json",
            GENERIC_HEADER: sign_generic(message.secret, body, int(self.now())),
            EVENT_HEADER: message.event,
            "Idempotency-Key": message.idempotency_key,
        }
        return self.client.build_request("POST", message.recipient, content=body, headers=headers)

    def send(self, message: OutgoingMessage) -> None:
        response = self.client.send(self.request_for(message))
        if not 200 <= response.status_code < 300:
            raise RuntimeError(f"endpoint answered {response.status_code}: {response.text[:200]!r}")
