"""Read side of incidents (U9, U11, U14): board lists, one case with its timeline, tasks, statistics.

Statistics follow the KPI rules of ``domain/kpis.py``: "no data" is ``None``, never 0 % or
100 %. SLA met % of a clock counts the cases whose clock was decided (met or breached) and
leaves out the running and the cancelled ones.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderwatch.adapters.db.tables import (
    IncidentRow,
    IncidentTaskRow,
    IncidentTimelineRow,
    OrderRow,
    SlaLedgerRow,
)
from orderwatch.domain.causes import Cause
from orderwatch.domain.kpis import quantile
from orderwatch.domain.remedies import RemedyFacts
from orderwatch.domain.sla import SlaMetric


@dataclass(frozen=True, slots=True)
class IncidentFilters:
    """Board filters; ``None`` means any."""

    status: str | None = None
    severity: str | None = None
    cause: str | None = None
    sla_state: str | None = None
    carrier: str | None = None
    active_only: bool = False
    search: str | None = None


def list_incidents(
    session: Session, filters: IncidentFilters, *, limit: int = 100, before_id: int | None = None
) -> list[IncidentRow]:
    """Newest cases first, filtered; keyset pagination by ``before_id``."""
    query = select(IncidentRow).order_by(IncidentRow.id.desc()).limit(limit)
    for column, value in (
        (IncidentRow.status, filters.status),
        (IncidentRow.severity, filters.severity),
        (IncidentRow.cause, filters.cause),
        (IncidentRow.sla_state, filters.sla_state),
        (IncidentRow.carrier_code, filters.carrier),
    ):
        if value:
            query = query.where(column == value)
    if filters.active_only:
        query = query.where(IncidentRow.status.not_in(["closed", "cancelled"]))
    if filters.search:
        query = query.where(
            IncidentRow.ref.contains(filters.search) | IncidentRow.order_ref.contains(filters.search)
        )
    if before_id is not None:
        query = query.where(IncidentRow.id < before_id)
    return list(session.scalars(query))


@dataclass(frozen=True, slots=True)
class IncidentDetail:
    incident: IncidentRow
    parent_ref: str | None
    children: list[IncidentRow]
    timeline: list[IncidentTimelineRow]
    ledger: list[SlaLedgerRow]
    tasks: list[IncidentTaskRow]


def find_incident(session: Session, ref: str) -> IncidentDetail | None:
    row = session.scalars(select(IncidentRow).where(IncidentRow.ref == ref)).first()
    if row is None:
        return None
    parent = (
        session.scalar(select(IncidentRow.ref).where(IncidentRow.id == row.parent_id))
        if row.parent_id
        else None
    )
    return IncidentDetail(
        incident=row,
        parent_ref=parent,
        children=list(
            session.scalars(
                select(IncidentRow).where(IncidentRow.parent_id == row.id).order_by(IncidentRow.id)
            )
        ),
        timeline=list(
            session.scalars(
                select(IncidentTimelineRow)
                .where(IncidentTimelineRow.incident_id == row.id)
                .order_by(IncidentTimelineRow.at, IncidentTimelineRow.id)
            )
        ),
        ledger=list(
            session.scalars(
                select(SlaLedgerRow)
                .where(SlaLedgerRow.incident_id == row.id)
                .order_by(SlaLedgerRow.at, SlaLedgerRow.id)
            )
        ),
        tasks=list(
            session.scalars(
                select(IncidentTaskRow)
                .where(IncidentTaskRow.incident_id == row.id)
                .order_by(IncidentTaskRow.due_at)
            )
        ),
    )


def active_ref_for_order(session: Session, order_ref: str) -> str | None:
    return session.scalar(
        select(IncidentRow.ref).where(
            IncidentRow.order_ref == order_ref, IncidentRow.open_order_id.is_not(None)
        )
    )


def tasks_of(session: Session, owner: str, *, open_only: bool = True) -> list[tuple[IncidentTaskRow, str]]:
    """``owner``'s tasks, earliest deadline first, with their case's ref."""
    query = (
        select(IncidentTaskRow, IncidentRow.ref)
        .join(IncidentRow, IncidentRow.id == IncidentTaskRow.incident_id)
        .where(IncidentTaskRow.owner == owner)
        .order_by(IncidentTaskRow.due_at)
    )
    if open_only:
        query = query.where(IncidentTaskRow.status == "open")
    return [(task, ref) for task, ref in session.execute(query)]


def _minutes(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds() / 60


def _median(values: list[float]) -> float | None:
    middle = quantile(values, 0.5)
    return None if middle is None else round(middle, 1)


def incident_stats(session: Session, *, since: datetime | None = None) -> dict[str, Any]:
    """Counts by cause, state, severity and source, SLA met % per clock, median response times."""
    query = select(
        IncidentRow.id,
        IncidentRow.cause,
        IncidentRow.status,
        IncidentRow.severity,
        IncidentRow.source,
        IncidentRow.reported_at,
        IncidentRow.first_contact_at,
        IncidentRow.resolved_at,
        IncidentRow.escalation_level,
    )
    if since is not None:
        query = query.where(IncidentRow.reported_at >= since)
    rows = session.execute(query).all()
    ids = {r.id for r in rows}
    by: dict[str, Counter[str]] = defaultdict(Counter)
    contact, resolution = [], []
    for r in rows:
        by["cause"][r.cause] += 1
        by["state"][r.status] += 1
        by["severity"][r.severity] += 1
        by["source"][r.source] += 1
        by["escalation_level"][str(r.escalation_level)] += 1
        if (m := _minutes(r.reported_at, r.first_contact_at)) is not None:
            contact.append(m)
        if (m := _minutes(r.reported_at, r.resolved_at)) is not None:
            resolution.append(m)
    return {
        "incidents": len(rows),
        **{f"by_{key}": dict(sorted(counter.items())) for key, counter in sorted(by.items())},
        "sla": sla_outcomes(session, ids),
        "median_minutes_to_first_contact": _median(contact),
        "median_hours_to_resolution": None if not resolution else round((_median(resolution) or 0) / 60, 2),
        "contacted": len(contact),
        "resolved": len(resolution),
    }


def sla_outcomes(session: Session, ids: set[int]) -> dict[str, dict[str, Any]]:
    """Per clock: cases met, breached and the met rate (``None`` when no clock was decided)."""
    decided = select(SlaLedgerRow.incident_id, SlaLedgerRow.metric, SlaLedgerRow.kind).where(
        SlaLedgerRow.kind.in_(["met", "breached"])
    )
    outcome: dict[tuple[int, str], str] = {}
    for incident_id, metric, kind in session.execute(decided):
        if incident_id in ids and outcome.get((incident_id, metric)) != "breached":
            outcome[(incident_id, metric)] = kind  # a breach stays a breach even if met later
    result: dict[str, dict[str, Any]] = {}
    for metric in SlaMetric:
        kinds = Counter(kind for (_, m), kind in outcome.items() if m == metric.value)
        total = kinds["met"] + kinds["breached"]
        result[metric.value] = {
            "met": kinds["met"],
            "breached": kinds["breached"],
            "met_rate": round(kinds["met"] / total, 4) if total else None,
        }
    return result


def count_open(session: Session) -> int:
    return session.scalar(select(func.count()).where(IncidentRow.open_order_id.is_not(None))) or 0


def remedy_facts(session: Session, row: IncidentRow, *, now: datetime) -> RemedyFacts:
    """The remedy policy's inputs for a case: days past the promise, value, the customer's history."""
    order = session.execute(
        select(OrderRow.promised_at, OrderRow.delivered_at).where(OrderRow.id == row.order_id)
    ).first()
    days_late = 0.0
    if order is not None and order.promised_at is not None:
        days_late = max(0.0, ((order.delivered_at or now) - order.promised_at).total_seconds() / 86400)
    earlier = 0
    if row.customer_email:
        query = select(func.count()).where(
            IncidentRow.customer_email == row.customer_email, IncidentRow.reported_at < row.reported_at
        )
        earlier = session.scalar(query) or 0
    return RemedyFacts(Cause(row.cause), days_late, row.order_value_cents, earlier_incidents=earlier)
