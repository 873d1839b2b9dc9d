"""``/api/v1/incidents/…/compensation`` and ``…/claims`` (U6, U7, D5): the ledger through the API.

Three scopes (``domain/roles.py``): ``incidents:compensate`` records compensation,
``incidents:approve`` approves or rejects it, ``incidents:claims`` opens and moves carrier
claims. A person's approval limit is their role's; an API key has no role, so:

* a key **without** ``incidents:approve`` records every entry *pending* ("needs approval"),
  whatever the amount, for a leader on the incident page (or a key with the scope);
* a key **with** ``incidents:approve`` acts with the leadership group's limit (none): what it
  records is approved at once and it may approve or reject pending entries. Give it only to the
  system that carries the leadership's approval (an ERP approval workflow, say).

Each write is one service call, one transaction with its timeline and outbox rows
(``services/remedy_ledger.py``). Bad input is answered 422 naming the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from orderwatch.adapters.db.remedy_queries import (
    case_of_compensation,
    claim_item,
    compensation_item,
    ledger_of_ref,
)
from orderwatch.domain.claims import Claim, ClaimAction
from orderwatch.domain.compensation import MAX_AMOUNT_CENTS, CompensationKind, CompensationStatus
from orderwatch.domain.errors import NotFound
from orderwatch.domain.roles import Permission, Role
from orderwatch.entrypoints.api.auth import Principal, require
from orderwatch.entrypoints.api.deps import AppDep, ReadSessionDep
from orderwatch.entrypoints.api.rendering import ERROR_RESPONSES
from orderwatch.entrypoints.api.routers.incidents import IncidentsRead
from orderwatch.entrypoints.incident_wiring import incident_config
from orderwatch.services import remedy_ledger as ledger
from orderwatch.services.remedy_ledger import Recorded

router = APIRouter(responses=ERROR_RESPONSES)
Compensate = Annotated[Principal, Depends(require(Permission.incidents_compensate))]
Approve = Annotated[Principal, Depends(require(Permission.incidents_approve))]
Claims = Annotated[Principal, Depends(require(Permission.incidents_claims))]
EntryId = Annotated[int, Path(ge=1, description="The ledger entry's id")]
ClaimId = Annotated[int, Path(ge=1, description="The claim's id")]
CURRENCY = r"^[A-Z]{3}$"
APPROVER_ROLE = Role.leadership  # the limit a key holding incidents:approve acts with


def approval_role(principal: Principal) -> Role | None:
    """The role whose approval limit a key acts with: the leadership's with the scope, else none."""
    return APPROVER_ROLE if Permission.incidents_approve in principal.permissions else None


class CompensationIn(BaseModel):
    """What was paid or sent to the customer for this case."""

    model_config = ConfigDict(extra="forbid")
    kind: CompensationKind
    amount_cents: int | None = Field(
        None,
        ge=0,
        le=MAX_AMOUNT_CENTS,
        description="Minor units; omit for a full refund or a reshipment (the order value)",
    )
    currency: str | None = Field(None, pattern=CURRENCY, description="ISO 4217; default the order's")
    note: str = Field("", max_length=2000)


class CompensationOut(BaseModel):
    id: int
    status: CompensationStatus
    amount_cents: int
    currency: str
    needs_approval_by: str | None = Field(description="The role whose limit covers it, while pending")
    linked_order: str | None = Field(description="The reshipment order an approved reshipment created")

    @classmethod
    def of(cls, done: Recorded) -> CompensationOut:
        pending = done.status is CompensationStatus.pending
        return cls(
            id=done.entry_id,
            status=done.status,
            amount_cents=done.amount_cents,
            currency=done.currency,
            needs_approval_by=done.approver_role.value if pending else None,
            linked_order=done.linked_order_ref,
        )


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000, description="Why the entry is turned down")


class ClaimIn(BaseModel):
    """A claim against the case's carrier; with ``carrier_reference`` it is filed at once."""

    model_config = ConfigDict(extra="forbid")
    amount_claimed_cents: int = Field(ge=1, le=MAX_AMOUNT_CENTS)
    currency: str | None = Field(None, pattern=CURRENCY, description="ISO 4217; default the order's")
    carrier_reference: str | None = Field(
        None, min_length=1, max_length=120, description="The carrier's claim number: files the claim now"
    )
    note: str = Field("", max_length=2000)


class ClaimMoveIn(BaseModel):
    """The carrier's reference (``file``) or the money it paid (``accept``, ``pay_part``, ``close``)."""

    model_config = ConfigDict(extra="forbid")
    carrier_reference: str | None = Field(None, min_length=1, max_length=120)
    amount_recovered_cents: int | None = Field(None, ge=0, le=MAX_AMOUNT_CENTS)


class ClaimOut(BaseModel):
    id: int
    incident: str
    carrier: str
    status: str
    amount_claimed_cents: int
    amount_recovered_cents: int
    currency: str
    carrier_reference: str | None
    file_by: datetime = Field(description="Filing deadline: the report + the carrier's claim_file_days")
    answer_due_at: datetime | None = Field(description="Filing + the carrier's claim_answer_days")

    @classmethod
    def of(cls, claim: Claim) -> ClaimOut:
        assert claim.id is not None
        return cls(
            id=claim.id,
            incident=claim.incident_ref,
            carrier=claim.carrier_code,
            status=claim.status.value,
            amount_claimed_cents=claim.amount_claimed_cents,
            amount_recovered_cents=claim.amount_recovered_cents,
            currency=claim.currency,
            carrier_reference=claim.carrier_reference,
            file_by=claim.file_by,
            answer_due_at=claim.answer_due_at,
        )


def _check_entry_of(application: Any, entry_id: int, ref: str) -> None:
    """404 unless ledger entry ``entry_id`` belongs to case ``ref``."""
    with application.read_session() as session:
        owner = case_of_compensation(session, entry_id)
    if owner != ref:
        raise NotFound("compensation", f"{ref}/{entry_id}")


@router.get("/{ref}/compensation", summary="The compensation ledger of one case")
def get_compensation(ref: str, session: ReadSessionDep, _: IncidentsRead) -> dict[str, Any]:
    """Every entry (approved, pending, rejected) with the case's net cost (U7)."""
    found = ledger_of_ref(session, ref)
    if found is None:
        raise NotFound("incident", ref)
    return {
        "items": [compensation_item(entry, linked) for entry, linked in found.compensations],
        "cost": {
            "currency": found.cost.currency,
            "compensation_cents": found.cost.compensation_cents,
            "recovered_cents": found.cost.recovered_cents,
            "net_cents": found.cost.net_cents,
        },
    }


@router.post(
    "/{ref}/compensation", status_code=201, response_model=CompensationOut, summary="Record compensation"
)
def post_compensation(
    ref: str, body: CompensationIn, application: AppDep, principal: Compensate
) -> CompensationOut:
    """A refund, coupon, reshipment or redelivery for the case (D5, U6).

    Stored *needs approval* unless the key holds ``incidents:approve``; an approved reshipment
    creates the linked order.
    """
    done = ledger.record_compensation(
        application.uow(),
        application.clock,
        config=incident_config(application.settings),
        ref=ref,
        kind=body.kind,
        actor=principal.name,
        role=approval_role(principal),
        amount_cents=body.amount_cents,
        currency=body.currency,
        note=body.note,
    )
    return CompensationOut.of(done)


@router.post(
    "/{ref}/compensation/{entry_id}/approve",
    response_model=CompensationOut,
    summary="Approve a pending compensation entry",
)
def post_approve(ref: str, entry_id: EntryId, application: AppDep, principal: Approve) -> CompensationOut:
    """Needs ``incidents:approve``; the entry is executed (a reshipment becomes an order)."""
    _check_entry_of(application, entry_id, ref)
    done = ledger.approve_compensation(
        application.uow(),
        application.clock,
        config=incident_config(application.settings),
        entry_id=entry_id,
        actor=principal.name,
        role=APPROVER_ROLE,
    )
    return CompensationOut.of(done)


@router.post("/{ref}/compensation/{entry_id}/reject", summary="Reject a pending compensation entry")
def post_reject(
    ref: str, entry_id: EntryId, body: RejectIn, application: AppDep, principal: Approve
) -> dict[str, Any]:
    """Needs ``incidents:approve`` and a reason; a rejected entry never counts as cost."""
    _check_entry_of(application, entry_id, ref)
    ledger.reject_compensation(
        application.uow(),
        application.clock,
        config=incident_config(application.settings),
        entry_id=entry_id,
        actor=principal.name,
        role=APPROVER_ROLE,
        reason=body.reason,
    )
    return {"id": entry_id, "status": CompensationStatus.rejected.value}


@router.get("/{ref}/claims", summary="The carrier claims of one case")
def get_case_claims(ref: str, session: ReadSessionDep, _: IncidentsRead) -> dict[str, Any]:
    found = ledger_of_ref(session, ref)
    if found is None:
        raise NotFound("incident", ref)
    return {"items": [claim_item(claim, ref) for claim in found.claims]}


@router.post("/{ref}/claims", status_code=201, response_model=ClaimOut, summary="Open a carrier claim")
def post_claim(ref: str, body: ClaimIn, application: AppDep, principal: Claims) -> ClaimOut:
    """A draft against the case's carrier, filed at once when ``carrier_reference`` is given (U7).

    Deadlines come from the carrier's master data; a passed one is escalated by the job
    ``incidents.claim_deadlines``.
    """
    claim = ledger.open_claim(
        application.uow(),
        application.clock,
        config=incident_config(application.settings),
        ref=ref,
        amount_claimed_cents=body.amount_claimed_cents,
        actor=principal.name,
        currency=body.currency,
        note=body.note,
        carrier_reference=body.carrier_reference,
    )
    return ClaimOut.of(claim)


@router.post("/claims/{claim_id}/{action}", response_model=ClaimOut, summary="Move a carrier claim one step")
def post_claim_move(
    claim_id: ClaimId,
    action: ClaimAction,
    application: AppDep,
    principal: Claims,
    body: ClaimMoveIn | None = None,
) -> ClaimOut:
    """One step: file, accept, reject, pay_part or close; an illegal step is 409 naming both.

    ``file`` needs ``carrier_reference``, ``pay_part`` needs ``amount_recovered_cents``;
    ``accept`` and ``close`` take it optionally (default all of the claim / as recorded).
    """
    given = body or ClaimMoveIn()
    claim = ledger.move_claim(
        application.uow(),
        application.clock,
        config=incident_config(application.settings),
        claim_id=claim_id,
        action=action,
        actor=principal.name,
        carrier_reference=given.carrier_reference,
        amount_recovered_cents=given.amount_recovered_cents,
    )
    return ClaimOut.of(claim)
