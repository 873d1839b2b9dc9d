"""SQL implementation of the ``IncidentStore`` port (U3–U8, U11): cases, timeline, ledger, tasks, teams.

Rows are mapped explicitly to the domain's ``Incident`` (STYLE: explicit mapping, mypy-clean).
Inserts that could collide with another active case (one per order, one per major scope) run in
a savepoint, so a collision becomes a ``Conflict`` without aborting the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Boolean,
    Select,
    Table,
    Update,
    and_,
    case,
    delete,
    exists,
    func,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orderwatch.adapters.db.bulk import insert_many_count, is_postgresql, update_many
from orderwatch.adapters.db.dialect import matching
from orderwatch.adapters.db.locking import claim_due, lock_rows
from orderwatch.adapters.db.tables import (
    BackupCarrierMarkRow,
    CustomerRow,
    IncidentRow,
    IncidentTaskRow,
    IncidentTimelineRow,
    OnCallShiftRow,
    OrderRow,
    RiskFlagRow,
    ShipmentRow,
    SlaLedgerRow,
    TeamMemberRow,
    TeamRow,
    table_of,
)
from orderwatch.domain.causes import Cause
from orderwatch.domain.errors import Conflict, NotFound
from orderwatch.domain.escalation import RecentCase, Team
from orderwatch.domain.incident_tasks import TaskKind
from orderwatch.domain.incidents import (
    ACTIVE_STATES,
    Incident,
    IncidentEvent,
    IncidentFacts,
    IncidentSeverity,
    IncidentSource,
    IncidentStatus,
    WaitingOn,
)
from orderwatch.domain.risk_flags import RiskFlag, RiskFlagKind, RiskSeverity
from orderwatch.domain.sla import LedgerEntry, LedgerKind, SlaMetric
from orderwatch.services.incident_ports import (
    CaseState,
    FlagCandidate,
    NewCase,
    OrderForIncident,
    Recipients,
    TaskRecord,
)

ACTIVE = [s.value for s in ACTIVE_STATES]
_IN_CHUNK = 900  # stays under SQLite's bound-parameter limit


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def to_incident(row: Any, *, parent_ref: str | None = None) -> Incident:
    """The domain case of a stored row (an ``IncidentRow`` or a Core row of its columns)."""
    facts = IncidentFacts(
        order_ref=row.order_ref,
        customer_name=row.customer_name,
        customer_email=row.customer_email,
        customer_phone=row.customer_phone,
        address=row.address,
        region=row.region,
        lane=row.lane,
        carrier_code=row.carrier_code,
        tracking_number=row.tracking_number,
        order_value_cents=row.order_value_cents,
    )
    return Incident(
        id=row.id,
        ref=row.ref,
        facts=facts,
        severity=IncidentSeverity(row.severity),
        cause=Cause(row.cause),
        reported_at=row.reported_at,
        reported_by=row.reported_by,
        detected_at=row.detected_at,
        source=IncidentSource(row.source),
        status=IncidentStatus(row.status),
        summary=row.summary,
        parent_ref=parent_ref,
        scope=row.scope,
        assessed_at=row.assessed_at,
        assigned_at=row.assigned_at,
        first_contact_at=row.first_contact_at,
        resolving_at=row.resolving_at,
        resolved_at=row.resolved_at,
        closed_at=row.closed_at,
        cancelled_at=row.cancelled_at,
        waiting_on=WaitingOn(row.waiting_on) if row.waiting_on else None,
        waiting_since=row.waiting_since,
        pauses=[(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in row.pauses or []],
        escalation_level=row.escalation_level,
        resolution=row.resolution,
        root_cause=row.root_cause,
        lessons=row.lessons,
        follow_ups=row.follow_ups,
        reopened_at=row.reopened_at,
    )


def _state_columns(incident: Incident) -> dict[str, Any]:
    """The columns a transition may change."""
    active = incident.status in ACTIVE_STATES
    return {
        "status": incident.status.value,
        "severity": incident.severity.value,
        "cause": incident.cause.value,
        "party": incident.party_at_fault.value if incident.party_at_fault else None,
        "assessed_at": incident.assessed_at,
        "assigned_at": incident.assigned_at,
        "first_contact_at": incident.first_contact_at,
        "resolving_at": incident.resolving_at,
        "resolved_at": incident.resolved_at,
        "closed_at": incident.closed_at,
        "cancelled_at": incident.cancelled_at,
        "waiting_on": incident.waiting_on.value if incident.waiting_on else None,
        "waiting_since": incident.waiting_since,
        "pauses": [[_utc(a).isoformat(), _utc(b).isoformat()] for a, b in incident.pauses],
        "escalation_level": incident.escalation_level,
        "resolution": incident.resolution,
        "root_cause": incident.root_cause,
        "lessons": incident.lessons,
        "follow_ups": incident.follow_ups,
        "reopened_at": incident.reopened_at,
        "open_scope": incident.scope if active and incident.is_major else None,
    }


def _severity_rank(column: Any) -> Any:
    """A severity column as its rank (low 0 … critical 3), for comparisons in SQL."""
    return case({s.value: s.rank for s in IncidentSeverity}, value=column, else_=-1)


_INCIDENTS = table_of(IncidentRow)
_TIMELINE = table_of(IncidentTimelineRow)
_LEDGER = table_of(SlaLedgerRow)


@cache
def _save_types(columns: tuple[str, ...]) -> dict[str, Any]:
    """The parameters of the case UPDATE for ``columns`` and their SQL types."""
    types = {f"v_{name}": _INCIDENTS.c[name].type for name in columns}
    return types | {"v_id": _INCIDENTS.c.id.type, "v_active": Boolean()}


def _save_statement(columns: tuple[str, ...], value: Callable[[str], Any]) -> Update:
    """``UPDATE incidents SET <columns> ... WHERE id = v_id``, ``value(name)`` giving each parameter.

    ``open_order_id`` follows ``order_id`` while the case is active (the one-open-case-per-order
    guard) and is NULL otherwise.
    """
    values: dict[str, Any] = {name: value(f"v_{name}") for name in columns}
    values["open_order_id"] = case((value("v_active"), _INCIDENTS.c.order_id), else_=null())
    return update(_INCIDENTS).where(_INCIDENTS.c.id == value("v_id")).values(values)


# A major incident's row joined to its children; built once.
_PARENT = _INCIDENTS.alias("parent_incident")
# Cases are read as Core rows, not ORM objects: cheaper to build, and never an object the
# session still holds from an earlier read (saves go around the ORM, ``_save_statement``).
_CASES = select(_INCIDENTS, _PARENT.c.ref.label("parent_ref")).outerjoin(
    _PARENT, _PARENT.c.id == _INCIDENTS.c.parent_id
)


def _new_row(case: NewCase, now: datetime) -> dict[str, Any]:
    """The columns of a new case's row."""
    incident, f = case.incident, case.incident.facts
    return {
        "ref": incident.ref,
        "order_id": case.order_id,
        "open_order_id": case.order_id if incident.status in ACTIVE_STATES else None,
        "scope": incident.scope,
        "parent_id": None,
        "risk_flag_id": case.risk_flag_id,
        "source": incident.source.value,
        "summary": incident.summary,
        "order_ref": f.order_ref,
        "customer_name": f.customer_name,
        "customer_email": f.customer_email,
        "customer_phone": f.customer_phone,
        "address": f.address,
        "region": f.region,
        "lane": f.lane,
        "carrier_code": f.carrier_code,
        "tracking_number": f.tracking_number,
        "order_value_cents": f.order_value_cents,
        "reported_at": incident.reported_at,
        "reported_by": incident.reported_by,
        "detected_at": incident.detected_at or incident.reported_at,
        "sla_state": "running",
        "next_sla_check_at": None,
        "updated_at": now,
        **_state_columns(incident),
    }


class SqlIncidentStore:
    """Incident persistence inside the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        # Who leads / is on call, per team and moment: asked once per escalation, constant
        # within one transaction.
        self._recipients: dict[tuple[Team, datetime], Recipients] = {}

    # ------------------------------------------------------------ orders and flags

    def find_order(self, order_ref: str) -> OrderForIncident | None:
        query = self._order_query().where(OrderRow.ref == order_ref)
        row = self.session.execute(query).first()
        if row is None:
            return None
        tracking = self._tracking_numbers([row.id])
        return self._order_for_incident(row, tracking)

    def _order_query(self) -> Any:
        return select(
            OrderRow.id,
            OrderRow.ref,
            OrderRow.promised_at,
            OrderRow.handed_over_at,
            OrderRow.value_cents,
            OrderRow.carrier_code,
            OrderRow.origin_region,
            OrderRow.destination_region,
            CustomerRow.name,
            CustomerRow.email,
            CustomerRow.phone,
            CustomerRow.address_line,
            CustomerRow.city,
            CustomerRow.zip_prefix,
        ).outerjoin(CustomerRow, CustomerRow.id == OrderRow.customer_id)

    @staticmethod
    def _order_for_incident(row: Any, tracking: dict[int, str]) -> OrderForIncident:
        address = ", ".join(
            p for p in (row.address_line, row.city, row.destination_region, row.zip_prefix) if p
        )
        lane = (
            f"{row.origin_region}→{row.destination_region}"
            if row.origin_region and row.destination_region
            else None
        )
        facts = IncidentFacts(
            order_ref=row.ref,
            customer_name=row.name,
            customer_email=row.email,
            customer_phone=row.phone,
            address=address or None,
            region=row.destination_region,
            lane=lane,
            carrier_code=row.carrier_code,
            tracking_number=tracking.get(row.id),
            order_value_cents=row.value_cents or 0,
        )
        return OrderForIncident(row.id, facts, row.promised_at, handed_over=row.handed_over_at is not None)

    def _tracking_numbers(self, order_ids: Sequence[int]) -> dict[int, str]:
        """The latest shipment's tracking number per order."""
        found: dict[int, str] = {}
        for start in range(0, len(order_ids), _IN_CHUNK):
            chunk = order_ids[start : start + _IN_CHUNK]
            query = (
                select(ShipmentRow.order_id, ShipmentRow.tracking_number)
                .where(ShipmentRow.order_id.in_(chunk))
                .order_by(ShipmentRow.id)
            )
            found.update({r.order_id: r.tracking_number for r in self.session.execute(query)})
        return found

    def flag_candidates(self, *, kinds: Sequence[RiskFlagKind], limit: int) -> list[FlagCandidate]:
        # A flag is covered by any case of its order that was not finished before it was raised.
        covering = exists().where(
            IncidentRow.order_id == RiskFlagRow.order_id,
            or_(
                and_(IncidentRow.closed_at.is_(None), IncidentRow.cancelled_at.is_(None)),
                IncidentRow.closed_at >= RiskFlagRow.raised_at,
                IncidentRow.cancelled_at >= RiskFlagRow.raised_at,
            ),
        )
        query = (
            self._order_query()
            .add_columns(
                RiskFlagRow.id.label("flag_id"),
                RiskFlagRow.kind,
                RiskFlagRow.severity,
                RiskFlagRow.cause,
                RiskFlagRow.reason,
                RiskFlagRow.details,
                RiskFlagRow.raised_at,
            )
            .join(RiskFlagRow, RiskFlagRow.order_id == OrderRow.id)
            .where(
                RiskFlagRow.cleared_at.is_(None), RiskFlagRow.kind.in_([k.value for k in kinds]), ~covering
            )
            .order_by(RiskFlagRow.raised_at, RiskFlagRow.id)
            .limit(limit)
        )
        rows = self.session.execute(query).all()
        tracking = self._tracking_numbers(sorted({r.id for r in rows}))
        return [
            FlagCandidate(
                r.flag_id,
                RiskFlag(
                    r.ref,
                    RiskFlagKind(r.kind),
                    RiskSeverity(r.severity),
                    r.reason,
                    r.raised_at,
                    cause=Cause(r.cause) if r.cause else None,
                    details=r.details or {},
                ),
                self._order_for_incident(r, tracking),
            )
            for r in rows
        ]

    # ------------------------------------------------------------ cases

    def active_ref_for_order(self, order_id: int) -> str | None:
        return self.session.scalar(select(IncidentRow.ref).where(IncidentRow.open_order_id == order_id))

    def active_refs_for_orders(self, order_ids: Sequence[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        for clause in matching(self.session, IncidentRow.open_order_id, order_ids):
            query = select(IncidentRow.open_order_id, IncidentRow.ref).where(clause)
            found.update(
                {order_id: ref for order_id, ref in self.session.execute(query) if order_id is not None}
            )
        return found

    def count_for_order(self, order_id: int) -> int:
        return self.session.scalar(select(func.count()).where(IncidentRow.order_id == order_id)) or 0

    def counts_for_orders(self, order_ids: Sequence[int]) -> dict[int, int]:
        found: dict[int, int] = {}
        for clause in matching(self.session, IncidentRow.order_id, order_ids):
            query = select(IncidentRow.order_id, func.count()).where(clause).group_by(IncidentRow.order_id)
            found.update(
                {order_id: count for order_id, count in self.session.execute(query) if order_id is not None}
            )
        return found

    def add(
        self, incident: Incident, *, order_id: int | None, risk_flag_id: int | None, now: datetime
    ) -> int:
        (row_id,) = self.add_many([NewCase(incident, order_id, risk_flag_id)], now=now)
        return row_id

    def add_many(self, cases: Sequence[NewCase], *, now: datetime) -> list[int]:
        # Core, one statement for all (no ORM object, no flush per case), ids drawn beforehand.
        if not cases:
            return []
        ids = self._new_ids(_INCIDENTS, len(cases))
        rows = [_new_row(c, now) | {"id": i} for c, i in zip(cases, ids, strict=True)]
        try:
            with self.session.begin_nested():
                insert_many_count(self.session, _INCIDENTS, rows)
        except IntegrityError as error:
            raise Conflict(f"an active incident already exists for {self._colliding(cases)}") from error
        return ids

    def _new_ids(self, table: Table, count: int) -> list[int]:
        """Ids for ``count`` new rows of ``table``, in order: the ids the database would give them.

        Drawing them first lets the rows go in by the bulk paths, which return nothing (with
        RETURNING, SQLite inserted the rows one statement each). PostgreSQL: from the column's
        sequence. SQLite: the next ids after the largest, as SQLite gives them; no other writer
        can take them, because a writing transaction holds the database's write lock from its
        start (``BEGIN IMMEDIATE``, ``engine.py``) to its end.
        """
        if is_postgresql(self.session):
            drawn = self.session.execute(
                text("select nextval(pg_get_serial_sequence(:t, 'id')) from generate_series(1, :n)"),
                {"t": table.name, "n": count},
            ).scalars()
            return sorted(drawn)
        last = self.session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0
        return list(range(last + 1, last + 1 + count))

    def _colliding(self, cases: Sequence[NewCase]) -> str:
        """The order (or scope) of ``cases`` that already has an active case, for the message."""
        if len(cases) == 1:
            return cases[0].incident.facts.order_ref or str(cases[0].incident.scope)
        active = self.active_refs_for_orders([c.order_id for c in cases if c.order_id is not None])
        names = [c.incident.facts.order_ref for c in cases if c.order_id in active]
        names += [
            str(c.incident.scope)
            for c in cases
            if c.incident.scope and self.active_major_ref(c.incident.scope)
        ]
        return ", ".join(names) or "one of them (taken by another writer)"

    def get(self, ref: str, *, lock: bool = True) -> Incident:
        return self.get_many([ref], lock=lock)[ref]

    def get_many(self, refs: Sequence[str], *, lock: bool = True) -> dict[str, Incident]:
        found: dict[str, Incident] = {}
        for clause in matching(self.session, _INCIDENTS.c.ref, refs):
            query = _CASES.where(clause).order_by(_INCIDENTS.c.id)
            if lock:
                query = lock_rows(self.session, query, of=[_INCIDENTS])
            found.update(
                {r.ref: to_incident(r, parent_ref=r.parent_ref) for r in self.session.execute(query)}
            )
        for ref in refs:
            if ref not in found:
                raise NotFound("incident", ref)
        return found

    def save(
        self, incident: Incident, *, sla_state: str, next_sla_check_at: datetime | None, now: datetime
    ) -> None:
        self.save_many([CaseState(incident, sla_state, next_sla_check_at, now)])

    def save_many(self, states: Sequence[CaseState]) -> None:
        # One bulk UPDATE per column set (there is one). A case saved twice in a batch is
        # written as it was saved last, which is what saving it twice in order leaves.
        by_columns: dict[tuple[str, ...], dict[int, dict[str, Any]]] = {}
        for state in states:
            incident = state.incident
            assert incident.id is not None
            values = _state_columns(incident)
            values.update(
                sla_state=state.sla_state, next_sla_check_at=state.next_sla_check_at, updated_at=state.now
            )
            params = {f"v_{name}": value for name, value in values.items()}
            params.update(v_id=incident.id, v_active=incident.status in ACTIVE_STATES)
            by_columns.setdefault(tuple(values), {})[incident.id] = params
        for columns, rows in by_columns.items():
            update_many(
                self.session,
                list(rows.values()),
                types=_save_types(columns),
                build=lambda value, columns=columns: _save_statement(columns, value),  # type: ignore[misc]
            )

    def append_timeline(self, rows: Sequence[tuple[int, IncidentEvent]]) -> list[int]:
        if not rows:
            return []
        ids = self._new_ids(_TIMELINE, len(rows))
        values = [
            {
                "id": row_id,
                "incident_id": incident_id,
                "kind": e.kind,
                "at": e.at,
                "actor": e.actor,
                "from_status": e.from_status.value if e.from_status else None,
                "to_status": e.to_status.value if e.to_status else None,
                "detail": dict(e.detail),
            }
            for row_id, (incident_id, e) in zip(ids, rows, strict=True)
        ]
        insert_many_count(self.session, _TIMELINE, values)
        return ids

    def ledgers(self, incident_ids: Sequence[int]) -> dict[int, set[LedgerEntry]]:
        found: dict[int, set[LedgerEntry]] = {}
        connection = self.session.connection()  # Core: no ORM bookkeeping for these rows
        for clause in matching(self.session, _LEDGER.c.incident_id, incident_ids):
            query = select(_LEDGER.c.incident_id, _LEDGER.c.metric, _LEDGER.c.kind, _LEDGER.c.at).where(
                clause
            )
            for incident_id, metric, kind, at in connection.execute(query):
                found.setdefault(incident_id, set()).add(
                    LedgerEntry(SlaMetric(metric), LedgerKind(kind), _utc(at))
                )
        return found

    def add_ledger(self, rows: Sequence[tuple[int, LedgerEntry, datetime]]) -> None:
        if not rows:
            return
        values = [
            {"incident_id": i, "metric": e.metric.value, "kind": e.kind.value, "at": e.at, "recorded_at": now}
            for i, e, now in rows
        ]
        insert_many_count(self.session, _LEDGER, values)

    def flag_severities(self) -> list[tuple[Incident, str]]:
        # Only flags worse than their case: a case is never made less severe, so the others
        # would be loaded and left alone on every run. The cases come locked, in one statement.
        query = (
            _CASES.add_columns(RiskFlagRow.severity.label("flag_severity"))
            .join(RiskFlagRow, RiskFlagRow.id == _INCIDENTS.c.risk_flag_id)
            .where(
                _INCIDENTS.c.open_order_id.is_not(None),
                _severity_rank(RiskFlagRow.severity) > _severity_rank(_INCIDENTS.c.severity),
            )
            .order_by(_INCIDENTS.c.id)
        )
        found = self.session.execute(lock_rows(self.session, query, of=[_INCIDENTS])).all()
        return [(to_incident(r, parent_ref=r.parent_ref), r.flag_severity) for r in found]

    def due_for_sla(self, *, now: datetime, limit: int) -> list[Incident]:
        query = (
            select(_INCIDENTS)
            .where(_INCIDENTS.c.next_sla_check_at <= now, _INCIDENTS.c.status.in_(ACTIVE))
            .order_by(_INCIDENTS.c.next_sla_check_at, _INCIDENTS.c.id)
            .limit(limit)
        )
        return [to_incident(row) for row in self.session.execute(claim_due(self.session, query))]

    def recent_cases(self, *, since: datetime) -> list[RecentCase]:
        query = select(
            IncidentRow.ref,
            IncidentRow.detected_at,
            IncidentRow.carrier_code,
            IncidentRow.lane,
            IncidentRow.region,
        ).where(
            IncidentRow.detected_at > since,
            IncidentRow.parent_id.is_(None),
            IncidentRow.open_order_id.is_not(None),
        )
        return [
            RecentCase(r.ref, r.detected_at, r.carrier_code, r.lane, r.region)
            for r in self.session.execute(query)
        ]

    def active_major_ref(self, scope: str) -> str | None:
        return self.session.scalar(select(IncidentRow.ref).where(IncidentRow.open_scope == scope))

    def set_parent(self, child_refs: Sequence[str], parent_id: int, *, now: datetime) -> None:
        self.session.execute(
            update(IncidentRow)
            .where(IncidentRow.ref.in_(list(child_refs)))
            .values(parent_id=parent_id, updated_at=now)
        )

    def children(self, parent_id: int) -> list[Incident]:
        query = select(_INCIDENTS).where(_INCIDENTS.c.parent_id == parent_id).order_by(_INCIDENTS.c.id)
        return [to_incident(row) for row in self.session.execute(query)]

    # ------------------------------------------------------------ tasks and teams

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
    ) -> int:
        row = IncidentTaskRow(
            incident_id=incident_id,
            kind=kind.value,
            team=team.value,
            owner=owner,
            due_at=due_at,
            status="open",
            note=note,
            created_by=actor,
            created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    def finish_task(self, task_id: int, *, status: str, now: datetime) -> TaskRecord:
        query: Select[Any] = (
            select(IncidentTaskRow, IncidentRow.ref)  # type: ignore[assignment]
            .join(IncidentRow, IncidentRow.id == IncidentTaskRow.incident_id)
            .where(IncidentTaskRow.id == task_id)
        )
        found = self.session.execute(lock_rows(self.session, query, of=[table_of(IncidentTaskRow)])).first()
        if found is None:
            raise NotFound("task", task_id)
        task, ref = found[0], found[1]
        if task.status != "open":
            raise Conflict(f"task {task_id} is already {task.status}")
        task.status, task.done_at = status, now
        return TaskRecord(
            task.id,
            ref,
            TaskKind(task.kind),
            Team(task.team),
            task.owner,
            task.due_at,
            task.status,
            task.note,
        )

    def recipients(self, team: Team, *, now: datetime) -> Recipients:
        known = self._recipients.get((team, now))
        if known is None:
            known = self._recipients[(team, now)] = self._load_recipients(team, now=now)
        return known

    def _load_recipients(self, team: Team, *, now: datetime) -> Recipients:
        team_id = self.session.scalar(select(TeamRow.id).where(TeamRow.code == team.value))
        if team_id is None:
            return Recipients(team, (), ())
        leads = self.session.scalars(
            select(TeamMemberRow.username)
            .where(TeamMemberRow.team_id == team_id, TeamMemberRow.is_lead.is_(True))
            .order_by(TeamMemberRow.username)
        )
        on_call = self.session.scalars(
            select(OnCallShiftRow.username)
            .where(
                OnCallShiftRow.team_id == team_id,
                OnCallShiftRow.starts_at <= now,
                OnCallShiftRow.ends_at > now,
            )
            .order_by(OnCallShiftRow.username)
        )
        return Recipients(team, tuple(leads), tuple(on_call))

    def set_team(self, team: Team, *, name: str, members: Sequence[tuple[str, bool]]) -> None:
        self._recipients.clear()
        row = self.session.scalars(select(TeamRow).where(TeamRow.code == team.value)).first()
        if row is None:
            row = TeamRow(code=team.value, name=name)
            self.session.add(row)
            self.session.flush()
        row.name = name
        self.session.execute(delete(TeamMemberRow).where(TeamMemberRow.team_id == row.id))
        self.session.add_all(TeamMemberRow(team_id=row.id, username=u, is_lead=lead) for u, lead in members)

    def add_on_call(self, team: Team, *, username: str, starts_at: datetime, ends_at: datetime) -> None:
        self._recipients.clear()
        team_id = self.session.scalar(select(TeamRow.id).where(TeamRow.code == team.value))
        if team_id is None:
            raise NotFound("team", team.value)
        self.session.add(
            OnCallShiftRow(team_id=team_id, username=username, starts_at=starts_at, ends_at=ends_at)
        )

    def mark_backup_carrier(self, scope: str, *, incident_id: int, actor: str, now: datetime) -> bool:
        existing = self.session.scalars(
            select(BackupCarrierMarkRow).where(BackupCarrierMarkRow.scope == scope)
        ).first()
        if existing is not None and existing.cleared_at is None:
            return False
        if existing is not None:
            existing.incident_id, existing.marked_by, existing.marked_at = incident_id, actor, now
            existing.cleared_at = None
            return True
        self.session.add(
            BackupCarrierMarkRow(scope=scope, incident_id=incident_id, marked_by=actor, marked_at=now)
        )
        return True
