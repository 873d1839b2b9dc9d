"""The Olist import run (mission D1): reader → services, in chunks, with counts and rejects.

Shared by ``orderwatch import olist`` and ``benchmarks/bench_ingest.py``. Orders, shipments and
tracking events go through ``services.ingest`` with the validation, deduplication and folding of
live traffic, a chunk of orders per transaction (``ingest_history``: orders → shipments → events,
each order's status derived once per chunk); the records around them go through
``services.master_data``::

    sellers ──▶ import_suppliers        products ──▶ import_products
    customers + items + orders ──▶ per chunk: ingest_history
    payments ──▶ import_payments        reviews ──▶ import_feedback     geolocation ──▶ import_zip_locations

Re-running it is harmless: every step is an idempotent upsert, events deduplicate by fingerprint,
so the counts reported (and stored) are the same on the second run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from orderwatch.adapters.datasets import olist
from orderwatch.bootstrap import App
from orderwatch.domain.commands import EventOutcome
from orderwatch.services import master_data
from orderwatch.services.ingest import (
    ACCEPTED,
    DUPLICATE,
    REJECTED,
    ItemOutcome,
    ingest_history,
)

# Orders per transaction: large enough that per-statement overhead is amortized, small enough
# that a transaction holds its locks briefly and a progress bar moves.
DEFAULT_CHUNK = 4_000
MASTER_CHUNK = 20_000
ENTITIES = (
    "orders",
    "order_lines",
    "customers",
    "suppliers",
    "products",
    "shipments",
    "tracking_events",
    "payments",
    "feedback",
    "zip_locations",
)
_T = TypeVar("_T")

Progress = Callable[[str, int, int], None]
"""Called as ``progress(phase, done, total)`` after each step of a phase."""


@dataclass
class ImportReport:
    """What an import did: rows stored per entity, rejected rows, Olist quirks and duration."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENTITIES, 0))
    rejects: list[dict[str, Any]] = field(default_factory=list)
    quirks: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` object."""
        return {
            "counts": self.counts,
            "rejected": len(self.rejects),
            "quirks": self.quirks,
            "seconds": round(self.seconds, 2),
        }


def _no_progress(phase: str, done: int, total: int) -> None:
    return None


def import_olist(
    app: App, directory: Path, *, chunk_size: int = DEFAULT_CHUNK, progress: Progress = _no_progress
) -> ImportReport:
    """Import the whole Olist dataset in ``directory`` into ``app``'s database."""
    started = time.perf_counter()
    missing = olist.missing_files(directory)
    if missing:
        raise FileNotFoundError(f"{directory}: missing {', '.join(missing)} (.csv or .csv.gz)")
    zone = ZoneInfo(app.settings.shop_timezone)
    report = ImportReport()

    suppliers = olist.read_suppliers(directory, zone)
    _master(app, report, "suppliers", "sellers", suppliers, master_data.import_suppliers, progress)
    products = olist.read_products(directory, zone)
    _master(app, report, "products", "products", products, master_data.import_products, progress)
    regions = {s.ref: s.region for s in suppliers.records}
    _orders(app, report, olist.read_orders(directory, zone, seller_regions=regions), chunk_size, progress)
    payments = olist.read_payments(directory, zone)
    _master(app, report, "payments", "payments", payments, master_data.import_payments, progress)
    feedback = olist.read_feedback(directory, zone)
    _master(app, report, "feedback", "reviews", feedback, master_data.import_feedback, progress)
    places = olist.read_zip_locations(directory, zone)
    _master(app, report, "zip_locations", "geolocation", places, master_data.import_zip_locations, progress)

    report.seconds = time.perf_counter() - started
    return report


def _master(
    app: App,
    report: ImportReport,
    entity: str,
    table: str,
    rows: olist.Rows[_T],
    use_case: Callable[..., list[ItemOutcome]],
    progress: Progress,
) -> None:
    report.rejects.extend(error.as_record() for error in rows.errors)
    total = len(rows.records)
    for start in range(0, total, MASTER_CHUNK):
        part = rows.records[start : start + MASTER_CHUNK]
        outcomes = use_case(app.uow(), part, clock=app.clock, source=olist.SOURCE)
        report.counts[entity] += sum(o.result == ACCEPTED for o in outcomes)
        _rejected(report, table, rows.numbers[start:], outcomes)
        progress(entity, min(start + MASTER_CHUNK, total), total)
    if not total:
        progress(entity, 0, 0)


def _orders(
    app: App, report: ImportReport, read: olist.OlistOrders, chunk_size: int, progress: Progress
) -> None:
    report.rejects.extend(error.as_record() for error in read.errors)
    report.quirks = asdict(read.quirks)
    customers: set[str] = set()
    total = len(read.orders)
    for start in range(0, total, chunk_size):
        chunk = read.orders[start : start + chunk_size]
        numbers = read.numbers[start : start + chunk_size]
        shipped = [(n, o) for n, o in zip(numbers, chunk, strict=True) if o.shipment is not None]
        events = [(n, o.order.ref, event) for n, o in shipped for event in o.events]
        outcome = ingest_history(
            app.uow(),
            [o.order for o in chunk],
            [o.shipment for _, o in shipped if o.shipment is not None],
            [e for _, _, e in events],
            clock=app.clock,
        )
        _rejected(report, "orders", numbers, outcome.orders)
        refused = {o.reference for o in outcome.orders if o.result != ACCEPTED}
        stored = [o for o, r in zip(chunk, outcome.orders, strict=True) if r.result == ACCEPTED]
        report.counts["orders"] += len(stored)
        report.counts["order_lines"] += sum(len(o.order.lines) for o in stored)
        customers.update(o.order.customer.ref for o in stored if o.order.customer)
        report.counts["shipments"] += sum(o.result == ACCEPTED for o in outcome.shipments)
        report.counts["tracking_events"] += sum(_is_stored(o) for o in outcome.events)
        # A shipment or event of a refused order fails for that reason, already reported.
        follow = [i for i, (_, o) in enumerate(shipped) if o.order.ref not in refused]
        _rejected(report, "orders", [shipped[i][0] for i in follow], [outcome.shipments[i] for i in follow])
        kept = [i for i, (_, ref, _) in enumerate(events) if ref not in refused]
        _rejected(report, "orders", [events[i][0] for i in kept], [outcome.events[i] for i in kept])
        progress("orders", start + len(chunk), total)
    report.counts["customers"] = len(customers)


def _is_stored(outcome: EventOutcome) -> bool:
    # A duplicate without a reason was stored by an earlier run: it is in the database.
    return outcome.result == ACCEPTED or (outcome.result == DUPLICATE and outcome.reason is None)


def _rejected(
    report: ImportReport, table: str, numbers: Sequence[int], outcomes: Sequence[ItemOutcome | EventOutcome]
) -> None:
    for outcome in outcomes:
        if outcome.result != REJECTED:
            continue
        reason = outcome.reason or "rejected"
        column, _, problem = reason.partition(": ")
        report.rejects.append(
            {
                "file": table,
                "row": numbers[outcome.index] if outcome.index < len(numbers) else 0,
                "column": column,
                "value": getattr(outcome, "reference", ""),
                "error": problem or reason,
            }
        )
