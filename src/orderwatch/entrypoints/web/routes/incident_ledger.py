"""Incident page forms for the compensation ledger and carrier claims (U6, U7, D5).

Who may post: ``COMPENSATION_PERMISSIONS`` / ``APPROVE_PERMISSIONS`` / ``CLAIM_PERMISSIONS``
(``domain/incident_permissions.py``); how much a role may grant alone is the remedy policy's
approval limit, applied by the service with the user's role. Amounts are typed in currency
units ("15.50") and stored in cents; a bad amount is refused naming the field.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from orderwatch.adapters.db.remedy_queries import case_of_claim, case_of_compensation
from orderwatch.domain.claims import ClaimAction
from orderwatch.domain.compensation import CompensationKind
from orderwatch.domain.errors import NotFound, ValidationFailed
from orderwatch.domain.incident_permissions import (
    APPROVE_PERMISSIONS,
    CLAIM_PERMISSIONS,
    COMPENSATION_PERMISSIONS,
)
from orderwatch.domain.roles import Role
from orderwatch.entrypoints.api.deps import AppDep
from orderwatch.entrypoints.incident_wiring import incident_config
from orderwatch.entrypoints.web.routes.incidents import (
    Reader,
    cents_of,
    demand,
    form_field,
    perform_then_show,
)
from orderwatch.entrypoints.web.routing import web_router
from orderwatch.services import remedy_ledger as ledger

router = web_router()


def _case_of(application: Any, lookup: Any, entry_id: int) -> str:
    with application.read_session() as session:
        ref: str | None = lookup(session, entry_id)
    if ref is None:
        raise NotFound("entry", entry_id)
    return ref


@router.post("/incidents/{ref}/compensation")
async def record_compensation(request: Request, application: AppDep, user: Reader, ref: str) -> Response:
    demand(user, COMPENSATION_PERMISSIONS)
    form = await request.form()
    config = incident_config(application.settings)

    def work() -> object:
        kind_value = form_field(form, "kind", 32)
        if kind_value not in {k.value for k in CompensationKind}:
            raise ValidationFailed("kind", f"must be one of {', '.join(CompensationKind)}", kind_value)
        kind = CompensationKind(kind_value)
        required = kind in {CompensationKind.partial_refund, CompensationKind.coupon}
        return ledger.record_compensation(
            application.uow(),
            application.clock,
            config=config,
            ref=ref,
            kind=kind,
            amount_cents=cents_of(form, "amount", required=required),
            actor=user.username,
            role=Role(user.role),
            note=form_field(form, "note"),
        )

    return await perform_then_show(request, application, user, ref, work)


@router.post("/incidents/compensation/{entry_id}/{decision}")
async def decide_compensation(
    request: Request, application: AppDep, user: Reader, entry_id: int, decision: str
) -> Response:
    demand(user, APPROVE_PERMISSIONS)
    if decision not in {"approve", "reject"}:
        raise NotFound("decision", decision)
    form = await request.form()
    ref = await run_in_threadpool(_case_of, application, case_of_compensation, entry_id)
    config = incident_config(application.settings)
    role = Role(user.role)

    def work() -> None:
        if decision == "approve":
            ledger.approve_compensation(
                application.uow(),
                application.clock,
                config=config,
                entry_id=entry_id,
                actor=user.username,
                role=role,
            )
            return
        ledger.reject_compensation(
            application.uow(),
            application.clock,
            config=config,
            entry_id=entry_id,
            actor=user.username,
            role=role,
            reason=form_field(form, "reason"),
        )

    return await perform_then_show(request, application, user, ref, work)


@router.post("/incidents/{ref}/claims")
async def open_claim(request: Request, application: AppDep, user: Reader, ref: str) -> Response:
    demand(user, CLAIM_PERMISSIONS)
    form = await request.form()
    config = incident_config(application.settings)

    def work() -> object:
        amount = cents_of(form, "amount", required=True)
        assert amount is not None
        return ledger.open_claim(
            application.uow(),
            application.clock,
            config=config,
            ref=ref,
            amount_claimed_cents=amount,
            actor=user.username,
            note=form_field(form, "note"),
        )

    return await perform_then_show(request, application, user, ref, work)


@router.post("/incidents/claims/{claim_id}/{action}")
async def move_claim(
    request: Request, application: AppDep, user: Reader, claim_id: int, action: ClaimAction
) -> Response:
    demand(user, CLAIM_PERMISSIONS)
    form = await request.form()
    ref = await run_in_threadpool(_case_of, application, case_of_claim, claim_id)
    config = incident_config(application.settings)

    def work() -> object:
        return ledger.move_claim(
            application.uow(),
            application.clock,
            config=config,
            claim_id=claim_id,
            action=action,
            actor=user.username,
            carrier_reference=form_field(form, "carrier_reference", 120) or None,
            amount_recovered_cents=cents_of(form, "amount", required=False),
        )

    return await perform_then_show(request, application, user, ref, work)
