"""The carrier-claim lifecycle (U7) against a model, and the compensation rules (U6, D5).

The model is written apart from ``CLAIM_TRANSITIONS``: the allowed moves as a plain dict. After
every rule the claim is in the model's state, the amount recovered never exceeds the amount
claimed, and the answer's deadline exists exactly once the claim was filed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from orderwatch.domain import claims
from orderwatch.domain.claims import ClaimAction, IllegalClaimMove
from orderwatch.domain.compensation import CompensationKind, CompensationStatus, request, reshipment_promise
from orderwatch.domain.errors import ValidationFailed
from orderwatch.domain.remedies import APPROVAL_LIMITS
from orderwatch.domain.roles import Role

START = datetime(2018, 3, 1, 12, tzinfo=UTC)
CLAIMED = 10_000
MODEL = {
    ("draft", "file"): "filed",
    ("filed", "accept"): "accepted",
    ("filed", "reject"): "rejected",
    ("filed", "pay_part"): "partially_paid",
    ("accepted", "pay_part"): "partially_paid",
    ("accepted", "close"): "closed",
    ("rejected", "close"): "closed",
    ("partially_paid", "close"): "closed",
}


def amount_is_valid(action: ClaimAction, amount: int | None) -> bool:
    """The model's amount rule: a partial payment is strictly between 0 and the claim."""
    if action in {ClaimAction.file, ClaimAction.reject}:
        return True  # no amount is read
    if action is ClaimAction.pay_part:
        return amount is not None and 0 < amount < CLAIMED
    return amount is None or 0 <= amount <= CLAIMED


class ClaimLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.claim = claims.draft(
            incident_ref="INC-1",
            carrier_code="correios",
            amount_claimed_cents=CLAIMED,
            currency="BRL",
            reported_at=START,
            actor="lg",
            now=START,
        )
        self.model = "draft"

    @rule(days=st.integers(0, 40))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days)

    @rule(
        action=st.sampled_from(list(ClaimAction)), amount=st.one_of(st.none(), st.integers(-5, CLAIMED + 5))
    )
    def move(self, action: ClaimAction, amount: int | None) -> None:
        expected = MODEL.get((self.model, action.value))
        before = self.claim.status

        def attempt() -> None:
            claims.move(
                self.claim, action, now=self.now, carrier_reference="REF-1", amount_recovered_cents=amount
            )

        if expected is None:
            with pytest.raises(IllegalClaimMove, match=f"cannot {action} a {before} claim"):
                attempt()
        elif not amount_is_valid(action, amount):
            with pytest.raises(ValidationFailed, match="amount_recovered_cents"):
                attempt()
        else:
            attempt()
            self.model = expected
        assert (self.claim.status is before) == (self.model == before.value)

    @invariant()
    def follows_the_model(self) -> None:
        assert self.claim.status.value == self.model

    @invariant()
    def recovered_is_within_the_claim(self) -> None:
        assert 0 <= self.claim.amount_recovered_cents <= CLAIMED
        if self.model == "rejected":
            assert self.claim.amount_recovered_cents == 0

    @invariant()
    def answer_due_once_filed(self) -> None:
        assert (self.claim.answer_due_at is None) == (self.model == "draft")
        assert self.claim.overdue(self.now) in (None, "file_by", "answer_due")


ClaimLifecycle.TestCase.settings = settings(max_examples=60, stateful_step_count=20, deadline=None)
TestClaimLifecycle = ClaimLifecycle.TestCase


@given(amount=st.integers(0, 1_000_000), role=st.sampled_from(list(Role)))
def test_an_entry_is_approved_exactly_when_the_role_limit_covers_it(amount: int, role: Role) -> None:
    entry = request(
        kind=CompensationKind.redelivery,
        amount_cents=amount,
        currency="brl",
        order_value_cents=10_000,
        actor="x",
        role=role,
    )

    limit = APPROVAL_LIMITS[role]
    covered = limit is None or amount <= limit
    assert entry.status is (CompensationStatus.approved if covered else CompensationStatus.pending)
    assert entry.currency == "BRL"
    assert APPROVAL_LIMITS[entry.approver_role] is None or amount <= APPROVAL_LIMITS[entry.approver_role]  # type: ignore[operator]


@pytest.mark.parametrize(
    ("currency", "message"), [("R$", "currency: must be a three-letter ISO 4217 code"), ("EURO", "currency")]
)
def test_a_bad_currency_is_refused_by_name(currency: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        request(
            kind=CompensationKind.coupon,
            amount_cents=100,
            currency=currency,
            order_value_cents=1_000,
            actor="x",
            role=Role.leadership,
        )


def test_a_reshipment_is_promised_after_the_median_lead_time() -> None:
    days = [timedelta(days=d) for d in (4, 10, 7, -1)]  # a negative lead time is bad data, left out

    assert reshipment_promise(START, days) == START + timedelta(days=7)
    assert reshipment_promise(START, []) == START + timedelta(days=7)  # the default
