"""`orderwatch import`: orders from a shop's CSV export and the Olist dataset (mission D1).

Both commands parse input, call the ingestion services and render; bad rows are reported with
their row, column and value, never abort the import, and can be written to ``--rejects FILE``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from orderwatch.adapters.datasets import csv_orders
from orderwatch.adapters.db.migrate import upgrade
from orderwatch.bootstrap import App
from orderwatch.entrypoints.cli.common import console, err_console, fail, make_app, print_json
from orderwatch.entrypoints.cli.olist_pipeline import import_olist
from orderwatch.services.ingest import ACCEPTED, REJECTED, ingest_orders, ingest_shipments

app = typer.Typer(help="Import orders from CSV exports and the Olist dataset.", no_args_is_help=True)

# Orders per ingestion transaction for CSV files (the same path as the API's batch upserts).
CSV_CHUNK = 2_000


# ------------------------------------------------------------------ olist


@app.command("olist")
def olist_command(
    directory: Annotated[
        Path | None, typer.Argument(help="Folder with the Olist CSV files (ORDERWATCH_OLIST_DIR)")
    ] = None,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table"),
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="Write rejected rows to this CSV file")
    ] = None,
    database_url: str | None = typer.Option(None, "--database-url", help="Overrides ORDERWATCH_DATABASE_URL"),
) -> None:
    """Load the whole Olist dataset (.csv or .csv.gz); running it again changes nothing."""
    application = make_app(database_url)
    upgrade(application.settings.resolved_database_url)
    folder = directory or application.settings.olist_dir
    if not folder.is_dir():
        fail(f"{folder}: no such folder (give DIR or set ORDERWATCH_OLIST_DIR)")
    with Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=as_json,
        transient=False,
    ) as progress:
        tasks: dict[str, Any] = {}

        def advance(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total or 1)
            progress.update(tasks[phase], completed=done if total else 1)

        try:
            report = import_olist(application, folder, progress=advance)
        except FileNotFoundError as error:
            fail(str(error))
    if rejects is not None:
        _write_rows(rejects, ["file", "row", "column", "value", "error"], report.rejects)
    if as_json:
        print_json(report.as_json())
        return
    for entity, count in report.counts.items():
        console.print(f"{entity:<16}{count:>10,}")
    console.print(f"{'rejected rows':<16}{len(report.rejects):>10,}")
    console.print(f"olist quirks: {report.quirks}")
    console.print(f"done in {report.seconds:.1f} s")


# ------------------------------------------------------------------ a shop's CSV export


@app.command("orders")
def orders_command(
    file: Annotated[Path, typer.Argument(help="The CSV export, one row per order line")],
    mapping_file: Annotated[Path, typer.Option("--mapping", help="TOML mapping (see docs/imports.md)")],
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="Write bad rows here (columns + error)")
    ] = None,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of text"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the file and report; store nothing"),
    database_url: str | None = typer.Option(None, "--database-url", help="Overrides ORDERWATCH_DATABASE_URL"),
) -> None:
    """Import orders, lines and shipments from a shop's CSV export described by a mapping."""
    try:
        mapping = csv_orders.load_mapping(mapping_file.read_text(encoding="utf-8"))
        header, rows = _read_csv(file, mapping)
        parsed = csv_orders.parse_rows(header, rows, mapping)
    except csv_orders.MappingError as error:
        fail(f"{mapping_file}: " + "\n  ".join(["invalid mapping:", *error.problems]))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        fail(f"{file}: cannot read: {error}")
    summary = {
        "rows": len(rows),
        "orders": len(parsed.orders),
        "lines": sum(len(o.lines) for o in parsed.orders),
        "shipments": len(parsed.shipments),
        "dry_run": dry_run,
    }
    errors = list(parsed.errors)
    if not dry_run:
        application = make_app(database_url)
        upgrade(application.settings.resolved_database_url)
        errors += _store(application, parsed, mapping)
        stored = {e.value for e in errors if e.column == mapping.columns["order_ref"]}
        summary["orders"] = sum(o.ref not in stored for o in parsed.orders)
    summary["rejected_rows"] = len({e.row for e in errors})
    if rejects is not None:
        _write_rejects(rejects, header, rows, errors, delimiter=mapping.delimiter)
    if as_json:
        print_json(summary | {"errors": [str(e) for e in errors]})
        return
    for row_error in errors:
        err_console.print(f"[yellow]{row_error}[/yellow]", highlight=False)
    verb = "would import" if dry_run else "imported"
    console.print(
        f"{verb} {summary['orders']} orders ({summary['lines']} lines, {summary['shipments']} "
        f"shipments) from {summary['rows']} rows; {summary['rejected_rows']} rows rejected"
    )


def _read_csv(file: Path, mapping: csv_orders.Mapping) -> tuple[list[str], list[list[str]]]:
    text = file.read_text(encoding=mapping.encoding)
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=mapping.delimiter)
    header = next(reader, [])
    return [h.strip() for h in header], list(reader)


def _store(
    application: App, parsed: csv_orders.ParsedOrders, mapping: csv_orders.Mapping
) -> list[csv_orders.RowError]:
    """Ingest the parsed orders and shipments; service rejections become row errors."""
    errors: list[csv_orders.RowError] = []
    column = mapping.columns["order_ref"]
    rejected: set[str] = set()
    for start in range(0, len(parsed.orders), CSV_CHUNK):
        chunk = parsed.orders[start : start + CSV_CHUNK]
        for order, outcome in zip(
            chunk, ingest_orders(application.uow(), chunk, clock=application.clock), strict=True
        ):
            if outcome.result == REJECTED:
                rejected.add(order.ref)
                errors += [
                    csv_orders.RowError(n, column, order.ref, outcome.reason or "rejected")
                    for n in parsed.rows_of[order.ref]
                ]
    shipments = [s for s in parsed.shipments if s.order_ref not in rejected]
    for start in range(0, len(shipments), CSV_CHUNK):
        part = shipments[start : start + CSV_CHUNK]
        for shipment, outcome in zip(
            part, ingest_shipments(application.uow(), part, clock=application.clock), strict=True
        ):
            if outcome.result != ACCEPTED:
                errors += [
                    csv_orders.RowError(
                        n,
                        mapping.columns.get("tracking_number", column),
                        shipment.tracking_number,
                        f"shipment not stored: {outcome.reason}",
                    )
                    for n in parsed.rows_of[shipment.order_ref]
                ]
    return errors


def _write_rejects(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    errors: Sequence[csv_orders.RowError],
    *,
    delimiter: str,
) -> None:
    """The original columns of every bad row plus ``error`` (all of a row's problems joined)."""
    by_row: dict[int, list[str]] = {}
    for error in errors:
        by_row.setdefault(error.row, []).append(str(error))
    records = []
    for number in sorted(by_row):
        values = rows[number - 2] if 2 <= number < len(rows) + 2 else []
        record = dict(zip(header, values, strict=False))
        records.append(record | {"error": "; ".join(by_row[number])})
    # The shop's own delimiter, so the fixed file goes back in with the same mapping.
    _write_rows(path, [*header, "error"], records, delimiter=delimiter)


def _write_rows(
    path: Path, columns: Sequence[str], records: Sequence[dict[str, Any]], *, delimiter: str = ","
) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore", delimiter=delimiter)
        writer.writeheader()
        writer.writerows(records)
