"""The incident lifecycle against a simple model (U3–U8): a hypothesis RuleBasedStateMachine.

The model is written independently of ``TRANSITIONS``: the plan's steps as one ordered list,
cancel from any open step, reopen from resolved/closed/cancelled. After every rule the
incident must be in the model's state, have exactly one event per real move and none for a
no-op, and keep its timestamps and pauses consistent; its SLA ledger must be computable.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from orderwatch.domain import incidents as inc
from orderwatch.domain.causes import Cause
from orderwatch.domain.incidents import (
    Action,
    IllegalTransition,
    IncidentFacts,
    IncidentSeverity,
    IncidentStatus,
    WaitingOn,
)
from orderwatch.domain.sla import BusinessCalendar, LedgerKind, SlaState, ledger_entries, readings

STEPS = ["reported", "assessed", "assigned", "customer_contacted", "resolving", "resolved", "closed"]
FORWARD = {
    "assess": "assessed",
    "assign": "assigned",
    "contact_customer": "customer_contacted",
    "start_resolution": "resolving",
    "resolve": "resolved",
    "close": "closed",
}
CALENDAR = BusinessCalendar(ZoneInfo("America/Sao_Paulo"))
START = datetime(2018, 2, 16, 8, 0, tzinfo=UTC)  # Carnival Friday, inside Brazilian summer time


def model_next(status: str, action: str) -> str | None:
    """Where the model goes; ``None`` = illegal. Same-state requests stay (no-op)."""
    if action == "cancel":
        return "cancelled" if status in STEPS[:5] or status == "cancelled" else None
    if action == "reopen":
        return "reported" if status in {"resolved", "closed", "cancelled", "reported"} else None
    if action == "delivered":  # the carrier's delivered scan resolves any open step
        return "resolved" if status in STEPS[:6] else None
    target = FORWARD[action]
    if status == target:
        return status
    if status in STEPS and STEPS.index(target) == STEPS.index(status) + 1:
        return target
    return None


ARGUMENTS = {
    Action.assess: {},
    Action.assign: {},
    Action.contact_customer: {"channel": "phone"},
    Action.start_resolution: {"plan": "redeliver"},
    Action.resolve: {"resolution": "delivered"},
    Action.close: {"root_cause": "carrier sorting error", "lessons": "scan twice", "follow_ups": "audit"},
    Action.cancel: {"reason": "parcel arrived"},
    Action.reopen: {"reason": "customer still waiting"},
    Action.delivered: {"delivered_at": START},
}


class IncidentLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.incident, events = inc.report(
            ref="INC-1",
            facts=IncidentFacts(order_ref="o-1"),
            severity=IncidentSeverity.medium,
            cause=Cause.lost_parcel,
            actor="cs",
            now=self.now,
        )
        assert [e.kind for e in events] == ["reported"]
        self.model = "reported"
        self.contacted = False

    @rule(minutes=st.integers(min_value=0, max_value=3 * 24 * 60))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule(action=st.sampled_from(list(Action)))
    def move(self, action: Action) -> None:
        expected = model_next(self.model, action.value)
        before = self.incident.status
        function = inc.TRANSITION_FUNCTIONS[action]
        if expected is None:
            with pytest.raises(IllegalTransition) as error:
                function(self.incident, actor="someone", now=self.now, **ARGUMENTS[action])  # type: ignore[operator]
            assert f"from {before} to " in str(error.value)
            assert self.incident.status is before
            return
        events = function(self.incident, actor="someone", now=self.now, **ARGUMENTS[action])  # type: ignore[operator]
        if expected == self.model:
            assert events == []
        else:
            assert [(e.from_status, e.to_status) for e in events] == [(before, IncidentStatus(expected))]
            self.contacted |= action is Action.contact_customer
        self.model = expected

    @precondition(lambda self: self.model in STEPS[:5])
    @rule(party=st.sampled_from(list(WaitingOn)))
    def wait(self, party: WaitingOn) -> None:
        was = self.incident.waiting_on
        events = inc.wait_on(self.incident, party, actor="logistics", now=self.now)
        assert self.incident.waiting_on is party
        assert [e.kind for e in events] == (
            [] if was is party else (["paused"] if was is None else ["resumed", "paused"])
        )

    @rule()
    def answer(self) -> None:
        was = self.incident.waiting_on
        events = inc.stop_waiting(self.incident, actor="logistics", now=self.now)
        assert len(events) == (0 if was is None else 1)
        assert self.incident.waiting_on is None

    @invariant()
    def matches_model(self) -> None:
        assert self.incident.status.value == self.model
        assert (self.incident.first_contact_at is not None) == self.contacted

    @invariant()
    def waits_only_while_open(self) -> None:
        if self.incident.status not in inc.OPEN_STATES:
            assert self.incident.waiting_on is None

    @invariant()
    def pauses_are_ordered_and_disjoint(self) -> None:
        previous_end = self.incident.reported_at
        for low, high in self.incident.pauses:
            assert previous_end <= low <= high <= self.now
            previous_end = high

    @invariant()
    def sla_is_consistent(self) -> None:
        entries = ledger_entries(self.incident, calendar=CALENDAR, now=self.now)
        assert all(e.at <= self.now for e in entries)
        kinds = {(e.metric, e.kind) for e in entries}
        for reading in readings(self.incident, calendar=CALENDAR, now=self.now):
            assert ((reading.metric, LedgerKind.breached) in kinds) == (reading.state is SlaState.breached)


IncidentLifecycle.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestIncidentLifecycle = IncidentLifecycle.TestCase


@pytest.mark.parametrize(
    ("status_case", "action", "expected"),
    [
        (IncidentStatus.reported, Action.close, "cannot move from reported to closed"),
        (IncidentStatus.closed, Action.assess, "cannot move from closed to assessed"),
        (IncidentStatus.resolved, Action.cancel, "cannot move from resolved to cancelled"),
    ],
)
def test_an_illegal_move_names_the_incident_and_both_states(
    status_case: IncidentStatus, action: Action, expected: str
) -> None:
    incident, _ = inc.report(
        ref="INC-7",
        facts=IncidentFacts(order_ref="o-7"),
        severity=IncidentSeverity.low,
        cause=Cause.unknown,
        actor="cs",
        now=START,
    )
    incident.status = status_case

    with pytest.raises(IllegalTransition) as error:
        inc.TRANSITION_FUNCTIONS[action](incident, actor="x", now=START, **ARGUMENTS[action])  # type: ignore[operator]

    assert str(error.value).startswith(f"incident INC-7: {expected}")
    assert incident.status is status_case
