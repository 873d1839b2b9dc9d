"""Staff incident pages (U3–U8, U11, D13): the board, one case, "my tasks", report from an order.

Each page shows only the actions the user's role may take (``domain/incident_permissions.py``)
and every POST checks the same table again: hiding a button is a courtesy, the check is the
rule. Forms carry the CSRF token (``web_router``). A refused move (an illegal transition, a
missing field) re-renders the case with the reason and status 409/422, changing nothing.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from orderwatch.adapters.db.incident_queries import (
    IncidentFilters,
    find_incident,
    list_incidents,
    remedy_facts,
    tasks_of,
)
from orderwatch.adapters.db.remedy_offers import SqlRemedyOfferStore
from orderwatch.adapters.db.remedy_queries import ledger_of
from orderwatch.adapters.db.users import UserRecord
from orderwatch.bootstrap import App
from orderwatch.domain.causes import Cause
from orderwatch.domain.claims import CLAIM_TRANSITIONS, ClaimAction, ClaimStatus
from orderwatch.domain.compensation import CompensationKind
from orderwatch.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from orderwatch.domain.incident_permissions import (
    ACTION_PERMISSIONS,
    APPROVE_PERMISSIONS,
    BULK_PERMISSIONS,
    CLAIM_PERMISSIONS,
    COMPENSATION_PERMISSIONS,
    NOTE_PERMISSIONS,
    TASK_PERMISSIONS,
    WAIT_PERMISSIONS,
    allowed_actions,
    may,
)
from orderwatch.domain.incident_tasks import TaskKind
from orderwatch.domain.incidents import TRANSITIONS, Action, IncidentSeverity, IncidentStatus, WaitingOn
from orderwatch.domain.remedies import propose
from orderwatch.domain.remedy_offers import DEFAULT_VALIDITY
from orderwatch.domain.roles import Permission, Role
from orderwatch.entrypoints.api.deps import AppDep, ReadSessionDep
from orderwatch.entrypoints.incident_wiring import incident_config
from orderwatch.entrypoints.web import incident_views as views
from orderwatch.entrypoints.web.rendering import render
from orderwatch.entrypoints.web.routing import web_router
from orderwatch.entrypoints.web.security import Forbidden, permissions_of, require
from orderwatch.services import incidents as service
from orderwatch.services.major_incidents import message_affected_customers, request_backup_carrier
from orderwatch.services.remedy_offers import make_offer

router = web_router()
Reader = Annotated[UserRecord, require(Permission.incidents_read)]
Reporter = Annotated[UserRecord, require(Permission.incidents_report)]
CHOICES = {
    "INCIDENT_STATUS": views.INCIDENT_STATUS,
    "SEVERITY": views.SEVERITY,
    "SLA_STATE": views.SLA_STATE,
    "CAUSE": views.CAUSE,
    "METRIC": views.METRIC,
    "ACTION": views.ACTION,
    "TASK_KIND": views.TASK_KIND,
    "OFFER": views.OFFER,
    "COMPENSATION_KIND": views.COMPENSATION_KIND,
    "COMPENSATION_STATUS": views.COMPENSATION_STATUS,
    "CLAIM_STATUS": views.CLAIM_STATUS,
    "CLAIM_ACTION": views.CLAIM_ACTION,
}


def demand(user: UserRecord, needed: frozenset[Permission]) -> None:
    if not may(permissions_of(user), needed):
        raise Forbidden(" or ".join(sorted(p.value for p in needed)))


def form_field(form: Any, name: str, limit: int = 2000) -> str:
    value = form.get(name, "")
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > limit:
        raise ValidationFailed(name, f"is longer than {limit} characters")
    return text


def cents_of(form: Any, name: str, *, required: bool) -> int | None:
    """A money field in currency units ("15", "15.5", "15,50") as whole cents."""
    text = form_field(form, name, 20).replace(",", ".")
    if not text:
        if required:
            raise ValidationFailed(name, "give an amount")
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValidationFailed(name, "is not an amount (e.g. 15.50)", text) from None
    if amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed(name, "must be positive with at most two decimals", text)
    return int(amount * 100)


@router.get("/incidents")
def board(
    request: Request,
    application: AppDep,
    session: ReadSessionDep,
    user: Reader,
    status: str = "",
    severity: str = "",
    cause: str = "",
    sla: str = "",
    q: str = "",
    all: str = "",
) -> Response:
    """Open cases first by default; breached ones are highlighted, countdowns drawn now."""
    filters = IncidentFilters(
        status=status or None,
        severity=severity or None,
        cause=cause or None,
        sla_state=sla or None,
        search=q or None,
        active_only=not all and not status,
    )
    rows = list_incidents(session, filters, limit=200)
    calendar = incident_config(application.settings).calendar
    now = application.clock.now()
    items = [(row, views.countdown(row, calendar=calendar, now=now)) for row in rows]
    form = {"status": status, "severity": severity, "cause": cause, "sla": sla, "q": q, "all": all}
    return render(request, "incidents/board.html", {"items": items, "form": form, **CHOICES})


@router.get("/incidents/tasks")
def my_tasks(request: Request, application: AppDep, session: ReadSessionDep, user: Reader) -> Response:
    tasks = tasks_of(session, user.username)
    return render(
        request, "incidents/tasks.html", {"tasks": tasks, "now": application.clock.now(), **CHOICES}
    )


def claim_moves(status: str) -> list[ClaimAction]:
    """The claim steps possible from ``status`` (the claim's row shows one form each)."""
    return [action for action, (sources, _) in CLAIM_TRANSITIONS.items() if ClaimStatus(status) in sources]


def _detail_page(
    request: Request,
    application: App,
    user: UserRecord,
    ref: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    with application.read_session() as session:
        detail = find_incident(session, ref)
        if detail is None:
            raise NotFound("incident", ref)
        calendar = incident_config(application.settings).calendar
        now = application.clock.now()
        held = permissions_of(user)
        status = IncidentStatus(detail.incident.status)
        actions = [a for a in allowed_actions(held) if status in TRANSITIONS[a][0]]
        context = {
            "detail": detail,
            "row": detail.incident,
            "error": error,
            "actions": actions,
            "clocks": views.clock_readings(detail.incident, calendar=calendar, now=now),
            "remedy": propose(remedy_facts(session, detail.incident, now=now))
            if detail.incident.order_id
            else None,
            "offers": SqlRemedyOfferStore(session).of_order(detail.incident.order_id)
            if detail.incident.order_id
            else [],
            "can_offer": may(held, OFFER_PERMISSIONS),
            "offer_days": DEFAULT_VALIDITY.days,
            "now": now,
            "duration": views.duration,
            "can_note": {kind: may(held, needed) for kind, needed in NOTE_PERMISSIONS.items()},
            "can_wait": {("" if p is None else p.value): may(held, n) for p, n in WAIT_PERMISSIONS.items()},
            "can_task": may(held, TASK_PERMISSIONS),
            "can_bulk": may(held, BULK_PERMISSIONS),
            "is_open": status not in {IncidentStatus.closed, IncidentStatus.cancelled},
            "severities": list(IncidentSeverity),
            "causes": list(Cause),
            "channels": views.CHANNELS,
            "task_kinds": list(TaskKind),
            "templates": ("delay_apology", "delay_update", "reship_offer"),
            "ledger": ledger_of(session, detail.incident.id),
            "can_compensate": may(held, COMPENSATION_PERMISSIONS) and detail.incident.order_id is not None,
            "can_approve": may(held, APPROVE_PERMISSIONS),
            "can_claim": may(held, CLAIM_PERMISSIONS) and detail.incident.carrier_code is not None,
            "compensation_kinds": list(CompensationKind),
            "claim_moves": claim_moves,
            **CHOICES,
        }
        return render(request, "incidents/detail.html", context, status_code=status_code)


@router.get("/incidents/{ref}")
def incident_page(request: Request, application: AppDep, user: Reader, ref: str) -> Response:
    return _detail_page(request, application, user, ref)


async def perform_then_show(
    request: Request, application: App, user: UserRecord, ref: str, work: Any
) -> Response:
    """Run ``work`` (a service call) off the event loop; redirect back, or show why it was refused."""
    try:
        await run_in_threadpool(work)
    except ValidationFailed as error:
        return _detail_page(request, application, user, ref, error=str(error), status_code=422)
    except Conflict as error:
        return _detail_page(request, application, user, ref, error=str(error), status_code=409)
    except PermissionDenied as error:  # an amount above the role's approval limit
        return _detail_page(request, application, user, ref, error=str(error), status_code=403)
    return RedirectResponse(f"/incidents/{ref}", status_code=303)


@router.post("/incidents/{ref}/actions/{action}")
async def incident_action(
    request: Request, application: AppDep, user: Reader, ref: str, action: Action
) -> Response:
    demand(user, ACTION_PERMISSIONS[action])
    form = await request.form()
    names = (
        "severity",
        "cause",
        "note",
        "channel",
        "plan",
        "resolution",
        "root_cause",
        "lessons",
        "follow_ups",
        "reason",
    )
    arguments = {name: form_field(form, name) for name in names if name in form}
    if action is Action.assess:
        arguments = {k: v for k, v in arguments.items() if v or k == "note"}
    config = incident_config(application.settings)
    return await perform_then_show(
        request,
        application,
        user,
        ref,
        lambda: service.perform(
            application.uow(),
            application.clock,
            config=config,
            ref=ref,
            action=action,
            actor=user.username,
            arguments=arguments,
        ),
    )


OFFER_PERMISSIONS = frozenset({Permission.incidents_customer})


@router.post("/incidents/{ref}/offer")
async def incident_offer(request: Request, application: AppDep, user: Reader, ref: str) -> Response:
    """Offer the customer a remedy (D5, U6): CS within their role's approval limit."""
    demand(user, OFFER_PERMISSIONS)
    form = await request.form()
    with application.read_session() as session:
        detail = find_incident(session, ref)
    if detail is None or not detail.incident.order_ref:
        raise NotFound("incident", ref)
    order_ref = detail.incident.order_ref
    kind, days = form_field(form, "kind", 32), form_field(form, "days", 3)

    def work() -> int:
        if not days.isdigit():
            raise ValidationFailed("days", "must be a whole number of days", days)
        return make_offer(
            application.uow(),
            application.clock,
            config=incident_config(application.settings),
            order_ref=order_ref,
            kind=kind,
            amount_cents=cents_of(form, "amount", required=False) or 0,
            actor=user.username,
            role=Role(user.role),
            validity=timedelta(days=int(days)),
        )

    return await perform_then_show(request, application, user, ref, work)


@router.post("/incidents/{ref}/notes")
async def incident_note(request: Request, application: AppDep, user: Reader, ref: str) -> Response:
    form = await request.form()
    kind = form_field(form, "kind", 32) or "note"
    demand(user, NOTE_PERMISSIONS.get(kind, frozenset({Permission.incidents_lead})))
    text = form_field(form, "text", 4000)
    config = incident_config(application.settings)
    return await perform_then_show(
        request,
        application,
        user,
        ref,
        lambda: service.add_note(
            application.uow(),
            application.clock,
            config=config,
            ref=ref,
            actor=user.username,
            text=text,
            kind=kind,
        ),
    )


@router.post("/incidents/{ref}/wait")
async def incident_wait(request: Request, application: AppDep, user: Reader, ref: str) -> Response:
    form = await request.form()
    value = form_field(form, "party", 16)
    party = WaitingOn(value) if value in {p.value for p in WaitingOn} else None
    demand(user, WAIT_PERMISSIONS[party])
    config = incident_config(application.settings)
    return await perform_then_show(
        request,
        application,
        user,
        ref,
        lambda: service.set_waiting(
            application.uow(), application.clock, config=config, ref=ref, party=party, actor=user.username
        ),
    )


@router.post("/incidents/{ref}/tasks")
async def incident_task(request: Request, application: AppDep, user: Reader, ref: str) -> Response:
    demand(user, TASK_PERMISSIONS)
    form = await request.form()
    try:
        kind = TaskKind(form_field(form, "kind", 32))
        hours = int(form_field(form, "due_hours", 4) or "4")
    except ValueError:
        return _detail_page(
            request, application, user, ref, error="kind/due_hours: not a task", status_code=422
        )
    owner = form_field(form, "owner", 64)
    due_at = application.clock.now() + timedelta(hours=hours)
    config = incident_config(application.settings)
    return await perform_then_show(
        request,
        application,
        user,
        ref,
        lambda: service.assign_task(
            application.uow(),
            application.clock,
            config=config,
            ref=ref,
            kind=kind,
            owner=owner,
            due_at=due_at,
            actor=user.username,
            note=form_field(form, "note"),
        ),
    )


@router.post("/incidents/tasks/{task_id}/done")
async def task_done(request: Request, application: AppDep, user: Reader, task_id: int) -> Response:
    with application.read_session() as session:
        mine = {task.id for task, _ in tasks_of(session, user.username)}
    if task_id not in mine:
        demand(user, TASK_PERMISSIONS)  # leads may close anyone's task; others only their own
    config = incident_config(application.settings)
    await run_in_threadpool(
        lambda: service.finish_task(
            application.uow(), application.clock, config=config, task_id=task_id, actor=user.username
        )
    )
    return RedirectResponse("/incidents/tasks", status_code=303)


@router.post("/incidents/{ref}/bulk/{what}")
async def incident_bulk(request: Request, application: AppDep, user: Reader, ref: str, what: str) -> Response:
    demand(user, BULK_PERMISSIONS)
    form = await request.form()
    config = incident_config(application.settings)
    if what == "message":
        template = form_field(form, "template", 32)
        return await perform_then_show(
            request,
            application,
            user,
            ref,
            lambda: message_affected_customers(
                application.uow(),
                application.clock,
                config=config,
                ref=ref,
                template=template,
                actor=user.username,
                role=Role(user.role),
            ),
        )
    if what == "backup":
        return await perform_then_show(
            request,
            application,
            user,
            ref,
            lambda: request_backup_carrier(
                application.uow(), application.clock, config=config, ref=ref, actor=user.username
            ),
        )
    raise NotFound("bulk action", what)


@router.post("/orders/{order_ref}/report-undelivered")
async def report_from_order(
    request: Request, application: AppDep, user: Reporter, order_ref: str
) -> Response:
    """The order page's "report undelivered" button (U3): open the case, or go to the open one."""
    form = await request.form()
    cause_value = form_field(form, "cause", 32)
    cause = Cause(cause_value) if cause_value in {c.value for c in Cause} else Cause.unknown
    summary = form_field(form, "summary")
    config = incident_config(application.settings)
    ref = await run_in_threadpool(
        lambda: service.report_undelivered(
            application.uow(),
            application.clock,
            config=config,
            order_ref=order_ref,
            actor=user.username,
            cause=cause,
            summary=summary,
        )
    )
    return RedirectResponse(f"/incidents/{ref}", status_code=303)
