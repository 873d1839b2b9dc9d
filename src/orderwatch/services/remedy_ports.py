"""What the compensation ledger and carrier claims need from storage (U6, U7, D5).

Kept apart from ``incident_ports.py``: the ledger and the claims are their own tables; the unit
of work that reaches them (:class:`RemedyUnitOfWork`) also reaches the incidents, because each
entry is written in the transaction of its incident's timeline row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from orderwatch.domain.claims import Claim, ClaimWindows
from orderwatch.domain.compensation import CompensationKind, CompensationRequest, CompensationStatus
from orderwatch.services.incident_ports import IncidentUnitOfWork


@dataclass(frozen=True, slots=True)
class IncidentOrder:
    """The order an incident is about, as the ledger needs it."""

    order_id: int
    order_ref: str
    currency: str


@dataclass(frozen=True, slots=True)
class CompensationEntry:
    """A stored ledger entry."""

    id: int
    incident_id: int
    incident_ref: str
    kind: CompensationKind
    amount_cents: int
    currency: str
    status: CompensationStatus
    requested_by: str
    decided_by: str | None
    linked_order_ref: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveredCase:
    """An open incident whose order (or its reshipment) the carrier has scanned delivered."""

    ref: str
    delivered_at: datetime


class RemedyLedgerStore(Protocol):
    """Ledger, reshipment and claim reads and writes inside the caller's transaction."""

    def order_of(self, incident_id: int) -> IncidentOrder | None: ...

    def add_compensation(self, incident_id: int, entry: CompensationRequest, *, now: datetime) -> int: ...

    def get_compensation(self, entry_id: int) -> CompensationEntry:
        """The entry, locked for update; raises ``NotFound``."""
        ...

    def decide_compensation(
        self,
        entry_id: int,
        *,
        status: CompensationStatus,
        actor: str,
        now: datetime,
        linked_order_id: int | None = None,
    ) -> None: ...

    def promised_lead_times(self, *, limit: int) -> list[timedelta]:
        """Promised lead times (promise − purchase) of the shop's latest ``limit`` orders."""
        ...

    def create_reshipment(self, order_id: int, *, now: datetime, promised_at: datetime) -> tuple[int, str]:
        """A new order for the same customer and lines, linked to ``order_id``; (id, ref)."""
        ...

    def add_claim(self, incident_id: int, claim: Claim, *, now: datetime) -> int: ...

    def get_claim(self, claim_id: int) -> Claim:
        """The claim, locked for update; raises ``NotFound``."""
        ...

    def save_claim(self, claim: Claim, *, now: datetime) -> None: ...

    def claim_windows(self, carrier_code: str) -> ClaimWindows:
        """The carrier's claim deadlines (master data); the defaults for an unknown carrier."""
        ...

    def overdue_claims(self, *, now: datetime, limit: int) -> list[Claim]:
        """Claims past a deadline and not escalated for it yet, oldest first, locked.

        Drafts past ``file_by``, filed claims past ``answer_due_at``; rows another worker
        holds are skipped.
        """
        ...

    def delivered_cases(self, *, limit: int) -> list[DeliveredCase]:
        """Open cases whose order or reshipment was delivered after the case was (re)opened."""
        ...


class RemedyUnitOfWork(IncidentUnitOfWork, Protocol):
    """A unit of work reaching incidents and their ledger."""

    @property
    def remedies(self) -> RemedyLedgerStore: ...
