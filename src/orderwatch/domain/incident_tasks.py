"""Tasks the lead hands out on a case (U5, D13): what, which team, who, by when.

The plan's division of labour: the CS emergency team talks to the customer and carries out
refunds and reshipments; the logistics emergency team talks to the carrier, locates the parcel,
arranges redelivery and files the claim for a lost or damaged parcel.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from orderwatch.domain.errors import ValidationFailed
from orderwatch.domain.escalation import Team


class TaskKind(StrEnum):
    contact_customer = "contact_customer"
    locate_parcel = "locate_parcel"
    arrange_redelivery = "arrange_redelivery"
    reship = "reship"
    refund = "refund"
    file_claim = "file_claim"


class TaskStatus(StrEnum):
    open = "open"
    done = "done"
    cancelled = "cancelled"


TASK_TEAM: dict[TaskKind, Team] = {
    TaskKind.contact_customer: Team.cs_emergency,
    TaskKind.reship: Team.cs_emergency,
    TaskKind.refund: Team.cs_emergency,
    TaskKind.locate_parcel: Team.logistics_emergency,
    TaskKind.arrange_redelivery: Team.logistics_emergency,
    TaskKind.file_claim: Team.logistics_emergency,
}


def check_due(due_at: datetime, *, now: datetime) -> datetime:
    """A task deadline must lie ahead, and within a quarter (anything later is a typo)."""
    if due_at <= now:
        raise ValidationFailed("due_at", "must be in the future", due_at.isoformat())
    if due_at > now + timedelta(days=92):
        raise ValidationFailed("due_at", "must be within 92 days", due_at.isoformat())
    return due_at
