"""The remedy policy table and approval limits (D5, U6, U7)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderwatch.domain.causes import Cause
from orderwatch.domain.errors import ValidationFailed
from orderwatch.domain.remedies import Offer, RemedyFacts, approver_for, may_approve, propose
from orderwatch.domain.roles import Role

OF = Offer


@pytest.mark.parametrize(
    ("cause_case", "days_late", "earlier", "expected"),
    [
        (Cause.lost_parcel, 0, 0, ((OF.free_reshipment, OF.full_refund), 20_000, "parcel lost or damaged")),
        (
            Cause.damaged_parcel,
            10,
            3,
            ((OF.free_reshipment, OF.full_refund), 20_000, "parcel lost or damaged"),
        ),
        (Cause.wrong_address, 9, 0, ((OF.redelivery, OF.apology), 0, "consignee's fault")),
        (Cause.refused, 9, 5, ((OF.redelivery, OF.apology), 0, "consignee's fault")),
        (Cause.weather, 3, 0, ((OF.apology, OF.coupon), 1_000, "customs or force majeure")),
        (Cause.customs, 2.9, 0, ((OF.apology,), 0, "otherwise")),
        (Cause.logistics_delay, 7, 0, ((OF.partial_refund,), 4_000, "a week late")),
        (Cause.logistics_delay, 7, 2, ((OF.partial_refund,), 6_000, "a week late")),
        (Cause.system_failure, 3, 0, ((OF.coupon,), 2_000, "three days late")),
        (Cause.supplier_delay, 3, 2, ((OF.coupon,), 4_000, "three days late")),
        (Cause.logistics_delay, 2.5, 9, ((OF.apology,), 0, "otherwise")),
        (Cause.unknown, 30, 0, ((OF.apology,), 0, "otherwise")),
    ],
)
def test_policy_table(
    cause_case: Cause, days_late: float, earlier: int, expected: tuple[object, ...]
) -> None:
    proposal = propose(RemedyFacts(cause_case, days_late, 20_000, earlier_incidents=earlier))

    assert (proposal.offers, proposal.amount_cents, proposal.rule) == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [(0, Role.logistics_agent), (1, Role.cs_agent), (5_000, Role.cs_agent), (5_001, Role.leadership)],
)
def test_approval_limits(amount: int, expected: Role) -> None:
    assert approver_for(amount) is expected
    assert may_approve(Role.leadership, 10**9)
    assert not may_approve(Role.logistics_agent, 1)


@given(st.sampled_from(list(Cause)), st.floats(0, 60), st.integers(0, 10**7), st.integers(0, 20))
def test_money_never_exceeds_the_order_value_and_approver_covers_it(
    cause: Cause, days_late: float, value: int, earlier: int
) -> None:
    proposal = propose(RemedyFacts(cause, days_late, value, earlier_incidents=earlier))

    assert 0 <= proposal.amount_cents <= value
    assert may_approve(proposal.approver, proposal.amount_cents)


def test_bad_facts_are_refused_by_name() -> None:
    with pytest.raises(ValidationFailed, match="order_value_cents"):
        RemedyFacts(Cause.lost_parcel, 1, -5)
