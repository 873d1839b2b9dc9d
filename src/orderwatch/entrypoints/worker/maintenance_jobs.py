"""Registers housekeeping with the worker: stored idempotency answers past their retention (D1)."""

from __future__ import annotations

from datetime import timedelta

from orderwatch.adapters.db.idempotency import SqlIdempotencyStore
from orderwatch.bootstrap import App
from orderwatch.entrypoints.worker.jobs import Job, register


def purge_idempotency_keys(app: App) -> int:
    """Delete the idempotency answers older than the retention setting; how many went."""
    store = SqlIdempotencyStore(app.session_factory, clock=app.clock)
    return store.purge(older_than=timedelta(hours=app.settings.idempotency_retention_hours))


register(Job("idempotency_purge", timedelta(hours=1), purge_idempotency_keys))
