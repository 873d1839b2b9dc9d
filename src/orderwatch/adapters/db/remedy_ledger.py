"""SQL implementation of the ``RemedyLedgerStore`` port (U6, U7, D5): ledger, reshipments, claims.

A reshipment is a real order row (``orders.reshipment_of_id`` → the original) with the same
customer and lines, so it is tracked, flagged and reported like any order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select, union_all, update
from sqlalchemy.orm import Session

from orderwatch.adapters.db.locking import claim_due, lock_rows
from orderwatch.adapters.db.tables import (
    CarrierClaimRow,
    CarrierRow,
    CompensationRow,
    IncidentRow,
    OrderEventRow,
    OrderLineRow,
    OrderRow,
    ShipmentRow,
    table_of,
)
from orderwatch.domain.claims import Claim, ClaimDeadline, ClaimStatus, ClaimWindows
from orderwatch.domain.compensation import CompensationKind, CompensationRequest, CompensationStatus
from orderwatch.domain.errors import NotFound
from orderwatch.domain.incidents import OPEN_STATES
from orderwatch.services.remedy_ports import CompensationEntry, DeliveredCase, IncidentOrder

_OPEN = [s.value for s in OPEN_STATES]


class SqlRemedyLedger:
    """Ledger and claim persistence inside the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def order_of(self, incident_id: int) -> IncidentOrder | None:
        row = self.session.execute(
            select(OrderRow.id, OrderRow.ref, OrderRow.currency)
            .join(IncidentRow, IncidentRow.order_id == OrderRow.id)
            .where(IncidentRow.id == incident_id)
        ).first()
        return None if row is None else IncidentOrder(row.id, row.ref, row.currency)

    # ------------------------------------------------------------ compensation

    def add_compensation(self, incident_id: int, entry: CompensationRequest, *, now: datetime) -> int:
        row = CompensationRow(
            incident_id=incident_id,
            kind=entry.kind.value,
            amount_cents=entry.amount_cents,
            currency=entry.currency,
            status=CompensationStatus.pending.value,
            approver_role=entry.approver_role.value,
            requested_by=entry.requested_by,
            requested_at=now,
            note=entry.note,
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    def get_compensation(self, entry_id: int) -> CompensationEntry:
        query: Select[Any] = (
            select(CompensationRow, IncidentRow.ref)  # type: ignore[assignment]
            .join(IncidentRow, IncidentRow.id == CompensationRow.incident_id)
            .where(CompensationRow.id == entry_id)
        )
        found = self.session.execute(lock_rows(self.session, query, of=[table_of(CompensationRow)])).first()
        if found is None:
            raise NotFound("compensation", entry_id)
        row: CompensationRow = found[0]
        return CompensationEntry(
            id=row.id,
            incident_id=row.incident_id,
            incident_ref=found[1],
            kind=CompensationKind(row.kind),
            amount_cents=row.amount_cents,
            currency=row.currency,
            status=CompensationStatus(row.status),
            requested_by=row.requested_by,
            decided_by=row.decided_by,
        )

    def decide_compensation(
        self,
        entry_id: int,
        *,
        status: CompensationStatus,
        actor: str,
        now: datetime,
        linked_order_id: int | None = None,
    ) -> None:
        self.session.execute(
            update(CompensationRow)
            .where(CompensationRow.id == entry_id)
            .values(status=status.value, decided_by=actor, decided_at=now, linked_order_id=linked_order_id)
            .execution_options(synchronize_session=False)
        )

    # ------------------------------------------------------------ reshipments

    def promised_lead_times(self, *, limit: int) -> list[timedelta]:
        rows = self.session.execute(
            select(OrderRow.purchased_at, OrderRow.promised_at)
            .where(OrderRow.promised_at.is_not(None), OrderRow.reshipment_of_id.is_(None))
            .order_by(OrderRow.purchased_at.desc())
            .limit(limit)
        )
        return [promised - purchased for purchased, promised in rows if promised is not None]

    def create_reshipment(self, order_id: int, *, now: datetime, promised_at: datetime) -> tuple[int, str]:
        original = self.session.get(OrderRow, order_id)
        if original is None:
            raise NotFound("order", order_id)
        earlier = self.session.scalar(select(func.count()).where(OrderRow.reshipment_of_id == order_id)) or 0
        copy = OrderRow(
            ref=f"{original.ref}-R{earlier + 1}",
            customer_id=original.customer_id,
            status="approved",
            currency=original.currency,
            value_cents=original.value_cents,
            purchased_at=now,
            approved_at=now,
            promised_at=promised_at,
            carrier_code=original.carrier_code,
            origin_region=original.origin_region,
            destination_region=original.destination_region,
            source="reshipment",
            reshipment_of_id=original.id,
            created_at=now,
            updated_at=now,
        )
        self.session.add(copy)
        self.session.flush()
        lines = self.session.scalars(
            select(OrderLineRow).where(OrderLineRow.order_id == order_id).order_by(OrderLineRow.line_no)
        )
        self.session.add_all(
            OrderLineRow(
                order_id=copy.id,
                line_no=line.line_no,
                product_id=line.product_id,
                supplier_id=line.supplier_id,
                quantity=line.quantity,
                unit_price_cents=line.unit_price_cents,
                freight_cents=0,  # a free reshipment: the customer pays no freight again
                dispatch_deadline=_shifted(line.dispatch_deadline, original.purchased_at, now),
            )
            for line in lines
        )
        self.session.add_all(
            OrderEventRow(
                order_id=copy.id, milestone=m, occurred_at=now, source="reshipment", received_at=now
            )
            for m in ("placed", "approved")
        )
        self.session.flush()
        return copy.id, copy.ref

    # ------------------------------------------------------------ claims

    def add_claim(self, incident_id: int, claim: Claim, *, now: datetime) -> int:
        row = CarrierClaimRow(
            incident_id=incident_id, created_by=claim.created_by, created_at=now, **_claim_columns(claim, now)
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    def get_claim(self, claim_id: int) -> Claim:
        query: Select[Any] = (
            select(CarrierClaimRow, IncidentRow.ref)  # type: ignore[assignment]
            .join(IncidentRow, IncidentRow.id == CarrierClaimRow.incident_id)
            .where(CarrierClaimRow.id == claim_id)
        )
        found = self.session.execute(lock_rows(self.session, query, of=[table_of(CarrierClaimRow)])).first()
        if found is None:
            raise NotFound("claim", claim_id)
        return to_claim(found[0], found[1])

    def claim_windows(self, carrier_code: str) -> ClaimWindows:
        columns = (CarrierRow.claim_file_days, CarrierRow.claim_answer_days)
        row = self.session.execute(select(*columns).where(CarrierRow.code == carrier_code)).first()
        return ClaimWindows() if row is None else ClaimWindows(row.claim_file_days, row.claim_answer_days)

    def overdue_claims(self, *, now: datetime, limit: int) -> list[Claim]:
        draft_late = (
            (CarrierClaimRow.status == ClaimStatus.draft.value)
            & (CarrierClaimRow.file_by < now)
            & CarrierClaimRow.file_escalated_at.is_(None)
        )
        answer_late = (
            (CarrierClaimRow.status == ClaimStatus.filed.value)
            & (CarrierClaimRow.answer_due_at < now)
            & CarrierClaimRow.answer_escalated_at.is_(None)
        )
        query: Select[Any] = (
            select(CarrierClaimRow, IncidentRow.ref)  # type: ignore[assignment]
            .join(IncidentRow, IncidentRow.id == CarrierClaimRow.incident_id)
            .where(draft_late | answer_late)
            .order_by(CarrierClaimRow.id)
            .limit(limit)
        )
        # Skip rows another worker holds: they are that worker's to escalate (or next run's).
        return [to_claim(row, ref) for row, ref in self.session.execute(claim_due(self.session, query))]

    def save_claim(self, claim: Claim, *, now: datetime) -> None:
        self.session.execute(
            update(CarrierClaimRow)
            .where(CarrierClaimRow.id == claim.id)
            .values(**_claim_columns(claim, now))
            .execution_options(synchronize_session=False)
        )

    # ------------------------------------------------------------ deliveries

    def delivered_cases(self, *, limit: int) -> list[DeliveredCase]:
        since = func.coalesce(IncidentRow.reopened_at, IncidentRow.reported_at)
        open_cases = (IncidentRow.status.in_(_OPEN), IncidentRow.order_id.is_not(None))
        # Two index-friendly joins (the order's own shipments, its reshipments' shipments) in
        # one UNION rather than one OR join, which neither backend can drive by an index.
        own = (
            select(IncidentRow.id, IncidentRow.ref, ShipmentRow.delivered_at, since.label("since"))
            .join(ShipmentRow, ShipmentRow.order_id == IncidentRow.order_id)
            .where(*open_cases, ShipmentRow.delivered_at.is_not(None))
        )
        reshipped = (
            select(IncidentRow.id, IncidentRow.ref, ShipmentRow.delivered_at, since.label("since"))
            .join(OrderRow, OrderRow.reshipment_of_id == IncidentRow.order_id)
            .join(ShipmentRow, ShipmentRow.order_id == OrderRow.id)
            .where(*open_cases, ShipmentRow.delivered_at.is_not(None))
        )
        deliveries = union_all(own, reshipped).subquery()
        query = (
            select(deliveries.c.ref, func.min(deliveries.c.delivered_at))
            # A delivery scan from before the report is what the customer disputes: not a cure.
            .where(deliveries.c.delivered_at > deliveries.c.since)
            .group_by(deliveries.c.id, deliveries.c.ref)
            .order_by(deliveries.c.id)
            .limit(limit)
        )
        return [DeliveredCase(ref, _aware(at)) for ref, at in self.session.execute(query) if at is not None]


def _aware(value: datetime) -> datetime:
    """An aggregate may lose the column's zone on SQLite: give it back (stored values are UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _shifted(deadline: datetime | None, start: datetime, now: datetime) -> datetime | None:
    return None if deadline is None else now + (deadline - start)


def _claim_columns(claim: Claim, now: datetime) -> dict[str, Any]:
    return {
        "carrier_code": claim.carrier_code,
        "status": claim.status.value,
        "amount_claimed_cents": claim.amount_claimed_cents,
        "amount_recovered_cents": claim.amount_recovered_cents,
        "currency": claim.currency,
        "carrier_reference": claim.carrier_reference,
        "file_by": claim.file_by,
        "filed_at": claim.filed_at,
        "answer_due_at": claim.answer_due_at,
        "answered_at": claim.answered_at,
        "closed_at": claim.closed_at,
        "file_escalated_at": claim.escalated_at.get(ClaimDeadline.file_by),
        "answer_escalated_at": claim.escalated_at.get(ClaimDeadline.answer_due),
        "note": claim.note,
        "updated_at": now,
    }


def to_claim(row: CarrierClaimRow, incident_ref: str) -> Claim:
    """The domain claim of a stored row."""
    return Claim(
        id=row.id,
        incident_ref=incident_ref,
        carrier_code=row.carrier_code,
        amount_claimed_cents=row.amount_claimed_cents,
        currency=row.currency,
        file_by=row.file_by,
        created_by=row.created_by,
        created_at=row.created_at,
        status=ClaimStatus(row.status),
        amount_recovered_cents=row.amount_recovered_cents,
        carrier_reference=row.carrier_reference,
        filed_at=row.filed_at,
        answer_due_at=row.answer_due_at,
        answered_at=row.answered_at,
        closed_at=row.closed_at,
        note=row.note,
        escalated_at={
            deadline: at
            for deadline, at in (
                (ClaimDeadline.file_by, row.file_escalated_at),
                (ClaimDeadline.answer_due, row.answer_escalated_at),
            )
            if at is not None
        },
    )
