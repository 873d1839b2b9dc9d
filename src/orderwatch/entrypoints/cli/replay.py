"""``orderwatch replay``: feed a real history through the live system in simulated time (issue 3)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import typer

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.datasets import olist
from orderwatch.adapters.datasets.olist_timeline import build_timeline
from orderwatch.adapters.db.migrate import upgrade
from orderwatch.bootstrap import build_app
from orderwatch.entrypoints.cli.common import console, fail, make_app, print_json
from orderwatch.entrypoints.cli.simulation import (
    build_settings,
    holds_orders,
    kpi_summary,
    replay_json,
    run_replay,
    settle,
)
from orderwatch.services import master_data

app = typer.Typer(
    help="Replay a real order history through the live system in simulated time.", no_args_is_help=True
)


def _day(value: str | None, option: str, zone: ZoneInfo) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=zone).astimezone(UTC)
    except ValueError:
        fail(f"{option}: {value!r} is not a date (YYYY-MM-DD)")


@app.command("olist")
def replay_olist(
    directory: Path = typer.Argument(..., help="Folder with the Olist CSV files (.csv or .csv.gz)"),  # noqa: B008
    since: str | None = typer.Option(None, "--from", help="First purchase day replayed (YYYY-MM-DD)"),
    until: str | None = typer.Option(None, "--to", help="Replay stops at this day (exclusive)"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    database_url: str | None = typer.Option(None, "--database-url", help="Overrides ORDERWATCH_DATABASE_URL"),
) -> None:
    """Import the Olist master data, then replay every milestone in time order."""
    started = time.perf_counter()
    settings = make_app(database_url).settings
    zone = ZoneInfo(settings.shop_timezone)
    purchased_from, stop = _day(since, "--from", zone), _day(until, "--to", zone)
    missing = olist.missing_files(directory)
    if missing:
        fail(f"{directory}: missing {', '.join(missing)} (.csv or .csv.gz)")
    upgrade(settings.resolved_database_url)
    suppliers = olist.read_suppliers(directory, zone)
    products = olist.read_products(directory, zone)
    places = olist.read_zip_locations(directory, zone)
    orders = olist.read_orders(directory, zone, seller_regions={s.ref: s.region for s in suppliers.records})
    timeline = build_timeline(
        orders.orders,
        olist.read_payments(directory, zone).records,
        olist.read_feedback(directory, zone).records,
        purchased_from=purchased_from,
        purchased_until=stop,
        stop_at=stop,
    )
    if not timeline.commands:
        fail("nothing to replay in that window")
    clock = SimulatedClock(timeline.commands[0].at)
    probe = build_app(settings)
    fresh = not holds_orders(probe)
    probe.engine.dispose()
    # A replay into an empty database builds it from scratch, as the demo does (no fsync).
    application = build_app(build_settings(settings) if fresh else settings, clock=clock)
    master_data.import_suppliers(application.uow(), suppliers.records, clock=clock, source=olist.SOURCE)
    master_data.import_products(application.uow(), products.records, clock=clock, source=olist.SOURCE)
    master_data.import_zip_locations(application.uow(), places.records, clock=clock, source=olist.SOURCE)
    report, sink = run_replay(application, clock, timeline.commands, quiet=as_json, label="replaying Olist")
    kpis = kpi_summary(application, purchased_from=purchased_from, purchased_until=stop)
    settle(application)
    result = {
        "replay": replay_json(report, sink),
        "database": ("built from scratch" if fresh else "existing")
        + (" (SQLite without fsync)" if fresh and application.engine.dialect.name == "sqlite" else ""),
        "read_errors": len(orders.errors) + len(suppliers.errors) + len(products.errors),
        "undated_feedback": timeline.undated_feedback,
        "total_seconds": round(time.perf_counter() - started, 2),
        "kpis": kpis,
    }
    if as_json:
        print_json(result)
        return
    overall = kpis["overall"]
    console.print(
        f"replayed {report.commands:,} commands ({report.by_kind['RecordTrackingEvent']:,} tracking events) "
        f"in {report.wall_seconds:.1f} s; delay rate {overall['delay_rate']}, "
        f"satisfaction {overall['satisfaction']}"
    )
