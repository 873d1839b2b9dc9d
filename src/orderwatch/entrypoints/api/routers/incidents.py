"""``/api/v1/incidents`` (U3–U9, U11, U14): list, one case with its ledger, claims, review, report, moves.

Reads need ``incidents:read``; each write checks the permission its step needs
(``domain/incident_permissions.py``), so an API key scoped ``incidents:customer`` can record
the first customer contact but not close the case.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from orderwatch.adapters.db.incident_queries import (
    IncidentFilters,
    find_incident,
    incident_stats,
    list_incidents,
)
from orderwatch.adapters.db.remedy_queries import (
    claim_item,
    compensation_item,
    ledger_of,
    list_claims,
    review,
)
from orderwatch.adapters.db.tables import IncidentRow
from orderwatch.bootstrap import App
from orderwatch.domain.causes import Cause
from orderwatch.domain.claims import ClaimStatus
from orderwatch.domain.errors import NotFound, PermissionDenied, ValidationFailed
from orderwatch.domain.incident_permissions import ACTION_PERMISSIONS, NOTE_PERMISSIONS, TASK_PERMISSIONS, may
from orderwatch.domain.incident_tasks import TaskKind
from orderwatch.domain.incidents import Action, IncidentSeverity
from orderwatch.domain.roles import Permission
from orderwatch.entrypoints.api.auth import Principal, authenticate, require
from orderwatch.entrypoints.api.deps import AppDep, ReadSessionDep, get_app
from orderwatch.entrypoints.api.rendering import ERROR_RESPONSES
from orderwatch.entrypoints.incident_wiring import incident_config
from orderwatch.services.incidents import add_note, assign_task, perform, report_undelivered

router = APIRouter(responses=ERROR_RESPONSES)
IncidentsRead = Annotated[Principal, Depends(require(Permission.incidents_read))]
IncidentsReport = Annotated[Principal, Depends(require(Permission.incidents_report))]


def caller(request: Request, application: Annotated[App, Depends(get_app)]) -> Principal:
    """Any authenticated caller; the route checks the permission its step needs."""
    return authenticate(request, application)


Caller = Annotated[Principal, Depends(caller)]


def _check(principal: Principal, needed: frozenset[Permission], what: str) -> None:
    if not may(principal.permissions, needed):
        scopes = " or ".join(sorted(p.value for p in needed))
        raise PermissionDenied(f"{principal.name} lacks the scope {scopes} needed to {what}")


class IncidentSummaryOut(BaseModel):
    ref: str
    order_ref: str
    status: str
    severity: str
    cause: str
    party: str | None
    source: str
    sla_state: str
    escalation_level: int
    carrier: str | None
    region: str | None
    reported_at: datetime
    first_contact_at: datetime | None
    resolved_at: datetime | None

    @classmethod
    def of(cls, row: IncidentRow) -> IncidentSummaryOut:
        return cls(
            ref=row.ref,
            order_ref=row.order_ref,
            status=row.status,
            severity=row.severity,
            cause=row.cause,
            party=row.party,
            source=row.source,
            sla_state=row.sla_state,
            escalation_level=row.escalation_level,
            carrier=row.carrier_code,
            region=row.region,
            reported_at=row.reported_at,
            first_contact_at=row.first_contact_at,
            resolved_at=row.resolved_at,
        )


class IncidentListOut(BaseModel):
    items: list[IncidentSummaryOut]
    next_before_id: int | None


class IncidentDetailOut(IncidentSummaryOut):
    summary: str
    tracking_number: str | None
    lane: str | None
    parent_ref: str | None
    children: list[str]
    resolution: str | None
    root_cause: str | None
    lessons: str | None
    waiting_on: str | None
    follow_ups: str | None
    timeline: list[dict[str, Any]]
    sla_ledger: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    compensations: list[dict[str, Any]]
    claims: list[dict[str, Any]]
    cost: dict[str, Any]


class ReportIn(BaseModel):
    order_ref: str = Field(min_length=1, max_length=64)
    cause: Cause = Cause.unknown
    severity: IncidentSeverity = IncidentSeverity.medium
    summary: str = Field("", max_length=2000)


class TransitionIn(BaseModel):
    action: Action
    arguments: dict[str, str] = Field(default_factory=dict)


class NoteIn(BaseModel):
    kind: str = "note"
    text: str = Field(min_length=1, max_length=4000)


class TaskIn(BaseModel):
    kind: TaskKind
    owner: str = Field(min_length=1, max_length=64)
    due_at: datetime
    note: str = Field("", max_length=2000)


@router.get("", response_model=IncidentListOut, summary="List and filter incidents")
def get_incidents(
    session: ReadSessionDep,
    _: IncidentsRead,
    status: str | None = None,
    severity: str | None = None,
    cause: str | None = None,
    sla_state: str | None = None,
    carrier: str | None = None,
    active: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: int | None = None,
) -> IncidentListOut:
    """Newest first; follow ``next_before_id`` for the next page."""
    filters = IncidentFilters(
        status=status,
        severity=severity,
        cause=cause,
        sla_state=sla_state,
        carrier=carrier,
        active_only=active,
    )
    rows = list_incidents(session, filters, limit=limit, before_id=before_id)
    return IncidentListOut(
        items=[IncidentSummaryOut.of(r) for r in rows],
        next_before_id=rows[-1].id if len(rows) == limit else None,
    )


@router.get("/stats", summary="Counts, SLA met % and response times")
def get_stats(session: ReadSessionDep, _: IncidentsRead) -> dict[str, Any]:
    return incident_stats(session)


@router.get("/claims", summary="Carrier claims with totals per carrier")
def get_claims(
    session: ReadSessionDep,
    _: IncidentsRead,
    status: ClaimStatus | None = None,
    carrier: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Newest first; ``totals_by_carrier`` counts every matching claim (U7)."""
    rows, totals = list_claims(session, status=status.value if status else None, carrier=carrier, limit=limit)
    return {"items": [claim_item(claim, ref) for claim, ref in rows], "totals_by_carrier": totals}


@router.get("/review", summary="Periodic review of the cases reported in a period")
def get_review(
    session: ReadSessionDep,
    application: AppDep,
    _: IncidentsRead,
    start: Annotated[datetime, Query(alias="from")],
    end: Annotated[datetime, Query(alias="to")],
) -> dict[str, Any]:
    """Frequency by cause/carrier/region, handling times, SLA met %, compensation and claims (U14).

    ``cost_per_case`` gives per currency the net cost (approved compensation − recovered) in
    total and per case, by the month of the report (shop time zone), carrier and cause (U7).
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationFailed("from/to", "give a time zone (e.g. 2018-03-01T00:00-03:00)")
    if end <= start:
        raise ValidationFailed("to", "must be after from", end.isoformat())
    return review(session, start=start, end=end, zone=ZoneInfo(application.settings.shop_timezone))


@router.get("/{ref}", response_model=IncidentDetailOut, summary="One incident with its timeline")
def get_incident(ref: str, session: ReadSessionDep, _: IncidentsRead) -> IncidentDetailOut:
    detail = find_incident(session, ref)
    if detail is None:
        raise NotFound("incident", ref)
    row = detail.incident
    ledger = ledger_of(session, row.id)
    return IncidentDetailOut(
        **IncidentSummaryOut.of(row).model_dump(),
        summary=row.summary,
        tracking_number=row.tracking_number,
        lane=row.lane,
        parent_ref=detail.parent_ref,
        children=[c.ref for c in detail.children],
        resolution=row.resolution,
        root_cause=row.root_cause,
        lessons=row.lessons,
        follow_ups=row.follow_ups,
        waiting_on=row.waiting_on,
        compensations=[compensation_item(c, linked) for c, linked in ledger.compensations],
        claims=[claim_item(claim, row.ref) for claim in ledger.claims],
        cost={**asdict(ledger.cost), "net_cents": ledger.cost.net_cents},
        timeline=[
            {
                "kind": t.kind,
                "at": t.at,
                "actor": t.actor,
                "from_status": t.from_status,
                "to_status": t.to_status,
                "detail": t.detail,
            }
            for t in detail.timeline
        ],
        sla_ledger=[{"metric": e.metric, "kind": e.kind, "at": e.at} for e in detail.ledger],
        tasks=[
            {
                "id": t.id,
                "kind": t.kind,
                "team": t.team,
                "owner": t.owner,
                "due_at": t.due_at,
                "status": t.status,
            }
            for t in detail.tasks
        ],
    )


@router.post("", status_code=201, summary="Report an order undelivered")
def post_incident(body: ReportIn, application: AppDep, principal: IncidentsReport) -> dict[str, str]:
    """Opens the order's case, or returns the one already open (never two per order)."""
    ref = report_undelivered(
        application.uow(),
        application.clock,
        config=incident_config(application.settings),
        order_ref=body.order_ref,
        actor=principal.name,
        cause=body.cause,
        severity=body.severity,
        summary=body.summary,
    )
    return {"ref": ref}


@router.post("/{ref}/transitions", summary="Move an incident one step")
def post_transition(ref: str, body: TransitionIn, application: AppDep, principal: Caller) -> dict[str, str]:
    _check(principal, ACTION_PERMISSIONS[body.action], body.action.value)
    incident = perform(
        application.uow(),
        application.clock,
        config=incident_config(application.settings),
        ref=ref,
        action=body.action,
        actor=principal.name,
        arguments=body.arguments,
    )
    return {"ref": incident.ref, "status": incident.status.value}


@router.post("/{ref}/notes", status_code=201, summary="Add a note or a contact to the timeline")
def post_note(ref: str, body: NoteIn, application: AppDep, principal: Caller) -> dict[str, str]:
    needed = NOTE_PERMISSIONS.get(body.kind, frozenset({Permission.incidents_lead}))
    _check(principal, needed, f"add a {body.kind}")
    add_note(
        application.uow(),
        application.clock,
        config=incident_config(application.settings),
        ref=ref,
        actor=principal.name,
        text=body.text,
        kind=body.kind,
    )
    return {"ref": ref}


@router.post("/{ref}/tasks", status_code=201, summary="Assign a task with an owner and a deadline")
def post_task(ref: str, body: TaskIn, application: AppDep, principal: Caller) -> dict[str, int]:
    _check(principal, TASK_PERMISSIONS, "assign tasks")
    task_id = assign_task(
        application.uow(),
        application.clock,
        config=incident_config(application.settings),
        ref=ref,
        kind=body.kind,
        owner=body.owner,
        due_at=body.due_at,
        actor=principal.name,
        note=body.note,
    )
    return {"task_id": task_id}
