"""The rule detectors on crafted timelines, on SQLite and PostgreSQL (D2, D10 in part).

Each test builds a history through the real ingestion service, moves the simulated clock and
runs the detectors: raise once, no churn on a re-run, update in place when the severity
changes, clear when the condition ends, raise again on the same row, one outbox message per
raise, and concurrent runs that cannot duplicate anything.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.tables import OrderRow, OutboxRow, RiskFlagRow
from orderwatch.bootstrap import App
from orderwatch.domain.commands import RecordMilestone, UpsertOrder
from orderwatch.domain.detectors import DetectorThresholds
from orderwatch.domain.orders import OrderMilestone
from orderwatch.domain.shipments import ShipmentStatus
from orderwatch.services.detectors import RAISED_TOPIC, DetectorJob, learn_gaps, run_detectors
from orderwatch.services.ingest import ingest_events, ingest_milestones, ingest_orders, ingest_shipments
from tests.conftest import START
from tests.factories import make_event, make_order, make_shipment

DAY = timedelta(days=1)


def _clock(app: App) -> SimulatedClock:
    assert isinstance(app.clock, SimulatedClock)
    return app.clock


def _order(app: App, *, purchased_at: datetime, promised_days: int | None = 10, **kwargs: Any) -> UpsertOrder:
    order = make_order(purchased_at=purchased_at, promised_days=promised_days, **kwargs)
    assert [o.result for o in ingest_orders(app.uow(), [order], clock=app.clock)] == ["accepted"]
    return order


def _ship(
    app: App,
    order_ref: str,
    *,
    at: datetime,
    origin: str = "SP",
    destination: str = "RJ",
    tracking: str | None = None,
) -> str:
    shipment = replace(
        make_shipment(order_ref=order_ref), origin_region=origin, destination_region=destination
    )
    if tracking:
        shipment = replace(shipment, tracking_number=tracking)
    assert [o.result for o in ingest_shipments(app.uow(), [shipment], clock=app.clock)] == ["accepted"]
    _scan(app, shipment.tracking_number, ShipmentStatus.picked_up, at)
    return shipment.tracking_number


def _scan(app: App, tracking: str, status: ShipmentStatus, at: datetime, **kwargs: Any) -> None:
    event = make_event(tracking=tracking, status=status, at=at, **kwargs)
    assert [o.result for o in ingest_events(app.uow(), [event], clock=app.clock)] == ["accepted"]


def _flags(app: App, kind: str | None = None) -> dict[tuple[str, str], RiskFlagRow]:
    with app.session_factory() as session:
        query = select(OrderRow.ref, RiskFlagRow).join(OrderRow, OrderRow.id == RiskFlagRow.order_id)
        if kind:
            query = query.where(RiskFlagRow.kind == kind)
        return {(ref, flag.kind): flag for ref, flag in session.execute(query)}


def _raised_messages(app: App) -> list[OutboxRow]:
    with app.session_factory() as session:
        return list(
            session.scalars(select(OutboxRow).where(OutboxRow.topic == RAISED_TOPIC).order_by(OutboxRow.id))
        )


def test_promise_passed_is_raised_once_then_escalated_in_place_then_cleared_on_delivery(app: App) -> None:
    clock = _clock(app)
    order = _order(app, purchased_at=START - 10 * DAY, promised_days=9)  # promised START - 1 day
    tracking = _ship(app, order.ref, at=START - 9 * DAY)

    first = run_detectors(app.uow(), clock)
    flag = _flags(app, "promise_passed")[(order.ref, "promise_passed")]
    again = run_detectors(app.uow(), clock)
    unchanged = _flags(app, "promise_passed")[(order.ref, "promise_passed")]

    assert first.raised["promise_passed"] == 1
    assert (flag.severity, flag.cleared_at, flag.raised_at) == ("medium", None, START)
    assert flag.reason == "Promised for 28 Feb 2018, not delivered yet (over 1 day late)"
    assert flag.details["reason_code"] == "promise_passed"
    assert (again.raised["promise_passed"], again.updated["promise_passed"]) == (0, 0)
    assert unchanged.updated_at == flag.updated_at
    assert len(_raised_messages(app)) == 2  # this order's promise_passed and stalled, nothing more

    clock.advance(3 * DAY)
    escalated = run_detectors(app.uow(), clock)
    flag_later = _flags(app, "promise_passed")[(order.ref, "promise_passed")]
    assert escalated.updated["promise_passed"] == 1
    assert (flag_later.id, flag_later.severity, flag_later.raised_at) == (flag.id, "high", START)
    assert flag_later.reason == "Promised for 28 Feb 2018, not delivered yet (over 3 days late)"

    _scan(app, tracking, ShipmentStatus.delivered, clock.now() - DAY)
    cleared = run_detectors(app.uow(), clock)
    assert cleared.cleared["promise_passed"] == 1
    assert _flags(app, "promise_passed")[(order.ref, "promise_passed")].cleared_at == clock.now()
    assert len(_raised_messages(app)) == 2


def test_stalled_parcel_is_cleared_by_a_scan_and_raised_again_on_the_same_row(app: App) -> None:
    clock = _clock(app)
    order = _order(app, purchased_at=START - 8 * DAY, promised_days=30)
    tracking = _ship(app, order.ref, at=START - 6 * DAY)  # silent 6 days > default 5 days

    run_detectors(app.uow(), clock)
    raised = _flags(app, "stalled")[(order.ref, "stalled")]
    assert (raised.severity, raised.cause, raised.details["usual_gap_basis"]) == (
        "medium",
        "logistics_delay",
        "default",
    )
    assert (
        raised.reason
        == "Handed to the carrier on 23 Feb 2018, no scan since: longer than usual on lane SP → RJ"
    )

    _scan(app, tracking, ShipmentStatus.in_transit, START - DAY)
    run_detectors(app.uow(), clock)
    assert _flags(app, "stalled")[(order.ref, "stalled")].cleared_at == START

    clock.advance(5 * DAY)
    run_detectors(app.uow(), clock)
    again = _flags(app, "stalled")[(order.ref, "stalled")]
    assert (again.id, again.cleared_at, again.raised_at) == (raised.id, None, clock.now())
    assert again.reason.startswith("Last carrier scan on 28 Feb 2018, none since")
    messages = [m for m in _raised_messages(app) if m.payload["kind"] == "stalled"]
    assert [m.payload["raised_at"] for m in messages] == [START.isoformat(), clock.now().isoformat()]
    assert messages[0].payload["order_ref"] == order.ref


@pytest.mark.parametrize(
    ("status", "raw_code", "severity", "cause"),
    [
        (ShipmentStatus.lost, "carrier_parcel_lost", "critical", "lost_parcel"),
        (ShipmentStatus.damaged, None, "high", "damaged_parcel"),
        (ShipmentStatus.refused, None, "high", "refused"),
        (ShipmentStatus.customs_hold, None, "medium", "customs"),
        (ShipmentStatus.delivery_failed, "DeliveryFailure_InvalidAddress", "medium", "wrong_address"),
        (ShipmentStatus.delivery_failed, "DeliveryFailure_NoBody", "medium", "recipient_unreachable"),
        (ShipmentStatus.exception, "Exception_005", "medium", "logistics_delay"),
    ],
    ids=lambda value: str(value),
)
def test_carrier_exception_maps_status_and_raw_code_to_cause(
    app: App, status: ShipmentStatus, raw_code: str | None, severity: str, cause: str
) -> None:
    order = _order(app, purchased_at=START - 3 * DAY)
    tracking = _ship(app, order.ref, at=START - 2 * DAY)
    _scan(app, tracking, status, START - DAY, raw_code=raw_code)

    run_detectors(app.uow(), _clock(app))

    flag = _flags(app, "carrier_exception")[(order.ref, "carrier_exception")]
    assert (flag.severity, flag.cause, flag.details["status"]) == (severity, cause, status.value)
    assert flag.details["raw_code"] == (raw_code or status.value)
    assert "28 Feb 2018" in flag.reason


def test_dispatch_missed_until_the_carrier_has_the_parcel(app: App) -> None:
    clock = _clock(app)
    order = _order(app, purchased_at=START - 4 * DAY, supplier_ref="seller-9")  # deadline START - 2 days

    run_detectors(app.uow(), clock)
    flag = _flags(app, "dispatch_missed")[(order.ref, "dispatch_missed")]
    assert (flag.severity, flag.cause, flag.details["supplier_ref"]) == (
        "medium",
        "supplier_delay",
        "seller-9",
    )
    assert flag.reason == (
        "Supplier seller-9 had to hand the order to the carrier by 27 Feb 2018, "
        "not handed over yet (over 1 day late)"
    )

    _ship(app, order.ref, at=START - DAY)
    run_detectors(app.uow(), clock)
    assert _flags(app, "dispatch_missed")[(order.ref, "dispatch_missed")].cleared_at == START


def test_cancellation_clears_every_flag_and_predicted_late_is_left_alone(app: App) -> None:
    clock = _clock(app)
    order = _order(app, purchased_at=START - 20 * DAY, promised_days=5)
    with app.session_factory() as session:
        order_id = session.scalars(select(OrderRow.id).where(OrderRow.ref == order.ref)).one()
        session.add(
            RiskFlagRow(
                order_id=order_id,
                kind="predicted_late",
                severity="high",
                reason="model",
                details={},
                raised_at=START,
                updated_at=START,
            )
        )
        session.commit()
    run_detectors(app.uow(), clock)
    assert {kind for _, kind in _flags(app)} == {"promise_passed", "dispatch_missed", "predicted_late"}

    cancel = RecordMilestone(order.ref, OrderMilestone.canceled, START)
    ingest_milestones(app.uow(), [cancel], clock=clock)
    run = run_detectors(app.uow(), clock)

    flags = _flags(app)
    assert run.orders_scanned == 0
    assert flags[(order.ref, "promise_passed")].cleared_at == START
    assert flags[(order.ref, "dispatch_missed")].cleared_at == START
    assert flags[(order.ref, "predicted_late")].cleared_at is None


def _delivered_history(app: App, *, lane: tuple[str, str], transit: timedelta, count: int) -> None:
    """``count`` parcels on ``lane`` handed over and delivered ``transit`` later, before START."""
    for n in range(count):
        handed = START - 30 * DAY + n * timedelta(hours=6)
        order = _order(app, purchased_at=handed - DAY)
        tracking = _ship(app, order.ref, at=handed, origin=lane[0], destination=lane[1])
        _scan(app, tracking, ShipmentStatus.delivered, handed + transit)


def test_stalled_learns_the_lanes_usual_gap_from_history(app: App) -> None:
    clock = _clock(app)
    _delivered_history(app, lane=("SP", "RJ"), transit=2 * DAY, count=30)
    _delivered_history(app, lane=("SP", "AM"), transit=12 * DAY, count=30)
    fast = _order(app, purchased_at=START - 4 * DAY, promised_days=30)
    slow = _order(app, purchased_at=START - 4 * DAY, promised_days=30)
    _ship(app, fast.ref, at=START - 3 * DAY, origin="SP", destination="RJ")
    _ship(app, slow.ref, at=START - 3 * DAY, origin="SP", destination="AM")

    run = run_detectors(app.uow(), clock)

    stalled = _flags(app, "stalled")
    assert run.lanes_learned == 2
    assert set(stalled) == {(fast.ref, "stalled")}
    details = stalled[(fast.ref, "stalled")].details
    assert (details["usual_gap_hours"], details["usual_gap_basis"], details["usual_gap_samples"]) == (
        48.0,
        "lane",
        30,
    )


def test_running_twice_at_once_raises_each_flag_once(app: App) -> None:
    clock = _clock(app)
    orders = [_order(app, purchased_at=START - 12 * DAY, promised_days=5) for _ in range(20)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            run_detectors(app.uow(), clock)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(_flags(app)) == 40  # promise_passed + dispatch_missed for each order
    assert len(_raised_messages(app)) == 40
    assert {m.payload["order_ref"] for m in _raised_messages(app)} == {o.ref for o in orders}
    with app.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(RiskFlagRow)) == 40


def test_detector_job_keeps_lane_gaps_for_a_day(app: App) -> None:
    clock = _clock(app)
    job = DetectorJob(app.uow, thresholds=DetectorThresholds())
    job(clock)
    learned = job.gaps
    clock.advance(timedelta(hours=23))
    job(clock)
    assert job.gaps is learned
    clock.advance(timedelta(hours=1))
    job(clock)
    assert job.gaps is not learned
    assert job.gaps is not None
    assert job.gaps.learned_at == clock.now()


def test_detector_job_learns_incrementally_what_a_full_relearn_learns(app: App) -> None:
    clock = _clock(app)
    _delivered_history(app, lane=("SP", "RJ"), transit=2 * DAY, count=20)
    job = DetectorJob(app.uow, thresholds=DetectorThresholds(stall_min_samples=25))
    job(clock)
    assert job.gaps is not None
    assert job.gaps.lanes == {}  # 20 gaps: below the minimum
    clock.advance(DAY)
    for n in range(10):  # ten more parcels delivered since, slower
        order = _order(app, purchased_at=clock.now() - 5 * DAY)
        tracking = _ship(app, order.ref, at=clock.now() - 4 * DAY + n * timedelta(minutes=5))
        _scan(app, tracking, ShipmentStatus.delivered, clock.now() - timedelta(hours=1))

    job(clock)

    with app.uow() as uow:
        full = learn_gaps(uow.risk_flags, now=clock.now(), thresholds=job.thresholds)
    assert job.gaps.lanes == full.lanes
    assert job.gaps.for_lane(("SP", "RJ")).samples == 30


def test_the_worker_runs_the_detectors_as_a_registered_job(app: App) -> None:
    from orderwatch.entrypoints.worker import jobs

    jobs.load_all()
    order = _order(app, purchased_at=START - 20 * DAY, promised_days=10)

    jobs.JOBS["detectors"].run(app)

    assert jobs.JOBS["detectors"].every == timedelta(hours=1)
    assert set(_flags(app)) == {(order.ref, "promise_passed"), (order.ref, "dispatch_missed")}
