"""Replay ordering guarantees (issue 3): time order, a clock that never goes back, due jobs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.domain.commands import RecordMilestone, TimedCommand, UpsertOrder
from orderwatch.domain.orders import OrderMilestone
from orderwatch.services.ports import Clock
from orderwatch.services.replay import PeriodicJob, replay, windows

T0 = datetime(2017, 1, 1, tzinfo=UTC)


class NoUnitOfWork:
    """Replay hands each handler a unit of work; these handlers record instead of storing."""


def _orders(offsets: Sequence[int]) -> list[TimedCommand]:
    return [
        TimedCommand(
            T0 + timedelta(minutes=m), UpsertOrder(ref=f"o{i}", purchased_at=T0 + timedelta(minutes=m))
        )
        for i, m in enumerate(sorted(offsets))
    ]


@given(st.lists(st.integers(min_value=0, max_value=60 * 24 * 20), max_size=60))
def test_commands_are_applied_in_time_order_never_before_the_clock(offsets: list[int]) -> None:
    commands = _orders(offsets)
    clock = SimulatedClock(T0)
    applied: list[tuple[datetime, datetime]] = []
    clock_readings: list[datetime] = []

    def record(uow: Any, items: Sequence[UpsertOrder], clk: Clock) -> list[object]:
        clock_readings.append(clk.now())
        applied.extend((item.purchased_at, clk.now()) for item in items)
        return []

    replay(
        commands,
        uow_factory=NoUnitOfWork,
        clock=clock,
        handlers={UpsertOrder: record},
        window=timedelta(hours=6),
        max_batch=7,
    )

    assert [at for at, _ in applied] == sorted(at for at, _ in applied)
    assert all(at <= now for at, now in applied)
    assert clock_readings == sorted(clock_readings)
    assert len(applied) == len(commands)


def test_within_a_window_orders_come_before_their_milestones() -> None:
    order = UpsertOrder(ref="o1", purchased_at=T0 + timedelta(minutes=5))
    milestone = RecordMilestone("o1", OrderMilestone.approved, T0 + timedelta(minutes=1))
    kinds: list[str] = []

    def record(uow: Any, items: Sequence[Any], clk: Clock) -> list[object]:
        kinds.extend(type(i).__name__ for i in items)
        return []

    replay(
        [TimedCommand(milestone.occurred_at, milestone), TimedCommand(order.purchased_at, order)],
        uow_factory=NoUnitOfWork,
        clock=SimulatedClock(T0),
        handlers={UpsertOrder: record, RecordMilestone: record},
    )

    assert kinds == ["UpsertOrder", "RecordMilestone"]


def test_a_stream_that_goes_back_in_time_is_refused() -> None:
    later, earlier = _orders([10])[0], _orders([5])[0]

    with pytest.raises(ValueError, match="commands out of time order"):
        list(windows([later, earlier], length=timedelta(hours=1), max_batch=10))


def test_the_clock_refuses_to_go_back() -> None:
    clock = SimulatedClock(T0)
    clock.advance(timedelta(hours=1))

    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance_to(T0)


def test_periodic_jobs_run_on_their_schedule_in_simulated_time() -> None:
    runs: list[datetime] = []
    job = PeriodicJob("detector", timedelta(days=1), lambda clk: runs.append(clk.now()))
    commands = _orders([0, 60 * 30, 60 * 50, 60 * 100])  # 0 h, 30 h, 50 h, 100 h

    report = replay(
        commands,
        uow_factory=NoUnitOfWork,
        clock=SimulatedClock(T0),
        handlers={UpsertOrder: lambda uow, items, clk: []},
        jobs=[job],
        window=timedelta(hours=1),
    )

    assert runs == [T0 + timedelta(hours=30), T0 + timedelta(hours=50), T0 + timedelta(hours=100)]
    # where the time went: each command kind applied and each job that ran
    assert set(report.seconds) == {"UpsertOrder", "detector"}
    assert all(seconds >= 0 for seconds in report.seconds.values())


def test_a_command_without_a_handler_is_an_error() -> None:
    with pytest.raises(KeyError, match="no replay handler for UpsertOrder"):
        replay(_orders([0]), uow_factory=NoUnitOfWork, clock=SimulatedClock(T0), handlers={})
