"""The remedy policy (D5, U6, U7): cause × party at fault × days late × order value × history → offer.

One ordered table, first matching rule wins (read it top to bottom like a decision table):

=====================  ==========================  =================================================
party / cause          condition                   offer
=====================  ==========================  =================================================
lost / damaged parcel  —                           free reshipment, or a full refund if preferred
consignee's fault      (address, refused, absent)  redelivery at cost, apology; no compensation
customs / force maj.   ≥ 3 days late               apology + 5 % coupon
carrier / retailer     ≥ 7 days late               partial refund 20 %
carrier / retailer     ≥ 3 days late               coupon 10 %
anything else          —                           apology
=====================  ==========================  =================================================

A customer with ``repeat_after`` or more earlier incidents gets 10 points more on a coupon or a
partial refund (the plan: 维护用户满意度 — a second failure costs more goodwill than the first).
Money offers are whole cents of the order value. Who may grant an offer depends on its amount:
:data:`APPROVAL_LIMITS` per role (the leadership group approves compensation, U2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from orderwatch.domain.causes import PARTY_AT_FAULT, Cause, Party
from orderwatch.domain.errors import ValidationFailed
from orderwatch.domain.roles import Role


class Offer(StrEnum):
    apology = "apology"
    coupon = "coupon"
    partial_refund = "partial_refund"
    full_refund = "full_refund"
    free_reshipment = "free_reshipment"
    redelivery = "redelivery"


@dataclass(frozen=True, slots=True)
class RemedyFacts:
    """What the policy looks at."""

    cause: Cause
    days_late: float
    order_value_cents: int
    earlier_incidents: int = 0

    def __post_init__(self) -> None:
        if self.order_value_cents < 0:
            raise ValidationFailed("order_value_cents", "must not be negative", self.order_value_cents)
        if self.earlier_incidents < 0:
            raise ValidationFailed("earlier_incidents", "must not be negative", self.earlier_incidents)

    @property
    def party(self) -> Party | None:
        return PARTY_AT_FAULT[self.cause]


@dataclass(frozen=True, slots=True)
class RemedyProposal:
    """The offers to make, best first, the money at stake and the rule that chose them."""

    offers: tuple[Offer, ...]
    amount_cents: int
    rule: str

    @property
    def approver(self) -> Role:
        """The least senior role allowed to grant this amount."""
        return approver_for(self.amount_cents)


@dataclass(frozen=True, slots=True)
class RemedyRule:
    name: str
    applies: Callable[[RemedyFacts], bool]
    offers: tuple[Offer, ...]
    percent: int = 0  # of the order value, for coupons and partial refunds
    full_value: bool = False


_CARRIER_OR_SHOP = {Party.carrier, Party.retailer}
RULES: tuple[RemedyRule, ...] = (
    RemedyRule(
        "parcel lost or damaged",
        lambda f: f.cause in {Cause.lost_parcel, Cause.damaged_parcel},
        (Offer.free_reshipment, Offer.full_refund),
        full_value=True,
    ),
    RemedyRule("consignee's fault", lambda f: f.party is Party.consignee, (Offer.redelivery, Offer.apology)),
    RemedyRule(
        "customs or force majeure",
        lambda f: f.party in {Party.customs, Party.force_majeure} and f.days_late >= 3,
        (Offer.apology, Offer.coupon),
        percent=5,
    ),
    RemedyRule(
        "a week late",
        lambda f: f.party in _CARRIER_OR_SHOP and f.days_late >= 7,
        (Offer.partial_refund,),
        percent=20,
    ),
    RemedyRule(
        "three days late",
        lambda f: f.party in _CARRIER_OR_SHOP and f.days_late >= 3,
        (Offer.coupon,),
        percent=10,
    ),
    RemedyRule("otherwise", lambda f: True, (Offer.apology,)),
)
REPEAT_AFTER = 2
REPEAT_BONUS_POINTS = 10

# Largest amount (cents) each role may grant on its own; None = no limit.
APPROVAL_LIMITS: dict[Role, int | None] = {
    Role.cs_agent: 5_000,
    Role.logistics_agent: 0,
    Role.supply_chain: 0,
    Role.leadership: None,
    Role.admin: None,
}
_SENIORITY = (Role.logistics_agent, Role.cs_agent, Role.leadership)


def propose(facts: RemedyFacts) -> RemedyProposal:
    """The first rule of :data:`RULES` that applies, with its amount for this order."""
    rule = next(r for r in RULES if r.applies(facts))
    if rule.full_value:
        return RemedyProposal(rule.offers, facts.order_value_cents, rule.name)
    percent = rule.percent
    if percent and facts.earlier_incidents >= REPEAT_AFTER:
        percent += REPEAT_BONUS_POINTS
    return RemedyProposal(rule.offers, facts.order_value_cents * percent // 100, rule.name)


def may_approve(role: Role, amount_cents: int) -> bool:
    limit = APPROVAL_LIMITS[role]
    return limit is None or amount_cents <= limit


def approver_for(amount_cents: int) -> Role:
    """The least senior role whose limit covers ``amount_cents``."""
    return next(role for role in _SENIORITY if may_approve(role, amount_cents))
