"""Read side of the staff messages page (D4, U11, U14): every message planned, with its status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderwatch.adapters.db.tables import NotificationMessageRow, OrderRow

STATUSES = ("pending", "sending", "sent", "dead", "suppressed")


@dataclass(frozen=True, slots=True)
class MessageLine:
    id: int
    created_at: datetime
    order_ref: str | None
    event: str
    channel: str
    recipient: str
    language: str
    subject: str | None
    status: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None


def list_messages(
    session: Session,
    *,
    status: str | None = None,
    channel: str | None = None,
    order_ref: str | None = None,
    limit: int = 200,
) -> list[MessageLine]:
    """The newest messages first, filtered; unknown filter values are the caller's to refuse."""
    message = NotificationMessageRow
    query = (
        select(
            message.id,
            message.created_at,
            OrderRow.ref,
            message.event,
            message.channel,
            message.recipient,
            message.language,
            message.subject,
            message.status,
            message.attempts,
            message.last_error,
            message.sent_at,
        )
        .outerjoin(OrderRow, OrderRow.id == message.order_id)
        .order_by(message.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(message.status == status)
    if channel:
        query = query.where(message.channel == channel)
    if order_ref:
        query = query.where(OrderRow.ref == order_ref)
    return [MessageLine(*row) for row in session.execute(query).all()]  # type: ignore[call-arg]
