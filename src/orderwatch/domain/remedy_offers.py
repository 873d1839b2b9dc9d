"""Remedy offers made to a customer and the customer's decision (D5, U6 customer side).

The remedy *policy* (``domain/remedies.py``) says what to offer; an *offer* is what was
actually put to one customer, and it has a small lifecycle::

    offered ──accept (before expiry)──▶ accepted
            ──decline (before expiry)─▶ declined
            ──expiry passes───────────▶ expired     (an expired offer cannot be accepted)

One decision only: repeating the same decision is a no-op (a double click, a replayed POST),
the other decision after it is a conflict. Who may *make* an offer depends on its amount
(``remedies.APPROVAL_LIMITS``); automatic offers by policy stay within the front-line limit.
What is offered here is not a payment: the compensation ledger (what was paid) is another part.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from orderwatch.domain.errors import Conflict, PermissionDenied, ValidationFailed
from orderwatch.domain.remedies import Offer, may_approve
from orderwatch.domain.roles import Role

# Offers that carry money; the others (apology, redelivery) are worth 0.
MONEY_OFFERS = frozenset({Offer.coupon, Offer.partial_refund, Offer.full_refund, Offer.free_reshipment})
DEFAULT_VALIDITY = timedelta(days=7)
MAX_VALIDITY = timedelta(days=60)
# The role whose limit bounds what the policy may offer on its own (no person approved it).
AUTOMATIC_APPROVER = Role.cs_agent


class OfferStatus(StrEnum):
    offered = "offered"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"


class Decision(StrEnum):
    accept = "accept"
    decline = "decline"

    @property
    def status(self) -> OfferStatus:
        return OfferStatus.accepted if self is Decision.accept else OfferStatus.declined


@dataclass(frozen=True, slots=True)
class OfferTerms:
    """What is offered: the kind, its value in cents of ``currency``, how long it stands."""

    kind: Offer
    amount_cents: int
    currency: str
    offered_at: datetime
    expires_at: datetime


def offer_terms(
    kind: str,
    amount_cents: int,
    *,
    currency: str,
    order_value_cents: int,
    now: datetime,
    validity: timedelta = DEFAULT_VALIDITY,
) -> OfferTerms:
    """Check an offer's terms; every refusal names the field."""
    try:
        offer = Offer(kind)
    except ValueError:
        raise ValidationFailed("kind", f"must be one of {', '.join(Offer)}", kind) from None
    if amount_cents < 0:
        raise ValidationFailed("amount_cents", "must not be negative", amount_cents)
    if offer in MONEY_OFFERS and amount_cents == 0:
        raise ValidationFailed("amount_cents", f"a {offer.value} offer needs an amount", amount_cents)
    if offer not in MONEY_OFFERS and amount_cents != 0:
        raise ValidationFailed("amount_cents", f"a {offer.value} offer carries no amount", amount_cents)
    if amount_cents > order_value_cents and offer in MONEY_OFFERS:
        raise ValidationFailed(
            "amount_cents", f"is more than the order's value ({order_value_cents})", amount_cents
        )
    if len(currency) != 3 or not currency.isalpha():
        raise ValidationFailed("currency", "must be a 3-letter ISO 4217 code", currency)
    if not timedelta(hours=1) <= validity <= MAX_VALIDITY:
        raise ValidationFailed("validity", f"must be between 1 hour and {MAX_VALIDITY.days} days", validity)
    return OfferTerms(offer, amount_cents, currency.upper(), now, now + validity)


def check_approval(role: Role, terms: OfferTerms) -> None:
    """Staff may only offer what their role may grant (``remedies.APPROVAL_LIMITS``)."""
    if not may_approve(role, terms.amount_cents):
        raise PermissionDenied(
            f"a {role.value} may not offer {terms.amount_cents} cents; ask a more senior role"
        )


def may_offer_automatically(terms: OfferTerms) -> bool:
    """Whether the policy may make this offer without a person (within the front line's limit)."""
    return may_approve(AUTOMATIC_APPROVER, terms.amount_cents)


def effective_status(status: OfferStatus, expires_at: datetime, now: datetime) -> OfferStatus:
    """An offer still ``offered`` after its expiry reads as expired (before the job marks it)."""
    return OfferStatus.expired if status is OfferStatus.offered and now >= expires_at else status


def decide(status: OfferStatus, expires_at: datetime, decision: Decision, *, now: datetime) -> bool:
    """The new status is ``decision.status``; True if it changes, False for a repeat of it.

    Raises ``Conflict`` for an expired offer or the opposite of a decision already taken.
    """
    current = effective_status(status, expires_at, now)
    if current is decision.status:
        return False
    if current is OfferStatus.expired:
        raise Conflict("this offer has expired")
    if current is not OfferStatus.offered:
        raise Conflict(f"this offer was already {current.value}")
    return True
