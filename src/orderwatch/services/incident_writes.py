"""The rows that recording cases writes, kept and written together (issue 3/5 speed of the jobs).

Recording a case (``incidents.record``) writes SLA ledger rows, timeline rows, their outbox rows
and the case's columns. One case at a time that is five statements per case; a job run over
thousands of cases (automatic opening, SLA timers, resolve on delivery) spent most of its time
in them. :class:`CaseWrites` keeps them and :meth:`CaseWrites.flush` writes them all, one
statement per kind::

    preload(ids)      the stored ledgers of the run's cases             1 query
    record × N        domain work; rows kept here                       0 queries
    flush()           ledger rows, timeline rows (RETURNING ids),       4 statements
                      outbox rows keyed by those ids, case columns

The outbox guarantee is unchanged: ``flush`` runs in the caller's transaction, before its
commit, so a case's new state, its timeline and its messages are committed together or not at
all. Rows are written in the order the cases were recorded, so a run writes exactly the rows
(and, on a fresh database, the ids) that recording its cases one by one wrote.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orderwatch.domain.incidents import Incident, IncidentEvent
from orderwatch.domain.sla import LedgerEntry
from orderwatch.services.incident_ports import CaseState, IncidentUnitOfWork
from orderwatch.services.ports import OutboxMessage


@dataclass(frozen=True, slots=True)
class _Event:
    incident_id: int
    event: IncidentEvent
    payload: dict[str, Any]  # the outbox payload, as the case was when the event was recorded
    now: datetime


class CaseWrites:
    """Ledger, timeline, outbox and case rows of the cases recorded in one transaction, unwritten."""

    def __init__(self, uow: IncidentUnitOfWork) -> None:
        self._uow = uow
        self._ledgers: dict[int, set[LedgerEntry]] = {}  # stored, or kept to be stored
        self._ledger_rows: list[tuple[int, LedgerEntry, datetime]] = []
        self._events: list[_Event] = []
        self._states: list[CaseState] = []

    def preload(self, incident_ids: Iterable[int]) -> None:
        """Read the stored ledgers of ``incident_ids`` in one query (else one query per case)."""
        missing = sorted({i for i in incident_ids if i not in self._ledgers})
        if missing:
            self._ledgers.update({i: set() for i in missing} | self._uow.incidents.ledgers(missing))

    def created(self, incident_ids: Iterable[int]) -> None:
        """``incident_ids`` were inserted in this transaction: nothing stored in their ledgers to read."""
        self._ledgers.update({i: set() for i in incident_ids if i not in self._ledgers})

    def new_ledger_entries(
        self, incident_id: int, entries: Sequence[LedgerEntry], *, now: datetime
    ) -> list[LedgerEntry]:
        """The ``entries`` not stored yet (kept to be stored, recorded at ``now``)."""
        self.preload([incident_id])
        known = self._ledgers[incident_id]
        new = [e for e in entries if e not in known]
        known.update(new)
        self._ledger_rows += [(incident_id, e, now) for e in new]
        return new

    def add_events(self, incident: Incident, events: Sequence[IncidentEvent], *, now: datetime) -> None:
        """Keep timeline rows and their outbox messages (payloads taken now, from the case as it is)."""
        assert incident.id is not None
        self._events += [_Event(incident.id, e, _payload(incident, e), now) for e in events]

    def save(
        self, incident: Incident, *, sla_state: str, next_sla_check_at: datetime | None, now: datetime
    ) -> None:
        """Keep the case's columns as they are now (a later change needs its own ``save``)."""
        snapshot = copy.copy(incident)
        snapshot.pauses = list(incident.pauses)
        self._states.append(CaseState(snapshot, sla_state, next_sla_check_at, now))

    def flush(self) -> None:
        """Write everything kept, in the order it was recorded (the caller commits)."""
        store = self._uow.incidents
        if self._ledger_rows:
            store.add_ledger(self._ledger_rows)
        if self._events:
            ids = store.append_timeline([(e.incident_id, e.event) for e in self._events])
            messages: list[OutboxMessage] = []
            for position, (row_id, kept) in enumerate(zip(ids, self._events, strict=True)):
                messages.append(OutboxMessage(kept.event.topic, f"incident-timeline:{row_id}", kept.payload))
                following = self._events[position + 1] if position + 1 < len(self._events) else None
                if following is None or following.now != kept.now:  # created_at is the run's now
                    self._uow.outbox.enqueue(messages, now=kept.now)
                    messages = []
        if self._states:
            store.save_many(self._states)
        self._ledger_rows, self._events, self._states = [], [], []


def _payload(incident: Incident, event: IncidentEvent) -> dict[str, Any]:
    return {
        "incident": incident.ref,
        "order_ref": incident.facts.order_ref,
        "event": event.kind,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "status": incident.status.value,
        "severity": incident.severity.value,
        "cause": incident.cause.value,
        "from_status": event.from_status.value if event.from_status else None,
        "to_status": event.to_status.value if event.to_status else None,
        "detail": {k: v for k, v in event.detail.items()},
    }
