"""Customer-communication benchmark (issue 6): e-mails/s, and the outbox's due-age under load.

    fresh database ─▶ ONE `orderwatch worker` process ─▶ a local SMTP server: aiosmtpd in its own
                      processes, several on one port (``smtp_sink.py``; not this process's GIL)
        ├─ (0) the server's own ceiling: bare smtplib clients in 4 processes, no database
        ├─ (a) throughput: the worker started and idle (its start-up timed apart with one warm-up
        │      e-mail), N e-mails committed at once; seconds until the server has them all
        └─ (b) latency: outbox events (order approved → confirmation e-mail) written at R/s for
               S seconds while the worker runs; per event, its due-age = time from the event being
               written to its e-mail leaving (message ``sent_at``), and the outbox's own due-age
               (event written → planned); max and p99 printed

Run as ``orderwatch bench notifications --database-url URL --json`` or
``python benchmarks/bench_notifications.py URL``. Targets: ≥ 500 e-mails/s with one worker
process; max due-age ≤ 5 s at 200 new messages/s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.bench_ingest import fresh_database
from benchmarks.smtp_sink import SinkProcesses, ceiling
from sqlalchemy import func, select

from orderwatch.adapters.db.tables import Base, NotificationMessageRow, OutboxRow
from orderwatch.bootstrap import App, build_app
from orderwatch.domain.commands import CustomerData, UpsertOrder
from orderwatch.services.ingest import ingest_orders
from orderwatch.services.ports import NewMessage, OutboxMessage
from orderwatch.settings import Settings


def _app(url: str, data_dir: Path) -> App:
    app = build_app(Settings(database_url=url, data_dir=data_dir, environment="test"))
    Base.metadata.create_all(app.engine)
    return app


def _worker(url: str, data_dir: Path, smtp_port: int, threads: int, poll: float) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ORDERWATCH_DATABASE_URL": url,
        "ORDERWATCH_DATA_DIR": str(data_dir),
        "ORDERWATCH_SMTP_PORT": str(smtp_port),
        "ORDERWATCH_WORKER_POLL_SECONDS": str(poll),
        "ORDERWATCH_QUIET_HOURS": "00:00-00:00",
        "ORDERWATCH_NOTIFICATION_RATE_LIMIT_PER_DAY": "1000000",
    }
    with (data_dir / "worker.log").open("ab") as log:
        return subprocess.Popen(
            # --no-jobs: the messaging path alone (detectors and other jobs run in another worker
            # process in such a deployment; in this one they would share the GIL).
            [
                sys.executable,
                "-m",
                "orderwatch",
                "worker",
                "--threads",
                str(threads),
                "--batch",
                "100",
                "--no-jobs",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _stop(worker: subprocess.Popen[bytes]) -> None:
    worker.terminate()
    worker.wait(timeout=60)


def _count(app: App, status: str) -> int:
    with app.read_session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(NotificationMessageRow)
                .where(NotificationMessageRow.status == status)
            )
            or 0
        )


def _emails(count: int, *, prefix: str, now: datetime) -> list[NewMessage]:
    return [
        NewMessage(
            idempotency_key=f"{prefix}:{index}:email",
            event="shipped",
            channel="email",
            recipient=f"customer{index}@example.com",
            language="pt_BR",
            subject=f"Seu pedido {index} está a caminho",
            body_text=f"Seu pedido {index} saiu do nosso depósito.\n\nAcompanhe: https://shop.test/track/x",
            body_html=f"<p>Seu pedido {index} saiu do nosso depósito.</p>",
            context={},
            send_at=now,
        )
        for index in range(count)
    ]


def _store(app: App, messages: list[NewMessage]) -> None:
    with app.uow() as uow:
        uow.notifications.add_messages(messages, now=datetime.now(UTC))
        uow.commit()


def _wait(condition: Any, *, timeout: float, what: str) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{what}: not done in {timeout:.0f} s")
        time.sleep(0.01)


def throughput(
    url: str, *, emails: int, threads: int, sink_processes: int, poll: float = 0.05
) -> dict[str, Any]:
    """N e-mails committed at once to a running, idle worker: seconds until the server has them all.

    The worker is a long-running service: its process start (imports) is measured apart, with
    one warm-up e-mail, and is not part of the sending rate.
    """
    with (
        tempfile.TemporaryDirectory(prefix="ow-bench-mail-") as folder,
        SinkProcesses(sink_processes) as mailbox,
    ):
        app = _app(url, Path(folder))
        messages = _emails(emails, prefix="bench", now=datetime.now(UTC))
        launched = time.perf_counter()
        worker = _worker(url, Path(folder), mailbox.port, threads, poll)
        try:
            _store(app, _emails(1, prefix="warm-up", now=datetime.now(UTC)))
            _wait(lambda: mailbox.received() >= 1, timeout=120, what="the worker's first e-mail")
            start_seconds = time.perf_counter() - launched
            _wait(lambda: _count(app, "sent") >= 1, timeout=60, what="the warm-up e-mail's mark")
            _store(app, messages)
            committed = time.perf_counter()  # due from here on
            _wait(lambda: mailbox.received() >= emails + 1, timeout=600, what="the throughput run")
            elapsed = time.perf_counter() - committed
            _wait(lambda: _count(app, "sent") >= emails + 1, timeout=60, what="the last marks")
            marked = time.perf_counter() - committed
        finally:
            _stop(worker)
        app.engine.dispose()
    return {
        "emails": emails,
        "sending_threads": threads,
        "seconds": round(elapsed, 3),
        "emails_per_second": round(emails / elapsed, 1),
        "seconds_until_all_marked_sent": round(marked, 3),
        "measured_from": "the commit of all messages, worker running and idle",
        "worker_start_seconds": round(start_seconds, 3),
        "duplicates": mailbox.duplicates(),
        "received": len(mailbox.message_ids),
    }


def _orders(app: App, count: int) -> dict[str, int]:
    purchased = datetime.now(UTC) - timedelta(days=1)
    orders = [
        UpsertOrder(
            ref=f"bench-order-{index}",
            purchased_at=purchased,
            customer=CustomerData(
                ref=f"bench-customer-{index}", email=f"c{index}@example.com", language="pt_BR"
            ),
        )
        for index in range(count)
    ]
    ingest_orders(app.uow(), orders, clock=app.clock)
    with app.read_session() as session:
        from orderwatch.adapters.db.tables import OrderRow

        return {ref: order_id for ref, order_id in session.execute(select(OrderRow.ref, OrderRow.id))}


def _wait_until_planning(app: App, order: tuple[str, int]) -> None:
    """Send one event through the worker before measuring; its row is left out of the figures.

    The worker's start-up (imports: seconds on a busy machine) is not the outbox's due-age.
    """
    ref, order_id = order
    payload = {"order_id": order_id, "order_ref": ref, "previous": "placed", "status": "approved"}
    with app.uow() as uow:
        uow.outbox.enqueue(
            [OutboxMessage("order.status_changed", f"warm-up:{order_id}", payload)], now=datetime.now(UTC)
        )
        uow.commit()
    _wait(lambda: _count(app, "sent") >= 1, timeout=120, what="the worker's first e-mail")


def latency(
    url: str, *, rate: int, seconds: int, threads: int, sink_processes: int, poll: float = 0.05
) -> dict[str, Any]:
    total = rate * seconds
    with (
        tempfile.TemporaryDirectory(prefix="ow-bench-lat-") as folder,
        SinkProcesses(sink_processes) as mailbox,
    ):
        app = _app(url, Path(folder))
        order_ids = _orders(app, total + 1)
        warm_up = order_ids.popitem()
        worker = _worker(url, Path(folder), mailbox.port, threads, poll)
        try:
            _wait_until_planning(app, warm_up)  # the clock starts once the worker plans
            tick, per_tick = 0.1, max(rate // 10, 1)
            start = time.perf_counter()
            refs = iter(order_ids.items())
            for step in range(total // per_tick):
                now = datetime.now(UTC)
                events = [
                    OutboxMessage(
                        topic="order.status_changed",
                        idempotency_key=f"order:{order_id}:approved",
                        payload={
                            "order_id": order_id,
                            "order_ref": ref,
                            "previous": "placed",
                            "status": "approved",
                        },
                    )
                    for ref, order_id in (next(refs) for _ in range(per_tick))
                ]
                with app.uow() as uow:
                    uow.outbox.enqueue(events, now=now)
                    uow.commit()
                time.sleep(max(0.0, start + (step + 1) * tick - time.perf_counter()))
            produced_seconds = time.perf_counter() - start
            deadline = time.perf_counter() + 120
            while _count(app, "sent") < total + 1 and time.perf_counter() < deadline:
                time.sleep(0.05)
        finally:
            _stop(worker)
        with app.read_session() as session:
            outbox_ages = [
                (sent - created).total_seconds()
                for created, sent in session.execute(
                    select(OutboxRow.created_at, OutboxRow.sent_at).where(
                        OutboxRow.idempotency_key.not_like("warm-up:%")
                    )
                ).all()
                if sent is not None
            ]
            pairs = session.execute(
                select(NotificationMessageRow.created_at, NotificationMessageRow.sent_at).where(
                    NotificationMessageRow.order_id != warm_up[1]
                )
            ).all()
        app.engine.dispose()
    # A message is due when planned (created_at; no quiet hours in this run): its age is planned → sent.
    ages = sorted((sent - due).total_seconds() for due, sent in pairs if sent is not None)
    outbox_ages.sort()
    return {
        "rate_per_second": rate,
        "seconds": seconds,
        "produced_in_seconds": round(produced_seconds, 2),
        "events": total,
        "emails_sent": len(ages),
        "outbox_due_age_max_s": round(outbox_ages[-1], 3) if outbox_ages else None,
        "outbox_due_age_p99_s": round(outbox_ages[int(len(outbox_ages) * 0.99) - 1], 3)
        if outbox_ages
        else None,
        "message_due_age_max_s": round(ages[-1], 3) if ages else None,
        "message_due_age_p99_s": round(ages[int(len(ages) * 0.99) - 1], 3) if ages else None,
        "event_to_email_max_s": round((outbox_ages[-1] if outbox_ages else 0) + (ages[-1] if ages else 0), 3),
    }


def run(
    url: str,
    *,
    emails: int = 5_000,
    rate: int = 200,
    seconds: int = 20,
    threads: int = 8,
    sink_processes: int = 2,
    poll_seconds: float = 0.05,
) -> dict[str, Any]:
    server_ceiling = ceiling(server_processes=sink_processes)
    with fresh_database(url, "mail") as database:
        sending = throughput(
            database, emails=emails, threads=threads, sink_processes=sink_processes, poll=poll_seconds
        )
    with fresh_database(url, "lat") as database:
        load = latency(
            database,
            rate=rate,
            seconds=seconds,
            threads=threads,
            sink_processes=sink_processes,
            poll=poll_seconds,
        )
    return {
        "benchmark": "notifications",
        "backend": url.split(":", 1)[0],
        "cpu_count": os.cpu_count(),
        "smtp_server_ceiling": server_ceiling,
        "throughput": sending,
        "due_age_under_load": load,
        "worker_poll_seconds": poll_seconds,  # the idle pause (ORDERWATCH_WORKER_POLL_SECONDS)
        "targets": {"emails_per_second": 500, "max_due_age_s": 5},
    }


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "sqlite:///unused.sqlite3"
    print(json.dumps(run(target), indent=2))
