"""Who may do which step of an incident (D13, U2): each team only its part of the plan.

* the leadership group assesses, assigns, hands out tasks, cancels, closes, reopens and takes
  the bulk actions of a major incident (``incidents:lead``);
* the CS emergency team contacts the customer and agrees the remedy (``incidents:customer``);
* the logistics emergency team talks to the carrier, locates the parcel, arranges redelivery
  and files the claim (``incidents:carrier``, ``incidents:claims``);
* CS, logistics and the leadership record compensation (``incidents:compensate``), the
  leadership approves it (``incidents:approve``).

Starting and finishing the resolution belongs to whichever of the two teams carries it out.
Pages and API routes ask :func:`may` and show only the actions it allows.
"""

from __future__ import annotations

from collections.abc import Iterable

from orderwatch.domain.incidents import Action, WaitingOn
from orderwatch.domain.roles import Permission

P = Permission
ACTION_PERMISSIONS: dict[Action, frozenset[Permission]] = {
    Action.assess: frozenset({P.incidents_lead}),
    Action.assign: frozenset({P.incidents_lead}),
    Action.contact_customer: frozenset({P.incidents_customer}),
    Action.start_resolution: frozenset({P.incidents_customer, P.incidents_carrier}),
    Action.resolve: frozenset({P.incidents_customer, P.incidents_carrier}),
    Action.close: frozenset({P.incidents_lead}),
    Action.cancel: frozenset({P.incidents_lead}),
    Action.reopen: frozenset({P.incidents_lead}),
    Action.delivered: frozenset(),  # only the delivery job resolves a case this way
}
NOTE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "note": frozenset({P.incidents_lead, P.incidents_customer, P.incidents_carrier}),
    "customer_contact": frozenset({P.incidents_customer}),
    "carrier_contact": frozenset({P.incidents_carrier}),
}
WAIT_PERMISSIONS: dict[WaitingOn | None, frozenset[Permission]] = {
    WaitingOn.customer: frozenset({P.incidents_customer}),
    WaitingOn.carrier: frozenset({P.incidents_carrier}),
    None: frozenset({P.incidents_customer, P.incidents_carrier, P.incidents_lead}),
}
TASK_PERMISSIONS = frozenset({P.incidents_lead})
# Recording compensation: CS agrees it with the customer, logistics arranges reshipment and
# redelivery, the lead approves; how much each role may grant alone is ``remedies.APPROVAL_LIMITS``.
# Pages and the API check the same three permissions (API keys hold them as scopes).
COMPENSATION_PERMISSIONS = frozenset({P.incidents_compensate})
APPROVE_PERMISSIONS = frozenset({P.incidents_approve})
CLAIM_PERMISSIONS = frozenset({P.incidents_claims})
BULK_PERMISSIONS = frozenset({P.incidents_lead})


def may(held: Iterable[Permission], needed: frozenset[Permission]) -> bool:
    """Whether someone holding ``held`` may do a step needing any one of ``needed``."""
    return not needed.isdisjoint(held)


def allowed_actions(held: Iterable[Permission]) -> list[Action]:
    """The lifecycle actions the holder of ``held`` may take, in table order."""
    permissions = frozenset(held)
    return [action for action, needed in ACTION_PERMISSIONS.items() if may(permissions, needed)]
