"""Remedy offer rows in SQL (D5, U6): store, read, decide once, expire.

A decision is a conditional update (``WHERE status = 'offered'``): of two concurrent clicks
only one changes the row, on SQLite and PostgreSQL alike, without holding a lock across the
page's round trip.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from orderwatch.adapters.db.dialect import insert_for
from orderwatch.adapters.db.tables import CustomerRow, IncidentRow, OrderRow, RemedyOfferRow, table_of
from orderwatch.domain.remedy_offers import OfferStatus, OfferTerms
from orderwatch.services.offer_ports import OfferOrder, OfferRecord

_OFFERS = table_of(RemedyOfferRow)


def _record(row: Any) -> OfferRecord:
    return OfferRecord(
        id=row.id,
        order_id=row.order_id,
        order_ref=row.order_ref,
        kind=row.kind,
        amount_cents=row.amount_cents,
        currency=row.currency,
        status=OfferStatus(row.status),
        offered_by=row.offered_by,
        rule=row.rule,
        offered_at=row.offered_at,
        expires_at=row.expires_at,
        decided_at=row.decided_at,
        channel=row.channel,
    )


def _select() -> Any:
    offer = RemedyOfferRow
    return select(
        offer.id,
        offer.order_id,
        OrderRow.ref.label("order_ref"),
        offer.kind,
        offer.amount_cents,
        offer.currency,
        offer.status,
        offer.offered_by,
        offer.rule,
        offer.offered_at,
        offer.expires_at,
        offer.decided_at,
        offer.channel,
    ).join(OrderRow, OrderRow.id == offer.order_id)


class SqlRemedyOfferStore:
    """Offer reads and writes inside the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def find_order(self, *, order_ref: str | None = None, order_id: int | None = None) -> OfferOrder | None:
        query = select(
            OrderRow.id,
            OrderRow.ref,
            OrderRow.value_cents,
            OrderRow.currency,
            OrderRow.promised_at,
            CustomerRow.email,
        ).outerjoin(CustomerRow, CustomerRow.id == OrderRow.customer_id)
        if order_id is not None:
            query = query.where(OrderRow.id == order_id)
        elif order_ref is not None:
            query = query.where(OrderRow.ref == order_ref)
        else:
            return None
        row = self.session.execute(query).first()
        if row is None:
            return None
        earlier = 0
        if row.email:
            earlier = (
                self.session.scalar(
                    select(func.count()).where(
                        IncidentRow.customer_email == row.email, IncidentRow.order_id != row.id
                    )
                )
                or 0
            )
        return OfferOrder(row.id, row.ref, row.value_cents or 0, row.currency, row.promised_at, int(earlier))

    def add(
        self,
        order: OfferOrder,
        terms: OfferTerms,
        *,
        incident_id: int | None,
        offered_by: str,
        rule: str | None,
        cause_key: str | None,
    ) -> int | None:
        values = {
            "order_id": order.order_id,
            "incident_id": incident_id,
            "kind": terms.kind.value,
            "amount_cents": terms.amount_cents,
            "currency": terms.currency,
            "status": OfferStatus.offered.value,
            "rule": rule,
            "offered_by": offered_by,
            "offered_at": terms.offered_at,
            "expires_at": terms.expires_at,
            "cause_key": cause_key,
        }
        statement = (
            insert_for(self.session, _OFFERS)
            .values(values)
            .on_conflict_do_nothing(index_elements=["cause_key"])
            .returning(_OFFERS.c.id)
        )
        offer_id = self.session.execute(statement).scalar()
        return int(offer_id) if offer_id is not None else None

    def get(self, offer_id: int) -> OfferRecord | None:
        row = self.session.execute(_select().where(RemedyOfferRow.id == offer_id)).first()
        return _record(row) if row is not None else None

    def of_order(self, order_id: int) -> list[OfferRecord]:
        rows = self.session.execute(
            _select().where(RemedyOfferRow.order_id == order_id).order_by(RemedyOfferRow.id.desc())
        ).all()
        return [_record(row) for row in rows]

    def record_decision(self, offer_id: int, status: OfferStatus, *, channel: str, now: datetime) -> bool:
        result = self.session.execute(
            update(RemedyOfferRow)
            .where(RemedyOfferRow.id == offer_id, RemedyOfferRow.status == OfferStatus.offered.value)
            .values(status=status.value, decided_at=now, channel=channel)
        )
        return bool(getattr(result, "rowcount", 0))

    def expire_due(self, *, now: datetime, limit: int) -> list[OfferRecord]:
        due = select(RemedyOfferRow.id).where(
            RemedyOfferRow.status == OfferStatus.offered.value, RemedyOfferRow.expires_at <= now
        )
        ids = list(self.session.scalars(due.order_by(RemedyOfferRow.id).limit(limit)))
        if not ids:
            return []
        self.session.execute(
            update(RemedyOfferRow)
            .where(RemedyOfferRow.id.in_(ids), RemedyOfferRow.status == OfferStatus.offered.value)
            .values(status=OfferStatus.expired.value)
        )
        rows = self.session.execute(_select().where(RemedyOfferRow.id.in_(ids))).all()
        return [_record(row) for row in rows if row.status == OfferStatus.expired.value]
