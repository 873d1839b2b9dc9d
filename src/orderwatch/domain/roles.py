"""Staff roles and what each may do (D13, U2): the single permission table of OrderWatch.

A role is granted a set of permissions; every page, API route and service checks a permission,
never a role name, so that changing who may do what is one edit here.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Staff roles from the emergency plan's organization (U2)."""

    admin = "admin"
    leadership = "leadership"
    cs_agent = "cs_agent"
    logistics_agent = "logistics_agent"
    supply_chain = "supply_chain"


class Permission(StrEnum):
    """Things a person or an API key may do."""

    orders_read = "orders:read"
    orders_write = "orders:write"
    events_write = "events:write"
    customers_read_pii = "customers:read_pii"
    shipments_write = "shipments:write"
    suppliers_read = "suppliers:read"
    suppliers_write = "suppliers:write"
    rejects_read = "rejects:read"
    users_manage = "users:manage"
    integrations_manage = "integrations:manage"
    reports_read = "reports:read"
    models_manage = "models:manage"  # switch the active delay model (D2): admin only
    # Incidents (U2, D13): each team does its part of the plan (domain/incident_permissions.py).
    incidents_read = "incidents:read"
    incidents_report = "incidents:report"  # mark an order undelivered
    incidents_lead = "incidents:lead"  # leadership: assess, assign, tasks, close, bulk actions
    incidents_customer = "incidents:customer"  # CS: contact the customer, offer the remedy
    incidents_carrier = "incidents:carrier"  # logistics: the carrier, the parcel, the claim
    # The ledger (U6, U7, D5): recording compensation, approving it, carrier claims. A person's
    # approval limit is their role's (remedies.APPROVAL_LIMITS); an API key has no role, so what
    # it records needs approval unless it holds incidents:approve (docs/incidents.md).
    incidents_compensate = "incidents:compensate"
    incidents_approve = "incidents:approve"
    incidents_claims = "incidents:claims"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(Permission),
    Role.leadership: frozenset(
        {
            Permission.orders_read,
            Permission.customers_read_pii,
            Permission.suppliers_read,
            Permission.reports_read,
            Permission.rejects_read,
            Permission.incidents_read,
            Permission.incidents_report,
            Permission.incidents_lead,
            Permission.incidents_compensate,
            Permission.incidents_approve,
            Permission.incidents_claims,
        }
    ),
    Role.cs_agent: frozenset(
        {
            Permission.orders_read,
            Permission.customers_read_pii,
            Permission.reports_read,
            Permission.incidents_read,
            Permission.incidents_report,
            Permission.incidents_customer,
            Permission.incidents_compensate,
        }
    ),
    Role.logistics_agent: frozenset(
        {
            Permission.orders_read,
            Permission.shipments_write,
            Permission.events_write,
            Permission.rejects_read,
            Permission.reports_read,
            Permission.incidents_read,
            Permission.incidents_report,
            Permission.incidents_carrier,
            Permission.incidents_compensate,
            Permission.incidents_claims,
        }
    ),
    Role.supply_chain: frozenset(
        {
            Permission.orders_read,
            Permission.suppliers_read,
            Permission.suppliers_write,
            Permission.reports_read,
        }
    ),
}


def role_allows(role: Role, permission: Permission) -> bool:
    """Whether ``role`` holds ``permission``."""
    return permission in ROLE_PERMISSIONS[role]
