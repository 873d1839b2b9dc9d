"""The detectors on replayed Olist history (D2): shipped-never-delivered orders end up flagged.

A month of real purchases (January 2017) is replayed through the live ingestion path with the
periodic jobs, up to 1 April 2017, on SQLite and PostgreSQL. Olist reports only
hand-off and delivery, so "stalled" rests on the learned hand-off → delivery time of each lane.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.datasets import olist
from orderwatch.adapters.datasets.olist_timeline import Timeline, build_timeline
from orderwatch.adapters.db.tables import OrderRow, RiskFlagRow
from orderwatch.bootstrap import App, build_app
from orderwatch.domain.orders import OrderMilestone
from orderwatch.domain.shipments import ShipmentStatus
from orderwatch.entrypoints.cli.simulation import run_replay
from tests.conftest import OLIST_DIR, missing

ZONE = ZoneInfo("America/Sao_Paulo")
PURCHASED_FROM = datetime(2017, 1, 1, tzinfo=ZONE).astimezone(UTC)
PURCHASED_UNTIL = datetime(2017, 2, 1, tzinfo=ZONE).astimezone(UTC)
STOP = datetime(2017, 4, 1, tzinfo=ZONE).astimezone(UTC)


@pytest.fixture(scope="module")
def history() -> tuple[Timeline, set[str], dict[str, datetime]]:
    """The replayed commands, the refs of shipped-never-delivered orders, every order's promise."""
    if olist.missing_files(OLIST_DIR):
        missing(f"Olist data not found in {OLIST_DIR}")
    suppliers = olist.read_suppliers(OLIST_DIR, ZONE)
    orders = olist.read_orders(OLIST_DIR, ZONE, seller_regions={s.ref: s.region for s in suppliers.records})
    window = [o for o in orders.orders if PURCHASED_FROM <= o.order.purchased_at < PURCHASED_UNTIL]
    never_delivered = {
        o.order.ref
        for o in window
        if o.shipment is not None
        and not any(e.status is ShipmentStatus.delivered for e in o.events)
        and OrderMilestone.canceled not in {m for m, _ in o.order.milestones}
    }
    promises = {o.order.ref: o.order.promised_at for o in window if o.order.promised_at is not None}
    timeline = build_timeline(window, [], [], stop_at=STOP)
    return timeline, never_delivered, promises


def test_shipped_but_never_delivered_orders_are_flagged_stalled_and_late(
    app: App, history: tuple[Timeline, set[str], dict[str, datetime]]
) -> None:
    timeline, never_delivered, promises = history
    clock = SimulatedClock(timeline.commands[0].at)
    replayed = build_app(app.settings, clock=clock)

    report, _sink = run_replay(replayed, clock, timeline.commands, quiet=True, label="olist")

    with replayed.session_factory() as session:
        rows = session.execute(
            select(OrderRow.ref, RiskFlagRow.kind, RiskFlagRow.severity, RiskFlagRow.details)
            .join(OrderRow, OrderRow.id == RiskFlagRow.order_id)
            .where(RiskFlagRow.cleared_at.is_(None))
        ).all()
    replayed.engine.dispose()
    stalled = {ref: (severity, details) for ref, kind, severity, details in rows if kind == "stalled"}
    late = {ref for ref, kind, _, _ in rows if kind == "promise_passed"}
    assert len(never_delivered) >= 10  # 16 in the data: guards against an empty window
    assert report.jobs_run["detectors"] > 60  # at most hourly, once per replay window with commands
    assert never_delivered <= set(stalled)
    assert {ref for ref in never_delivered if promises[ref] < clock.now()} <= late
    # Silent for two months and more: past AfterShip's 30-day "expired", learned per lane.
    assert {stalled[ref][0] for ref in never_delivered} == {"critical"}
    assert {stalled[ref][1]["usual_gap_basis"] for ref in never_delivered} <= {"lane", "all_lanes"}
