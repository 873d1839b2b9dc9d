"""The compensation ledger (U6, D5): what was actually paid or sent to a customer for an incident.

The remedy *policy* (``remedies.py``) suggests an offer; an offer accepted by the customer (issue
6) or agreed by CS is *executed* here, as one ledger entry: a partial or full refund, a coupon, a
free reshipment or a redelivery, with its amount and currency and who approved it.

Approval limits are the policy's :data:`~orderwatch.domain.remedies.APPROVAL_LIMITS`: an entry
within the recorder's limit is ``approved`` at once (a recorder with no role, such as an API key
without the approve scope, has no limit to be within); above it, it is ``pending`` until someone
whose limit covers the amount approves it (or rejects it). Only approved entries count as cost,
and only an approved reshipment creates the linked order.

Rules per kind (amounts in minor units of ``currency``):

==================  =========================================================
full refund         the order value (given or defaulted), never more
partial refund      more than 0 and less than the order value
coupon              more than 0
free reshipment     the goods sent again: defaults to the order value
redelivery          the fee paid to the carrier, 0 or more
==================  =========================================================
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from orderwatch.domain.errors import ValidationFailed
from orderwatch.domain.remedies import approver_for, may_approve
from orderwatch.domain.roles import Role

MAX_AMOUNT_CENTS = 100_000_000  # one million in any currency: a typo, not a refund
_CURRENCY = re.compile(r"^[A-Z]{3}$")
DEFAULT_LEAD_TIME = timedelta(days=7)  # a shop with no promised orders yet


class CompensationKind(StrEnum):
    partial_refund = "partial_refund"
    full_refund = "full_refund"
    coupon = "coupon"
    reshipment = "reshipment"
    redelivery = "redelivery"


class CompensationStatus(StrEnum):
    approved = "approved"
    pending = "pending"  # above the recorder's limit: waits for an approver
    rejected = "rejected"


@dataclass(frozen=True, slots=True)
class CompensationRequest:
    """A checked entry, ready to store: amount fixed by kind, status by the recorder's limit."""

    kind: CompensationKind
    amount_cents: int
    currency: str
    status: CompensationStatus
    requested_by: str
    approver_role: Role  # the least senior role whose limit covers the amount
    note: str


def check_currency(currency: str) -> str:
    """An ISO 4217 code, upper case (``BRL``, ``CNY``)."""
    code = currency.strip().upper()
    if not _CURRENCY.match(code):
        raise ValidationFailed("currency", "must be a three-letter ISO 4217 code", currency)
    return code


def check_amount(field: str, amount_cents: int, *, allow_zero: bool = True) -> int:
    """Whole minor units within 0 (or 1) and :data:`MAX_AMOUNT_CENTS`."""
    low = 0 if allow_zero else 1
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
        raise ValidationFailed(field, "must be a whole number of cents", amount_cents)
    if not low <= amount_cents <= MAX_AMOUNT_CENTS:
        raise ValidationFailed(field, f"must be between {low} and {MAX_AMOUNT_CENTS} cents", amount_cents)
    return amount_cents


def _amount_for(kind: CompensationKind, amount_cents: int | None, order_value_cents: int) -> int:
    if kind in {CompensationKind.full_refund, CompensationKind.reshipment}:
        amount = order_value_cents if amount_cents is None else amount_cents
        check_amount("amount_cents", amount)
        if kind is CompensationKind.full_refund and amount > order_value_cents:
            raise ValidationFailed(
                "amount_cents", f"a full refund cannot exceed the order value {order_value_cents}", amount
            )
        return amount
    if amount_cents is None:
        raise ValidationFailed("amount_cents", f"a {kind} needs an amount")
    if kind is CompensationKind.redelivery:
        return check_amount("amount_cents", amount_cents)
    check_amount("amount_cents", amount_cents, allow_zero=False)
    if kind is CompensationKind.partial_refund and amount_cents >= order_value_cents:
        raise ValidationFailed(
            "amount_cents",
            f"a partial refund must be less than the order value {order_value_cents} (use full_refund)",
            amount_cents,
        )
    return amount_cents


def request(
    *,
    kind: CompensationKind,
    amount_cents: int | None,
    currency: str,
    order_value_cents: int,
    actor: str,
    role: Role | None,
    note: str = "",
) -> CompensationRequest:
    """Check an entry and decide whether the recorder's role may grant it alone.

    ``role`` ``None`` is a recorder without an approval limit (an API key without the approve
    scope): every entry it records waits for an approver, even a zero-cost redelivery.
    """
    amount = _amount_for(kind, amount_cents, order_value_cents)
    alone = role is not None and may_approve(role, amount)
    status = CompensationStatus.approved if alone else CompensationStatus.pending
    return CompensationRequest(
        kind, amount, check_currency(currency), status, actor, approver_for(amount), note.strip()
    )


def check_approver(role: Role, amount_cents: int) -> None:
    """Refuse an approval by a role whose limit does not cover ``amount_cents``."""
    if not may_approve(role, amount_cents):
        raise ValidationFailed(
            "approver",
            f"the role {role} may not approve {amount_cents} cents; it needs {approver_for(amount_cents)}",
        )


def reshipment_promise(now: datetime, lead_times: Sequence[timedelta]) -> datetime:
    """When a reshipment is promised: now plus the shop's usual (median) promised lead time."""
    usable = sorted(t for t in lead_times if t > timedelta(0))
    if not usable:
        return now + DEFAULT_LEAD_TIME
    middle = len(usable) // 2
    usual = usable[middle] if len(usable) % 2 else (usable[middle - 1] + usable[middle]) / 2
    return now + usual
