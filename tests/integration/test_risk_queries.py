"""The risk queue's read side on SQLite and PostgreSQL (D2): ranking, one row per order, paging."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.risk_queries import (
    FlagFilter,
    count_orders_at_risk,
    decode_cursor,
    list_orders_at_risk,
)
from orderwatch.bootstrap import App
from orderwatch.domain.errors import ValidationFailed
from orderwatch.services.detectors import run_detectors
from orderwatch.services.ingest import ingest_orders
from tests.conftest import START
from tests.factories import make_order

DAY = timedelta(days=1)


@pytest.fixture
def queue(app: App) -> App:
    """Four unshipped orders: value and lateness differ, each has promise_passed + dispatch_missed."""
    for ref, cents, days_ago in (("a", 1_000, 30), ("b", 90_000, 12), ("c", 30_000, 30), ("d", 90_000, 30)):
        order = make_order(ref=ref, purchased_at=START - days_ago * DAY, promised_days=10)
        line = replace(
            order.lines[0],
            unit_price_cents=cents,
            freight_cents=0,
            dispatch_deadline=START - (days_ago - 2) * DAY,
        )
        ingest_orders(app.uow(), [replace(order, lines=(line,))], clock=app.clock)
    assert isinstance(app.clock, SimulatedClock)
    run_detectors(app.uow(), app.clock)
    return app


def test_orders_rank_by_their_worst_flag_times_value_one_row_each(queue: App) -> None:
    with queue.read_session() as session:
        page = list_orders_at_risk(session, FlagFilter(), limit=10)
        total = count_orders_at_risk(session, FlagFilter())

    # d: critical x 900; b: medium (2 days late) x 900 vs dispatch 10 days late = critical; c; a.
    assert [(item.order_ref, item.rank) for item in page.items] == [
        ("d", 4 * 90_000),
        ("b", 4 * 90_000),
        ("c", 4 * 30_000),
        ("a", 4 * 1_000),
    ]
    assert total == 4
    assert [flag.kind for flag in page.items[1].flags] == ["dispatch_missed", "promise_passed"]
    assert page.items[1].top.severity == "critical"


def test_paging_by_cursor_visits_every_order_once(queue: App) -> None:
    seen: list[str] = []
    cursor = None
    with queue.read_session() as session:
        while True:
            page = list_orders_at_risk(session, FlagFilter(kind="promise_passed"), limit=1, cursor=cursor)
            seen += [item.order_ref for item in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    # promise_passed only: b is 2 days late (medium, 2 x 900) and still outranks c (critical, 4 x 300).
    assert seen == ["d", "b", "c", "a"]


def test_bad_filters_and_cursors_name_the_field(queue: App) -> None:
    with pytest.raises(ValidationFailed, match="severity"):
        FlagFilter(severity="urgent").check()
    with pytest.raises(ValidationFailed, match="cursor"):
        decode_cursor("%%%")
