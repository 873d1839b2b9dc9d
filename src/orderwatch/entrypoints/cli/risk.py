"""``orderwatch risk``: run the rule detectors once and look at the risk queue (D2).

orderwatch risk scan [--json]     raise / update / clear flags now; counts by kind and severity
orderwatch risk list [--kind K]   the open flags, highest severity × order value first
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.risk_queries import FlagFilter, count_open_by, list_risk_queue
from orderwatch.bootstrap import App
from orderwatch.domain.errors import ValidationFailed
from orderwatch.entrypoints.cli.common import console, fail, make_app, print_json
from orderwatch.entrypoints.detector_wiring import detector_job
from orderwatch.services.detectors import DetectorRun

app = typer.Typer(
    help="Rule detectors and the risk queue (late, stalled, exception, dispatch).", no_args_is_help=True
)

DatabaseUrl = Annotated[str | None, typer.Option("--database-url", help="Overrides ORDERWATCH_DATABASE_URL")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object")]


def scan_json(run: DetectorRun, open_counts: dict[str, dict[str, int]], seconds: float) -> dict[str, Any]:
    """What ``risk scan --json`` prints (also used by ``orderwatch bench detectors``)."""
    return {
        "at": run.at.isoformat(),
        "orders_scanned": run.orders_scanned,
        "seconds": round(seconds, 3),
        "lanes_learned": run.lanes_learned,
        "raised": dict(run.raised),
        "updated": dict(run.updated),
        "cleared": dict(run.cleared),
        "open": open_counts,
        "open_total": sum(sum(by.values()) for by in open_counts.values()),
    }


@contextmanager
def _application(database_url: str | None) -> Iterator[App]:
    application = make_app(database_url)
    try:
        yield application
    finally:
        application.engine.dispose()


def _moment(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--at: {text!r} is not a date or time (YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC unless given)")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command("scan")
def scan(
    at: Annotated[
        str | None,
        typer.Option("--at", help="Judge as of this moment (a replayed history's end); default now"),
    ] = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Run the detectors over all open orders now (one transaction)."""
    moment = _moment(at)
    with _application(database_url) as application:
        clock = SimulatedClock(moment) if moment else application.clock
        started = time.perf_counter()
        run = detector_job(application)(clock)
        seconds = time.perf_counter() - started
        with application.read_session() as session:
            result = scan_json(run, count_open_by(session), seconds)
    if as_json:
        print_json(result)
        return
    raised, updated, cleared = (sum(counts.values()) for counts in (run.raised, run.updated, run.cleared))
    console.print(
        f"scanned {run.orders_scanned:,} open orders in {seconds:.2f} s: "
        f"raised {raised:,}, updated {updated:,}, cleared {cleared:,}"
    )
    table = Table("kind", "low", "medium", "high", "critical", title="open flags")
    for kind, by in sorted(result["open"].items()):
        table.add_row(kind, *(f"{by.get(s, 0):,}" for s in ("low", "medium", "high", "critical")))
    console.print(table)


@app.command("list")
def list_flags(
    kind: Annotated[
        str | None, typer.Option("--kind", help="promise_passed, stalled, carrier_exception, ...")
    ] = None,
    severity: Annotated[str | None, typer.Option("--severity", help="low, medium, high or critical")] = None,
    carrier: Annotated[str | None, typer.Option("--carrier", help="Carrier code")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Rows shown")] = 30,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """The open flags, highest severity × order value first."""
    flt = FlagFilter(kind=kind, severity=severity, carrier=carrier)
    try:
        with _application(database_url) as application, application.read_session() as session:
            page = list_risk_queue(session, flt, limit=limit)
    except ValidationFailed as error:
        fail(str(error))
    if as_json:
        print_json([{"order_ref": f.order_ref, "kind": f.kind, "severity": f.severity, "cause": f.cause,
                     "reason": f.reason, "raised_at": f.raised_at, "value_cents": f.value_cents}
                    for f in page.items])  # fmt: skip
        return
    table = Table("order", "kind", "severity", "value", "lane", "raised", "reason", title="risk queue")
    for f in page.items:
        table.add_row(f.order_ref, f.kind, f.severity, f"{f.value_cents / 100:,.2f} {f.currency}", f.lane,
                      f.raised_at.strftime("%Y-%m-%d %H:%M"), f.reason)  # fmt: skip
    console.print(table)
