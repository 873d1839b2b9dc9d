"""Turning outbox events into customer messages and shop webhooks (D4, D5, D6, U14).

    outbox row (claimed, same transaction) ──▶ domain.notifications.triggers_for
        ──▶ per trigger: recipient + history ──▶ domain.notifications.plan ──▶ render ──▶ message rows
        ──▶ per trigger: one signed-webhook message per subscribed active endpoint
    the outbox row is marked sent in the transaction that stored its messages

Planning only touches the database, so it happens exactly once per outbox row; the unique
message key (state entry × channel × recipient) makes a replayed cause produce no new row.
Sending is ``services/deliveries.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from orderwatch.domain.notifications import (
    DELAY_EVENTS,
    Channel,
    History,
    Intent,
    NotificationPolicy,
    Recipient,
    Trigger,
    expected_at,
    plan,
    subscribed,
    triggers_for,
)
from orderwatch.domain.types import Language
from orderwatch.services.outbox import DispatchResult, dispatch_due
from orderwatch.services.ports import (
    ClaimedMessage,
    Clock,
    MessageRenderer,
    NewMessage,
    NotificationUnitOfWork,
    RecipientRecord,
)

TrackingLink = Callable[[int], str]
"""The customer's unguessable tracking-page address for an order id."""


@dataclass(frozen=True, slots=True)
class Planner:
    """An outbox sink that plans messages inside the dispatching transaction."""

    uow: NotificationUnitOfWork
    renderer: MessageRenderer
    policy: NotificationPolicy
    tracking_link: TrackingLink
    clock: Clock

    def send(self, message: ClaimedMessage) -> None:
        plan_for_event(
            self.uow,
            message.topic,
            message.payload,
            key=message.idempotency_key,
            renderer=self.renderer,
            policy=self.policy,
            tracking_link=self.tracking_link,
            now=self.clock.now(),
        )


def plan_notifications(
    uow: NotificationUnitOfWork,
    *,
    renderer: MessageRenderer,
    policy: NotificationPolicy,
    tracking_link: TrackingLink,
    clock: Clock,
    limit: int = 500,
) -> DispatchResult:
    """Plan the messages of up to ``limit`` due outbox events (one transaction)."""
    planner = Planner(uow, renderer, policy, tracking_link, clock)
    return dispatch_due(uow, planner, clock=clock, limit=limit)


def plan_for_event(
    uow: NotificationUnitOfWork,
    topic: str,
    payload: Mapping[str, Any],
    *,
    key: str,
    renderer: MessageRenderer,
    policy: NotificationPolicy,
    tracking_link: TrackingLink,
    now: datetime,
) -> int:
    """Store the messages one outbox event causes (inside the caller's transaction); how many."""
    stored = 0
    for trigger in triggers_for(topic, payload, key=key, feedback_delay=policy.feedback_delay):
        record = uow.notifications.find_recipient(trigger.order_id) if trigger.order_id is not None else None
        context = _context(trigger, record, tracking_link)
        messages = _customer_messages(uow, trigger, record, context, renderer, policy, now=now)
        messages += _webhook_messages(uow, trigger, context, now=now)
        stored += uow.notifications.add_messages(messages, now=now)
    return stored


def _context(trigger: Trigger, record: RecipientRecord | None, tracking_link: TrackingLink) -> dict[str, Any]:
    facts = trigger.facts
    expected = expected_at(facts)
    return {
        "order_ref": (record.order_ref if record else None) or trigger.order_ref or "",
        "tracking_url": tracking_link(trigger.order_id) if trigger.order_id is not None else "",
        "status": facts.get("status"),
        "expected_at": expected.isoformat() if expected else None,
        "cause": facts.get("cause"),
        "remedy": facts.get("remedy"),
        "incident_ref": facts.get("incident_ref"),
    }


def _customer_messages(
    uow: NotificationUnitOfWork,
    trigger: Trigger,
    record: RecipientRecord | None,
    context: Mapping[str, Any],
    renderer: MessageRenderer,
    policy: NotificationPolicy,
    *,
    now: datetime,
) -> list[NewMessage]:
    if record is None:
        return []
    recipient = _recipient(record)
    history = History(
        sent_last_day=uow.notifications.count_recent(record.customer_id, since=now - timedelta(days=1))
        if record.customer_id is not None
        else 0,
        last_expected_at=uow.notifications.last_expected_at(trigger.order_id)
        if trigger.event in DELAY_EVENTS and trigger.order_id is not None
        else None,
    )
    return [
        _message(intent, trigger, record, context, renderer)
        for intent in plan(trigger, recipient, policy, history, now=now)
    ]


def _recipient(record: RecipientRecord) -> Recipient:
    try:
        language = Language.parse(record.language)
    except ValueError:
        language = Language.en  # a language we have no templates for reads English
    channels = None
    if record.channels is not None:
        channels = frozenset(Channel(c) for c in record.channels.split(",") if c.strip())
    return Recipient(record.customer_id, record.email, record.phone, language, channels)


def _message(
    intent: Intent,
    trigger: Trigger,
    record: RecipientRecord,
    context: Mapping[str, Any],
    renderer: MessageRenderer,
) -> NewMessage:
    rendered = renderer.render(intent.event.value, intent.language.value, context)
    is_email = intent.channel is Channel.email
    return NewMessage(
        idempotency_key=intent.idempotency_key,
        event=intent.event.value,
        channel=intent.channel.value,
        recipient=intent.recipient,
        language=intent.language.value,
        subject=rendered.subject if is_email else None,
        body_text=rendered.text,
        body_html=rendered.html if is_email else None,
        context=dict(context),
        send_at=intent.send_at,
        status="suppressed" if intent.suppressed else "pending",
        order_id=trigger.order_id,
        customer_id=record.customer_id,
        last_error=intent.suppressed.value if intent.suppressed else None,
    )


def _webhook_messages(
    uow: NotificationUnitOfWork, trigger: Trigger, context: Mapping[str, Any], *, now: datetime
) -> list[NewMessage]:
    messages = []
    for endpoint in uow.notifications.active_endpoints():
        if not subscribed(endpoint.events, trigger.event):
            continue
        key = f"{trigger.entry_key}:webhook:{endpoint.id}"
        # The body is frozen here: retries and redrives send these exact bytes.
        body = json.dumps(
            {"id": key, "event": trigger.event.value, "created_at": now.isoformat(), "data": dict(context)},
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        )
        messages.append(
            NewMessage(
                idempotency_key=key,
                event=trigger.event.value,
                channel=Channel.webhook.value,
                recipient=endpoint.url,
                language="en",
                subject=None,
                body_text=body,
                body_html=None,
                context=dict(context),
                send_at=now,
                order_id=trigger.order_id,
                endpoint_id=endpoint.id,
            )
        )
    return messages
