"""``risk_flags`` rows and the set-wise facts the detectors read (D2, D10 in part).

Each ``*_facts`` method is ONE statement over every open order (status neither delivered,
canceled nor unavailable: undeliverable orders still need someone's attention), so a run costs
a handful of queries whatever the number of orders. Raising is an upsert on the unique
(order_id, kind): a new row is inserted, a cleared row is re-opened, and a row that is already
open is left alone — the ``WHERE cleared_at IS NOT NULL`` of ``ON CONFLICT DO UPDATE`` is what
makes a concurrent second run a no-op on both backends (PostgreSQL re-checks it against the
committed row; SQLite writers are serialized by ``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, bindparam, cast, func, select, update
from sqlalchemy.orm import Session

from orderwatch.adapters.db.dialect import insert_for, matching
from orderwatch.adapters.db.tables import (
    ModelVersionRow,
    OrderLineRow,
    OrderRow,
    PredictionRow,
    RiskFlagRow,
    ShipmentRow,
    SupplierRow,
    TrackingEventRow,
    table_of,
)
from orderwatch.domain.causes import Cause
from orderwatch.domain.detectors import (
    DispatchFacts,
    ExceptionFacts,
    Finding,
    GapSample,
    PromiseFacts,
    ScanFacts,
)
from orderwatch.domain.orders import OPEN_ORDER_STATUSES, OrderStatus
from orderwatch.domain.risk_flags import RiskFlagKind, RiskSeverity
from orderwatch.domain.shipments import EXCEPTION_STATUSES, TERMINAL_STATUSES, ShipmentStatus
from orderwatch.services.ports import OpenFlag, RaisedFlag

# Undeliverable orders are not "open" for the order lists, but they are exactly what needs a flag.
WATCHED_STATUSES = sorted({*OPEN_ORDER_STATUSES, OrderStatus.undeliverable})
# Enum lookups by value through dicts: ``Enum(value)`` costs more than the rest of a row.
SHIPMENT_STATUS = {status.value: status for status in ShipmentStatus}
KIND = {kind.value: kind for kind in RiskFlagKind}
SEVERITY = {severity.value: severity for severity in RiskSeverity}
CAUSE = {cause.value: cause for cause in Cause}
FLAGS = table_of(RiskFlagRow)


def _watched() -> ColumnElement[bool]:
    return OrderRow.status.in_(WATCHED_STATUSES)


def seconds_between(session: Session, later: Any, earlier: Any) -> ColumnElement[float]:
    """``later - earlier`` in seconds, in SQL (the only date arithmetic that differs by backend)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.extract("epoch", later - earlier), Float)
    return (func.julianday(later) - func.julianday(earlier)) * 86_400.0


class SqlRiskFlagStore:
    """Implements ``services.ports.RiskFlagStore`` inside the unit of work's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # ------------------------------------------------------------------ facts

    def count_open_orders(self) -> int:
        return self.session.scalar(select(func.count()).select_from(OrderRow).where(_watched())) or 0

    def promise_facts(self, *, now: datetime) -> list[PromiseFacts]:
        query = select(OrderRow.id, OrderRow.promised_at).where(
            _watched(), OrderRow.delivered_at.is_(None), OrderRow.promised_at < now
        )
        # ``promised is not None`` repeats the WHERE clause for the type checker.
        return [
            PromiseFacts(i, promised) for i, promised in self.session.execute(query) if promised is not None
        ]

    def scan_facts(self, *, quiet_since: datetime) -> list[ScanFacts]:
        query = (
            select(
                ShipmentRow.order_id,
                ShipmentRow.origin_region,
                ShipmentRow.destination_region,
                ShipmentRow.last_scan_at,
                ShipmentRow.handed_over_at,
                ShipmentRow.status,
                ShipmentRow.tracking_number,
            )
            .join(OrderRow, OrderRow.id == ShipmentRow.order_id)
            .where(
                _watched(),
                ShipmentRow.delivered_at.is_(None),
                ShipmentRow.handed_over_at.is_not(None),
                ShipmentRow.status.not_in(sorted(TERMINAL_STATUSES)),
                ShipmentRow.last_scan_at < quiet_since,
            )
        )
        quietest: dict[int, ScanFacts] = {}
        for order_id, origin, destination, last_scan, handed, status, tracking in self.session.execute(query):
            if last_scan is None:
                continue  # excluded by the WHERE clause; repeated for the type checker
            fact = ScanFacts(
                order_id, (origin, destination), last_scan, handed, SHIPMENT_STATUS[status], tracking
            )
            current = quietest.get(order_id)
            if current is None or fact.last_scan_at < current.last_scan_at:
                quietest[order_id] = fact
        return list(quietest.values())

    def exception_facts(self) -> list[ExceptionFacts]:
        event = TrackingEventRow
        query = (
            select(
                ShipmentRow.order_id,
                ShipmentRow.status,
                ShipmentRow.status_at,
                ShipmentRow.tracking_number,
                func.max(event.raw_code),
                func.max(event.raw_text),
            )
            .join(OrderRow, OrderRow.id == ShipmentRow.order_id)
            # The event that set the status carries the carrier's own words about it.
            .outerjoin(
                event,
                and_(
                    event.shipment_id == ShipmentRow.id,
                    event.occurred_at == ShipmentRow.status_at,
                    event.status == ShipmentRow.status,
                ),
            )
            .where(_watched(), ShipmentRow.status.in_(sorted(EXCEPTION_STATUSES)))
            .group_by(
                ShipmentRow.id,
                ShipmentRow.order_id,
                ShipmentRow.status,
                ShipmentRow.status_at,
                ShipmentRow.tracking_number,
            )
        )
        return [
            ExceptionFacts(order_id, SHIPMENT_STATUS[status], status_at, tracking, raw_code, raw_text)
            for order_id, status, status_at, tracking, raw_code, raw_text in self.session.execute(query)
        ]

    def dispatch_facts(self, *, now: datetime) -> list[DispatchFacts]:
        query = (
            select(OrderLineRow.order_id, OrderLineRow.dispatch_deadline, SupplierRow.ref)
            .join(OrderRow, OrderRow.id == OrderLineRow.order_id)
            .outerjoin(SupplierRow, SupplierRow.id == OrderLineRow.supplier_id)
            .where(_watched(), OrderRow.handed_over_at.is_(None), OrderLineRow.dispatch_deadline < now)
        )
        earliest: dict[int, DispatchFacts] = {}
        for order_id, deadline, ref in self.session.execute(query):
            supplier: str | None = ref  # NULL when the line names no supplier (outer join)
            if deadline is None:
                continue  # excluded by the WHERE clause; repeated for the type checker
            current = earliest.get(order_id)
            late = 1 if current is None else current.lines_late + 1
            if current is not None and current.deadline <= deadline:
                deadline, supplier = current.deadline, current.supplier_ref
            earliest[order_id] = DispatchFacts(order_id, deadline, supplier, late)
        return list(earliest.values())

    def gap_samples(self, *, since: datetime, now: datetime) -> list[GapSample]:
        event = TrackingEventRow
        previous = func.lag(event.occurred_at).over(
            partition_by=event.shipment_id, order_by=event.occurred_at
        )
        scans = (
            select(
                ShipmentRow.delivered_at.label("delivered_at"),
                ShipmentRow.origin_region.label("origin"),
                ShipmentRow.destination_region.label("destination"),
                event.occurred_at.label("at"),
                previous.label("previous"),
            )
            .join(ShipmentRow, ShipmentRow.id == event.shipment_id)
            .where(
                ShipmentRow.delivered_at > since, ShipmentRow.delivered_at <= now, event.occurred_at <= now
            )
            .subquery()
        )
        gap = seconds_between(self.session, scans.c.at, scans.c.previous)
        query = select(scans.c.delivered_at, scans.c.origin, scans.c.destination, gap).where(
            scans.c.previous.is_not(None)
        )
        return [
            GapSample(delivered, (origin, destination), float(seconds))
            for delivered, origin, destination, seconds in self.session.execute(query)
        ]

    # ------------------------------------------------------------------ flags

    def open_flags(self, kinds: Sequence[RiskFlagKind]) -> list[OpenFlag]:
        query = select(
            RiskFlagRow.id,
            RiskFlagRow.order_id,
            RiskFlagRow.kind,
            RiskFlagRow.severity,
            RiskFlagRow.cause,
            RiskFlagRow.reason,
        ).where(RiskFlagRow.cleared_at.is_(None), RiskFlagRow.kind.in_([k.value for k in kinds]))
        return [
            OpenFlag(
                flag_id,
                order_id,
                KIND[kind],
                SEVERITY[severity],
                CAUSE[cause] if cause else None,
                reason,
            )
            for flag_id, order_id, kind, severity, cause, reason in self.session.execute(query)
        ]

    def raise_flags(self, findings: Sequence[Finding], *, now: datetime) -> list[RaisedFlag]:
        if not findings:
            return []
        rows = [
            {
                "order_id": f.order_id,
                "kind": f.kind.value,
                "severity": f.severity.value,
                "cause": f.cause.value if f.cause else None,
                "reason": f.reason,
                "details": f.details,
                "raised_at": now,
                "updated_at": now,
                "cleared_at": None,
            }
            for f in findings
        ]
        statement = insert_for(self.session, FLAGS)
        fresh = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=["order_id", "kind"],
            set_={
                name: fresh[name]
                for name in (
                    "severity",
                    "cause",
                    "reason",
                    "details",
                    "raised_at",
                    "updated_at",
                    "cleared_at",
                )
            },
            where=FLAGS.c.cleared_at.is_not(None),
        ).returning(FLAGS.c.id, FLAGS.c.order_id, FLAGS.c.kind, FLAGS.c.raised_at)
        returned = [tuple(row) for row in self.session.execute(statement, rows)]
        refs = self._order_refs([row[1] for row in returned])
        return [
            RaisedFlag(flag_id, order_id, refs[order_id], KIND[kind], raised_at)
            for flag_id, order_id, kind, raised_at in returned
        ]

    def eta_windows(self, order_ids: Sequence[int]) -> dict[int, tuple[datetime, datetime]]:
        """The active model's latest (P50, P90) expected delivery per order, where it scored one."""
        windows: dict[int, tuple[datetime, datetime]] = {}
        for clause in matching(self.session, PredictionRow.order_id, order_ids):
            query = (
                select(PredictionRow.order_id, PredictionRow.eta_p50_at, PredictionRow.eta_p90_at)
                .join(ModelVersionRow, ModelVersionRow.version == PredictionRow.model_version)
                .where(clause, ModelVersionRow.is_active.is_(True))
                .order_by(PredictionRow.scored_at, PredictionRow.id)
            )
            windows.update({order_id: (p50, p90) for order_id, p50, p90 in self.session.execute(query)})
        return windows

    def _order_refs(self, order_ids: Sequence[int]) -> dict[int, str]:
        refs: dict[int, str] = {}
        for clause in matching(self.session, OrderRow.id, order_ids):
            query = select(OrderRow.id, OrderRow.ref).where(clause)
            refs.update({order_id: ref for order_id, ref in self.session.execute(query)})
        return refs

    def update_flags(self, changes: Sequence[tuple[int, Finding]], *, now: datetime) -> int:
        if not changes:
            return 0
        statement = (
            update(FLAGS)
            .where(FLAGS.c.id == bindparam("flag_id"), FLAGS.c.cleared_at.is_(None))
            .values(
                severity=bindparam("new_severity"),
                cause=bindparam("new_cause"),
                reason=bindparam("new_reason"),
                details=bindparam("new_details", type_=FLAGS.c.details.type),
                updated_at=now,
            )
        )
        rows = [
            {
                "flag_id": flag_id,
                "new_severity": f.severity.value,
                "new_cause": f.cause.value if f.cause else None,
                "new_reason": f.reason,
                "new_details": f.details,
            }
            for flag_id, f in changes
        ]
        self.session.execute(statement.execution_options(synchronize_session=False), rows)
        return len(rows)

    def clear_flags(self, flag_ids: Sequence[int], *, now: datetime) -> int:
        cleared = 0
        for clause in matching(self.session, FLAGS.c.id, flag_ids):
            result = self.session.execute(
                update(FLAGS)
                .where(clause, FLAGS.c.cleared_at.is_(None))
                .values(cleared_at=now, updated_at=now)
            )
            cleared += max(getattr(result, "rowcount", 0) or 0, 0)
        return cleared
