"""Bulk actions on a major incident (U4 volume ladder, U12): message customers, backup carrier.

One action queues a message to every affected customer (or, for ``reship_offer``, makes each
a real free-reshipment offer with its own message), the other marks the lane or region for
the backup carrier.

Both are one transaction each and write outbox rows only: the notification engineer's channels
(issue 6) send the messages, carrier switching reads the mark. Idempotency keys name the major
incident and the case, so pressing the button twice queues each customer's message once.
"""

from __future__ import annotations

from orderwatch.domain.errors import Conflict, ValidationFailed
from orderwatch.domain.incidents import Incident, IncidentEvent
from orderwatch.domain.roles import Role
from orderwatch.services.incident_ports import IncidentUnitOfWork
from orderwatch.services.incidents import IncidentConfig, record
from orderwatch.services.offer_ports import RemedyOfferUnitOfWork
from orderwatch.services.ports import Clock, OutboxMessage
from orderwatch.services.remedy_offers import offer_reshipments

RESHIP_TEMPLATE = "reship_offer"
CUSTOMER_TEMPLATES = frozenset({"delay_apology", "delay_update", RESHIP_TEMPLATE})


def message_affected_customers(
    uow: RemedyOfferUnitOfWork,
    clock: Clock,
    *,
    config: IncidentConfig,
    ref: str,
    template: str,
    actor: str,
    role: Role,
) -> int:
    """Queue ``template`` to the customer of every case grouped under major incident ``ref``.

    ``reship_offer`` makes a real remedy offer (a free reshipment) on each case's order, whose
    own ``remedy.offered`` row is the customer's one message (``remedy_offers.offer_reshipments``);
    the other templates queue a ``customer.incident_message``. How many were queued.
    """
    if template not in CUSTOMER_TEMPLATES:
        raise ValidationFailed(
            "template", f"must be one of {', '.join(sorted(CUSTOMER_TEMPLATES))}", template
        )
    now = clock.now()
    with uow:
        major = uow.incidents.get(ref)
        if not major.is_major or major.id is None:
            raise Conflict(f"incident {ref} is not a major incident")
        children = uow.incidents.children(major.id)
        detail: dict[str, object] = {"template": template, "customers": len(children)}
        if template == RESHIP_TEMPLATE:
            cases = [
                (f"{major.ref}:{c.ref}:{template}", c.facts.order_ref) for c in children if c.facts.order_ref
            ]
            queued, detail["skipped"] = offer_reshipments(
                uow, cases, actor=actor, role=role, config=config, now=now
            )
        else:
            queued = uow.outbox.enqueue(
                [_bulk_message(major.ref, child, template) for child in children], now=now
            )
        detail["queued"] = queued
        event = IncidentEvent("customers_messaged", major.ref, now, actor, detail=detail)
        record(uow, major, [event], config=config, now=now)
        uow.commit()
        return queued


def _bulk_message(major_ref: str, child: Incident, template: str) -> OutboxMessage:
    return OutboxMessage(
        "customer.incident_message",
        f"{major_ref}:{child.ref}:{template}",
        {
            "incident": child.ref,
            "major_incident": major_ref,
            "order_ref": child.facts.order_ref,
            "template": template,
            "email": child.facts.customer_email,
            "phone": child.facts.customer_phone,
            "name": child.facts.customer_name,
        },
    )


def request_backup_carrier(
    uow: IncidentUnitOfWork, clock: Clock, *, config: IncidentConfig, ref: str, actor: str
) -> bool:
    """Mark the major incident's lane/region for the backup carrier; ``False`` if already marked."""
    now = clock.now()
    with uow:
        major = uow.incidents.get(ref)
        if not major.is_major or major.scope is None or major.id is None:
            raise Conflict(f"incident {ref} is not a major incident with a lane or region")
        marked = uow.incidents.mark_backup_carrier(major.scope, incident_id=major.id, actor=actor, now=now)
        if marked:
            uow.outbox.enqueue(
                [
                    OutboxMessage(
                        "lane.backup_requested",
                        f"backup:{major.ref}:{major.scope}",
                        {
                            "scope": major.scope,
                            "incident": major.ref,
                            "carrier": major.facts.carrier_code,
                            "lane": major.facts.lane,
                            "region": major.facts.region,
                            "by": actor,
                        },
                    )
                ],
                now=now,
            )
            event = IncidentEvent(
                "backup_carrier_requested", major.ref, now, actor, detail={"scope": major.scope}
            )
            record(uow, major, [event], config=config, now=now)
        uow.commit()
        return marked
