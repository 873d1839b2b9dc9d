"""Notification rules: which event sends which message to whom, on which channel, and when (D4, D5, U14).

Pure decisions, no sending. The pipeline around them::

    outbox event (order.status_changed, shipment.status_changed, risk.flag_raised, incident.*)
        ──▶ triggers_for(topic, payload)   which customer-facing events it means
        ──▶ plan(trigger, recipient, policy, history, now)   one Intent per channel:
               - channel enabled for the event by the shop's rules and chosen by the customer
               - no contact on that channel → suppressed ("no_contact")
               - quiet hours (shop time zone) → send at the end of the quiet window
               - per-customer rate limit in a rolling day → suppressed ("rate_limited")
               - a new "delay" message only when the expected date moved by ≥ the minimum
                 (ANCHORS §7: ETA churn) → otherwise suppressed ("no_change")
        ──▶ services/notifications.py stores them as message rows (idempotency key per
            state entry × channel × recipient: one message per state entry, ANCHORS §7)

Webhooks to the shop's own systems are not customer messages: every event goes to every
active endpoint subscribed to it, without quiet hours or rate limits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from orderwatch.domain.types import Language


class NotificationEvent(StrEnum):
    """Customer-facing moments of an order (issue 6 list); also the template names."""

    order_confirmed = "order_confirmed"
    shipped = "shipped"
    out_for_delivery = "out_for_delivery"
    delivered = "delivered"
    delay_risk = "delay_risk"
    delay_confirmed = "delay_confirmed"
    incident_opened = "incident_opened"
    incident_updated = "incident_updated"
    incident_resolved = "incident_resolved"
    remedy_offered = "remedy_offered"
    remedy_expired = "remedy_expired"  # an offer lapsed unanswered: the customer is told, once
    feedback_request = "feedback_request"
    # The customer's decision on an offer: for staff and the shop's webhooks, never a customer message.
    remedy_accepted = "remedy_accepted"
    remedy_declined = "remedy_declined"


class Channel(StrEnum):
    email = "email"
    sms = "sms"
    webhook = "webhook"


CUSTOMER_CHANNELS = (Channel.email, Channel.sms)

# The shop's defaults; ``ORDERWATCH_NOTIFICATION_RULES`` overrides them per event.
DEFAULT_RULES: Mapping[NotificationEvent, frozenset[Channel]] = {
    NotificationEvent.order_confirmed: frozenset({Channel.email}),
    NotificationEvent.shipped: frozenset({Channel.email}),
    NotificationEvent.out_for_delivery: frozenset({Channel.email, Channel.sms}),
    NotificationEvent.delivered: frozenset({Channel.email}),
    NotificationEvent.delay_risk: frozenset({Channel.email}),
    NotificationEvent.delay_confirmed: frozenset({Channel.email, Channel.sms}),
    NotificationEvent.incident_opened: frozenset({Channel.email, Channel.sms}),
    NotificationEvent.incident_updated: frozenset({Channel.email}),
    NotificationEvent.incident_resolved: frozenset({Channel.email}),
    NotificationEvent.remedy_offered: frozenset({Channel.email, Channel.sms}),
    # E-mail only: nothing is urgent about it, but the customer should not find out by trying.
    NotificationEvent.remedy_expired: frozenset({Channel.email}),
    NotificationEvent.feedback_request: frozenset({Channel.email}),
    NotificationEvent.remedy_accepted: frozenset(),
    NotificationEvent.remedy_declined: frozenset(),
}
STAFF_EVENTS = frozenset({NotificationEvent.remedy_accepted, NotificationEvent.remedy_declined})

# Delay messages are the ones that churn (ETA recalculated many times a day).
DELAY_EVENTS = frozenset({NotificationEvent.delay_risk, NotificationEvent.delay_confirmed})

_SHIPMENT_EVENTS = {
    "picked_up": NotificationEvent.shipped,
    "in_transit": NotificationEvent.shipped,
    "out_for_delivery": NotificationEvent.out_for_delivery,
    "delivered": NotificationEvent.delivered,
}
_ORDER_EVENTS = {"approved": NotificationEvent.order_confirmed}
# incident.<kind> topics (``domain/incidents.py`` actions) that the customer hears about.
_INCIDENT_EVENTS = {
    "reported": NotificationEvent.incident_opened,
    "start_resolution": NotificationEvent.incident_updated,  # the remedy is agreed and under way
    "resolve": NotificationEvent.incident_resolved,
    "resolved": NotificationEvent.incident_resolved,
}
# An offer's own outbox rows (services/remedy_offers.py); the case's timeline entry
# ``incident.remedy_offered`` is for staff only, so the customer hears of the offer once.
_REMEDY_EVENTS = {
    "remedy.offered": NotificationEvent.remedy_offered,
    "remedy.accepted": NotificationEvent.remedy_accepted,
    "remedy.declined": NotificationEvent.remedy_declined,
    "remedy.expired": NotificationEvent.remedy_expired,
}
# Bulk messages staff send to every customer of a major incident (services/major_incidents.py).
# ``reship_offer`` now makes real offers (their own ``remedy.offered`` rows); its entry here
# plans the rows queued before that change.
_BULK_TEMPLATES = {
    "delay_apology": (NotificationEvent.delay_confirmed, None),
    "delay_update": (NotificationEvent.incident_updated, None),
    "reship_offer": (NotificationEvent.remedy_offered, "reshipment"),
}
# Risk flags that mean "the promise is already broken" rather than "it may be".
_CONFIRMED_DELAY_KINDS = frozenset({"promise_passed"})


@dataclass(frozen=True, slots=True)
class Trigger:
    """A customer-facing event of one order; ``entry_key`` names the state entry it belongs to."""

    event: NotificationEvent
    order_id: int | None
    order_ref: str | None
    entry_key: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    delay: timedelta = timedelta(0)  # how long after the cause the message is due (feedback)


class _Maker:
    """Builds the triggers of one outbox event (its order, facts and key)."""

    def __init__(self, payload: Mapping[str, Any], key: str, feedback_delay: timedelta) -> None:
        self.payload, self.key, self.feedback_delay = payload, key, feedback_delay
        self.order_id = payload.get("order_id")
        self.facts = dict(payload)

    def one(
        self, event: NotificationEvent, *, entry: str | None = None, delay: timedelta = timedelta(0)
    ) -> Trigger:
        return Trigger(
            event,
            self.order_id,
            self.payload.get("order_ref"),
            entry or f"{event.value}:{self.key}",
            self.facts,
            delay,
        )

    def order(self) -> list[Trigger]:
        event = _ORDER_EVENTS.get(str(self.payload.get("status")))
        return [self.one(event, entry=f"{event.value}:order:{self.order_id}")] if event else []

    def shipment(self) -> list[Trigger]:
        event = _SHIPMENT_EVENTS.get(str(self.payload.get("status")))
        if event is NotificationEvent.shipped:  # once per order, whichever scan comes first
            return [self.one(event, entry=f"shipped:order:{self.order_id}")]
        if event is NotificationEvent.delivered:
            return [
                self.one(event, entry=f"delivered:order:{self.order_id}"),
                self.one(
                    NotificationEvent.feedback_request,
                    entry=f"feedback:order:{self.order_id}",
                    delay=self.feedback_delay,
                ),
            ]
        return [self.one(event)] if event else []

    def risk(self) -> list[Trigger]:
        confirmed = str(self.payload.get("kind")) in _CONFIRMED_DELAY_KINDS
        return [self.one(NotificationEvent.delay_confirmed if confirmed else NotificationEvent.delay_risk)]

    def bulk(self) -> list[Trigger]:
        event, remedy = _BULK_TEMPLATES.get(str(self.payload.get("template")), (None, None))
        if event is None:
            return []
        trigger = self.one(event)
        return [replace(trigger, facts={**self.facts, "remedy": remedy})] if remedy else [trigger]

    def remedy(self, topic: str) -> list[Trigger]:
        event = _REMEDY_EVENTS[topic]
        return [self.one(event, entry=f"{event.value}:offer:{self.payload.get('offer_id')}")]

    def incident(self, kind: str) -> list[Trigger]:
        event = _INCIDENT_EVENTS.get(kind) or _INCIDENT_EVENTS.get(str(self.payload.get("to_status")))
        if event is None:
            return []
        triggers = [self.one(event)]
        if event is NotificationEvent.incident_resolved:
            incident = self.payload.get("incident") or self.payload.get("incident_ref") or self.key
            triggers.append(
                self.one(NotificationEvent.feedback_request, entry=f"feedback:incident:{incident}")
            )
        return triggers


def triggers_for(
    topic: str, payload: Mapping[str, Any], *, key: str, feedback_delay: timedelta = timedelta(days=1)
) -> list[Trigger]:
    """The customer-facing events an outbox event means (none for most topics).

    ``key`` is the outbox row's idempotency key: the same cause processed twice gives the
    same entry keys, hence the same message keys.
    """
    maker = _Maker(payload, key, feedback_delay)
    by_topic = {
        "order.status_changed": maker.order,
        "shipment.status_changed": maker.shipment,
        "risk.flag_raised": maker.risk,
        "customer.incident_message": maker.bulk,
    }
    if topic in by_topic:
        return by_topic[topic]()
    if topic in _REMEDY_EVENTS:
        return maker.remedy(topic)
    if topic.startswith("incident."):
        return maker.incident(topic.removeprefix("incident."))
    return []


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A nightly window (shop time zone) when intrusive channels wait; ``start > end`` spans midnight."""

    start: time
    end: time
    timezone: str
    channels: frozenset[Channel] = frozenset({Channel.sms})

    def release_time(self, now: datetime, channel: Channel) -> datetime:
        """``now`` if the channel may send now, else the end of the current quiet window (UTC)."""
        if channel not in self.channels or self.start == self.end:
            return now
        zone = ZoneInfo(self.timezone)
        local = now.astimezone(zone)
        clock = local.time()
        spans_midnight = self.start > self.end
        inside = (
            (clock >= self.start or clock < self.end) if spans_midnight else self.start <= clock < self.end
        )
        if not inside:
            return now
        end_day = local.date() + timedelta(days=1) if spans_midnight and clock >= self.start else local.date()
        return datetime.combine(end_day, self.end, tzinfo=zone).astimezone(now.tzinfo)


@dataclass(frozen=True, slots=True)
class NotificationPolicy:
    """The shop's configurable rules (settings ``ORDERWATCH_NOTIFICATION_*``)."""

    rules: Mapping[NotificationEvent, frozenset[Channel]] = field(default_factory=lambda: dict(DEFAULT_RULES))
    quiet_hours: QuietHours = QuietHours(time(21, 0), time(8, 0), "America/Sao_Paulo")
    max_per_customer_per_day: int = 6
    min_delay_change: timedelta = timedelta(hours=12)
    feedback_delay: timedelta = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Recipient:
    """The customer of an order as the rules need them (contacts, language, chosen channels)."""

    customer_id: int | None
    email: str | None
    phone: str | None
    language: Language
    channels: frozenset[Channel] | None = None  # None: everything the shop sends

    def address(self, channel: Channel) -> str | None:
        return {Channel.email: self.email, Channel.sms: self.phone}.get(channel)


@dataclass(frozen=True, slots=True)
class History:
    """What was already sent to the customer, for the rate limit and the churn rule."""

    sent_last_day: int = 0
    last_expected_at: datetime | None = None  # expected date told in the last delay message


class Suppression(StrEnum):
    """Why a planned message is kept (visible to staff) but not sent."""

    no_contact = "no_contact"
    rate_limited = "rate_limited"
    no_change = "no_change"


@dataclass(frozen=True, slots=True)
class Intent:
    """One message to send (or to keep as suppressed) on one channel."""

    event: NotificationEvent
    channel: Channel
    recipient: str
    language: Language
    idempotency_key: str
    send_at: datetime
    suppressed: Suppression | None = None


def _moment(facts: Mapping[str, Any], name: str) -> datetime | None:
    value = facts.get(name) or (facts.get("details") or {}).get(name)
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else None


def expected_at(facts: Mapping[str, Any]) -> datetime | None:
    """The new expected delivery a delay event carries, if any (``expected_at`` ISO 8601)."""
    return _moment(facts, "expected_at")


def expected_until(facts: Mapping[str, Any]) -> datetime | None:
    """The late end of the expected window (the model's P90), if the event carries one."""
    return _moment(facts, "expected_until")


def is_significant_change(previous: datetime | None, new: datetime | None, minimum: timedelta) -> bool:
    """A delay message is worth sending the first time, or when the expected date moved enough."""
    if previous is None or new is None:
        return True
    return abs(new - previous) >= minimum


def plan(
    trigger: Trigger, recipient: Recipient, policy: NotificationPolicy, history: History, *, now: datetime
) -> list[Intent]:
    """The customer messages for ``trigger``: one intent per enabled channel, in channel order."""
    wanted = policy.rules.get(trigger.event, frozenset())
    if recipient.channels is not None:
        wanted = wanted & recipient.channels
    intents: list[Intent] = []
    budget = policy.max_per_customer_per_day - history.sent_last_day
    churn = trigger.event in DELAY_EVENTS and not is_significant_change(
        history.last_expected_at, expected_at(trigger.facts), policy.min_delay_change
    )
    for channel in CUSTOMER_CHANNELS:
        if channel not in wanted:
            continue
        address = recipient.address(channel)
        suppressed: Suppression | None = None
        if not address:
            suppressed = Suppression.no_contact
        elif churn:
            suppressed = Suppression.no_change
        elif budget <= 0:
            suppressed = Suppression.rate_limited
        else:
            budget -= 1
        due = now + trigger.delay
        intents.append(
            Intent(
                event=trigger.event,
                channel=channel,
                recipient=address or "",
                language=recipient.language,
                idempotency_key=f"{trigger.entry_key}:{channel.value}",
                send_at=policy.quiet_hours.release_time(due, channel),
                suppressed=suppressed,
            )
        )
    return intents


def subscribed(events: str, event: NotificationEvent) -> bool:
    """Whether an endpoint's comma list of events (``*`` = all) includes ``event``."""
    names = {name.strip() for name in events.split(",") if name.strip()}
    return "*" in names or event.value in names


def parse_rules(text: Mapping[str, Sequence[str]]) -> dict[NotificationEvent, frozenset[Channel]]:
    """Shop rules from settings (``{"delivered": ["email", "sms"], ...}``) over the defaults.

    Raises ``ValueError`` naming the unknown event or channel.
    """
    rules = dict(DEFAULT_RULES)
    for name, channels in text.items():
        try:
            event = NotificationEvent(name)
        except ValueError:
            raise ValueError(f"notification rules: unknown event {name!r}") from None
        try:
            rules[event] = frozenset(Channel(c) for c in channels)
        except ValueError:
            raise ValueError(
                f"notification rules: event {name!r} has an unknown channel in {channels!r}"
            ) from None
        if event in STAFF_EVENTS and rules[event]:
            raise ValueError(f"notification rules: event {name!r} goes to staff and webhooks, not customers")
    return rules
