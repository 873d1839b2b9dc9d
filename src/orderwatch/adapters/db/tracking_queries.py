"""Read side of the customer tracking page (D3, D6): one order's timeline, and the lookup.

Every query here takes the order id the caller proved access to (a verified token, or an order
number with its customer's e-mail or phone): nothing reads "an order" from user input alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderwatch.adapters.db.remedy_offers import SqlRemedyOfferStore
from orderwatch.adapters.db.tables import (
    CarrierRow,
    CustomerRow,
    FeedbackRow,
    NotificationMessageRow,
    OrderRow,
    RiskFlagRow,
    ShipmentRow,
    TrackingEventRow,
)
from orderwatch.services.offer_ports import OfferRecord

PAGE_FEEDBACK_REF = "tracking-page"


@dataclass(frozen=True, slots=True)
class TrackingStep:
    status: str
    at: datetime
    location: str | None


@dataclass(frozen=True, slots=True)
class TrackingView:
    """What the customer's page shows of their own order."""

    order_id: int
    order_ref: str
    status: str
    purchased_at: datetime
    promised_at: datetime | None
    delivered_at: datetime | None
    email: str | None
    phone: str | None
    language: str
    carrier: str | None
    steps: list[TrackingStep] = field(default_factory=list)
    delay_cause: str | None = None
    expected_at: datetime | None = None
    expected_until: datetime | None = None  # the window's late end (the model's P90), when known
    offers: list[OfferRecord] = field(default_factory=list)
    feedback_score: int | None = None
    feedback_comment: str | None = None


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def find_order_by_contact(session: Session, *, order_ref: str, contact: str) -> int | None:
    """The order with this number whose customer has this e-mail or phone (else None)."""
    row = session.execute(
        select(OrderRow.id, CustomerRow.email, CustomerRow.phone)
        .join(CustomerRow, CustomerRow.id == OrderRow.customer_id)
        .where(OrderRow.ref == order_ref.strip())
    ).first()
    if row is None:
        return None
    order_id, email, phone = row
    given = contact.strip().lower()
    if email and "@" in given and given == email.strip().lower():
        return int(order_id)
    digits = _digits(given)
    # The last eight digits: customers write their number with or without country and area codes.
    if phone and len(digits) >= 8 and _digits(phone)[-8:] == digits[-8:]:
        return int(order_id)
    return None


def find_tracking_view(session: Session, order_id: int) -> TrackingView | None:
    row = session.execute(
        select(OrderRow, CustomerRow.email, CustomerRow.phone, CustomerRow.language)
        .outerjoin(CustomerRow, CustomerRow.id == OrderRow.customer_id)
        .where(OrderRow.id == order_id)
    ).first()
    if row is None:
        return None
    order, email, phone, language = row
    steps = [
        TrackingStep(status, at, location)
        for status, at, location in session.execute(
            select(TrackingEventRow.status, TrackingEventRow.occurred_at, TrackingEventRow.location)
            .join(ShipmentRow, ShipmentRow.id == TrackingEventRow.shipment_id)
            .where(ShipmentRow.order_id == order_id)
            .order_by(TrackingEventRow.occurred_at.desc(), TrackingEventRow.id.desc())
        ).all()
    ]
    carrier = session.scalar(
        select(CarrierRow.name)
        .join(ShipmentRow, ShipmentRow.carrier_id == CarrierRow.id)
        .where(ShipmentRow.order_id == order_id)
        .limit(1)
    )
    cause, expected, until = _delay(session, order_id)
    feedback = session.execute(
        select(FeedbackRow.score, FeedbackRow.comment).where(
            FeedbackRow.order_id == order_id, FeedbackRow.ref == PAGE_FEEDBACK_REF
        )
    ).first()
    return TrackingView(
        order_id=order.id,
        order_ref=order.ref,
        status=order.status,
        purchased_at=order.purchased_at,
        promised_at=order.promised_at,
        delivered_at=order.delivered_at,
        email=email,
        phone=phone,
        language=language or "en",
        carrier=carrier,
        steps=steps,
        delay_cause=cause,
        expected_at=expected,
        expected_until=until,
        offers=SqlRemedyOfferStore(session).of_order(order_id),
        feedback_score=feedback[0] if feedback else None,
        feedback_comment=feedback[1] if feedback else None,
    )


def _delay(session: Session, order_id: int) -> tuple[str | None, datetime | None, datetime | None]:
    """The open risk flag's cause (or kind), and the expected window last told to the customer.

    The window is the one of the last delay message; without one, the open flag's own (the
    model's P50–P90 on a ``predicted_late`` flag).
    """
    flag = session.execute(
        select(RiskFlagRow.cause, RiskFlagRow.kind, RiskFlagRow.details)
        .where(RiskFlagRow.order_id == order_id, RiskFlagRow.cleared_at.is_(None))
        .order_by(RiskFlagRow.raised_at.desc())
        .limit(1)
    ).first()
    contexts: list[Any] = list(
        session.scalars(
            select(NotificationMessageRow.context)
            .where(
                NotificationMessageRow.order_id == order_id,
                NotificationMessageRow.event.in_(("delay_risk", "delay_confirmed")),
            )
            .order_by(NotificationMessageRow.id.desc())
            .limit(1)
        )
    )
    told = contexts[0] if contexts else {}
    start, end = told.get("expected_at"), told.get("expected_until")
    if flag is None:
        return None, _moment(start), _moment(end)
    cause, kind, details = flag
    if not start:
        details = details or {}
        start = details.get("expected_at") or details.get("eta_p50_at")
        end = details.get("expected_until") or details.get("eta_p90_at")
    return cause or ("logistics_delay" if kind == "stalled" else None), _moment(start), _moment(end)


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def count_feedback(session: Session, order_id: int) -> int:
    return int(
        session.scalar(select(func.count()).select_from(FeedbackRow).where(FeedbackRow.order_id == order_id))
        or 0
    )
