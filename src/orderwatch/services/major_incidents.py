"""Bulk actions on a major incident (U4 volume ladder, U12): message customers, backup carrier.

One action queues a message to every affected customer, the other marks the lane or region
for the backup carrier.

Both are one transaction each and write outbox rows only: the notification engineer's channels
(issue 6) send the messages, carrier switching reads the mark. Idempotency keys name the major
incident and the case, so pressing the button twice queues each customer's message once.
"""

from __future__ import annotations

from orderwatch.domain.errors import Conflict, ValidationFailed
from orderwatch.domain.incidents import IncidentEvent
from orderwatch.services.incident_ports import IncidentUnitOfWork
from orderwatch.services.incidents import IncidentConfig, record
from orderwatch.services.ports import Clock, OutboxMessage

CUSTOMER_TEMPLATES = frozenset({"delay_apology", "delay_update", "reship_offer"})


def message_affected_customers(
    uow: IncidentUnitOfWork, clock: Clock, *, config: IncidentConfig, ref: str, template: str, actor: str
) -> int:
    """Queue ``template`` to the customer of every case grouped under major incident ``ref``."""
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
        messages = [
            OutboxMessage(
                "customer.incident_message",
                f"{major.ref}:{child.ref}:{template}",
                {
                    "incident": child.ref,
                    "major_incident": major.ref,
                    "order_ref": child.facts.order_ref,
                    "template": template,
                    "email": child.facts.customer_email,
                    "phone": child.facts.customer_phone,
                    "name": child.facts.customer_name,
                },
            )
            for child in children
        ]
        queued = uow.outbox.enqueue(messages, now=now)
        event = IncidentEvent(
            "customers_messaged",
            major.ref,
            now,
            actor,
            detail={"template": template, "customers": len(messages), "queued": queued},
        )
        record(uow, major, [event], config=config, now=now)
        uow.commit()
        return queued


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
