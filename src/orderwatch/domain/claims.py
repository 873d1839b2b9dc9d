"""Carrier claims for lost or damaged parcels (U7): amount claimed, status, amount recovered.

Lifecycle, declared once in :data:`CLAIM_TRANSITIONS`::

    draft ─file→ filed ─accept→ accepted ─close→ closed
                      ─reject→ rejected ─close→ closed
                      ─pay_part→ partially_paid ─close→ closed
    (accepted ─pay_part→ partially_paid: the carrier accepted but paid less)

Deadlines are the carrier's (:class:`ClaimWindows`, master data on ``carriers``, default 30 days
each): a claim must be filed within ``file_days`` of the incident's report (carriers refuse late
claims) and the carrier owes an answer within ``answer_days`` of filing. A deadline that passes
is escalated once (:func:`deadline_to_escalate`, the job ``incidents.claim_deadlines``). The
amount recovered is fixed by the carrier's answer: all of it on accept, nothing on reject, a
part on a partial payment; closing may correct it (the money that actually arrived).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from orderwatch.domain.compensation import check_amount
from orderwatch.domain.errors import Conflict, ValidationFailed

DEFAULT_FILE_DAYS = 30
DEFAULT_ANSWER_DAYS = 30
MAX_WINDOW_DAYS = 365  # no carrier gives a year; a larger number is a typo


@dataclass(frozen=True, slots=True)
class ClaimWindows:
    """A carrier's claim deadlines in days: to file after the report, to answer after filing (U7)."""

    file_days: int = DEFAULT_FILE_DAYS
    answer_days: int = DEFAULT_ANSWER_DAYS

    def __post_init__(self) -> None:
        for name, value in (("claim_file_days", self.file_days), ("claim_answer_days", self.answer_days)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WINDOW_DAYS:
                raise ValidationFailed(name, f"must be whole days from 1 to {MAX_WINDOW_DAYS}", value)


class ClaimDeadline(StrEnum):
    """The two deadlines of a claim; each is escalated at most once."""

    file_by = "file_by"
    answer_due = "answer_due"


class ClaimStatus(StrEnum):
    draft = "draft"
    filed = "filed"
    accepted = "accepted"
    rejected = "rejected"
    partially_paid = "partially_paid"
    closed = "closed"


class ClaimAction(StrEnum):
    file = "file"
    accept = "accept"
    reject = "reject"
    pay_part = "pay_part"
    close = "close"


C = ClaimStatus
CLAIM_TRANSITIONS: Mapping[ClaimAction, tuple[frozenset[ClaimStatus], ClaimStatus]] = {
    ClaimAction.file: (frozenset({C.draft}), C.filed),
    ClaimAction.accept: (frozenset({C.filed}), C.accepted),
    ClaimAction.reject: (frozenset({C.filed}), C.rejected),
    ClaimAction.pay_part: (frozenset({C.filed, C.accepted}), C.partially_paid),
    ClaimAction.close: (frozenset({C.accepted, C.rejected, C.partially_paid}), C.closed),
}


class IllegalClaimMove(Conflict):
    def __init__(self, claim_id: int | None, current: ClaimStatus, action: ClaimAction) -> None:
        self.current, self.action = current, action
        target = CLAIM_TRANSITIONS[action][1]
        super().__init__(f"claim {claim_id}: cannot {action} a {current} claim (→ {target})")


@dataclass
class Claim:
    """One claim against a carrier for one incident."""

    incident_ref: str
    carrier_code: str
    amount_claimed_cents: int
    currency: str
    file_by: datetime
    created_by: str
    created_at: datetime
    id: int | None = None
    status: ClaimStatus = ClaimStatus.draft
    amount_recovered_cents: int = 0
    carrier_reference: str | None = None
    filed_at: datetime | None = None
    answer_due_at: datetime | None = None
    answered_at: datetime | None = None
    closed_at: datetime | None = None
    note: str = ""
    escalated_at: dict[ClaimDeadline, datetime] = field(default_factory=dict)  # when each was escalated

    def overdue(self, now: datetime) -> ClaimDeadline | None:
        """Which deadline has passed: ``file_by`` while a draft, ``answer_due`` while filed."""
        if self.status is ClaimStatus.draft and now > self.file_by:
            return ClaimDeadline.file_by
        if self.status is ClaimStatus.filed and self.answer_due_at is not None and now > self.answer_due_at:
            return ClaimDeadline.answer_due
        return None


def deadline_to_escalate(claim: Claim, now: datetime) -> ClaimDeadline | None:
    """The deadline of ``claim`` that has passed and was not escalated yet, if any."""
    deadline = claim.overdue(now)
    return None if deadline is None or deadline in claim.escalated_at else deadline


def escalate(claim: Claim, deadline: ClaimDeadline, *, now: datetime) -> dict[str, object]:
    """Mark ``deadline`` escalated at ``now``; returns the detail for the timeline."""
    due = claim.file_by if deadline is ClaimDeadline.file_by else claim.answer_due_at
    assert due is not None
    claim.escalated_at[deadline] = now
    return {
        "claim_id": claim.id,
        "carrier": claim.carrier_code,
        "status": claim.status.value,
        "deadline": deadline.value,
        "due_at": due.isoformat(),
    }


def draft(
    *,
    incident_ref: str,
    carrier_code: str | None,
    amount_claimed_cents: int,
    currency: str,
    reported_at: datetime,
    actor: str,
    now: datetime,
    windows: ClaimWindows = ClaimWindows(),
    note: str = "",
) -> Claim:
    """A new claim in ``draft``, due to be filed within the carrier's ``file_days`` of the report."""
    if not carrier_code:
        raise ValidationFailed("carrier_code", "a claim needs the carrier it is made against")
    check_amount("amount_claimed_cents", amount_claimed_cents, allow_zero=False)
    return Claim(
        incident_ref=incident_ref,
        carrier_code=carrier_code,
        amount_claimed_cents=amount_claimed_cents,
        currency=currency,
        file_by=reported_at + timedelta(days=windows.file_days),
        created_by=actor,
        created_at=now,
        note=note.strip(),
    )


def move(
    claim: Claim,
    action: ClaimAction,
    *,
    now: datetime,
    carrier_reference: str | None = None,
    amount_recovered_cents: int | None = None,
    windows: ClaimWindows = ClaimWindows(),
) -> dict[str, object]:
    """Apply ``action``; returns the detail for the timeline. Raises :class:`IllegalClaimMove`.

    Filing sets the answer deadline from the carrier's ``windows`` as they are at filing.
    """
    sources, target = CLAIM_TRANSITIONS[action]
    if claim.status not in sources:
        raise IllegalClaimMove(claim.id, claim.status, action)
    detail: dict[str, object] = {"claim_id": claim.id, "from": claim.status.value, "to": target.value}
    if action is ClaimAction.file:
        reference = (carrier_reference or "").strip()
        if not reference:
            raise ValidationFailed("carrier_reference", "give the carrier's claim reference when filing")
        claim.carrier_reference, claim.filed_at = reference, now
        claim.answer_due_at = now + timedelta(days=windows.answer_days)
        detail["carrier_reference"] = reference
        detail["answer_due_at"] = claim.answer_due_at.isoformat()
    elif action is ClaimAction.accept:
        claim.amount_recovered_cents = _recovered(claim, amount_recovered_cents, claim.amount_claimed_cents)
    elif action is ClaimAction.reject:
        claim.amount_recovered_cents = 0
    elif action is ClaimAction.pay_part:
        if amount_recovered_cents is None:
            raise ValidationFailed("amount_recovered_cents", "say how much the carrier paid")
        amount = _recovered(claim, amount_recovered_cents, 0)
        if not 0 < amount < claim.amount_claimed_cents:
            raise ValidationFailed(
                "amount_recovered_cents",
                f"a partial payment is more than 0 and less than {claim.amount_claimed_cents}",
                amount,
            )
        claim.amount_recovered_cents = amount
    else:
        claim.amount_recovered_cents = _recovered(claim, amount_recovered_cents, claim.amount_recovered_cents)
        claim.closed_at = now
    if action in {ClaimAction.accept, ClaimAction.reject, ClaimAction.pay_part}:
        claim.answered_at = now
    claim.status = target
    detail["amount_recovered_cents"] = claim.amount_recovered_cents
    return detail


def _recovered(claim: Claim, given: int | None, default: int) -> int:
    amount = default if given is None else check_amount("amount_recovered_cents", given)
    if amount > claim.amount_claimed_cents:
        raise ValidationFailed(
            "amount_recovered_cents", f"cannot exceed the amount claimed {claim.amount_claimed_cents}", amount
        )
    return amount
