"""What the incident pages show (U4, U11, U14, D13): labels and colours, SLA countdowns, forms.

Labels are English msgids (``N_``) translated when rendered, like ``choices.py``. A countdown is
the clock the case is waiting on now: assessment until assessed, then first contact, then
resolution; it reads "2h 10m left" or "1h 5m overdue" at the moment the page is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from orderwatch.adapters.db.incidents import to_incident
from orderwatch.adapters.db.tables import IncidentRow
from orderwatch.domain.causes import Cause
from orderwatch.domain.claims import ClaimAction, ClaimStatus
from orderwatch.domain.compensation import CompensationKind, CompensationStatus
from orderwatch.domain.incident_tasks import TaskKind
from orderwatch.domain.incidents import Action, IncidentSeverity, IncidentStatus
from orderwatch.domain.remedies import Offer
from orderwatch.domain.sla import BusinessCalendar, SlaReading, SlaState, readings
from orderwatch.entrypoints.web.choices import AMBER, BLUE, GREEN, GREY, PURPLE, RED, Choice
from orderwatch.i18n import N_


def _choices(*items: tuple[str, str, str]) -> dict[str, Choice]:
    return {value: Choice(value, label, colour) for value, label, colour in items}


S = IncidentStatus
INCIDENT_STATUS = _choices(
    (S.reported, N_("Reported"), RED),
    (S.assessed, N_("Assessed"), AMBER),
    (S.assigned, N_("Assigned"), AMBER),
    (S.customer_contacted, N_("Customer contacted"), BLUE),
    (S.resolving, N_("Resolving"), BLUE),
    (S.resolved, N_("Resolved"), GREEN),
    (S.closed, N_("Closed"), GREY),
    (S.cancelled, N_("Cancelled"), GREY),
)
SEVERITY = _choices(
    (IncidentSeverity.low, N_("Low"), GREY),
    (IncidentSeverity.medium, N_("Medium"), BLUE),
    (IncidentSeverity.high, N_("High"), AMBER),
    (IncidentSeverity.critical, N_("Critical"), RED),
)
SLA_STATE = _choices(
    (SlaState.breached, N_("Breached"), RED),
    (SlaState.paused, N_("Paused"), PURPLE),
    (SlaState.warning, N_("Due soon"), AMBER),
    (SlaState.running, N_("On track"), BLUE),
    (SlaState.met, N_("Met"), GREEN),
    (SlaState.void, N_("Void"), GREY),
)
CAUSE = _choices(
    (Cause.logistics_delay, N_("Logistics delay"), AMBER),
    (Cause.wrong_address, N_("Wrong or incomplete address"), AMBER),
    (Cause.lost_parcel, N_("Lost parcel"), RED),
    (Cause.damaged_parcel, N_("Damaged parcel"), RED),
    (Cause.system_failure, N_("System failure"), PURPLE),
    (Cause.supplier_delay, N_("Supplier delay"), AMBER),
    (Cause.refused, N_("Refused by customer"), GREY),
    (Cause.customs, N_("Customs"), AMBER),
    (Cause.weather, N_("Weather / force majeure"), GREY),
    (Cause.recipient_unreachable, N_("Recipient unreachable"), GREY),
    (Cause.unknown, N_("Unknown"), GREY),
)
METRIC = _choices(
    ("assessment", N_("Assessment"), GREY),
    ("first_contact", N_("First customer contact"), GREY),
    ("resolution", N_("Resolution"), GREY),
)
ACTION = _choices(
    (Action.assess, N_("Assess"), BLUE),
    (Action.assign, N_("Assign the teams"), BLUE),
    (Action.contact_customer, N_("Customer contacted"), GREEN),
    (Action.start_resolution, N_("Start resolution"), BLUE),
    (Action.resolve, N_("Resolve"), GREEN),
    (Action.close, N_("Close"), GREY),
    (Action.cancel, N_("Cancel"), GREY),
    (Action.reopen, N_("Reopen"), AMBER),
    (Action.delivered, N_("Parcel delivered"), GREEN),
)
TASK_KIND = _choices(
    (TaskKind.contact_customer, N_("Contact the customer"), GREEN),
    (TaskKind.locate_parcel, N_("Locate the parcel with the carrier"), AMBER),
    (TaskKind.arrange_redelivery, N_("Arrange redelivery"), AMBER),
    (TaskKind.reship, N_("Reship"), BLUE),
    (TaskKind.refund, N_("Refund"), BLUE),
    (TaskKind.file_claim, N_("File a carrier claim"), RED),
)
OFFER = _choices(
    (Offer.apology, N_("Apology"), GREY),
    (Offer.coupon, N_("Coupon"), BLUE),
    (Offer.partial_refund, N_("Partial refund"), AMBER),
    (Offer.full_refund, N_("Full refund"), RED),
    (Offer.free_reshipment, N_("Free reshipment"), GREEN),
    (Offer.redelivery, N_("Redelivery"), BLUE),
)
COMPENSATION_KIND = _choices(
    (CompensationKind.partial_refund, N_("Partial refund"), AMBER),
    (CompensationKind.full_refund, N_("Full refund"), RED),
    (CompensationKind.coupon, N_("Coupon"), BLUE),
    (CompensationKind.reshipment, N_("Free reshipment"), GREEN),
    (CompensationKind.redelivery, N_("Redelivery"), BLUE),
)
COMPENSATION_STATUS = _choices(
    (CompensationStatus.approved, N_("Approved"), GREEN),
    (CompensationStatus.pending, N_("Needs approval"), AMBER),
    (CompensationStatus.rejected, N_("Rejected"), GREY),
)
CLAIM_STATUS = _choices(
    (ClaimStatus.draft, N_("Draft"), GREY),
    (ClaimStatus.filed, N_("Filed"), BLUE),
    (ClaimStatus.accepted, N_("Accepted"), GREEN),
    (ClaimStatus.rejected, N_("Rejected"), RED),
    (ClaimStatus.partially_paid, N_("Partially paid"), AMBER),
    (ClaimStatus.closed, N_("Closed"), GREY),
)
CLAIM_ACTION = _choices(
    (ClaimAction.file, N_("File with the carrier"), BLUE),
    (ClaimAction.accept, N_("Carrier accepted"), GREEN),
    (ClaimAction.reject, N_("Carrier rejected"), RED),
    (ClaimAction.pay_part, N_("Carrier paid part"), AMBER),
    (ClaimAction.close, N_("Close the claim"), GREY),
)
SLA_OUTCOME = _choices(
    ("met", N_("Met"), GREEN),
    ("breached", N_("Breached"), RED),
    ("running", N_("Running"), BLUE),
    ("voided", N_("Void"), GREY),
)
ALL_INCIDENT_CHOICES: tuple[dict[str, Choice], ...] = (
    COMPENSATION_KIND,
    COMPENSATION_STATUS,
    CLAIM_STATUS,
    CLAIM_ACTION,
    SLA_OUTCOME,
    INCIDENT_STATUS,
    SEVERITY,
    SLA_STATE,
    CAUSE,
    METRIC,
    ACTION,
    TASK_KIND,
    OFFER,
)
CHANNELS = ("phone", "email", "sms", "chat")


def duration(minutes: float) -> str:
    """``2d 3h``, ``2h 10m`` or ``5m`` (compact, the same in both staff languages)."""
    total = int(abs(minutes))
    days, rest = divmod(total, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins}m" if hours else f"{mins}m"


@dataclass(frozen=True, slots=True)
class Countdown:
    """The clock a case waits on now, with its wall-clock distance to the deadline."""

    metric: str
    state: str
    deadline: datetime | None
    wall_minutes: float | None  # > 0: left before the deadline; < 0: overdue by

    @property
    def text(self) -> str:
        if self.wall_minutes is None:
            return ""
        return duration(self.wall_minutes)


def clock_readings(row: IncidentRow, *, calendar: BusinessCalendar, now: datetime) -> list[SlaReading]:
    return readings(to_incident(row), calendar=calendar, now=now)


def countdown(row: IncidentRow, *, calendar: BusinessCalendar, now: datetime) -> Countdown | None:
    """The first clock not yet met (assessment → first contact → resolution), or ``None``."""
    for reading in clock_readings(row, calendar=calendar, now=now):
        if reading.state in {SlaState.met, SlaState.void}:
            continue
        minutes = None if reading.deadline is None else (reading.deadline - now).total_seconds() / 60
        return Countdown(reading.metric.value, reading.state.value, reading.deadline, minutes)
    return None
