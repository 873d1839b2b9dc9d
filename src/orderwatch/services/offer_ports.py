"""What the remedy-offer services need from storage (D5, U6): the ``RemedyOfferStore`` port.

Apart from ``ports.py`` like the incident port: only the units of work that handle offers
need it. :class:`RemedyOfferUnitOfWork` also reaches incidents (an open case gets the offer
and the decision on its timeline) and the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from orderwatch.domain.remedy_offers import OfferStatus, OfferTerms
from orderwatch.services.incident_ports import IncidentUnitOfWork


@dataclass(frozen=True, slots=True)
class OfferOrder:
    """The order an offer is made on, with what the policy and the checks need."""

    order_id: int
    order_ref: str
    value_cents: int
    currency: str
    promised_at: datetime | None
    earlier_incidents: int  # the customer's cases on other orders (the policy's repeat bonus)


@dataclass(frozen=True, slots=True)
class OfferRecord:
    """A stored offer."""

    id: int
    order_id: int
    order_ref: str
    kind: str
    amount_cents: int
    currency: str
    status: OfferStatus
    offered_by: str
    rule: str | None
    offered_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    channel: str | None


class RemedyOfferStore(Protocol):
    """Offer rows inside the caller's transaction."""

    def find_order(
        self, *, order_ref: str | None = None, order_id: int | None = None
    ) -> OfferOrder | None: ...

    def add(
        self,
        order: OfferOrder,
        terms: OfferTerms,
        *,
        incident_id: int | None,
        offered_by: str,
        rule: str | None,
        cause_key: str | None,
    ) -> int | None:
        """Insert an offer; ``None`` when ``cause_key`` already made one (a replayed cause)."""
        ...

    def get(self, offer_id: int) -> OfferRecord | None: ...

    def of_order(self, order_id: int) -> list[OfferRecord]:
        """The order's offers, newest first."""
        ...

    def record_decision(self, offer_id: int, status: OfferStatus, *, channel: str, now: datetime) -> bool:
        """Set the decision if the offer is still ``offered``; False if another decision won."""
        ...

    def expire_due(self, *, now: datetime, limit: int) -> list[OfferRecord]:
        """Mark offers past their expiry ``expired``; returns them."""
        ...


class RemedyOfferUnitOfWork(IncidentUnitOfWork, Protocol):
    """A unit of work that reaches offers, incidents and the outbox."""

    @property
    def remedy_offers(self) -> RemedyOfferStore: ...
