"""Compensation ledger and carrier claims (U6, U7, D5): each entry one transaction with its incident.

Every public function locks the incident, writes the ledger or claim row, the incident's
timeline row and the outbox row (``incident.compensation_recorded``,
``incident.compensation_requested``, ``incident.claim_filed`` …, key
``incident-timeline:<row id>``) and commits them together (``incidents.record``).

:func:`record_compensation` is the entry point for whoever executes a remedy: CS on the incident
page, or the customer-facing offer flow (issue 6) once the customer accepted an offer. An amount
above the caller's approval limit is stored ``pending`` for an approver
(:func:`approve_compensation`); an approved reshipment creates the linked order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from orderwatch.domain import claims as claim_domain
from orderwatch.domain import compensation as ledger
from orderwatch.domain.claims import Claim, ClaimAction, ClaimWindows
from orderwatch.domain.compensation import CompensationKind, CompensationStatus
from orderwatch.domain.errors import Conflict, ValidationFailed
from orderwatch.domain.incidents import FINAL_STATES, Incident, IncidentEvent
from orderwatch.domain.roles import Role
from orderwatch.services.incidents import IncidentConfig, record
from orderwatch.services.ports import Clock
from orderwatch.services.remedy_ports import CompensationEntry, RemedyUnitOfWork

LEAD_TIME_SAMPLE = 1_000  # latest orders whose promised lead time sets a reshipment's promise


@dataclass(frozen=True, slots=True)
class Recorded:
    """What :func:`record_compensation` stored: the entry, its status, the linked order if any."""

    entry_id: int
    status: CompensationStatus
    amount_cents: int
    currency: str
    approver_role: Role
    linked_order_ref: str | None = None


def _open_case(uow: RemedyUnitOfWork, ref: str) -> Incident:
    incident = uow.incidents.get(ref)
    if incident.status in FINAL_STATES:
        raise Conflict(f"incident {ref} is {incident.status}: reopen it to record more")
    return incident


def record_compensation(
    uow: RemedyUnitOfWork,
    clock: Clock,
    *,
    config: IncidentConfig,
    ref: str,
    kind: CompensationKind,
    actor: str,
    role: Role | None,
    amount_cents: int | None = None,
    currency: str | None = None,
    note: str = "",
) -> Recorded:
    """Record what was paid or sent for case ``ref``; pending if above ``role``'s approval limit.

    ``role`` ``None`` (an API key without the approve scope) records every entry pending.
    """
    now = clock.now()
    with uow:
        incident = _open_case(uow, ref)
        assert incident.id is not None
        order = uow.remedies.order_of(incident.id)
        if order is None:
            raise ValidationFailed("ref", "a major incident has no order: compensate its member cases")
        entry = ledger.request(
            kind=kind,
            amount_cents=amount_cents,
            currency=currency or order.currency,
            order_value_cents=incident.facts.order_value_cents,
            actor=actor,
            role=role,
            note=note,
        )
        entry_id = uow.remedies.add_compensation(incident.id, entry, now=now)
        linked = None
        if entry.status is CompensationStatus.approved:
            linked = _execute(uow, entry_id, kind, order.order_id, actor=actor, now=now)
        detail: dict[str, object] = {
            "entry_id": entry_id,
            "compensation": kind.value,
            "amount_cents": entry.amount_cents,
            "currency": entry.currency,
            "note": entry.note,
        }
        if entry.status is CompensationStatus.approved:
            event_kind = "compensation_recorded"
            detail |= {"approved_by": actor, "linked_order": linked}
        else:
            event_kind = "compensation_requested"
            detail["needs_approval_by"] = entry.approver_role.value
        record(
            uow, incident, [IncidentEvent(event_kind, ref, now, actor, detail=detail)], config=config, now=now
        )
        uow.commit()
        return Recorded(
            entry_id, entry.status, entry.amount_cents, entry.currency, entry.approver_role, linked
        )


def _execute(
    uow: RemedyUnitOfWork, entry_id: int, kind: CompensationKind, order_id: int, *, actor: str, now: datetime
) -> str | None:
    """Mark the entry approved; a reshipment becomes a new order linked to the original."""
    linked_id, linked_ref = None, None
    if kind is CompensationKind.reshipment:
        promised = ledger.reshipment_promise(now, uow.remedies.promised_lead_times(limit=LEAD_TIME_SAMPLE))
        linked_id, linked_ref = uow.remedies.create_reshipment(order_id, now=now, promised_at=promised)
    uow.remedies.decide_compensation(
        entry_id, status=CompensationStatus.approved, actor=actor, now=now, linked_order_id=linked_id
    )
    return linked_ref


def _pending(uow: RemedyUnitOfWork, entry_id: int) -> tuple[CompensationEntry, Incident]:
    entry = uow.remedies.get_compensation(entry_id)
    if entry.status is not CompensationStatus.pending:
        raise Conflict(f"compensation {entry_id} is already {entry.status}")
    return entry, _open_case(uow, entry.incident_ref)


def approve_compensation(
    uow: RemedyUnitOfWork, clock: Clock, *, config: IncidentConfig, entry_id: int, actor: str, role: Role
) -> Recorded:
    """An approver whose limit covers the amount approves a pending entry (and it is executed)."""
    now = clock.now()
    with uow:
        entry, incident = _pending(uow, entry_id)
        ledger.check_approver(role, entry.amount_cents)
        order = uow.remedies.order_of(entry.incident_id)
        assert order is not None
        linked = _execute(uow, entry_id, entry.kind, order.order_id, actor=actor, now=now)
        detail = {
            "entry_id": entry_id,
            "compensation": entry.kind.value,
            "amount_cents": entry.amount_cents,
            "currency": entry.currency,
            "requested_by": entry.requested_by,
            "approved_by": actor,
            "linked_order": linked,
        }
        event = IncidentEvent("compensation_recorded", incident.ref, now, actor, detail=detail)
        record(uow, incident, [event], config=config, now=now)
        uow.commit()
        return Recorded(
            entry_id, CompensationStatus.approved, entry.amount_cents, entry.currency, role, linked
        )


def reject_compensation(
    uow: RemedyUnitOfWork,
    clock: Clock,
    *,
    config: IncidentConfig,
    entry_id: int,
    actor: str,
    role: Role,
    reason: str,
) -> None:
    """An approver turns a pending entry down; it never counts as cost."""
    if not reason.strip():
        raise ValidationFailed("reason", "say why the compensation is rejected")
    now = clock.now()
    with uow:
        entry, incident = _pending(uow, entry_id)
        ledger.check_approver(role, entry.amount_cents)
        uow.remedies.decide_compensation(entry_id, status=CompensationStatus.rejected, actor=actor, now=now)
        detail = {"entry_id": entry_id, "compensation": entry.kind.value, "reason": reason.strip()}
        event = IncidentEvent("compensation_rejected", incident.ref, now, actor, detail=detail)
        record(uow, incident, [event], config=config, now=now)
        uow.commit()


def open_claim(
    uow: RemedyUnitOfWork,
    clock: Clock,
    *,
    config: IncidentConfig,
    ref: str,
    amount_claimed_cents: int,
    actor: str,
    currency: str | None = None,
    note: str = "",
    carrier_reference: str | None = None,
) -> Claim:
    """Draft a claim against the case's carrier for a lost or damaged parcel (U7).

    The deadlines are the carrier's (``carriers.claim_file_days`` / ``claim_answer_days``). With
    ``carrier_reference`` the claim is filed at once, in the same transaction (two timeline rows).
    """
    now = clock.now()
    with uow:
        incident = _open_case(uow, ref)
        assert incident.id is not None
        order = uow.remedies.order_of(incident.id)
        carrier = incident.facts.carrier_code
        windows = uow.remedies.claim_windows(carrier) if carrier else ClaimWindows()
        claim = claim_domain.draft(
            incident_ref=ref,
            carrier_code=carrier,
            amount_claimed_cents=amount_claimed_cents,
            currency=ledger.check_currency(currency or (order.currency if order else "BRL")),
            reported_at=incident.reported_at,
            actor=actor,
            now=now,
            windows=windows,
            note=note,
        )
        claim.id = uow.remedies.add_claim(incident.id, claim, now=now)
        detail = {
            "claim_id": claim.id,
            "carrier": claim.carrier_code,
            "amount_claimed_cents": claim.amount_claimed_cents,
            "currency": claim.currency,
            "file_by": claim.file_by.isoformat(),
        }
        events = [IncidentEvent("claim_drafted", ref, now, actor, detail=detail)]
        if carrier_reference is not None:
            filed = claim_domain.move(
                claim, ClaimAction.file, now=now, carrier_reference=carrier_reference, windows=windows
            )
            uow.remedies.save_claim(claim, now=now)
            events.append(IncidentEvent("claim_filed", ref, now, actor, detail=filed))
        record(uow, incident, events, config=config, now=now)
        uow.commit()
        return claim


def move_claim(
    uow: RemedyUnitOfWork,
    clock: Clock,
    *,
    config: IncidentConfig,
    claim_id: int,
    action: ClaimAction,
    actor: str,
    carrier_reference: str | None = None,
    amount_recovered_cents: int | None = None,
) -> Claim:
    """One step of a claim (file, accept, reject, partial payment, close) with its timeline row."""
    now = clock.now()
    with uow:
        claim = uow.remedies.get_claim(claim_id)
        incident = uow.incidents.get(claim.incident_ref)
        detail = claim_domain.move(
            claim,
            action,
            now=now,
            carrier_reference=carrier_reference,
            amount_recovered_cents=amount_recovered_cents,
            windows=uow.remedies.claim_windows(claim.carrier_code),
        )
        uow.remedies.save_claim(claim, now=now)
        event = IncidentEvent(f"claim_{claim.status.value}", incident.ref, now, actor, detail=detail)
        record(uow, incident, [event], config=config, now=now)
        uow.commit()
        return claim
