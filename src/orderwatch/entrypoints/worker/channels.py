"""Wiring of customer communication from settings: rules, templates, links, channel senders (D4).

Registers the notification planner as an outbox consumer (``jobs.py``).
"""

from __future__ import annotations

import json
from datetime import time, timedelta
from typing import Any

import httpx

from orderwatch.adapters.mail.smtp import SmtpSender
from orderwatch.adapters.mail.templates import TemplateRenderer
from orderwatch.adapters.security.tracking_tokens import TrackingTokens
from orderwatch.adapters.sms.gateway import HttpSmsGateway
from orderwatch.adapters.webhooks.outgoing import WebhookSender
from orderwatch.bootstrap import App
from orderwatch.domain.notifications import Channel, NotificationPolicy, QuietHours, parse_rules
from orderwatch.entrypoints.worker.jobs import register_consumer
from orderwatch.services.notifications import Planner, TrackingLink
from orderwatch.services.ports import ChannelSender, OutgoingMessage, PermanentFailure, Sink
from orderwatch.settings import Settings


def policy_from(settings: Settings) -> NotificationPolicy:
    """The shop's notification rules; raises ``ValueError`` naming the bad setting."""
    try:
        start_text, end_text = settings.quiet_hours.split("-")
        quiet = (time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip()))
    except ValueError:
        raise ValueError(f"ORDERWATCH_QUIET_HOURS {settings.quiet_hours!r}: expected HH:MM-HH:MM") from None
    try:
        rules = json.loads(settings.notification_rules)
    except json.JSONDecodeError as error:
        raise ValueError(f"ORDERWATCH_NOTIFICATION_RULES is not JSON: {error}") from None
    channels = frozenset(Channel(c.strip()) for c in settings.quiet_channels.split(",") if c.strip())
    return NotificationPolicy(
        rules=parse_rules(rules),
        quiet_hours=QuietHours(quiet[0], quiet[1], settings.shop_timezone, channels),
        max_per_customer_per_day=settings.notification_rate_limit_per_day,
        min_delay_change=timedelta(hours=settings.delay_change_min_hours),
        feedback_delay=timedelta(hours=settings.feedback_delay_hours),
    )


def tracking_link(settings: Settings) -> TrackingLink:
    tokens = TrackingTokens(settings.secret_key)
    base = settings.public_url.rstrip("/")
    return lambda order_id: f"{base}/track/{tokens.token_for(order_id)}"


def renderer(settings: Settings) -> TemplateRenderer:
    return TemplateRenderer(shop_name=settings.shop_name, timezone=settings.shop_timezone)


_WIRED: dict[int, tuple[TemplateRenderer, NotificationPolicy, TrackingLink]] = {}


def planner_factory(app: App, uow: Any) -> Sink:
    # Built once per process: the template environment compiles its templates on first use.
    key = id(app.settings)
    if key not in _WIRED:
        _WIRED[key] = (renderer(app.settings), policy_from(app.settings), tracking_link(app.settings))
    templates, policy, link = _WIRED[key]
    return Planner(uow, templates, policy, link, app.clock)


class _NoGateway:
    def send(self, message: OutgoingMessage) -> None:
        raise PermanentFailure("no SMS gateway configured (ORDERWATCH_SMS_GATEWAY_URL)")


def senders(settings: Settings) -> dict[str, ChannelSender]:
    """A fresh set of channel senders (one per worker thread: SMTP connections are not shared)."""
    client = httpx.Client(timeout=settings.channel_timeout_seconds)
    sms: ChannelSender = _NoGateway()
    if settings.sms_gateway_url:
        sms = HttpSmsGateway(
            client,
            url=settings.sms_gateway_url,
            body=settings.sms_gateway_body,
            body_format=settings.sms_gateway_format,
            headers=json.loads(settings.sms_gateway_headers),
        )
    return {
        Channel.email.value: SmtpSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_sender,
            timeout=settings.channel_timeout_seconds,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
        ),
        Channel.sms.value: sms,
        Channel.webhook.value: WebhookSender(client),
    }


register_consumer("notifications", planner_factory)
