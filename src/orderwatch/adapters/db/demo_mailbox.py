"""The demo's local mailbox in the database (issue 6 staff side: D4, U14): deliver, list.

In ``orderwatch demo`` the customer messages are planned by the worker's own planner, then
"delivered" here instead of leaving the machine: a due e-mail or SMS is copied into
``demo_mailbox`` and marked sent, a whole batch in two statements (the replay cannot afford a
transaction per message). The mailbox keeps one row per message key, like a mailbox that
de-duplicates on Message-ID, so delivering the same message twice stores it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import literal, select, update
from sqlalchemy.orm import Session

from orderwatch.adapters.db.dialect import insert_for
from orderwatch.adapters.db.tables import MailboxRow, NotificationMessageRow, OrderRow, table_of

_MAILBOX = table_of(MailboxRow)
CUSTOMER_CHANNELS = ("email", "sms")  # never webhooks: those are the shop's own systems


@dataclass(frozen=True, slots=True)
class MailboxLine:
    """One delivered message as the staff mailbox page shows it."""

    id: int
    delivered_at: datetime
    order_ref: str | None
    event: str
    channel: str
    recipient: str
    language: str
    subject: str | None
    body_text: str
    body_html: str | None


def deliver_due(session: Session, *, now: datetime, limit: int = 20_000) -> int:
    """Copy up to ``limit`` due customer messages into the mailbox and mark them sent; how many."""
    message = NotificationMessageRow
    ids = list(
        session.scalars(
            select(message.id)
            .where(
                message.status == "pending",
                message.next_attempt_at <= now,
                message.channel.in_(CUSTOMER_CHANNELS),
            )
            .order_by(message.next_attempt_at, message.id)
            .limit(limit)
        )
    )
    if not ids:
        return 0
    for start in range(0, len(ids), 5_000):  # bound the IN list (SQLite's variable limit)
        chunk = ids[start : start + 5_000]
        copy = select(
            message.idempotency_key,
            message.event,
            message.channel,
            message.order_id,
            message.recipient,
            message.language,
            message.subject,
            message.body_text,
            message.body_html,
            literal(now, MailboxRow.delivered_at.type),
        ).where(message.id.in_(chunk))
        columns = [
            "message_key",
            "event",
            "channel",
            "order_id",
            "recipient",
            "language",
            "subject",
            "body_text",
            "body_html",
            "delivered_at",
        ]
        statement = insert_for(session, _MAILBOX).from_select(columns, copy)
        session.execute(statement.on_conflict_do_nothing(index_elements=["message_key"]))
        session.execute(
            update(message)
            .where(message.id.in_(chunk))
            .values(status="sent", sent_at=now, attempts=message.attempts + 1)
        )
    return len(ids)


def list_mailbox(session: Session, *, limit: int = 100, channel: str | None = None) -> list[MailboxLine]:
    """The newest deliveries first."""
    query = (
        select(
            MailboxRow.id,
            MailboxRow.delivered_at,
            OrderRow.ref,
            MailboxRow.event,
            MailboxRow.channel,
            MailboxRow.recipient,
            MailboxRow.language,
            MailboxRow.subject,
            MailboxRow.body_text,
            MailboxRow.body_html,
        )
        .outerjoin(OrderRow, OrderRow.id == MailboxRow.order_id)
        .order_by(MailboxRow.id.desc())
        .limit(limit)
    )
    if channel:
        query = query.where(MailboxRow.channel == channel)
    return [MailboxLine(*row) for row in session.execute(query).all()]  # type: ignore[call-arg]


def find_mailbox_html(session: Session, mailbox_id: int) -> str | None:
    """The HTML part of one delivered message (``None``: no such message, or text only)."""
    return session.scalar(select(MailboxRow.body_html).where(MailboxRow.id == mailbox_id))
