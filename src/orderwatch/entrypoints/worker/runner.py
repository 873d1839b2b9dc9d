"""The worker loop: outbox planning on the main thread, scheduled jobs on one, sending on N threads.

    main thread:   outbox dispatch to the consumers (SKIP LOCKED, a batch per transaction)
    jobs thread:   due scheduled jobs (one worker per period, by the database)
    send threads:  deliver_due (lease a batch, send, mark each) until stopped

SIGTERM / SIGINT set the stop event: every thread finishes its current step (a running job
runs to its end; a sending thread finishes the message in hand and releases the rest of its
batch), then the process exits 0. Several worker processes share one database; nothing but
the database coordinates them.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from datetime import timedelta
from types import FrameType

from orderwatch.adapters.db import worker_jobs
from orderwatch.bootstrap import App
from orderwatch.entrypoints.worker import jobs
from orderwatch.entrypoints.worker.jobs import consumers
from orderwatch.services.deliveries import deliver_due
from orderwatch.services.outbox import dispatch_batch, dispatch_due
from orderwatch.services.ports import ChannelSender

log = logging.getLogger("orderwatch.worker")

SendersFactory = Callable[[], dict[str, ChannelSender]]


class Worker:
    """One worker process's loop; ``stop()`` (or a signal) ends it gracefully."""

    def __init__(
        self,
        app: App,
        *,
        senders: SendersFactory,
        threads: int,
        poll_seconds: float,
        batch: int = 50,
        run_jobs: bool = True,
    ):
        self.app = app
        # Jobs and messages share the GIL: a deployment may run jobs in one worker process and
        # the outbox/sending in others (``orderwatch worker --no-jobs``) so a long detector run
        # never delays a customer message.
        self.run_jobs = run_jobs
        self.senders = senders
        self.threads = max(threads, 1)
        self.poll = poll_seconds
        self.batch = batch
        self.lease = timedelta(seconds=app.settings.worker_lease_seconds)
        self.stopping = threading.Event()
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self.errors: list[str] = []

    def stop(self, *_: object) -> None:
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %s: stopping after the current step", signum)
            self.stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def run(self) -> None:
        jobs.load_all()
        # Scheduled jobs (detectors, SLA timers, scoring) may take seconds: they get their own
        # thread so that the outbox keeps flowing while they run.
        threads = [threading.Thread(target=self._jobs_loop, name="jobs")] if self.run_jobs else []
        threads += [threading.Thread(target=self._send_loop, name=f"send-{i}") for i in range(self.threads)]
        for thread in threads:
            thread.start()
        try:
            while not self.stopping.is_set():
                if not self._plan_step():
                    self.stopping.wait(self.poll)
        finally:
            self.stopping.set()
            for thread in threads:
                thread.join()

    def _jobs_loop(self) -> None:
        while not self.stopping.is_set():
            if not self._run_due_jobs():
                self.stopping.wait(self.poll)

    def _plan_step(self) -> bool:
        """Hand due outbox rows to the consumers: the whole batch at once, or row by row on error."""
        uow = self.app.uow()
        try:
            return dispatch_batch(uow, consumers(self.app, uow), clock=self.app.clock, limit=500) > 0
        except Exception:
            # One bad event must not block the rest: the per-row path retries it with back-off
            # and finally parks it as dead, while the others go through.
            log.exception("outbox batch failed; dispatching row by row")
            row_uow = self.app.uow()
            result = dispatch_due(
                row_uow, jobs.FanOut(consumers(self.app, row_uow)), clock=self.app.clock, limit=500
            )
            return result.sent + result.retried + result.dead > 0

    def _run_due_jobs(self) -> bool:
        ran = False
        for job in list(jobs.JOBS.values()):
            now = self.app.clock.now()
            if not worker_jobs.try_acquire(
                self.app.engine, job.name, every=job.every, now=now, holder=self.holder
            ):
                continue
            error = None
            try:
                job.run(self.app)
            except Exception as failure:  # a failing job must not stop the others or the sending
                error = f"{type(failure).__name__}: {failure}"
                log.exception("job %s failed", job.name)
            worker_jobs.record_finish(self.app.engine, job.name, now=self.app.clock.now(), error=error)
            ran = True
        return ran

    def _send_loop(self) -> None:
        senders = self.senders()
        try:
            while not self.stopping.is_set():
                try:
                    result = deliver_due(
                        self.app.uow,
                        senders,
                        clock=self.app.clock,
                        lease=self.lease,
                        limit=self.batch,
                        should_stop=self.stopping.is_set,
                        mark_every=self.app.settings.worker_mark_batch,
                    )
                except Exception as failure:  # the database went away: wait, then try again
                    log.exception("sending step failed")
                    self.errors.append(f"{type(failure).__name__}: {failure}")
                    self.stopping.wait(self.poll)
                    continue
                if result.claimed == 0:
                    self.stopping.wait(self.poll)
        finally:
            for sender in senders.values():
                close = getattr(sender, "close", None)
                if close is not None:
                    close()
