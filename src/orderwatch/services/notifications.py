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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
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
    expected_until,
    plan,
    subscribed,
    triggers_for,
)
from orderwatch.domain.types import Language
from orderwatch.services.outbox import DispatchResult, dispatch_due
from orderwatch.services.ports import (
    ClaimedMessage,
    Clock,
    EndpointRecord,
    MessageRenderer,
    NewMessage,
    NotificationUnitOfWork,
    RecipientRecord,
)

TrackingLink = Callable[[int], str]
"""The customer's unguessable tracking-page address for an order id."""


@dataclass(frozen=True, slots=True)
class Planner:
    """An outbox consumer that plans messages inside the dispatching transaction.

    ``send_many`` plans a whole claimed batch with a handful of queries (the worker's fast
    path); ``send`` plans one event (the per-row fallback that isolates a failing event).
    """

    uow: NotificationUnitOfWork
    renderer: MessageRenderer
    policy: NotificationPolicy
    tracking_link: TrackingLink
    clock: Clock

    def send(self, message: ClaimedMessage) -> None:
        self.send_many([message])

    def send_many(self, messages: Sequence[ClaimedMessage]) -> int:
        return plan_for_events(
            self.uow,
            [(m.topic, m.payload, m.idempotency_key) for m in messages],
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
    """Plan the messages of up to ``limit`` due outbox events (one transaction, row by row)."""
    planner = Planner(uow, renderer, policy, tracking_link, clock)
    return dispatch_due(uow, planner, clock=clock, limit=limit)


@dataclass
class _Budget:
    """What this batch already planned, so that later events of the batch see it."""

    sent_last_day: dict[int, int]
    last_expected: dict[int, datetime | None]


def plan_for_events(
    uow: NotificationUnitOfWork,
    events: Sequence[tuple[str, Mapping[str, Any], str]],
    *,
    renderer: MessageRenderer,
    policy: NotificationPolicy,
    tracking_link: TrackingLink,
    now: datetime,
) -> int:
    """Store the messages that (topic, payload, key) events cause, inside the caller's transaction."""
    triggers = [
        trigger
        for topic, payload, key in events
        for trigger in triggers_for(topic, payload, key=key, feedback_delay=policy.feedback_delay)
    ]
    if not triggers:
        return 0
    triggers = _with_order_ids(uow, triggers)
    store = uow.notifications
    records = store.find_recipients({t.order_id for t in triggers if t.order_id is not None})
    customers = {r.customer_id for r in records.values() if r.customer_id is not None}
    budget = _Budget(store.count_recent_many(customers, since=now - timedelta(days=1)), {})
    endpoints = store.active_endpoints()
    messages: list[NewMessage] = []
    for trigger in triggers:
        record = records.get(trigger.order_id) if trigger.order_id is not None else None
        context = _context(trigger, record, tracking_link)
        messages += _customer_messages(uow, trigger, record, context, renderer, policy, budget, now=now)
        messages += _webhook_messages(endpoints, trigger, context, now=now)
    return store.add_messages(messages, now=now)


def _with_order_ids(uow: NotificationUnitOfWork, triggers: list[Trigger]) -> list[Trigger]:
    """Detectors and incidents name orders by reference: look their ids up (one query)."""
    refs = {t.order_ref for t in triggers if t.order_id is None and t.order_ref}
    if not refs:
        return triggers
    ids = uow.ingest.find_order_ids(refs)
    return [
        replace(t, order_id=ids.get(t.order_ref)) if t.order_id is None and t.order_ref else t
        for t in triggers
    ]


def _context(trigger: Trigger, record: RecipientRecord | None, tracking_link: TrackingLink) -> dict[str, Any]:
    facts = trigger.facts
    expected = expected_at(facts)
    context = {
        "order_ref": (record.order_ref if record else None) or trigger.order_ref or "",
        "tracking_url": tracking_link(trigger.order_id) if trigger.order_id is not None else "",
        "status": facts.get("status"),
        "expected_at": expected.isoformat() if expected else None,
        "cause": facts.get("cause"),
        "remedy": facts.get("remedy"),
        "incident_ref": facts.get("incident") or facts.get("incident_ref"),
    }
    until = expected_until(facts)
    if until is not None:  # the model's P90: the window's end (D3)
        context["expected_until"] = until.isoformat()
    if "offer_id" in facts:  # a remedy offer or the customer's decision on it (D5)
        context |= {key: facts.get(key) for key in _OFFER_FACTS}
    return context


_OFFER_FACTS = ("offer_id", "amount_cents", "currency", "expires_at", "status", "channel")


def _customer_messages(
    uow: NotificationUnitOfWork,
    trigger: Trigger,
    record: RecipientRecord | None,
    context: Mapping[str, Any],
    renderer: MessageRenderer,
    policy: NotificationPolicy,
    budget: _Budget,
    *,
    now: datetime,
) -> list[NewMessage]:
    if record is None:
        return []
    order_id = trigger.order_id
    if trigger.event in DELAY_EVENTS and order_id is not None and order_id not in budget.last_expected:
        budget.last_expected[order_id] = uow.notifications.last_expected_at(order_id)
    customer = record.customer_id
    history = History(
        sent_last_day=budget.sent_last_day.get(customer, 0) if customer is not None else 0,
        last_expected_at=budget.last_expected.get(order_id) if order_id is not None else None,
    )
    intents = plan(trigger, _recipient(record), policy, history, now=now)
    live = [i for i in intents if i.suppressed is None]
    if customer is not None:
        budget.sent_last_day[customer] = history.sent_last_day + len(live)
    if live and trigger.event in DELAY_EVENTS and order_id is not None:
        budget.last_expected[order_id] = expected_at(trigger.facts)
    return [_message(intent, trigger, record, context, renderer) for intent in intents]


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
    endpoints: Sequence[EndpointRecord], trigger: Trigger, context: Mapping[str, Any], *, now: datetime
) -> list[NewMessage]:
    messages = []
    for endpoint in endpoints:
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
