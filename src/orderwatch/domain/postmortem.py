"""The post-incident report (U8, U9) and the cost of a case, built from what was recorded.

A report is data first (:class:`PostIncidentReport`), rendered to HTML by the web templates and
to PDF by ``adapters/reports``; both show the same sections, in this order: :data:`SECTIONS`.

Cost of a case = compensation actually granted (approved ledger entries) − money recovered from
the carrier. The amount *claimed* is shown beside it but is not added: a claim asks money back
for a loss already counted in the compensation, so adding it would count the loss twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

# msgids (translated when rendered): the sections every report has, in order.
SECTIONS: tuple[str, ...] = (
    "Summary",
    "Response times",
    "SLA outcomes",
    "Cost",
    "Timeline",
    "Root cause",
    "Lessons",
    "Follow-up actions",
)


@dataclass(frozen=True, slots=True)
class Cost:
    """Money of one case (or many), in minor units of ``currency``."""

    currency: str
    compensation_cents: int = 0
    claimed_cents: int = 0
    recovered_cents: int = 0

    @property
    def net_cents(self) -> int:
        return self.compensation_cents - self.recovered_cents


def cost_of(
    currency: str,
    compensations: Iterable[tuple[str, int]],
    claims: Iterable[tuple[int, int]],
) -> Cost:
    """``compensations``: (status, amount) — only approved count; ``claims``: (claimed, recovered)."""
    granted = sum(amount for status, amount in compensations if status == "approved")
    claimed = recovered = 0
    for asked, got in claims:
        claimed += asked
        recovered += got
    return Cost(currency, granted, claimed, recovered)


def minutes_between(start: datetime | None, end: datetime | None) -> float | None:
    """Wall-clock minutes from ``start`` to ``end``; ``None`` if either is missing."""
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 60, 1)


@dataclass(frozen=True, slots=True)
class TimelineLine:
    at: datetime
    actor: str
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """A compensation entry or a claim as the report lists it."""

    kind: str
    status: str
    amount_cents: int
    currency: str
    who: str
    extra: str = ""


@dataclass(frozen=True, slots=True)
class PostIncidentReport:
    ref: str
    order_ref: str
    status: str
    severity: str
    cause: str
    party: str | None
    carrier: str | None
    region: str | None
    reported_at: datetime
    first_contact_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    result: str | None
    root_cause: str | None
    lessons: str | None
    follow_ups: str | None
    sla: Sequence[tuple[str, str]]  # (metric, met | breached | running | void)
    cost: Cost
    timeline: Sequence[TimelineLine]
    compensations: Sequence[LedgerLine] = field(default_factory=tuple)
    claims: Sequence[LedgerLine] = field(default_factory=tuple)

    @property
    def minutes_to_first_contact(self) -> float | None:
        return minutes_between(self.reported_at, self.first_contact_at)

    @property
    def minutes_to_resolution(self) -> float | None:
        return minutes_between(self.reported_at, self.resolved_at)


def describe(detail: dict[str, object]) -> str:
    """A timeline row's detail as one line of text (empty values left out, ids kept)."""
    return "; ".join(f"{key}: {value}" for key, value in detail.items() if value not in (None, "", [], {}))
