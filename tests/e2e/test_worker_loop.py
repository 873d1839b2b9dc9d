"""The worker loop in process: outbox event → planned message → e-mail at a real SMTP server; stop().

Also: a scheduled job registered in ``jobs.py`` runs once per period however many workers run,
and a poison outbox event falls back to row-by-row dispatch without blocking the others.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from orderwatch.adapters.db.tables import NotificationMessageRow, OrderRow, OutboxRow
from orderwatch.adapters.mail.local_mailbox import LocalMailbox
from orderwatch.bootstrap import App
from orderwatch.entrypoints.worker import jobs
from orderwatch.entrypoints.worker.channels import senders
from orderwatch.entrypoints.worker.runner import Worker
from orderwatch.services.ingest import ingest_orders
from orderwatch.services.ports import OutboxMessage
from tests.factories import make_order
from tests.notification_support import wait_for


def _approved_event(app: App) -> str:
    order = make_order(purchased_at=app.clock.now() - timedelta(hours=2), language="en")
    ingest_orders(app.uow(), [order], clock=app.clock)
    with app.read_session() as session:
        order_id = session.scalar(select(OrderRow.id).where(OrderRow.ref == order.ref))
    with app.uow() as uow:
        uow.outbox.enqueue(
            [
                OutboxMessage(
                    "order.status_changed",
                    f"order:{order_id}:approved",
                    {"order_id": order_id, "order_ref": order.ref, "status": "approved"},
                ),
                # An event the planner cannot read (a malformed date): it must not block the other.
                OutboxMessage(
                    "risk.flag_raised",
                    "poison",
                    {"order_id": order_id, "kind": "stalled", "expected_at": "soon"},
                ),
            ],
            now=app.clock.now(),
        )
        uow.commit()
    return f"order:{order_id}:approved"


def test_worker_plans_sends_and_stops(app: App) -> None:
    event_key = _approved_event(app)
    runs: list[str] = []
    job = jobs.Job("test.counter", timedelta(hours=1), lambda _app: runs.append("ran"))
    jobs.register(job)
    try:
        with LocalMailbox() as mailbox:
            settings = app.settings.model_copy(update={"smtp_port": mailbox.port})
            workers = [
                Worker(app, senders=lambda: senders(settings), threads=1, poll_seconds=0.05) for _ in range(2)
            ]
            threads = [threading.Thread(target=w.run) for w in workers]
            for thread in threads:
                thread.start()
            wait_for(
                lambda: len(mailbox.handler.snapshot()[1]) == 1, timeout=30, what="the confirmation e-mail"
            )
            for worker in workers:
                worker.stop()
            for thread in threads:
                thread.join(timeout=30)
            assert not any(thread.is_alive() for thread in threads)
            received = next(iter(mailbox.handler.snapshot()[1].values())).parsed()
    finally:
        del jobs.JOBS[job.name]

    assert received["Subject"].startswith("Your order ")
    assert received["Subject"].endswith(" is confirmed")
    assert runs == ["ran"]  # two workers, one period: the database let one of them run it
    with app.read_session() as session:
        outbox = {
            key: (status, error)
            for key, status, error in session.execute(
                select(OutboxRow.idempotency_key, OutboxRow.status, OutboxRow.last_error)
            )
        }
        sent = session.scalars(select(NotificationMessageRow.status)).all()
    assert outbox[event_key] == ("sent", None)
    status, error = outbox["poison"]
    assert status == "pending"  # failed once, retried later with back-off
    assert error is not None
    assert error.startswith("ValueError: Invalid isoformat string: 'soon'")
    assert sent == ["sent"]
