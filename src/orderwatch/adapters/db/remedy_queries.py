"""Read side of the compensation ledger and claims (U6–U9, U14, D5): per case, per carrier, reports.

* :func:`ledger_of` — one case's compensation entries and claims, for its page and its report
  (:func:`compensation_item` / :func:`claim_item`: an entry / a claim as the API lists it);
* :func:`list_claims` — claims across cases (API, CLI), with totals per carrier;
* :func:`post_incident_report` — the data of the post-incident report, from the timeline;
* :func:`review` — the periodic review: frequency by cause / carrier / region, handling times
  (median, p90), SLA met %, compensation and claim totals, and the net cost per case by month,
  carrier and cause (``domain/incident_costs.py``), for cases reported in a period;
* :func:`order_links` — a reshipment's original order and an order's reshipments.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from orderwatch.adapters.db.incident_queries import IncidentDetail, find_incident, sla_outcomes
from orderwatch.adapters.db.tables import CarrierClaimRow, CompensationRow, IncidentRow, OrderRow
from orderwatch.domain.incident_costs import CaseCost, cost_per_case
from orderwatch.domain.kpis import quantile
from orderwatch.domain.postmortem import (
    Cost,
    LedgerLine,
    PostIncidentReport,
    TimelineLine,
    cost_of,
    describe,
    minutes_between,
)
from orderwatch.domain.sla import SlaMetric


@dataclass(frozen=True, slots=True)
class CaseLedger:
    compensations: list[tuple[CompensationRow, str | None]]  # entry, linked order ref
    claims: list[CarrierClaimRow]
    cost: Cost


DEFAULT_CURRENCY = "BRL"  # a case whose order is gone and that has no ledger entry


def ledger_of(session: Session, incident_id: int, *, currency: str = DEFAULT_CURRENCY) -> CaseLedger:
    linked = aliased(OrderRow)
    entries: list[tuple[CompensationRow, str | None]] = [
        (row, ref)
        for row, ref in session.execute(
            select(CompensationRow, linked.ref)
            .outerjoin(linked, linked.id == CompensationRow.linked_order_id)
            .where(CompensationRow.incident_id == incident_id)
            .order_by(CompensationRow.id)
        )
    ]
    claims = list(
        session.scalars(
            select(CarrierClaimRow)
            .where(CarrierClaimRow.incident_id == incident_id)
            .order_by(CarrierClaimRow.id)
        )
    )
    cost = cost_of(
        entries[0][0].currency if entries else (claims[0].currency if claims else currency),
        ((row.status, row.amount_cents) for row, _ in entries),
        ((c.amount_claimed_cents, c.amount_recovered_cents) for c in claims),
    )
    return CaseLedger(entries, claims, cost)


def ledger_of_ref(session: Session, ref: str) -> CaseLedger | None:
    """The ledger of case ``ref``; ``None`` if there is no such case."""
    incident_id = session.scalar(select(IncidentRow.id).where(IncidentRow.ref == ref))
    return None if incident_id is None else ledger_of(session, incident_id)


def compensation_item(entry: CompensationRow, linked_order_ref: str | None) -> dict[str, Any]:
    """A ledger entry as the API lists it."""
    return {
        "id": entry.id,
        "kind": entry.kind,
        "amount_cents": entry.amount_cents,
        "currency": entry.currency,
        "status": entry.status,
        "needs_approval_by": entry.approver_role if entry.status == "pending" else None,
        "requested_by": entry.requested_by,
        "requested_at": entry.requested_at.isoformat(),
        "decided_by": entry.decided_by,
        "note": entry.note,
        "linked_order": linked_order_ref,
    }


def list_claims(
    session: Session, *, status: str | None = None, carrier: str | None = None, limit: int = 200
) -> tuple[list[tuple[CarrierClaimRow, str]], dict[str, dict[str, int]]]:
    """Newest claims first with their case ref, and totals per carrier over all matching claims."""
    query = select(CarrierClaimRow, IncidentRow.ref).join(
        IncidentRow, IncidentRow.id == CarrierClaimRow.incident_id
    )
    if status:
        query = query.where(CarrierClaimRow.status == status)
    if carrier:
        query = query.where(CarrierClaimRow.carrier_code == carrier)
    rows = [(claim, ref) for claim, ref in session.execute(query.order_by(CarrierClaimRow.id.desc()))]
    totals: dict[str, dict[str, int]] = defaultdict(
        lambda: {"claims": 0, "claimed_cents": 0, "recovered_cents": 0}
    )
    for claim, _ in rows:
        bucket = totals[claim.carrier_code]
        bucket["claims"] += 1
        bucket["claimed_cents"] += claim.amount_claimed_cents
        bucket["recovered_cents"] += claim.amount_recovered_cents
    return rows[:limit], dict(sorted(totals.items()))


def _sla_of(detail: IncidentDetail) -> list[tuple[str, str]]:
    decided: dict[str, str] = {}
    started: set[str] = set()
    for entry in detail.ledger:
        if entry.kind == "started":
            started.add(entry.metric)
            if decided.get(entry.metric) == "met":
                del decided[entry.metric]  # a reopen restarts the resolution clock
        if entry.kind in {"met", "breached", "voided"} and decided.get(entry.metric) != "breached":
            decided[entry.metric] = entry.kind
    return [(m.value, decided.get(m.value, "running" if m.value in started else "—")) for m in SlaMetric]


def post_incident_report(session: Session, ref: str) -> PostIncidentReport | None:
    """The report of case ``ref`` as it stands (the full one once the case is closed)."""
    detail = find_incident(session, ref)
    if detail is None:
        return None
    row = detail.incident
    ledger = ledger_of(session, row.id)
    return PostIncidentReport(
        ref=row.ref,
        order_ref=row.order_ref,
        status=row.status,
        severity=row.severity,
        cause=row.cause,
        party=row.party,
        carrier=row.carrier_code,
        region=row.region,
        reported_at=row.reported_at,
        first_contact_at=row.first_contact_at,
        resolved_at=row.resolved_at,
        closed_at=row.closed_at,
        result=row.resolution,
        root_cause=row.root_cause,
        lessons=row.lessons,
        follow_ups=row.follow_ups,
        sla=_sla_of(detail),
        cost=ledger.cost,
        timeline=[
            TimelineLine(t.at, t.actor, t.kind, describe(dict(t.detail or {}))) for t in detail.timeline
        ],
        compensations=[
            LedgerLine(
                c.kind, c.status, c.amount_cents, c.currency, c.decided_by or c.requested_by, linked or ""
            )
            for c, linked in ledger.compensations
        ],
        claims=[
            LedgerLine(
                c.carrier_code,
                c.status,
                c.amount_claimed_cents,
                c.currency,
                c.created_by,
                f"{c.carrier_reference or ''} recovered {c.amount_recovered_cents}",
            )
            for c in ledger.claims
        ],
    )


def _spread(values: list[float]) -> dict[str, float | None]:
    def rounded(q: float) -> float | None:
        value = quantile(values, q)
        return None if value is None else round(value, 1)

    return {"count": len(values), "median": rounded(0.5), "p90": rounded(0.9)}


def review(session: Session, *, start: datetime, end: datetime, zone: tzinfo = UTC) -> dict[str, Any]:
    """The periodic review (U14) of cases reported in ``[start, end)``; no data is ``None``.

    ``cost_per_case`` groups the net cost by the month of the report in ``zone`` (the shop's).
    """
    rows = session.execute(
        select(
            IncidentRow.id,
            IncidentRow.cause,
            IncidentRow.carrier_code,
            IncidentRow.region,
            IncidentRow.reported_at,
            IncidentRow.first_contact_at,
            IncidentRow.resolved_at,
            OrderRow.currency,
        )
        .outerjoin(OrderRow, OrderRow.id == IncidentRow.order_id)
        .where(
            IncidentRow.reported_at >= start, IncidentRow.reported_at < end, IncidentRow.source != "volume"
        )
    ).all()
    ids = [r.id for r in rows]
    by: dict[str, Counter[str]] = {"cause": Counter(), "carrier": Counter(), "region": Counter()}
    contact: list[float] = []
    resolution: list[float] = []
    for r in rows:
        by["cause"][r.cause] += 1
        by["carrier"][r.carrier_code or "—"] += 1
        by["region"][r.region or "—"] += 1
        if (m := minutes_between(r.reported_at, r.first_contact_at)) is not None:
            contact.append(m)
        if (m := minutes_between(r.reported_at, r.resolved_at)) is not None:
            resolution.append(m)
    compensation: dict[str, Counter[str]] = defaultdict(Counter)
    claims: dict[str, dict[str, Any]] = {}
    # per case and currency: [approved compensation, recovered]
    money: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for start_at in range(0, len(ids), 900):
        chunk = ids[start_at : start_at + 900]
        for c in session.scalars(
            select(CompensationRow).where(
                CompensationRow.incident_id.in_(chunk), CompensationRow.status == "approved"
            )
        ):
            compensation[c.currency][c.kind] += c.amount_cents
            money[c.incident_id][c.currency][0] += c.amount_cents
        for k in session.scalars(select(CarrierClaimRow).where(CarrierClaimRow.incident_id.in_(chunk))):
            bucket = claims.setdefault(
                k.carrier_code,
                {"currency": k.currency, "claims": 0, "claimed_cents": 0, "recovered_cents": 0},
            )
            bucket["claims"] += 1
            bucket["claimed_cents"] += k.amount_claimed_cents
            bucket["recovered_cents"] += k.amount_recovered_cents
            money[k.incident_id][k.currency][1] += k.amount_recovered_cents
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "incidents": len(rows),
        **{f"by_{key}": dict(counter.most_common()) for key, counter in sorted(by.items())},
        "minutes_to_first_contact": _spread(contact),
        "minutes_to_resolution": _spread(resolution),
        "sla": sla_outcomes(session, set(ids)),
        "compensation_cents": {
            cur: dict(sorted(kinds.items())) for cur, kinds in sorted(compensation.items())
        },
        "claims_by_carrier": dict(sorted(claims.items())),
        "cost_per_case": cost_per_case(_case_costs(rows, money, zone)),
    }


def _case_costs(rows: Any, money: dict[int, dict[str, list[int]]], zone: tzinfo) -> Iterator[CaseCost]:
    """Each case once per currency it has money in; a case without any, at 0 in its order's."""
    for r in rows:
        month = r.reported_at.astimezone(zone).strftime("%Y-%m")
        amounts = money.get(r.id) or {r.currency or DEFAULT_CURRENCY: [0, 0]}
        for currency, (granted, recovered) in amounts.items():
            yield CaseCost(month, r.carrier_code or "—", r.cause, currency, granted, recovered)


def order_links(session: Session, order_ref: str) -> tuple[str | None, list[str]]:
    """(the order this one reships, the reshipments of this one), by ref."""
    original = aliased(OrderRow)
    found = session.execute(
        select(OrderRow.id, original.ref)
        .outerjoin(original, original.id == OrderRow.reshipment_of_id)
        .where(OrderRow.ref == order_ref)
    ).first()
    if found is None:
        return None, []
    copies = session.scalars(
        select(OrderRow.ref).where(OrderRow.reshipment_of_id == found.id).order_by(OrderRow.id)
    )
    return found.ref, list(copies)


def case_of_compensation(session: Session, entry_id: int) -> str | None:
    """The ref of the case a ledger entry belongs to."""
    return session.scalar(
        select(IncidentRow.ref)
        .join(CompensationRow, CompensationRow.incident_id == IncidentRow.id)
        .where(CompensationRow.id == entry_id)
    )


def case_of_claim(session: Session, claim_id: int) -> str | None:
    """The ref of the case a claim belongs to."""
    return session.scalar(
        select(IncidentRow.ref)
        .join(CarrierClaimRow, CarrierClaimRow.incident_id == IncidentRow.id)
        .where(CarrierClaimRow.id == claim_id)
    )


def claim_item(claim: CarrierClaimRow, incident_ref: str) -> dict[str, Any]:
    """A claim as the API and the CLI list it."""
    return {
        "id": claim.id,
        "incident": incident_ref,
        "carrier": claim.carrier_code,
        "status": claim.status,
        "amount_claimed_cents": claim.amount_claimed_cents,
        "amount_recovered_cents": claim.amount_recovered_cents,
        "currency": claim.currency,
        "carrier_reference": claim.carrier_reference,
        "file_by": claim.file_by.isoformat(),
        "filed_at": claim.filed_at.isoformat() if claim.filed_at else None,
        "answer_due_at": claim.answer_due_at.isoformat() if claim.answer_due_at else None,
        # when a passed deadline was escalated (job incidents.claim_deadlines), else None
        "file_escalated_at": claim.file_escalated_at.isoformat() if claim.file_escalated_at else None,
        "answer_escalated_at": claim.answer_escalated_at.isoformat() if claim.answer_escalated_at else None,
    }
