"""Benchmark: the rule detectors over a 100k-order database, printing one JSON object (D2).

The whole Olist history (99,441 orders) is imported into a fresh database (SQLite in a temporary
folder, or a throw-away database on the PostgreSQL server given with ``--database-url``); then
the detectors run as of the end of the history, three times:

* ``first``:  learn the lanes' usual gaps, raise every flag (one outbox row each);
* ``rerun``:  the same moment again: nothing may change (no churn: 0 raised, 0 updated);
* ``next_day``: a day later: severities move up, some flags are updated in place.

Run: ``python benchmarks/bench_detectors.py [--olist DIR] [--database-url URL]`` or
``orderwatch bench detectors --json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.engine import normalize_url
from orderwatch.adapters.db.risk_queries import count_open_by
from orderwatch.adapters.db.tables import Base, OrderRow, OutboxRow, TrackingEventRow
from orderwatch.bootstrap import App, build_app
from orderwatch.entrypoints.cli.olist_pipeline import import_olist
from orderwatch.entrypoints.detector_wiring import detector_thresholds
from orderwatch.services.detectors import RAISED_TOPIC, DetectorRun, learn_gaps, run_detectors
from orderwatch.settings import Settings

DEFAULT_OLIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "olist"


@contextmanager
def _database(server_url: str | None, folder: Path) -> Iterator[str | None]:
    """``None`` (SQLite file in ``folder``) or the URL of a fresh database on ``server_url``."""
    if server_url is None:
        yield None
        return
    admin = create_engine(normalize_url(server_url), isolation_level="AUTOCOMMIT")
    name = f"orderwatch_bench_detectors_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'create database "{name}"'))
    try:
        yield make_url(normalize_url(server_url)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


def _timed_run(app: App, clock: SimulatedClock, gaps: Any) -> tuple[DetectorRun, float]:
    started = time.perf_counter()
    run = run_detectors(app.uow(), clock, thresholds=detector_thresholds(app.settings), gaps=gaps)
    return run, time.perf_counter() - started


def _run_json(run: DetectorRun, seconds: float) -> dict[str, Any]:
    return {
        "at": run.at.isoformat(),
        "orders_scanned": run.orders_scanned,
        "seconds": round(seconds, 3),
        "raised": sum(run.raised.values()),
        "updated": sum(run.updated.values()),
        "cleared": sum(run.cleared.values()),
    }


@dataclass
class ImportedOlist:
    """A fresh database holding the whole Olist history, and the moment that history ends."""

    app: App
    orders: int
    import_seconds: float
    end: datetime
    is_postgresql: bool


@contextmanager
def imported_olist(olist_dir: Path, database_url: str | None) -> Iterator[ImportedOlist]:
    """Import Olist into a throw-away database (SQLite file, or one on ``database_url``'s server)."""
    with tempfile.TemporaryDirectory() as folder, _database(database_url, Path(folder)) as url:
        settings = Settings(data_dir=Path(folder), database_url=url, environment="test")
        app = build_app(settings)
        Base.metadata.create_all(app.engine)
        started = time.perf_counter()
        import_olist(app, olist_dir)
        import_seconds = time.perf_counter() - started
        with app.read_session() as session:
            orders = int(session.scalar(select(func.count()).select_from(OrderRow)) or 0)
            end = max(
                session.scalar(select(func.max(TrackingEventRow.occurred_at))) or datetime.now(UTC),
                session.scalar(select(func.max(OrderRow.purchased_at))) or datetime.now(UTC),
            )
        try:
            yield ImportedOlist(app, orders, import_seconds, end, is_postgresql=url is not None)
        finally:
            app.engine.dispose()


def run(olist_dir: Path = DEFAULT_OLIST, database_url: str | None = None) -> dict[str, Any]:
    """Import Olist into a fresh database, run the detectors three times, return the figures."""
    with imported_olist(olist_dir, database_url) as olist:
        app, settings = olist.app, olist.app.settings
        clock = SimulatedClock(olist.end + timedelta(hours=1))
        thresholds = detector_thresholds(settings)
        started = time.perf_counter()
        with app.uow() as uow:
            gaps = learn_gaps(uow.risk_flags, now=clock.now(), thresholds=thresholds)
        learn_seconds = time.perf_counter() - started
        first, first_seconds = _timed_run(app, clock, gaps)
        rerun, rerun_seconds = _timed_run(app, clock, gaps)
        clock.advance(timedelta(days=1))
        next_day, next_seconds = _timed_run(app, clock, gaps)
        with app.read_session() as session:
            open_flags = count_open_by(session)
            messages = session.scalar(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.topic == RAISED_TOPIC)
            )
        return {
            "backend": "postgresql" if olist.is_postgresql else "sqlite",
            "orders_in_database": olist.orders,
            "import_seconds": round(olist.import_seconds, 1),
            "lane_learning": {
                "seconds": round(learn_seconds, 3),
                "lanes": len(gaps.lanes),
                "overall_gap_hours": round(gaps.overall.threshold / timedelta(hours=1), 1),
                "samples": gaps.overall.samples,
            },
            "first": _run_json(first, first_seconds),
            "rerun": _run_json(rerun, rerun_seconds),
            "next_day": _run_json(next_day, next_seconds),
            "orders_scanned": first.orders_scanned,
            "seconds": round(first_seconds, 3),
            "flags_by_kind": {kind: sum(by.values()) for kind, by in sorted(open_flags.items())},
            "flags_by_kind_and_severity": open_flags,
            "raised_outbox_messages": int(messages or 0),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--olist", type=Path, default=DEFAULT_OLIST)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server (a fresh DB is made)")
    options = parser.parse_args()
    print(json.dumps(run(options.olist, options.database_url), ensure_ascii=False))


if __name__ == "__main__":
    main()
