"""Each role may do only its part of the plan (D13, U2): the permission table, role by role."""

from __future__ import annotations

import pytest

from orderwatch.domain.incident_permissions import (
    APPROVE_PERMISSIONS,
    BULK_PERMISSIONS,
    CLAIM_PERMISSIONS,
    COMPENSATION_PERMISSIONS,
    NOTE_PERMISSIONS,
    WAIT_PERMISSIONS,
    allowed_actions,
    may,
)
from orderwatch.domain.incidents import Action, WaitingOn
from orderwatch.domain.roles import ROLE_PERMISSIONS, Role

A = Action


@pytest.mark.parametrize(
    ("role_case", "expected"),
    [
        (Role.leadership, [A.assess, A.assign, A.close, A.cancel, A.reopen]),
        (Role.cs_agent, [A.contact_customer, A.start_resolution, A.resolve]),
        (Role.logistics_agent, [A.start_resolution, A.resolve]),
        (Role.supply_chain, []),
        (Role.admin, [a for a in Action if a is not A.delivered]),  # delivered: the job only
    ],
)
def test_lifecycle_actions_per_role(role_case: Role, expected: list[Action]) -> None:
    assert allowed_actions(ROLE_PERMISSIONS[role_case]) == expected


def test_contacts_and_waits_belong_to_the_team_that_makes_them() -> None:
    cs, logistics, leader = (
        ROLE_PERMISSIONS[r] for r in (Role.cs_agent, Role.logistics_agent, Role.leadership)
    )

    assert may(cs, NOTE_PERMISSIONS["customer_contact"])
    assert not may(logistics, NOTE_PERMISSIONS["customer_contact"])
    assert may(logistics, NOTE_PERMISSIONS["carrier_contact"])
    assert not may(cs, NOTE_PERMISSIONS["carrier_contact"])
    assert may(logistics, WAIT_PERMISSIONS[WaitingOn.carrier])
    assert not may(logistics, WAIT_PERMISSIONS[WaitingOn.customer])
    assert may(leader, BULK_PERMISSIONS)
    assert not may(cs, BULK_PERMISSIONS)
    assert not may(logistics, BULK_PERMISSIONS)


@pytest.mark.parametrize("role_case", list(Role))
def test_every_role_but_supply_chain_reads_and_reports_incidents(role_case: Role) -> None:
    held = {p.value for p in ROLE_PERMISSIONS[role_case]}

    expected = role_case is not Role.supply_chain
    assert ("incidents:read" in held) is expected
    assert ("incidents:report" in held) is expected


@pytest.mark.parametrize(
    ("role_case", "compensates", "approves", "claims"),
    [
        (Role.leadership, True, True, True),
        (Role.cs_agent, True, False, False),
        (Role.logistics_agent, True, False, True),
        (Role.supply_chain, False, False, False),
        (Role.admin, True, True, True),
    ],
)
def test_the_ledger_steps_per_role(role_case: Role, compensates: bool, approves: bool, claims: bool) -> None:
    held = ROLE_PERMISSIONS[role_case]

    assert may(held, COMPENSATION_PERMISSIONS) is compensates
    assert may(held, APPROVE_PERMISSIONS) is approves
    assert may(held, CLAIM_PERMISSIONS) is claims
