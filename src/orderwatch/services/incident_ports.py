"""What the incident services need from storage (U3–U8, U11): the ``IncidentStore`` port.

Kept apart from ``ports.py`` so that the ingestion unit of work and its fakes need not know
about incidents; :class:`IncidentUnitOfWork` is the unit of work that also has the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from orderwatch.domain.escalation import RecentCase, Team
from orderwatch.domain.incident_tasks import TaskKind
from orderwatch.domain.incidents import Incident, IncidentEvent, IncidentFacts
from orderwatch.domain.risk_flags import RiskFlag, RiskFlagKind
from orderwatch.domain.sla import LedgerEntry
from orderwatch.services.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class OrderForIncident:
    """An order looked up to report it: its id, facts and when it was promised."""

    order_id: int
    facts: IncidentFacts
    promised_at: datetime | None
    handed_over: bool = True  # the carrier has the parcel


@dataclass(frozen=True, slots=True)
class FlagCandidate:
    """An open risk flag on an order that no unfinished incident covers yet."""

    flag_id: int
    flag: RiskFlag
    order: OrderForIncident


@dataclass(frozen=True, slots=True)
class NewCase:
    """A case to insert: the reported ``incident`` and what it is stored with."""

    incident: Incident
    order_id: int | None
    risk_flag_id: int | None


@dataclass(frozen=True, slots=True)
class CaseState:
    """A case's columns to save: its state as it was when recorded, the board's SLA state."""

    incident: Incident
    sla_state: str
    next_sla_check_at: datetime | None
    now: datetime


@dataclass(frozen=True, slots=True)
class TaskRecord:
    id: int
    incident_ref: str
    kind: TaskKind
    team: Team
    owner: str
    due_at: datetime
    status: str
    note: str


@dataclass(frozen=True, slots=True)
class Recipients:
    """Who hears about an escalation to a team: its leads and whoever is on call now."""

    team: Team
    leads: tuple[str, ...]
    on_call: tuple[str, ...]


class IncidentStore(Protocol):
    """Incident reads and writes inside the caller's transaction."""

    def find_order(self, order_ref: str) -> OrderForIncident | None: ...

    def active_ref_for_order(self, order_id: int) -> str | None:
        """The case of ``order_id`` that is not closed or cancelled, if any."""
        ...

    def active_refs_for_orders(self, order_ids: Sequence[int]) -> dict[int, str]:
        """The active case of each of ``order_ids`` that has one (one query)."""
        ...

    def count_for_order(self, order_id: int) -> int: ...

    def counts_for_orders(self, order_ids: Sequence[int]) -> dict[int, int]:
        """How many cases each of ``order_ids`` has had (one query; orders without one left out)."""
        ...

    def add(
        self, incident: Incident, *, order_id: int | None, risk_flag_id: int | None, now: datetime
    ) -> int:
        """Insert ``incident``; raises ``Conflict`` if the order (or scope) already has an active case."""
        ...

    def add_many(self, cases: Sequence[NewCase], *, now: datetime) -> list[int]:
        """Insert ``cases`` in one statement; their ids in order. ``Conflict`` as :meth:`add`, for all."""
        ...

    def get(self, ref: str, *, lock: bool = True) -> Incident:
        """The case ``ref`` (locked for update); raises ``NotFound``."""
        ...

    def get_many(self, refs: Sequence[str], *, lock: bool = True) -> dict[str, Incident]:
        """The cases ``refs`` by ref, locked in id order (one query); raises ``NotFound``."""
        ...

    def save(
        self, incident: Incident, *, sla_state: str, next_sla_check_at: datetime | None, now: datetime
    ) -> None: ...

    def save_many(self, states: Sequence[CaseState]) -> None:
        """Save each case's columns, in order (one statement run for all)."""
        ...

    def append_timeline(self, rows: Sequence[tuple[int, IncidentEvent]]) -> list[int]:
        """Insert timeline rows (incident id, event); returns their ids in order (outbox keys use them)."""
        ...

    def ledgers(self, incident_ids: Sequence[int]) -> dict[int, set[LedgerEntry]]:
        """The SLA ledger entries stored for each of ``incident_ids`` (one query)."""
        ...

    def add_ledger(self, rows: Sequence[tuple[int, LedgerEntry, datetime]]) -> None:
        """Insert ledger rows (incident id, entry, recorded at) in one statement."""
        ...

    def flag_candidates(self, *, kinds: Sequence[RiskFlagKind], limit: int) -> list[FlagCandidate]: ...

    def flag_severities(self) -> list[tuple[Incident, str]]:
        """(active case opened from a flag, locked; the flag's severity) where the flag is now worse."""
        ...

    def due_for_sla(self, *, now: datetime, limit: int) -> list[Incident]:
        """Active cases whose next SLA check is due, locked (skipping rows other workers hold)."""
        ...

    def recent_cases(self, *, since: datetime) -> list[RecentCase]:
        """Active, ungrouped, non-major cases whose problem arose after ``since`` (``detected_at``)."""
        ...

    def active_major_ref(self, scope: str) -> str | None: ...

    def set_parent(self, child_refs: Sequence[str], parent_id: int, *, now: datetime) -> None: ...

    def children(self, parent_id: int) -> list[Incident]: ...

    def add_task(
        self,
        incident_id: int,
        *,
        kind: TaskKind,
        team: Team,
        owner: str,
        due_at: datetime,
        note: str,
        actor: str,
        now: datetime,
    ) -> int: ...

    def finish_task(self, task_id: int, *, status: str, now: datetime) -> TaskRecord:
        """Mark a task done or cancelled; raises ``NotFound`` or ``Conflict`` if not open."""
        ...

    def recipients(self, team: Team, *, now: datetime) -> Recipients: ...

    def set_team(self, team: Team, *, name: str, members: Sequence[tuple[str, bool]]) -> None:
        """Create or rename ``team`` and make ``members`` (username, is lead) exactly its members."""
        ...

    def add_on_call(self, team: Team, *, username: str, starts_at: datetime, ends_at: datetime) -> None: ...

    def mark_backup_carrier(self, scope: str, *, incident_id: int, actor: str, now: datetime) -> bool:
        """Mark ``scope`` for the backup carrier; ``False`` if it is already marked."""
        ...


class IncidentUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also reaches incidents."""

    @property
    def incidents(self) -> IncidentStore: ...
