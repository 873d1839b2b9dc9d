"""Message rows, recipients and webhook endpoints in SQL (issue 6: D4, U14).

Claiming works like the outbox (``locking.claim_due``: ``SKIP LOCKED`` on PostgreSQL, the
database write lock on SQLite) but is a *lease*: the claim commits at once with status
``sending`` and ``next_attempt_at`` = lease end, and messages are marked in small groups after
their sends (``services/deliveries.py``). A worker that dies leaves at most its unmarked group
in doubt; the lease expiring makes it (and the untouched rest of its batch) due again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.orm import Session

from orderwatch.adapters.db.bulk import insert_many
from orderwatch.adapters.db.dialect import matching
from orderwatch.adapters.db.locking import claim_due
from orderwatch.adapters.db.tables import (
    CustomerRow,
    NotificationMessageRow,
    NotificationPreferenceRow,
    OrderRow,
    WebhookEndpointRow,
    table_of,
)
from orderwatch.services.ports import EndpointRecord, NewMessage, OutgoingMessage, RecipientRecord

Message = NotificationMessageRow
_MESSAGES = table_of(NotificationMessageRow)
DELAY_EVENTS = ("delay_risk", "delay_confirmed")


class SqlNotificationStore:
    """Notification reads and writes inside the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def find_recipients(self, order_ids: Iterable[int]) -> dict[int, RecipientRecord]:
        ids = list(order_ids)
        if not ids:
            return {}
        rows = self.session.execute(
            select(
                OrderRow.id,
                OrderRow.ref,
                CustomerRow.id,
                CustomerRow.email,
                CustomerRow.phone,
                func.coalesce(NotificationPreferenceRow.language, CustomerRow.language),
                NotificationPreferenceRow.channels,
            )
            .select_from(OrderRow)
            .outerjoin(CustomerRow, CustomerRow.id == OrderRow.customer_id)
            .outerjoin(NotificationPreferenceRow, NotificationPreferenceRow.customer_id == CustomerRow.id)
            .where(or_(*matching(self.session, OrderRow.id, ids)))
        ).all()
        return {
            order_id: RecipientRecord(ref, customer_id, email, phone, language or "en", channels)
            for order_id, ref, customer_id, email, phone, language, channels in rows
        }

    def count_recent_many(self, customer_ids: Iterable[int], *, since: datetime) -> dict[int, int]:
        ids = list(customer_ids)
        if not ids:
            return {}
        rows = self.session.execute(
            select(Message.customer_id, func.count())
            .where(
                or_(*matching(self.session, Message.customer_id, ids)),
                Message.created_at >= since,
                Message.status != "suppressed",
            )
            .group_by(Message.customer_id)
        ).all()
        return {int(customer_id): int(count) for customer_id, count in rows if customer_id is not None}

    def last_expected_at(self, order_id: int) -> datetime | None:
        contexts = self.session.scalars(
            select(Message.context)
            .where(
                Message.order_id == order_id,
                Message.event.in_(DELAY_EVENTS),
                Message.status.in_(("pending", "sending", "sent")),
            )
            .order_by(Message.id.desc())
            .limit(1)
        ).all()
        value = contexts[0].get("expected_at") if contexts else None
        return datetime.fromisoformat(value) if value else None

    def add_messages(self, messages: Sequence[NewMessage], *, now: datetime) -> int:
        if not messages:
            return 0
        rows = [
            {
                "idempotency_key": m.idempotency_key,
                "event": m.event,
                "channel": m.channel,
                "order_id": m.order_id,
                "customer_id": m.customer_id,
                "endpoint_id": m.endpoint_id,
                "recipient": m.recipient,
                "language": m.language,
                "subject": m.subject,
                "body_text": m.body_text,
                "body_html": m.body_html,
                "context": dict(m.context),
                "status": m.status,
                "attempts": 0,
                "next_attempt_at": m.send_at,
                "last_error": m.last_error,
                "created_at": now,
            }
            for m in messages
        ]
        table = table_of(Message)
        # One JSON recordset on PostgreSQL (``bulk.insert_many``), not a long VALUES list.
        inserted = insert_many(
            self.session,
            table,
            rows,
            finish=lambda statement: statement.on_conflict_do_nothing(
                index_elements=["idempotency_key"]
            ).returning(table.c.id),
        )
        return len(inserted)

    def active_endpoints(self) -> list[EndpointRecord]:
        rows = self.session.scalars(
            select(WebhookEndpointRow)
            .where(WebhookEndpointRow.is_active.is_(True))
            .order_by(WebhookEndpointRow.id)
        ).all()
        return [EndpointRecord(r.id, r.name, r.url, r.events) for r in rows]

    def claim_due(self, *, now: datetime, lease_until: datetime, limit: int) -> list[OutgoingMessage]:
        """Lease up to ``limit`` due messages in one statement: ``UPDATE ... RETURNING``.

        The due ids are a locked sub-select (``SKIP LOCKED`` on PostgreSQL: parallel threads
        and workers take different rows; SQLite holds the write lock). Core, not the ORM: one
        round trip per batch, and no ORM objects to build or synchronise.
        """
        messages = _MESSAGES.c
        endpoint_ok = or_(
            messages.endpoint_id.is_(None),
            messages.endpoint_id.in_(
                select(WebhookEndpointRow.id).where(WebhookEndpointRow.is_active.is_(True))
            ),
        )
        due = claim_due(
            self.session,
            select(messages.id)
            .where(messages.status.in_(("pending", "sending")), messages.next_attempt_at <= now, endpoint_ok)
            .order_by(messages.next_attempt_at, messages.id)
            .limit(limit),
        )
        returned = (
            self.session.connection()
            .execute(
                _MESSAGES.update()
                .where(messages.id.in_(due.scalar_subquery()))
                .values(status="sending", next_attempt_at=lease_until, attempts=messages.attempts + 1)
                .returning(
                    messages.id,
                    messages.idempotency_key,
                    messages.event,
                    messages.channel,
                    messages.recipient,
                    messages.subject,
                    messages.body_text,
                    messages.body_html,
                    messages.attempts,
                    messages.endpoint_id,
                )
            )
            .all()
        )
        if not returned:
            return []
        rows = sorted(returned, key=lambda r: r.id)  # RETURNING has no order; oldest first
        secrets = self._secrets({r.endpoint_id for r in rows if r.endpoint_id is not None})
        return [
            OutgoingMessage(
                id=r.id,
                idempotency_key=r.idempotency_key,
                event=r.event,
                channel=r.channel,
                recipient=r.recipient,
                subject=r.subject,
                body_text=r.body_text,
                body_html=r.body_html,
                attempts=r.attempts,  # already counting this attempt
                endpoint_id=r.endpoint_id,
                secret=secrets.get(r.endpoint_id) if r.endpoint_id is not None else None,
            )
            for r in rows
        ]

    def _secrets(self, endpoint_ids: set[int]) -> dict[int, str]:
        if not endpoint_ids:
            return {}
        rows = self.session.execute(
            select(WebhookEndpointRow.id, WebhookEndpointRow.secret).where(
                WebhookEndpointRow.id.in_(endpoint_ids)
            )
        ).all()
        return {endpoint_id: secret for endpoint_id, secret in rows}

    def _relaxed_commit(self) -> None:
        """On PostgreSQL, do not wait for the WAL flush when this transaction commits.

        A per-message mark that waits for the disk caps a sending thread at the disk's flush
        rate. Without the wait the mark is still visible at once and survives a worker crash;
        only a crash of the database server itself within ~0.2 s (the WAL writer's delay) can
        lose it, and then the message is sent again with the same idempotency key: never lost.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("SET LOCAL synchronous_commit TO OFF"))

    def mark_sent(self, message_ids: Sequence[int], *, now: datetime) -> None:
        # Core, not an ORM-enabled UPDATE: this runs once per few messages sent, and the ORM's
        # session synchronisation was most of its cost.
        if not message_ids:
            return
        self._relaxed_commit()
        self.session.connection().execute(
            _MESSAGES.update()
            .where(_MESSAGES.c.id.in_(list(message_ids)))
            .values(status="sent", sent_at=now, last_error=None)
        )

    def mark_failed(self, message_id: int, *, error: str, retry_at: datetime | None) -> None:
        self._relaxed_commit()
        values: dict[str, object] = {"last_error": error[:2000]}
        if retry_at is None:
            values["status"] = "dead"
        else:
            values |= {"status": "pending", "next_attempt_at": retry_at}
        self.session.connection().execute(
            _MESSAGES.update().where(_MESSAGES.c.id == message_id).values(**values)
        )

    def release(self, message_ids: Sequence[int], *, now: datetime) -> None:
        """Give leased, unsent messages back (a stopping worker) without counting an attempt."""
        if message_ids:
            self.session.execute(
                update(Message)
                .where(Message.id.in_(list(message_ids)), Message.status == "sending")
                .values(status="pending", next_attempt_at=now, attempts=Message.attempts - 1)
            )

    def record_endpoint_result(
        self, endpoint_id: int, *, ok: bool, disable_after: int, now: datetime
    ) -> bool:
        endpoint = WebhookEndpointRow
        if ok:
            self.session.execute(
                update(endpoint).where(endpoint.id == endpoint_id).values(consecutive_failures=0)
            )
            return True
        self.session.execute(
            update(endpoint)
            .where(endpoint.id == endpoint_id)
            .values(consecutive_failures=endpoint.consecutive_failures + 1)
        )
        self.session.execute(
            update(endpoint)
            .where(
                endpoint.id == endpoint_id,
                endpoint.is_active.is_(True),
                endpoint.consecutive_failures >= disable_after,
            )
            .values(is_active=False, disabled_at=now)
        )
        return bool(self.session.scalar(select(endpoint.is_active).where(endpoint.id == endpoint_id)))

    def redrive(self, *, endpoint_id: int | None, now: datetime) -> int:
        dead = Message.status == "dead"
        scope = and_(dead, Message.endpoint_id == endpoint_id) if endpoint_id is not None else dead
        result = self.session.execute(
            update(Message).where(scope).values(status="pending", attempts=0, next_attempt_at=now)
        )
        endpoints = update(WebhookEndpointRow).values(
            is_active=True, consecutive_failures=0, disabled_at=None
        )
        if endpoint_id is not None:
            endpoints = endpoints.where(WebhookEndpointRow.id == endpoint_id)
        self.session.execute(endpoints)
        return int(getattr(result, "rowcount", 0) or 0)
