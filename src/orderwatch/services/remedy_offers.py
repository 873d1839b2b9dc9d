"""Remedy offers (D5, U6 customer side): staff or the policy offer, the customer decides.

Each public function is one transaction::

    make_offer (staff, incident page)      ─┐
    offer_by_policy (a confirmed delay,     ├─▶ offer row + outbox ``remedy.offered`` (the customer's
      when the shop enables it)            ─┘    message, planned in their language) + the open
                                                 case's timeline ``remedy_offered``
    decide_offer (tracking page)  ─▶ status accepted/declined + outbox ``remedy.accepted|declined``
                                     (staff, webhooks) + the open case's timeline
    expire_offers (worker job)    ─▶ status expired + outbox ``remedy.expired``

What was offered and decided is recorded here; what is paid belongs to the compensation ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from orderwatch.domain.causes import Cause
from orderwatch.domain.errors import Conflict, NotFound
from orderwatch.domain.incidents import IncidentEvent
from orderwatch.domain.remedies import Offer, RemedyFacts, propose
from orderwatch.domain.remedy_offers import (
    DEFAULT_VALIDITY,
    MONEY_OFFERS,
    Decision,
    OfferStatus,
    OfferTerms,
    check_approval,
    decide,
    may_offer_automatically,
    offer_terms,
)
from orderwatch.domain.roles import Role
from orderwatch.services.incidents import IncidentConfig, record
from orderwatch.services.offer_ports import OfferOrder, OfferRecord, RemedyOfferUnitOfWork
from orderwatch.services.ports import Clock, OutboxMessage

OFFERED_TOPIC = "remedy.offered"
EXPIRED_TOPIC = "remedy.expired"
POLICY_ACTOR = "policy"


def decided_topic(status: OfferStatus) -> str:
    return f"remedy.{status.value}"


def make_offer(
    uow: RemedyOfferUnitOfWork,
    clock: Clock,
    *,
    config: IncidentConfig,
    order_ref: str,
    kind: str,
    amount_cents: int,
    actor: str,
    role: Role,
    validity: timedelta = DEFAULT_VALIDITY,
) -> int:
    """Staff offer a remedy on ``order_ref``, within their role's approval limit; the offer id."""
    now = clock.now()
    with uow:
        order = uow.remedy_offers.find_order(order_ref=order_ref)
        if order is None:
            raise NotFound("order", order_ref)
        terms = offer_terms(
            kind,
            amount_cents,
            currency=order.currency,
            order_value_cents=order.value_cents,
            now=now,
            validity=validity,
        )
        check_approval(role, terms)
        offer_id = _store(uow, order, terms, actor=actor, rule=None, cause_key=None, config=config, now=now)
        assert offer_id is not None  # no cause key: never a duplicate
        uow.commit()
    return offer_id


def offer_by_policy(
    uow: RemedyOfferUnitOfWork,
    *,
    order_ref: str,
    cause: Cause,
    expected_at: datetime | None,
    cause_key: str,
    config: IncidentConfig,
    now: datetime,
    validity: timedelta = DEFAULT_VALIDITY,
) -> int | None:
    """The policy's first offer for a confirmed delay, inside the caller's transaction.

    Days late count to the expected delivery when the model gave one, else to now. Nothing is
    offered when the amount is above what the front line may grant (staff decide those on
    the incident page), or when ``cause_key`` already made an offer.
    """
    order = uow.remedy_offers.find_order(order_ref=order_ref)
    if order is None or order.promised_at is None:
        return None
    late = max(expected_at or now, now) - order.promised_at
    facts = RemedyFacts(
        cause, max(late.total_seconds(), 0) / 86_400, order.value_cents, order.earlier_incidents
    )
    proposal = propose(facts)
    kind = proposal.offers[0]
    amount = proposal.amount_cents if kind in MONEY_OFFERS else 0
    if kind in MONEY_OFFERS and amount == 0:
        kind = Offer.apology  # a percentage of nothing: say sorry instead
    terms = offer_terms(
        kind, amount, currency=order.currency, order_value_cents=order.value_cents, now=now, validity=validity
    )
    if not may_offer_automatically(terms):
        return None
    return _store(
        uow, order, terms, actor=POLICY_ACTOR, rule=proposal.rule, cause_key=cause_key, config=config, now=now
    )


def offer_reshipments(
    uow: RemedyOfferUnitOfWork,
    orders: Sequence[tuple[str, str]],
    *,
    actor: str,
    role: Role,
    config: IncidentConfig,
    now: datetime,
    validity: timedelta = DEFAULT_VALIDITY,
) -> tuple[int, int]:
    """A free-reshipment offer on each ``(cause_key, order_ref)``, inside the caller's transaction.

    A major incident's bulk action: each offer is a real offer row with its own customer
    message, decided on the tracking page like any other. Its value is the order's value
    (what re-sending the goods costs the shop), within ``role``'s approval limit or nothing
    is offered (``PermissionDenied``). ``cause_key`` makes a repeat offer nothing; an order
    without a value (nothing known to re-send) is skipped. Returns (offers made, skipped).
    """
    made = skipped = 0
    for cause_key, order_ref in orders:
        order = uow.remedy_offers.find_order(order_ref=order_ref)
        if order is None or order.value_cents <= 0:
            skipped += 1
            continue
        terms = offer_terms(
            Offer.free_reshipment.value,
            order.value_cents,
            currency=order.currency,
            order_value_cents=order.value_cents,
            now=now,
            validity=validity,
        )
        check_approval(role, terms)
        offer_id = _store(
            uow, order, terms, actor=actor, rule=None, cause_key=cause_key, config=config, now=now
        )
        made += offer_id is not None
    return made, skipped


def _store(
    uow: RemedyOfferUnitOfWork,
    order: OfferOrder,
    terms: OfferTerms,
    *,
    actor: str,
    rule: str | None,
    cause_key: str | None,
    config: IncidentConfig,
    now: datetime,
) -> int | None:
    incident_ref = uow.incidents.active_ref_for_order(order.order_id)
    incident = uow.incidents.get(incident_ref) if incident_ref else None
    offer_id = uow.remedy_offers.add(
        order,
        terms,
        incident_id=incident.id if incident else None,
        offered_by=actor,
        rule=rule,
        cause_key=cause_key,
    )
    if offer_id is None:
        return None
    payload = {
        "offer_id": offer_id,
        "order_id": order.order_id,
        "order_ref": order.order_ref,
        "remedy": terms.kind.value,
        "amount_cents": terms.amount_cents,
        "currency": terms.currency,
        "expires_at": terms.expires_at.isoformat(),
        "offered_by": actor,
        "incident": incident.ref if incident else None,
    }
    uow.outbox.enqueue([OutboxMessage(OFFERED_TOPIC, f"{OFFERED_TOPIC}:{offer_id}", payload)], now=now)
    if incident is not None:
        detail = {k: payload[k] for k in ("offer_id", "remedy", "amount_cents", "currency", "expires_at")}
        event = IncidentEvent("remedy_offered", incident.ref, now, actor, detail=detail)
        record(uow, incident, [event], config=config, now=now)
    return offer_id


def decide_offer(
    uow: RemedyOfferUnitOfWork,
    clock: Clock,
    *,
    config: IncidentConfig,
    order_id: int,
    offer_id: int,
    decision: Decision,
    channel: str,
) -> OfferStatus:
    """The customer of ``order_id`` accepts or declines offer ``offer_id``; the status after it.

    An offer of another order is ``NotFound`` (the caller proved access to ``order_id`` only);
    repeating the decision changes nothing; an expired offer or the opposite decision after
    one is a ``Conflict``.
    """
    now = clock.now()
    with uow:
        store = uow.remedy_offers
        offer = store.get(offer_id)
        if offer is None or offer.order_id != order_id:
            raise NotFound("offer", offer_id)
        if not decide(offer.status, offer.expires_at, decision, now=now):
            return decision.status
        if not store.record_decision(offer_id, decision.status, channel=channel, now=now):
            # Another request decided in between: the same decision is a repeat, else a conflict.
            current = store.get(offer_id)
            if current is not None and current.status is decision.status:
                return decision.status
            raise Conflict(f"this offer was already {current.status.value if current else 'removed'}")
        payload = _decision_payload(offer, decision.status, channel=channel, now=now)
        uow.outbox.enqueue(
            [
                OutboxMessage(
                    decided_topic(decision.status), f"{decided_topic(decision.status)}:{offer_id}", payload
                )
            ],
            now=now,
        )
        incident_ref = uow.incidents.active_ref_for_order(order_id)
        if incident_ref is not None:
            incident = uow.incidents.get(incident_ref)
            event = IncidentEvent(
                f"remedy_{decision.status.value}",
                incident.ref,
                now,
                "customer",
                detail={"offer_id": offer_id, "remedy": offer.kind, "channel": channel},
            )
            record(uow, incident, [event], config=config, now=now)
        uow.commit()
    return decision.status


def _offer_payload(offer: OfferRecord, status: OfferStatus) -> dict[str, Any]:
    """An offer's outbox facts: what was offered and its status (messages name the remedy)."""
    return {
        "offer_id": offer.id,
        "order_id": offer.order_id,
        "order_ref": offer.order_ref,
        "remedy": offer.kind,
        "amount_cents": offer.amount_cents,
        "currency": offer.currency,
        "status": status.value,
    }


def _decision_payload(
    offer: OfferRecord, status: OfferStatus, *, channel: str, now: datetime
) -> dict[str, Any]:
    return _offer_payload(offer, status) | {"channel": channel, "decided_at": now.isoformat()}


def expire_offers(uow: RemedyOfferUnitOfWork, clock: Clock, *, limit: int = 500) -> int:
    """Mark offers past their expiry as expired (the worker job); how many."""
    now = clock.now()
    with uow:
        expired = uow.remedy_offers.expire_due(now=now, limit=limit)
        uow.outbox.enqueue(
            [
                OutboxMessage(
                    EXPIRED_TOPIC,
                    f"{EXPIRED_TOPIC}:{offer.id}",
                    # What lapsed, so the customer's message can name it (D5).
                    _offer_payload(offer, OfferStatus.expired) | {"expires_at": offer.expires_at.isoformat()},
                )
                for offer in expired
            ],
            now=now,
        )
        uow.commit()
    return len(expired)


def offers_of_order(uow: RemedyOfferUnitOfWork, order_id: int) -> list[OfferRecord]:
    """The order's offers, newest first (read only)."""
    with uow:
        return uow.remedy_offers.of_order(order_id)
