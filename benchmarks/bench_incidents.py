"""Benchmark: automatic incident opening and the SLA timer job on a 100k-order database (U3, U4, U14).

The whole Olist history (99,441 orders) is imported into a fresh database (SQLite in a temporary
folder, or a throw-away database on the PostgreSQL server given with ``--database-url``); the
rule detectors raise their flags as of the end of the history; then, timed:

* ``auto_open``:   open incidents from the open flags (one transaction), then the same run again
                   (idempotent: nothing opens twice);
* ``sla_timers``:  at report time (nothing due), then two days later with nobody writing: every
                   warning and breach is found, ledgered and escalated; then again (nothing left);
* ``volume``:      the volume trigger over the cases of the last hour.

Run: ``python benchmarks/bench_incidents.py [--olist DIR] [--database-url URL]`` or
``orderwatch bench incidents --json``. To time the jobs again and again without importing each
time, import once (``ORDERWATCH_DATA_DIR=DIR orderwatch import olist <olist>``) and pass
``--imported DIR/orderwatch.sqlite3``: a copy of that SQLite file is used (the file is untouched).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_detectors import DEFAULT_OLIST, _database

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.incident_queries import incident_stats
from orderwatch.adapters.db.tables import (
    Base,
    IncidentRow,
    OrderRow,
    OutboxRow,
    RiskFlagRow,
    SlaLedgerRow,
    TrackingEventRow,
)
from orderwatch.bootstrap import App, build_app
from orderwatch.entrypoints.cli.olist_pipeline import import_olist
from orderwatch.entrypoints.detector_wiring import detector_thresholds
from orderwatch.entrypoints.incident_wiring import incident_config
from orderwatch.services.detectors import learn_gaps, run_detectors
from orderwatch.services.incident_jobs import detect_volume, open_from_flags, run_sla_timers
from orderwatch.settings import Settings


def _timed(work: Callable[[], Any]) -> tuple[dict[str, int], float]:
    started = time.perf_counter()
    outcome = work()
    return dict(outcome), round(time.perf_counter() - started, 3)


def _count(app: App, row: Any, *where: Any) -> int:
    with app.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(row).where(*where)) or 0)


def run(
    olist_dir: Path = DEFAULT_OLIST, database_url: str | None = None, imported: Path | None = None
) -> dict[str, Any]:
    """Import Olist (or copy ``imported``), raise flags, then time auto-open and the SLA job."""
    if imported is not None and database_url is not None:
        raise SystemExit("--imported is an SQLite file: give it without --database-url")
    with tempfile.TemporaryDirectory() as folder, _database(database_url, Path(folder)) as url:
        settings = Settings(data_dir=Path(folder), database_url=url, environment="test")
        if imported is not None:
            shutil.copyfile(imported, Path(folder) / "orderwatch.sqlite3")
        app = build_app(settings)
        Base.metadata.create_all(app.engine)
        started = time.perf_counter()
        if imported is None:
            import_olist(app, olist_dir)
        import_seconds = time.perf_counter() - started
        with app.read_session() as session:
            end = max(
                session.scalar(select(func.max(TrackingEventRow.occurred_at))) or datetime.now(UTC),
                session.scalar(select(func.max(OrderRow.purchased_at))) or datetime.now(UTC),
            )
        clock = SimulatedClock(end + timedelta(hours=1))
        thresholds = detector_thresholds(settings)
        with app.uow() as uow:
            gaps = learn_gaps(uow.risk_flags, now=clock.now(), thresholds=thresholds)
        run_detectors(app.uow(), clock, thresholds=thresholds, gaps=gaps)
        config = incident_config(settings)

        opened, open_seconds = _timed(lambda: open_from_flags(app.uow, clock, config=config))
        reopened, reopen_seconds = _timed(lambda: open_from_flags(app.uow, clock, config=config))
        volume, volume_seconds = _timed(lambda: detect_volume(app.uow, clock, config=config))
        at_report, report_seconds = _timed(lambda: run_sla_timers(app.uow, clock, config=config))
        clock.advance(timedelta(days=2))
        later, later_seconds = _timed(lambda: run_sla_timers(app.uow, clock, config=config))
        again, again_seconds = _timed(lambda: run_sla_timers(app.uow, clock, config=config))
        with app.read_session() as session:
            stats = incident_stats(session)
        result = {
            "backend": "postgresql" if url else "sqlite",
            "orders_in_database": _count(app, OrderRow),
            "import_seconds": round(import_seconds, 1),
            "open_flags": _count(app, RiskFlagRow, RiskFlagRow.cleared_at.is_(None)),
            "auto_open": {"first": opened, "seconds": open_seconds, "rerun": reopened,
                          "rerun_seconds": reopen_seconds},
            "incidents": _count(app, IncidentRow),
            "volume": {"outcome": volume, "seconds": volume_seconds},
            "sla_timers": {
                "at_report": at_report, "at_report_seconds": report_seconds,
                "two_days_later": later, "two_days_later_seconds": later_seconds,
                "rerun": again, "rerun_seconds": again_seconds,
            },
            "sla_ledger_rows": _count(app, SlaLedgerRow),
            "escalation_messages": _count(app, OutboxRow, OutboxRow.topic == "incident.escalated"),
            "stats": {k: stats[k] for k in ("by_cause", "by_severity", "sla")},
        }
        app.engine.dispose()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--olist", type=Path, default=DEFAULT_OLIST)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server (a fresh DB is made)")
    parser.add_argument("--imported", type=Path, default=None, help="SQLite file of an Olist import (copied)")
    options = parser.parse_args()
    figures = run(options.olist, options.database_url, options.imported)
    print(json.dumps(figures, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
